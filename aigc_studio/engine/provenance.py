"""Provenance for images made from a run or a loaded model (one helper for every writer).

The run id comes from the run's config.json (``run_id``); runs written before it existed are
identified by their folder name alone.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aigc_studio.core.provenance import Provenance
from aigc_studio.engine import runs
from aigc_studio.engine.config import TrainConfig
from aigc_studio.errors import RunError

if TYPE_CHECKING:  # pragma: no cover
    from aigc_studio.engine.inference import LoadedModel


def run_identity(run_dir: Path | None) -> tuple[str, str]:
    """(run id, folder name) of a run; ("", "") without one; an old run's id is ""."""
    if run_dir is None:
        return "", ""
    run_dir = Path(run_dir)
    run_id = ""
    with contextlib.suppress(RunError):
        recorded = runs.read_run_doc(run_dir).get("run_id")
        run_id = recorded if isinstance(recorded, str) else ""
    return run_id, run_dir.name


def for_run(run_dir: Path | None, config: TrainConfig, *, kind: str, epoch: int | None = None,
            seeds: tuple[int, ...] = (), class_index: int | None = None, class_name: str = "",
            **sampler: Any) -> Provenance:
    """What made an image drawn from ``run_dir`` (trained with ``config``)."""
    run_id, folder = run_identity(run_dir)
    return Provenance(kind=kind, model=config.model, run_id=run_id, run_folder=folder,
                      epoch=epoch, seeds=tuple(seeds), class_index=class_index,
                      class_name=class_name, sampler=sampler)


def model_run_dir(model: LoadedModel) -> Path | None:
    """The run folder a loaded model's file lives in (``RUN/checkpoints/x``), if any."""
    folder = model.source.parent
    if folder.name == runs.CHECKPOINTS and runs.is_run_dir(folder.parent):
        return folder.parent
    return None


def for_model(model: LoadedModel, *, kind: str, seeds: tuple[int, ...] = (),
              class_index: int | None = None, **sampler: Any) -> Provenance:
    """What made an image drawn from a loaded model (its run, epoch and the class name)."""
    name = ""
    if class_index is not None and 0 <= class_index < len(model.class_names):
        name = model.class_names[class_index]
    return for_run(model_run_dir(model), model.config, kind=kind, epoch=model.epoch,
                   seeds=seeds, class_index=class_index, class_name=name, **sampler)
