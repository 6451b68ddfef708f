"""Atomic file writes: a reader sees the old file or the new one, never half of one.

Write to a temp file in the same folder, fsync, ``os.replace`` over the target, fsync the
folder. Temp files are named ``.NAME.PID.tmp`` so :func:`clean_temp_files` can remove the
leftovers of a process killed mid-write.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

TEMP_SUFFIX = ".tmp"


@contextlib.contextmanager
def atomic_open(path: Path) -> Iterator[BinaryIO]:
    """Open a binary temp file that replaces ``path`` only when the block succeeds."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}{TEMP_SUFFIX}")
    try:
        with open(tmp, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(path.parent)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically."""
    with atomic_open(path) as handle:
        handle.write(data)


def atomic_write_with(path: Path, writer: Callable[[BinaryIO], None]) -> None:
    """Replace ``path`` with whatever ``writer`` writes into the handle it is given."""
    with atomic_open(path) as handle:
        writer(handle)


def clean_temp_files(folder: Path) -> list[Path]:
    """Remove temp files left by a killed writer; returns what was removed.

    A temp file whose writer (the PID in its name) is still alive is left alone: another
    process may be writing that run right now.
    """
    removed = []
    if folder.is_dir():
        for tmp in folder.glob(f".*{TEMP_SUFFIX}"):
            if _writer_alive(tmp):
                continue
            with contextlib.suppress(OSError):
                tmp.unlink()
                removed.append(tmp)
    return removed


def _writer_alive(tmp: Path) -> bool:
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
