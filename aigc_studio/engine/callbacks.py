"""What the trainer tells the outside world, as plain data, and how it is told to pause or stop.

The trainer calls a :class:`TrainingCallback` from its own thread. Every payload here is plain
Python or a CPU ``numpy`` array, never a torch tensor, so a GUI worker can forward it across
threads as is.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np


@dataclass(frozen=True)
class RunStarted:
    """Sent once before the first step (also on resume)."""

    run_dir: Path | None
    device: str
    model: str
    dataset: str
    num_images: int
    skipped_images: int
    steps_per_epoch: int
    total_steps: int
    start_epoch: int  # 1-based epoch the next step belongs to
    start_step: int  # global steps already done (0 on a fresh run)
    epochs: int
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class StepMetrics:
    """Metrics of one optimisation step: open, string-keyed values named by the family."""

    epoch: int
    step: int  # global step, 1-based
    values: Mapping[str, float] = field(default_factory=dict)  # e.g. {"loss_d": 0.7, ...}
    images_per_s: float = 0.0

    def as_dict(self) -> dict[str, float | int]:
        """The ``metrics.jsonl`` step record: epoch, step, every value, images/s."""
        return {"epoch": self.epoch, "step": self.step, **self.values,
                "images_per_s": self.images_per_s}

    def get(self, name: str) -> float | None:
        """One value by name (None when this step did not record it)."""
        return self.values.get(name)


@dataclass(frozen=True)
class EpochResult:
    """Sent after every completed epoch, with the sample grid as an RGB uint8 array (H, W, 3)."""

    epoch: int
    step: int
    grid: np.ndarray
    means: dict[str, float]
    seconds: float
    images_per_s: float
    sample_path: Path | None = None
    warnings: tuple[str, ...] = ()
    scores: Mapping[str, float] = field(default_factory=dict)  # per-epoch metrics (quality)


EndStatus = Literal["finished", "stopped"]


@dataclass(frozen=True)
class TrainEnd:
    """Sent once when ``fit`` returns: ``status`` is "finished" or "stopped".

    A failure (bad data, NaN loss, out of memory) is not an end: ``fit`` raises
    :class:`aigc_studio.errors.AigcError` instead, after writing what it could.
    """

    status: EndStatus
    epoch: int  # last completed epoch
    step: int
    run_dir: Path | None
    checkpoint: Path | None
    message: str = ""


class TrainingCallback:
    """Base class with no-op hooks; subclass and override what you need."""

    def on_start(self, info: RunStarted) -> None:
        """Called once, before the first step."""

    def on_steps(self, steps: list[StepMetrics]) -> None:
        """Called with each batch of step metrics read back from the device (every N steps)."""

    def on_epoch_end(self, result: EpochResult) -> None:
        """Called after each completed epoch."""

    def on_warning(self, message: str) -> None:
        """Called for a training warning (mode collapse, D winning, skipped files...)."""

    def on_end(self, end: TrainEnd) -> None:
        """Called once when training finishes or stops (failures raise from ``fit``)."""


@dataclass
class TrainingControl:
    """Thread-safe pause / stop / learning-rate requests, checked by the trainer every step."""

    _stop: threading.Event = field(default_factory=threading.Event)
    _running: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _pending_lr: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._running.set()

    def stop(self) -> None:
        """Ask the trainer to stop after the current step (also wakes a paused trainer)."""
        self._stop.set()
        self._running.set()

    def pause(self) -> None:
        """Ask the trainer to wait before its next step."""
        self._running.clear()

    def resume(self) -> None:
        """Let a paused trainer continue."""
        self._running.set()

    @property
    def stop_requested(self) -> bool:
        """True once :meth:`stop` was called."""
        return self._stop.is_set()

    @property
    def paused(self) -> bool:
        """True while a pause is requested."""
        return not self._running.is_set()

    def wait_while_paused(self, timeout: float | None = None) -> bool:
        """Block while paused; True when running again (False on timeout)."""
        return self._running.wait(timeout)

    def set_learning_rates(self, lr_g: float | None = None, lr_d: float | None = None) -> None:
        """Request new learning rates; the trainer applies them before its next step."""
        with self._lock:
            if lr_g is not None:
                self._pending_lr["lr_g"] = float(lr_g)
            if lr_d is not None:
                self._pending_lr["lr_d"] = float(lr_d)

    def take_learning_rates(self) -> dict[str, float]:
        """Return and clear pending learning-rate changes (trainer side)."""
        with self._lock:
            pending, self._pending_lr = self._pending_lr, {}
        return pending
