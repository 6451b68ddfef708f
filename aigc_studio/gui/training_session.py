"""Background work for the window: training, loading PyTorch, previewing an image folder.

Nothing here imports torch at module level: the trainer is imported inside the worker thread,
so the window paints before PyTorch is loaded. Signals carry plain data only (engine
dataclasses with numpy arrays, strings, lists).
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal, Slot

from aigc_studio.engine.callbacks import (
    EpochResult,
    RunStarted,
    StepMetrics,
    TrainEnd,
    TrainingCallback,
    TrainingControl,
)
from aigc_studio.engine.config import TrainConfig

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

    ``failed`` carries one sentence for the user; ``finished`` always comes last, with the
    ``TrainEnd`` (or None when the trainer could not even start).
    """

    run_started = Signal(object)  # RunStarted
    steps_ready = Signal(list)  # list[StepMetrics], throttled
    epoch_finished = Signal(object)  # EpochResult
    warning = Signal(str)
    failed = Signal(str)
    finished = Signal(object)  # TrainEnd | None

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
    @Slot()
    def run(self) -> None:
        """Train until finished, stopped or failed (runs in the worker's thread)."""
        from aigc_studio.errors import AigcError

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
        except AigcError as exc:
            self.failed.emit(str(exc))
        except MemoryError:
            self.failed.emit("The computer ran out of memory; try a smaller batch size.")
        except Exception as exc:
            log.exception("training worker crashed")
            self.failed.emit(f"Unexpected error: {exc}")
        finally:
            self.flush_steps()
            self.finished.emit(end)


class TrainingSession(QObject):
    """Owns one worker and its QThread; ``done`` fires after the thread has fully stopped."""

    done = Signal(object)  # TrainEnd | None

    def __init__(self, worker: TrainingWorker, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.worker = worker
        self.thread = QThread()
        self.thread.setObjectName("aigc-training")
        self.worker.moveToThread(self.thread)
        self.thread.started.connect(self.worker.run)
        self.worker.finished.connect(self._on_worker_finished)
        self.thread.finished.connect(self._on_thread_finished)
        self.end: TrainEnd | None = None
        self._running = False

    @property
    def control(self) -> TrainingControl:
        """The engine's thread-safe pause / stop / learning-rate handle."""
        return self.worker.control

    def start(self) -> None:
        """Start the worker's thread (training begins there)."""
        self._running = True
        self.thread.start(QThread.Priority.LowPriority)  # the window comes first (see
        # core.device.yield_cpu_to_gui for Linux, where Qt cannot lower it)

    def is_running(self) -> bool:
        """True from start until the thread has stopped."""
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
        """Block until the thread has stopped (for shutdown paths only)."""
        return self.thread.wait(timeout_ms)

    def _on_worker_finished(self, end: TrainEnd | None) -> None:
        self.end = end
        self.thread.quit()

    def _on_thread_finished(self) -> None:
        self.thread.wait()
        self._running = False
        self.done.emit(self.end)


class TorchLoader(QThread):
    """Imports PyTorch and the trainer in the background, then reports the devices found."""

    loaded = Signal(list, str)  # available devices, torch version
    failed = Signal(str)

    def run(self) -> None:
        """Import torch (2 s or more) off the GUI thread."""
        try:
            import torch

            import aigc_studio.engine.trainer  # noqa: F401 - warm the import for the worker
            from aigc_studio.core.device import available_devices

            devices = list(available_devices())
            # Full garbage collections walk every object alive; after torch's import that
            # takes 130-170 ms with the GIL held, which froze the window. Frozen objects are
            # skipped (they live as long as the process anyway).
            gc.freeze()
            self.loaded.emit(devices, str(torch.__version__))
        except Exception as exc:
            log.exception("loading PyTorch failed")
            self.failed.emit(f"PyTorch could not be loaded: {exc}")


class ImportWarmer(QThread):
    """Imports what the first training start would (``torch._dynamo``, ~2 s) in advance.

    ``torch.optim`` imports it on the first optimiser; in the training thread that delayed the
    first step and, through the garbage collections it triggers, stalled the window. Started
    once the window is ready, while the user is still choosing settings.
    """

    def run(self) -> None:
        try:
            import torch._dynamo  # noqa: F401 - the warm-up itself

            gc.freeze()  # what the import created lives on: keep it out of full collections
        except Exception:  # only a warm-up: the optimiser imports it again if it must
            log.warning("warming torch._dynamo failed", exc_info=True)


class FolderPreviewLoader(QThread):
    """Counts the usable images of a folder and prepares a few exactly as they will be fed."""

    ready = Signal(object, list, int, int, list)  # folder, arrays, usable, skipped, notes
    failed = Signal(object, str)  # folder, message

    def __init__(
        self, folder: Path, size: int, channels: int | None, count: int = 8,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.folder = folder
        self.size = size
        self.channels = channels
        self.count = count
        self._cancel = threading.Event()

    def cancel(self) -> None:
        """Stop early (checked between images)."""
        self._cancel.set()

    def run(self) -> None:
        """Sort the folder into usable / skipped from the headers, then prepare a few."""
        try:
            from aigc_studio.core.images import prepare_image, scan_folder

            usable, skipped = scan_folder(self.folder, cancel=self._cancel)
            arrays: list[np.ndarray] = []
            notes = [f"{Path(path).name}: {reason}" for path, reason in skipped]
            bad = 0
            for path in usable:
                if self._cancel.is_set() or len(arrays) >= self.count:
                    break
                try:
                    prepared = prepare_image(path, self.size, self.channels or 3)
                except Exception as exc:  # a truncated file only shows when decoded
                    bad += 1
                    notes.append(f"{Path(path).name}: {exc}")
                    continue
                arrays.append(np.asarray(prepared.array))
                notes.extend(f"{Path(path).name}: {n}" for n in prepared.notes)
            self.ready.emit(self.folder, arrays, len(usable) - bad, len(skipped) + bad, notes)
        except Exception as exc:
            self.failed.emit(self.folder, str(exc))
