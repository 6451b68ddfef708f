"""Atomic file writes: a reader sees the old file or the new one, never half of one.

Write to a temp file in the same folder, fsync, ``os.replace`` over the target, fsync the
folder. The rename replaces whatever is at the target, so the target is checked first: only
a regular file (or nothing) is replaced, never a device node, a FIFO, a folder or a symbolic
link, and nothing is ever written under ``/dev``, ``/proc`` or ``/sys``.

Temp files are named ``.NAME.PID.TOKEN.tmp`` and locked (``flock``) by their writer while
written, so :func:`clean_temp_files` removes exactly the leftovers of writers that died,
even when their PID has since been reused by another process. Each write first cleans the
leftovers of earlier writes to the same target (e.g. ``.walk.gif.*.tmp`` after a kill).
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

TEMP_SUFFIX = ".tmp"
SYSTEM_TREES = ("/dev", "/proc", "/sys")

if os.name == "nt":  # pragma: no cover - Windows keeps open files from being deleted anyway
    def _lock(fd: int) -> bool:
        return True
else:
    import fcntl

    def _lock(fd: int) -> bool:
        """Take an exclusive lock without waiting; False when another writer holds it."""
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False
        return True


class UnsafeTargetError(OSError):
    """The target of a write is not something a write may replace (the reason is strerror)."""


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISLNK, "a symbolic link")):
        if test(mode):
            return name
    return "not a regular file"


def check_target(path: Path) -> None:
    """Raise UnsafeTargetError unless ``path`` may be replaced by a write."""
    path = Path(path)
    real_parent = os.path.realpath(path.parent)
    if os.name != "nt" and any(real_parent == tree or real_parent.startswith(tree + "/")
                               for tree in SYSTEM_TREES):
        raise UnsafeTargetError(errno.EPERM, f"it is inside {real_parent}, a system folder "
                                "that is never written to", str(path))
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError:
        return  # the write itself will report what is wrong
    if stat.S_ISLNK(info.st_mode):
        raise UnsafeTargetError(errno.EPERM, "it is a symbolic link (to "
                                f"{os.readlink(path)}); give the real path to write there",
                                str(path))
    if not stat.S_ISREG(info.st_mode):
        raise UnsafeTargetError(errno.EPERM, f"it is {_kind(info.st_mode)}, not a regular "
                                "file, and is never replaced", str(path))


@contextlib.contextmanager
def atomic_open(path: Path) -> Iterator[BinaryIO]:
    """Open a binary temp file that replaces ``path`` only when the block succeeds."""
    path = Path(path)
    check_target(path)
    clean_temp_files(path.parent, target=path.name)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}{TEMP_SUFFIX}")
    try:
        with open(tmp, "xb") as handle:
            _lock(handle.fileno())  # held until closed: marks the temp file as in use
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(path.parent)


def atomic_write_bytes(path: Path, data: bytes | memoryview) -> None:
    """Replace ``path`` with ``data`` atomically."""
    with atomic_open(path) as handle:
        handle.write(data)


def atomic_write_with(path: Path, writer: Callable[[BinaryIO], None]) -> None:
    """Replace ``path`` with whatever ``writer`` writes into the handle it is given."""
    with atomic_open(path) as handle:
        writer(handle)


def clean_temp_files(folder: Path, target: str | None = None) -> list[Path]:
    """Remove temp files left by killed writers (of ``target`` only, if given).

    A temp file whose writer still holds its lock (or, for the older ``.NAME.PID.tmp``
    names, whose PID is alive) is left alone: another process may be writing it right now.
    """
    removed: list[Path] = []
    pattern = f".{target}.*{TEMP_SUFFIX}" if target else f".*{TEMP_SUFFIX}"
    try:
        candidates = list(Path(folder).glob(pattern))
    except OSError:
        return removed
    for tmp in candidates:
        if _in_use(tmp):
            continue
        with contextlib.suppress(OSError):
            tmp.unlink()
            removed.append(tmp)
    return removed


def _in_use(tmp: Path) -> bool:
    parts = tmp.name[: -len(TEMP_SUFFIX)].rsplit(".", 2)
    if len(parts) == 3 and parts[1].isdigit() and len(parts[2]) == 8:  # .NAME.PID.TOKEN.tmp
        try:
            info = os.lstat(tmp)
            if not stat.S_ISREG(info.st_mode):
                return True  # not ours to remove
            fd = os.open(tmp, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            return True
        try:
            return not _lock(fd)
        finally:
            os.close(fd)  # closing drops the probe's lock at once
    return _writer_alive(tmp)


def _writer_alive(tmp: Path) -> bool:
    """Older names ``.NAME.PID.tmp``: alive when that PID runs (PID reuse keeps it)."""
    parts = tmp.name[: -len(TEMP_SUFFIX)].rsplit(".", 1)
    if len(parts) != 2 or not parts[1].isdigit():
        return False
    pid = int(parts[1])
    if pid == os.getpid():
        return False  # this process writes atomically; a leftover of its own is stale
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists but belongs to someone else (or cannot be asked): keep it
    return True


def _fsync_dir(folder: Path) -> None:
    if os.name == "nt":  # directories cannot be opened for fsync on Windows
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
