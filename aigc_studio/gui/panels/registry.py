"""The panel registry: each panel folder registers what the window needs to host it.

A panel declares its title, tooltip, shortcut and menu entry, where it lives (the side tabs of
the training page, or a workspace tab of its own), which dropped paths it takes and which runs
it shows (by capability, never by family name). The window iterates :func:`panels` instead of
knowing tab indices; a new panel is one folder with one :func:`register` call.

Panel classes are imported on first use (``factory`` is "module:Class"), so a workspace panel
that owns a worker thread costs nothing until it is opened.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from aigc_studio.families import Capabilities

Area = Literal["side", "workspace"]


@dataclass(frozen=True)
class PanelSpec:
    """How the window hosts one panel."""

    key: str  # "train", "runs", "explore", "reconstruct"
    title: str  # the tab's title
    tooltip: str
    area: Area
    factory: str  # "package.module:Class"; the class is built with no arguments (or the
    # window's keyword arguments that ``window_args`` names)
    order: int = 100
    shortcut: str = ""  # e.g. "Ctrl+3"
    menu_text: str = ""  # the View menu's entry ("" = the title)
    placeholder: str = ""  # what a lazy workspace tab shows before it is opened
    accepts_run: Callable[[Capabilities], bool] | None = None  # runs it shows
    accepts_drop: Callable[[Sequence[Path]], bool] | None = None  # paths it takes
    drop_text: str = ""  # the button that sends a drop here ("Reconstruct images")
    window_args: tuple[str, ...] = ()  # window attributes passed as keyword arguments

    def panel_class(self) -> type:
        """Import and return the panel's class."""
        module, _, name = self.factory.partition(":")
        cls: type = getattr(importlib.import_module(module), name)
        return cls

    def build(self, **window_values: Any) -> Any:
        """A new panel (with the window values it asked for)."""
        kwargs = {name: window_values[name] for name in self.window_args}
        return self.panel_class()(**kwargs)


_PANELS: dict[str, PanelSpec] = {}


def register(spec: PanelSpec) -> PanelSpec:
    """Add (or replace) a panel."""
    _PANELS[spec.key] = spec
    return spec


def unregister(key: str) -> None:
    """Remove a panel."""
    _PANELS.pop(key, None)


def get(key: str) -> PanelSpec:
    """The panel registered as ``key`` (KeyError when none is)."""
    return _PANELS[key]


def panels(area: Area | None = None) -> list[PanelSpec]:
    """Registered panels (of one area), in their order."""
    found = [p for p in _PANELS.values() if area is None or p.area == area]
    return sorted(found, key=lambda p: p.order)
