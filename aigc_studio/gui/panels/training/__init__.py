"""The Train panel: data set, model and optimiser choices, Start / Pause / Stop."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from aigc_studio.engine import runs as run_store
from aigc_studio.gui.panels.registry import PanelSpec, register


def _takes(paths: Sequence[Path]) -> bool:
    """One folder of images (not a run folder) can become the data set."""
    return len(paths) == 1 and paths[0].is_dir() and not run_store.is_run_dir(paths[0])


SPEC = register(PanelSpec(
    key="train", title="Train", area="side", order=10, shortcut="Ctrl+1",
    menu_text="&Training panel",
    tooltip="Choose a data set and a model, then start, pause or stop training.",
    factory="aigc_studio.gui.panels.training.form:TrainingPanel",
    accepts_drop=_takes, drop_text="Train on this folder",
))
