"""Training in the background: the engine's callbacks become throttled Qt signals.

Nothing here imports torch at module level: the trainer is imported inside the worker thread,
so the window paints before PyTorch is loaded. Signals carry plain data only (engine
dataclasses with numpy arrays, strings, lists). The thread is a :mod:`gui.threading` task.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from aigc_studio.engine.callbacks import (
    EpochResult,
    RunStarted,
    StepMetrics,
    TrainEnd,
    TrainingCallback,
    TrainingControl,
)
from aigc_studio.engine.config import TrainConfig
from aigc_studio.gui.threading import Outcome, TaskRunner, user_message

log = logging.getLogger(__name__)

STEP_EMIT_INTERVAL_S = 0.05  # at most ~20 step batches a second reach the GUI


class _CallbackAdapter(TrainingCallback):
    """Engine callback protocol -> worker signals (runs in the trainer's thread)."""

    def __init__(self, worker: TrainingWorker) -> None:
        self._worker = worker

    def on_start(self, info: RunStarted) -> None:
        self._worker.run_started.emit(info)

    def on_steps(self, steps: list[StepMetrics]) -> None:
        self._worker.queue_steps(steps)

    def on_epoch_end(self, result: EpochResult) -> None:
        self._worker.flush_steps()
        self._worker.epoch_finished.emit(result)

    def on_warning(self, message: str) -> None:
        self._worker.warning.emit(message)

    def on_end(self, end: TrainEnd) -> None:
        self._worker.flush_steps()


class TrainingWorker(QObject):
    """Runs one ``Trainer.fit`` in a QThread and re-emits its callbacks as Qt signals.

    ``failed`` carries one sentence for the user; :meth:`run` returns the ``TrainEnd`` (or None
    when the trainer could not even start) and never raises.
    """

    run_started = Signal(object)  # RunStarted
    steps_ready = Signal(list)  # list[StepMetrics], throttled
    epoch_finished = Signal(object)  # EpochResult
    warning = Signal(str)
    failed = Signal(str)

    def __init__(
        self,
        config: TrainConfig | None = None,
        *,
        resume_dir: Path | None = None,
        resume_epochs: int | None = None,
        runs_root: Path | None = None,
        extra_callbacks: Sequence[TrainingCallback] = (),
        emit_interval_s: float = STEP_EMIT_INTERVAL_S,
    ) -> None:
        super().__init__()
        if config is None and resume_dir is None:
            raise ValueError("TrainingWorker needs a config or a run folder to resume")
        self.config = config
        self.resume_dir = resume_dir
        self.resume_epochs = resume_epochs
        self.runs_root = runs_root
        self.control = TrainingControl()
        self._extra = list(extra_callbacks)
        self._interval = emit_interval_s
        self._lock = threading.Lock()
        self._pending: list[StepMetrics] = []
        self._last_emit = float("-inf")  # the first batch goes out at once
        self.emitted_batches = 0

    # --- throttling (trainer thread) -------------------------------------------------------
    def queue_steps(self, steps: list[StepMetrics]) -> None:
        """Collect step metrics; emit them when the last emission is old enough."""
        with self._lock:
            self._pending.extend(steps)
            due = time.monotonic() - self._last_emit >= self._interval
        if due:
            self.flush_steps()

    def flush_steps(self) -> None:
        """Emit whatever step metrics are pending."""
        with self._lock:
            pending, self._pending = self._pending, []
            if pending:
                self._last_emit = time.monotonic()
        if pending:
            self.emitted_batches += 1
            self.steps_ready.emit(pending)

    # --- the work --------------------------------------------------------------------------
    def run(self) -> TrainEnd | None:
        """Train until finished, stopped or failed (runs in a worker thread)."""

        end: TrainEnd | None = None
        try:
            from aigc_studio.core.device import yield_cpu_to_gui
            from aigc_studio.engine.trainer import Trainer

            yield_cpu_to_gui()  # before torch starts its OpenMP workers: they inherit it

            callbacks = [_CallbackAdapter(self), *self._extra]
            if self.resume_dir is not None:
                trainer = Trainer.resume(
                    self.resume_dir,
                    epochs=self.resume_epochs,
                    control=self.control,
                    callbacks=callbacks,
                )
            else:
                assert self.config is not None
                trainer = Trainer(
                    self.config,
                    runs_root=self.runs_root,
                    control=self.control,
                    callbacks=callbacks,
                )
            end = trainer.fit()
            if end is not None and end.status == "failed":
                self.failed.emit(end.message or "Training failed.")
        except Exception as exc:  # MemoryError included: one sentence for the user
            from aigc_studio.errors import AigcError

            if not isinstance(exc, (AigcError, MemoryError)):
                log.exception("training worker crashed")
            self.failed.emit(user_message(exc))
        finally:
            self.flush_steps()
        return end


class TrainingSession(QObject):
    """Runs one worker in the background (a :class:`TaskRunner` task); ``done`` fires once
    the trainer has returned."""

    done = Signal(object)  # TrainEnd | None

    def __init__(self, worker: TrainingWorker, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.worker = worker
        self._runner = TaskRunner(self)
        self._runner.finished.connect(self._on_finished)
        self.end: TrainEnd | None = None
        self._running = False

    @property
    def control(self) -> TrainingControl:
        """The engine's thread-safe pause / stop / learning-rate handle."""
        return self.worker.control

    def start(self) -> None:
        """Start training in the background (``core.device.yield_cpu_to_gui`` keeps the
        window first)."""
        self._running = True
        self._runner.start(self.worker.run)

    def is_running(self) -> bool:
        """True from start until ``done`` has been emitted."""
        return self._running

    def pause(self) -> None:
        """Pause before the next step."""
        self.control.pause()

    def resume(self) -> None:
        """Continue a paused run."""
        self.control.resume()

    def stop(self) -> None:
        """Ask the trainer to finish its step, write a checkpoint and return."""
        self.control.stop()

    def wait(self, timeout_ms: int = 60_000) -> bool:
        """Block until the trainer has returned (for shutdown paths only)."""
        return self._runner.join(timeout_ms)

    def _on_finished(self, outcome: Outcome) -> None:
        self.end = outcome.value if outcome.ok else None
        if outcome.error is not None:  # run() never raises; a bug in it still reaches the user
            self.worker.failed.emit(outcome.error)
        self._running = False
        self.done.emit(self.end)
