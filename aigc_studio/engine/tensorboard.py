"""TensorBoard event files: a run's metrics, epoch grids and settings, exported or written live.

The optional ``tensorboard`` package (``pip install tensorboard``) provides the writer through
``torch.utils.tensorboard``; without it, asking for TensorBoard output is one sentence that
says how to install it. Scalars are tagged ``step/NAME`` (x = global step) and ``epoch/NAME``
(x = epoch), the grids ``samples`` (x = epoch), and the settings go to the HParams tab with
the final metrics as ``final/NAME``. One set of helpers serves the export and the live writer.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import re
from collections.abc import Callable, Generator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from aigc_studio.engine import runs
from aigc_studio.engine.callbacks import (
    EpochResult,
    RunStarted,
    StepMetrics,
    TrainEnd,
    TrainingCallback,
)
from aigc_studio.engine.compare import run_metrics, settings_of
from aigc_studio.engine.config import TrainConfig
from aigc_studio.errors import AigcError

if TYPE_CHECKING:  # pragma: no cover
    from torch.utils.tensorboard import SummaryWriter

log = logging.getLogger(__name__)

INSTALL = "pip install tensorboard"
LIVE_FOLDER = "tensorboard"  # RUN/tensorboard/ for train --tensorboard
_EPOCH_FILE = re.compile(r"epoch_(\d{4,})\.png")


def available() -> bool:
    """Whether the optional package is installed (checked without importing it or torch)."""
    return importlib.util.find_spec("tensorboard") is not None


def writer_class() -> type[SummaryWriter]:
    """``SummaryWriter``, or one sentence saying how to install the optional package."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise AigcError(f"TensorBoard output needs the tensorboard package; install it with: "
                        f"{INSTALL}") from None
    return SummaryWriter


def write_record(writer: SummaryWriter, record: dict[str, Any]) -> None:
    """One metrics.jsonl record as scalars (step and epoch records; events are skipped)."""
    kind = record.get("kind", "step")
    if kind not in ("step", "epoch"):
        return
    x = int(record.get(kind, 0))
    for name, value in runs.metric_values(record).items():
        writer.add_scalar(f"{kind}/{name}", value, x)
    speed = record.get("images_per_s")
    if isinstance(speed, (int, float)) and not isinstance(speed, bool):
        writer.add_scalar(f"speed/{kind}_images_per_s", float(speed), x)


def write_grid(writer: SummaryWriter, epoch: int, grid: np.ndarray) -> None:
    """An epoch grid (uint8 H, W, 3) as the ``samples`` image at that epoch."""
    writer.add_image("samples", np.ascontiguousarray(grid), epoch, dataformats="HWC")


def write_hparams(writer: SummaryWriter, config: TrainConfig, final: dict[str, float]) -> None:
    """The run's settings in the HParams tab, with its final metrics as ``final/NAME``."""
    from torch.utils.tensorboard.summary import hparams

    params = {k: _hparam(v) for k, v in settings_of(config).items()}
    metrics = {f"final/{k}": float(v) for k, v in final.items()}
    for summary in hparams(params, metrics):
        writer.file_writer.add_summary(summary)
    for tag, value in metrics.items():
        writer.add_scalar(tag, value)


def export_tensorboard(run_dir: str | Path, out_dir: str | Path) -> Path:
    """Write a run's metrics, grids and settings as event files in ``out_dir``.

    Reads the run only; a folder that cannot be written (or fills up) is one sentence.
    """
    steps = iter_export_tensorboard(run_dir, out_dir)
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value


def iter_export_tensorboard(run_dir: str | Path, out_dir: str | Path
                            ) -> Generator[tuple[int, int], None, Path]:
    """:func:`export_tensorboard` as steps: yields ``(done, total)`` (records and grids
    written) so a window can show progress and stop between steps; returns ``out_dir``."""
    summary_writer = writer_class()
    run_dir = Path(run_dir).expanduser()
    run = run_metrics(run_dir)  # RunError (one sentence) for a folder that is not a run
    records = runs.read_metrics(run_dir)
    paths = runs.sample_paths(run_dir)
    total = len(records) + len(paths) + 1
    out = Path(out_dir).expanduser()
    try:
        out.mkdir(parents=True, exist_ok=True)
        writer = summary_writer(log_dir=str(out), flush_secs=3600)
        try:
            for done, record in enumerate(records, start=1):
                write_record(writer, record)
                if done % 500 == 0:
                    yield done, total
            for done, path in enumerate(paths, start=len(records) + 1):
                epoch, grid = _read_grid(path)
                if grid is not None:
                    write_grid(writer, epoch, grid)
                yield done, total
            write_hparams(writer, run.config, run.last)
            writer.flush()
        finally:
            writer.close()
    except OSError as exc:
        raise AigcError(f"Cannot write TensorBoard files to {out} "
                        f"({exc.strerror or exc}); the run is untouched.") from None
    yield total, total
    return out


def _read_grid(path: Path) -> tuple[int, np.ndarray | None]:
    match = _EPOCH_FILE.fullmatch(path.name)
    if not match:
        return 0, None
    try:
        with Image.open(path) as image:
            return int(match.group(1)), np.asarray(image.convert("RGB"))
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        log.warning("Skipped the grid %s: %s", path.name, exc)
        return 0, None


def _hparam(value: Any) -> bool | int | float | str:
    if isinstance(value, (bool, int, float, str)):
        return value
    return "default" if value is None else str(value)


class LiveWriter(TrainingCallback):
    """``train --tensorboard``: writes event files to ``RUN/tensorboard/`` as training goes.

    Built before training starts, so a missing package stops nothing half-way; a write that
    fails later (disk full) is logged once and TensorBoard output stops, training does not.
    """

    def __init__(self) -> None:
        self._class = writer_class()
        self._writer: SummaryWriter | None = None

    def on_start(self, info: RunStarted) -> None:
        if info.run_dir is None:
            return
        folder = Path(info.run_dir) / LIVE_FOLDER
        purge = info.start_step + 1 if info.start_step else None  # a resume drops later events
        try:
            self._writer = self._class(log_dir=str(folder), purge_step=purge, flush_secs=30)
        except OSError as exc:
            log.warning("TensorBoard output is off: cannot write to %s (%s).", folder, exc)

    def on_steps(self, steps: list[StepMetrics]) -> None:
        def write(writer: SummaryWriter) -> None:
            for step in steps:
                write_record(writer, {"kind": "step", **step.as_dict()})

        self._write(write)

    def on_epoch_end(self, result: EpochResult) -> None:
        def write(writer: SummaryWriter) -> None:
            write_record(writer, {"kind": "epoch", "epoch": result.epoch, **result.means,
                                  **result.scores, "images_per_s": result.images_per_s})
            write_grid(writer, result.epoch, result.grid)
            writer.flush()

        self._write(write)

    def on_end(self, end: TrainEnd) -> None:
        def write(writer: SummaryWriter) -> None:
            if end.run_dir is not None:
                run = run_metrics(Path(end.run_dir))
                write_hparams(writer, run.config, run.last)
            writer.close()

        self._write(write)
        self._writer = None

    def _write(self, action: Callable[[SummaryWriter], None]) -> None:
        """Run ``action`` on the open writer; a failure ends TensorBoard output for this run
        with one warning in the log (training goes on)."""
        if self._writer is None:
            return
        try:
            action(self._writer)
        except (OSError, AigcError) as exc:
            log.warning("TensorBoard output stopped: %s", exc)
            with contextlib.suppress(Exception):
                self._writer.close()
            self._writer = None
