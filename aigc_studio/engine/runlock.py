"""One writer per run: an OS file lock held by the process that trains the run.

The lock is ``RUN/.writer.lock``, locked with ``fcntl.flock`` (POSIX) or ``msvcrt.locking``
(Windows). The OS drops it when the writer dies in any way (kill -9, a crash, a full disk),
so a run is "running" exactly while its writer is alive and "interrupted" afterwards; no
stale PID file can keep a run locked for ever. ``RUN/writer.json`` says who holds it (PID,
host, start) and the lock file's modification time is the writer's heartbeat.

Readers (sample, the explorer, listings) never take the lock; they only probe it.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import stat
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO

from aigc_studio.core.atomic import atomic_write_bytes
from aigc_studio.core.safe_read import SafeReadError, display, read_json_file
from aigc_studio.errors import RunError

LOCK_NAME = ".writer.lock"
WRITER_NAME = "writer.json"
HEARTBEAT_S = 5.0
STALE_S = 60.0  # a live writer whose heartbeat is older than this is reported as stuck
ACQUIRE_RETRY_S = 1.0  # a reader's probe holds the lock for microseconds: retry that long

if os.name == "nt":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock(handle: IO[bytes], shared: bool) -> bool:
        try:
            handle.seek(0)
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(handle: IO[bytes]) -> None:
        with contextlib.suppress(OSError):
            handle.seek(0)
            msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
else:
    import fcntl

    def _try_lock(handle: IO[bytes], shared: bool) -> bool:
        try:
            fcntl.flock(handle.fileno(),
                        (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(handle: IO[bytes]) -> None:
        with contextlib.suppress(OSError):
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


@dataclass(frozen=True)
class WriterState:
    """What a reader sees: is a live process writing the run, and which one."""

    running: bool
    pid: int | None = None
    host: str = ""
    started: str = ""
    heartbeat_age_s: float | None = None

    def describe(self) -> str:
        """'process 1234 on host (since 2026-11-30T12:00:00)'."""
        who = f"process {self.pid}" if self.pid else "another process"
        if self.host and self.host != socket.gethostname():
            who += f" on {self.host}"
        who += f" (since {self.started})" if self.started else ""
        if self.heartbeat_age_s is not None and self.heartbeat_age_s > STALE_S:
            who += f", no heartbeat for {self.heartbeat_age_s:.0f} s: it may be stuck"
        return who


def _open_lock_file(run_dir: Path, create: bool) -> IO[bytes] | None:
    path = Path(run_dir) / LOCK_NAME
    # a reader only probes: read access is enough for flock (a run on read-only media)
    access = os.O_RDWR if create or os.name == "nt" else os.O_RDONLY
    flags = access | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    flags |= getattr(os, "O_NOFOLLOW", 0)
    if create:
        flags |= os.O_CREAT
    try:
        fd = os.open(path, flags, 0o644)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if not create:
            return None  # unreadable or a symlink: nothing a reader can learn from it
        raise RunError(f"Cannot lock the run {display(run_dir)} ({exc.strerror or exc}).") \
            from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        if create:
            raise RunError(f"Cannot lock the run {display(run_dir)}: {LOCK_NAME} is not a "
                           "regular file.")
        return None
    return os.fdopen(fd, "r+b" if access == os.O_RDWR else "rb")


def read_writer(run_dir: Path) -> dict[str, object]:
    """The writer record (PID, host, start), or {} when absent or damaged."""
    try:
        doc = read_json_file(Path(run_dir) / WRITER_NAME, 64 * 1024)
    except (OSError, SafeReadError):
        return {}
    return doc if isinstance(doc, dict) else {}


def probe(run_dir: Path) -> WriterState:
    """Whether a live process holds the run's writer lock (never blocks, never raises)."""
    try:
        handle = _open_lock_file(run_dir, create=False)
    except (OSError, RunError):
        return WriterState(False)
    if handle is None:
        return WriterState(False)
    with handle:
        if _try_lock(handle, shared=True):
            _unlock(handle)
            return WriterState(False)
        age = None
        with contextlib.suppress(OSError):
            age = max(0.0, time.time() - os.fstat(handle.fileno()).st_mtime)
    doc = read_writer(run_dir)
    pid = doc.get("pid")
    return WriterState(True, pid if isinstance(pid, int) and not isinstance(pid, bool) else None,
                       str(doc.get("host", ""))[:100], str(doc.get("started", ""))[:40], age)


class RunLock:
    """The writer lock of one run, held from :meth:`acquire` until :meth:`release`."""

    def __init__(self, run_dir: Path, handle: IO[bytes]) -> None:
        self.run_dir = Path(run_dir)
        self._handle: IO[bytes] | None = handle
        self._stop = threading.Event()
        self._beat = threading.Thread(target=self._heartbeat, name="run-heartbeat", daemon=True)
        self._beat.start()

    @classmethod
    def acquire(cls, run_dir: Path) -> RunLock:
        """Take the lock or raise RunError naming the process that holds it."""
        run_dir = Path(run_dir)
        handle = _open_lock_file(run_dir, create=True)
        assert handle is not None
        deadline = time.monotonic() + ACQUIRE_RETRY_S
        while not _try_lock(handle, shared=False):
            if time.monotonic() >= deadline:
                handle.close()
                state = probe(run_dir)
                raise RunError(f"{display(run_dir.name)} is being trained by "
                               f"{state.describe()}; stop it first, or wait until it ends.")
            time.sleep(0.01)
        doc = {"pid": os.getpid(), "host": socket.gethostname(),
               "started": datetime.now().isoformat(timespec="seconds")}
        with contextlib.suppress(OSError):  # the lock is what counts; this only names the writer
            atomic_write_bytes(run_dir / WRITER_NAME, json.dumps(doc).encode())
        with contextlib.suppress(OSError):
            os.utime(run_dir / LOCK_NAME)
        return cls(run_dir, handle)

    def _heartbeat(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            if self._handle is None:
                return
            with contextlib.suppress(OSError):
                os.utime(self.run_dir / LOCK_NAME)

    def release(self) -> None:
        """Drop the lock (idempotent); the OS does the same if the process dies."""
        self._stop.set()
        handle, self._handle = self._handle, None
        if handle is not None:
            _unlock(handle)
            handle.close()

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
