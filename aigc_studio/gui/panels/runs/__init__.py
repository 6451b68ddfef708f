"""The Runs panel: past runs of the runs folder and any run folder opened."""

from __future__ import annotations

from aigc_studio.gui.panels.registry import PanelSpec, register

SPEC = register(PanelSpec(
    key="runs", title="Runs", area="side", order=20, shortcut="Ctrl+2",
    menu_text="&Runs browser",
    tooltip="Past runs, newest first: open one, or resume its training.",
    factory="aigc_studio.gui.panels.runs.browser:RunsBrowser", window_args=("root",),
))
