"""The window's one worker abstraction: background work with errors as data and cooperative
cancellation, built on superqt's ``thread_worker`` workers (pyapp-kit; napari uses them).

Two shapes, both on superqt's ``WorkerBase`` (run in a ``QThreadPool`` thread, with its
started / returned / errored / yielded / aborted / finished signals):

* :class:`TaskRunner` - a panel's one-at-a-time task (the Orange3 ``ConcurrentWidgetMixin``
  shape): ``runner.start(fn, ...)`` runs ``fn`` in the background and cancels the task still
  running; the result comes back as a :class:`Outcome` (value, or the user's sentence for the
  error, or cancelled), never as an exception. A generator function is cancelled between its
  ``yield``\\ s; a plain function receives a ``cancel`` event to poll when it takes ``cancel``.
* :class:`LoopWorker` - a long-lived loop that owns a model and serves "latest request wins"
  slots (the StyleGAN3-visualizer shape); it is a superqt generator worker whose loop sleeps on
  a condition between jobs and stops cooperatively.

:func:`user_message` is the one function that turns an exception into the sentence a user
sees. Nothing here imports torch.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import os
import threading
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

os.environ.setdefault("QT_API", "pyside6")  # superqt (through qtpy) uses the app's binding

from PySide6.QtCore import QDeadlineTimer, QObject, QThreadPool, Signal
from superqt.utils import FunctionWorker, GeneratorWorker, WorkerBase, create_worker

log = logging.getLogger(__name__)

STOP_TIMEOUT_MS = 60_000
MIN_POOL_THREADS = 8  # training, two model loops, a loader and previews may all run at once


def user_message(exc: BaseException) -> str:
    """One sentence for the user: engine errors are already written for people."""
    from aigc_studio.errors import AigcError

    if isinstance(exc, AigcError):
        return str(exc)
    if isinstance(exc, MemoryError):
        return "The computer ran out of memory; try a smaller batch size or fewer images."
    if isinstance(exc, OSError) and exc.filename:
        return f"Could not use {exc.filename} ({exc.strerror or exc})."
    return f"Unexpected error ({type(exc).__name__}): {exc}"


def _log_warning(shown: tuple[Any, ...]) -> None:
    """superqt routes ``warnings`` raised while a worker runs to its ``warned`` signal (it
    swaps ``warnings.showwarning`` process-wide meanwhile): log them instead of losing them."""
    try:
        log.warning("%s", warnings.formatwarning(*shown[:4]).strip())
    except Exception:  # a malformed warning tuple must not break the window
        log.warning("%s", shown)


def pool() -> QThreadPool:
    """The thread pool every worker runs in (large enough for all of them at once)."""
    instance = QThreadPool.globalInstance()
    if instance.maxThreadCount() < MIN_POOL_THREADS:
        instance.setMaxThreadCount(MIN_POOL_THREADS)
    return instance


@dataclass(frozen=True)
class Outcome:
    """How a task ended: its value, or the sentence for its error, or cancelled."""

    value: Any = None
    error: str | None = None
    cancelled: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None and not self.cancelled


class _Function(FunctionWorker):
    """A function worker that sets ``done`` in its thread when the function has returned."""

    done: threading.Event

    def work(self) -> Any:
        try:
            return super().work()
        finally:
            self.done.set()


class _Generator(GeneratorWorker):
    """A generator worker that closes its generator (running its ``finally``) when it stops,
    also when it was aborted between yields, then sets ``done`` in its thread."""

    done: threading.Event

    def work(self) -> Any:
        try:
            return super().work()
        finally:
            with contextlib.suppress(Exception):
                self._gen.close()
            self.done.set()


def _worker(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> _Function | _Generator:
    """A superqt worker for ``fn`` (not started): errors come back on ``errored`` only (never
    re-raised in the GUI thread) and warnings are logged."""
    kind = _Generator if inspect.isgeneratorfunction(fn) else _Function
    worker = create_worker(fn, *args, _start_thread=False, _ignore_errors=True,
                           _worker_class=kind, **kwargs)
    assert isinstance(worker, (_Function, _Generator))
    worker.done = threading.Event()
    worker.warned.connect(_log_warning)
    return worker


class _Task:
    """One started task: its worker and its cancel flag."""

    def __init__(self, worker: _Function | _Generator, cancel: threading.Event) -> None:
        self.worker, self.cancel, self.done = worker, cancel, worker.done


class TaskRunner(QObject):
    """Runs one task at a time in the background; a new task cancels the one running.

    ``yielded(value)`` carries what a generator task yields; ``finished(Outcome)`` comes once
    per task that was not superseded: with its value, or the user's sentence for its error, or
    ``cancelled=True`` after :meth:`cancel`.
    """

    yielded = Signal(object)
    finished = Signal(object)  # Outcome

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._current: _Task | None = None
        self._tasks: list[_Task] = []

    def start(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> WorkerBase:
        """Run ``fn(*args, **kwargs)`` in the background (``cancel=`` is passed when it takes
        one); cancels the task still running (which then reports nothing)."""
        self.cancel(report=False)
        cancel = threading.Event()
        if "cancel" in inspect.signature(fn).parameters:
            kwargs = {**kwargs, "cancel": cancel}
        worker = _worker(fn, *args, **kwargs)
        task = _Task(worker, cancel)
        self._current = task
        self._tasks = [t for t in self._tasks if not t.done.is_set()] + [task]

        def on_returned(value: Any) -> None:
            if self._current is task and not cancel.is_set():
                self._done(Outcome(value=value))

        def on_errored(exc: BaseException) -> None:
            if self._current is task and not cancel.is_set():
                if not _is_user_error(exc):
                    log.error("background task failed", exc_info=exc)
                self._done(Outcome(error=user_message(exc)))

        def on_yielded(value: Any) -> None:
            if self._current is task and not cancel.is_set():
                self.yielded.emit(value)

        def on_finished() -> None:
            if self._current is task and cancel.is_set():  # cancelled by the user: say so
                self._done(Outcome(cancelled=True))

        worker.returned.connect(on_returned)
        worker.errored.connect(on_errored)
        if isinstance(worker, GeneratorWorker):
            worker.yielded.connect(on_yielded)
        worker.finished.connect(on_finished)
        pool().start(worker)
        return worker

    def _done(self, outcome: Outcome) -> None:
        self._current = None
        self.finished.emit(outcome)

    def is_running(self) -> bool:
        """True while a task of this runner has not returned (a cancelled one included)."""
        return any(not t.done.is_set() for t in self._tasks)

    def cancel(self, *, report: bool = True) -> None:
        """Ask the running task to stop (between yields, or when it polls ``cancel``);
        ``finished`` then reports it cancelled unless ``report`` is False."""
        task = self._current
        if task is None:
            return
        task.cancel.set()
        task.worker.quit()
        if not report:
            self._current = None

    def join(self, timeout_ms: int = STOP_TIMEOUT_MS) -> bool:
        """Block until every task of this runner has returned (shutdown; no events run)."""
        deadline = QDeadlineTimer(timeout_ms)
        for task in self._tasks:
            if not task.done.wait(max(0.0, deadline.remainingTime() / 1000.0)):
                return False
        return True

    def wait(self, timeout_ms: int = STOP_TIMEOUT_MS) -> bool:
        """Cancel, then :meth:`join`."""
        self.cancel(report=False)
        return self.join(timeout_ms)


def _is_user_error(exc: BaseException) -> bool:
    from aigc_studio.errors import AigcError

    return isinstance(exc, AigcError)


class LoopWorker(QObject):
    """A long-lived loop in a pool thread that sleeps on a condition between jobs.

    Subclasses implement :meth:`_next_job` (called with the condition held; return None to
    wait) and :meth:`_do` (called without it). :meth:`stop` is cooperative: the job in hand
    finishes, the loop returns and is joined. A failing job is logged and the loop goes on.
    """

    def __init__(self, name: str) -> None:
        super().__init__()
        self._name = name
        self._cond = threading.Condition()
        self._stopping = False
        self._worker: _Function | _Generator | None = None
        self._running = threading.Event()

    # --- GUI-thread side -------------------------------------------------------------------
    def start(self) -> None:
        """Start the loop (idempotent)."""
        if self._worker is not None:
            return
        self._running.set()
        worker = _worker(self._loop)
        self._worker = worker
        pool().start(worker)

    def is_running(self) -> bool:
        """True while the loop runs."""
        return self._running.is_set()

    def stop(self, timeout_ms: int = STOP_TIMEOUT_MS) -> bool:
        """Ask the loop to end after the current job, then wait for it."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._worker is None:
            return True
        self._worker.quit()
        deadline = QDeadlineTimer(timeout_ms)
        with self._cond:
            while self._running.is_set() and not deadline.hasExpired():
                self._cond.wait(0.05)
        ok = not self._running.is_set()
        if ok:
            self._worker = None
        return ok

    # --- worker-thread side ----------------------------------------------------------------
    def _loop(self) -> Iterator[None]:
        from aigc_studio.core.device import use_one_thread  # torch is loaded by now

        try:
            use_one_thread()  # training may run beside: one OpenMP pool per process, not two
            while True:
                with self._cond:
                    job = None
                    while not self._stopping:
                        job = self._next_job()
                        if job is not None:
                            break
                        self._cond.wait()
                    if self._stopping:
                        break
                try:
                    self._do(job)
                except Exception:  # a bug in one job must not kill the loop
                    log.exception("%s: job failed", self._name)
                yield  # superqt's cancellation point
        finally:
            self._release()
            with self._cond:
                self._running.clear()
                self._cond.notify_all()

    def _next_job(self) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def _do(self, job: Any) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _release(self) -> None:
        """Drop heavy references (models) in the worker thread as the loop ends."""
