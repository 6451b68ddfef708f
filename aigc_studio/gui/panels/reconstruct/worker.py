"""The reconstruction worker: loads a model that encodes images and reconstructs batches of
dropped files and folders in chunks, off the GUI thread (a :class:`LoopWorker`)."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import Signal

from aigc_studio.core.images import find_images
from aigc_studio.core.quality import error_heatmap
from aigc_studio.gui.model_info import family_titles, model_info
from aigc_studio.gui.threading import LoopWorker, user_message

if TYPE_CHECKING:  # pragma: no cover - typing only; torch stays unloaded at import time
    from aigc_studio.engine.inference import LoadedModel, Reconstruction

CHUNK = 16  # images per model call: small enough for smooth progress and quick cancelling


@dataclass(frozen=True)
class ResultRow:
    """One reconstructed image and its error heatmap (plain data for the GUI thread)."""

    result: Reconstruction
    error: np.ndarray  # uint8 (S, S, 3)


class ReconstructionWorker(LoopWorker):
    """Loads a model that encodes images and reconstructs batches of dropped paths (off the
    GUI thread).

    Batches run first-in first-out (every drop counts); a model load goes before any waiting
    batch. :meth:`cancel` stops the batch under way between chunks and drops queued ones.
    """

    model_loaded = Signal(object)  # ModelInfo
    load_failed = Signal(str)
    scanned = Signal(int, int, list)  # job, image files found, [(Path, reason)] skipped
    results_ready = Signal(int, list, list)  # job, [ResultRow], [(Path, reason)]
    progress = Signal(int, int, int)  # job, done, total
    batch_finished = Signal(int, bool)  # job, cancelled
    batch_failed = Signal(int, str)  # job, message

    def __init__(self, chunk: int = CHUNK) -> None:
        super().__init__("aigc-reconstruct")
        self.chunk = chunk
        self._load: Path | None = None
        self._batches: deque[tuple[int, list[Path]]] = deque()
        self._cancelled_upto = 0
        self._current_job = 0
        self._model: LoadedModel | None = None
        self.batches_done = 0
        self.worker_thread_ids: set[int] = set()  # where the work ran (tests check it is not
        # the GUI thread)

    # --- GUI-thread side -------------------------------------------------------------------
    def load(self, path: Path) -> None:
        """Load a model; batches waiting or under way are cancelled (the panel resubmits)."""
        with self._cond:
            self._load = Path(path)
            self._cancel_all_locked()
            self._cond.notify_all()

    def enqueue(self, job: int, paths: Sequence[Path]) -> None:
        """Reconstruct ``paths`` (files and folders) as batch ``job`` (ids must increase)."""
        with self._cond:
            self._batches.append((job, [Path(p) for p in paths]))
            self._cond.notify_all()

    def cancel(self) -> None:
        """Stop the batch under way (after its current chunk) and skip the waiting ones."""
        with self._cond:
            self._cancel_all_locked()

    def pending_batches(self) -> int:
        """Batches waiting to start."""
        with self._cond:
            return len(self._batches)

    def _cancel_all_locked(self) -> None:
        # Queued batches stay queued but marked: each still reports ``batch_finished`` (as
        # cancelled) when its turn comes, so whoever waits on it is never left hanging.
        for job, _ in self._batches:
            self._cancelled_upto = max(self._cancelled_upto, job)
        self._cancelled_upto = max(self._cancelled_upto, self._current_job)

    def _is_cancelled(self, job: int) -> bool:
        with self._cond:
            return job <= self._cancelled_upto or self._stopping

    # --- worker-thread side ----------------------------------------------------------------
    def _next_job(self) -> Any:
        if self._load is not None:
            job, self._load = ("load", self._load), None
            return job
        if self._batches:
            job_id, paths = self._batches.popleft()
            self._current_job = job_id
            return ("batch", (job_id, paths))
        return None

    def _do(self, job: tuple[str, Any]) -> None:
        self.worker_thread_ids.add(threading.get_ident())
        kind, payload = job
        if kind == "load":
            self._do_load(payload)
        else:
            job_id, paths = payload
            try:
                self._do_batch(job_id, paths)
            except Exception as exc:
                self.batch_failed.emit(job_id, user_message(exc))
                self.batch_finished.emit(job_id, False)

    def _do_load(self, path: Path) -> None:
        try:
            from aigc_studio.engine.inference import load_model

            model = load_model(path)
            info = model_info(path, model)
        except Exception as exc:
            self._model = None
            self.load_failed.emit(user_message(exc))
            return
        self._model = model
        self.model_loaded.emit(info)

    def _do_batch(self, job: int, paths: list[Path]) -> None:
        if self._is_cancelled(job):
            self.batch_finished.emit(job, True)
            return
        model = self._model
        if model is None or not model.capabilities.encodes:
            self.batch_failed.emit(job, f"Open a run of a model that encodes images first "
                                   f"({family_titles('encodes')}): reconstruction needs one.")
            self.batch_finished.emit(job, False)
            return
        files, skipped = find_images(paths)
        self.scanned.emit(job, len(files), skipped)
        total = len(files)
        self.progress.emit(job, 0, total)
        from aigc_studio.engine.inference import reconstruct

        for start in range(0, total, self.chunk):
            if self._is_cancelled(job):
                self.batch_finished.emit(job, True)
                return
            chunk = files[start:start + self.chunk]
            results, failed = reconstruct(model, chunk, batch_size=self.chunk)
            rows = [ResultRow(r, error_heatmap(r.original, r.reconstruction)) for r in results]
            self.results_ready.emit(job, rows, failed)
            self.progress.emit(job, start + len(chunk), total)
        self.batches_done += 1
        self.batch_finished.emit(job, False)

    def _release(self) -> None:
        self._model = None
