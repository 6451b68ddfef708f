"""Drop routing: what a dropped (or command-line) set of paths means.

Run folders and checkpoints open in the window; anything else goes to the registered panels
that accept it (``PanelSpec.accepts_drop``). When several accept it (a folder of images:
reconstruct it, or train on it) the user is asked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from aigc_studio.engine import runs as run_store
from aigc_studio.gui.panels import registry
from aigc_studio.gui.panels.registry import PanelSpec

CHECKPOINT_SUFFIXES = (".pt", ".safetensors")


@dataclass(frozen=True)
class DropRoute:
    """Where dropped paths go: ``open`` (a run folder or checkpoint), or panels to offer."""

    open: Path | None = None
    panels: tuple[PanelSpec, ...] = ()
    refused: str = ""  # the sentence when nothing takes the paths

    @property
    def choices(self) -> tuple[str, ...]:
        return tuple(p.key for p in self.panels)


def route(paths: Sequence[Path]) -> DropRoute:
    """Decide what dropped paths mean (nothing is done here)."""
    paths = [Path(p) for p in paths]
    if not paths:
        return DropRoute(refused="Nothing was dropped.")
    if len(paths) == 1:
        path = paths[0]
        if path.is_dir() and run_store.is_run_dir(path):
            return DropRoute(open=path)
        if path.suffix in CHECKPOINT_SUFFIXES:
            return DropRoute(open=path)
    takers = tuple(p for p in registry.panels()
                   if p.accepts_drop is not None and p.accepts_drop(paths))
    if takers:
        return DropRoute(panels=takers)
    if len(paths) == 1:
        return DropRoute(refused=f"{paths[0].name} is not something AIGC Studio opens: drop "
                                 "images, a folder of images, a run folder or a checkpoint.")
    return DropRoute(refused="Drop image files or image folders together, or one run folder "
                             "or checkpoint on its own.")
