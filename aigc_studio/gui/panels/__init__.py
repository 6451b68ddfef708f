"""The window's panels: one folder each, and each folder registers itself on import.

``registry`` holds the declarations the window iterates; importing this package imports every
built-in panel folder's ``__init__`` (declarations only: the panel modules load on first use).
"""

from __future__ import annotations

from aigc_studio.gui.panels import explore, reconstruct, runs, training  # noqa: F401 - register
from aigc_studio.gui.panels.registry import PanelSpec, get, panels, register, unregister

__all__ = ["PanelSpec", "get", "panels", "register", "unregister"]
