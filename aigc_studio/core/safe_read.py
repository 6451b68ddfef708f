"""Defensive reads of files a user (or a dying process) controls: a run folder is untrusted.

Only regular files are opened (never a FIFO, which would block for ever, nor a device or a
folder), with a size cap; JSON is parsed with a nesting cap and finite numbers only. Every
failure is a :class:`SafeReadError` whose message is a short reason, so a caller can mark
one run damaged and carry on with the next.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
from pathlib import Path
from typing import Any

__all__ = [
    "MAX_DEPTH",
    "SafeReadError",
    "display",
    "file_kind",
    "loads_limited",
    "read_json_file",
    "read_regular_bytes",
]

MAX_DEPTH = 32  # run files are flat: a config nests 3 levels, a metrics record 1


class SafeReadError(ValueError):
    """A file cannot be read safely; the message says why in a few words."""


def display(text: str | os.PathLike[str]) -> str:
    """A name safe to print or log: undecodable bytes (surrogate escapes) shown as ``\\xNN``."""
    value = os.fspath(text)
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        pass
    try:
        return value.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # lone surrogates that were never bytes
        return value.encode("utf-8", "backslashreplace").decode("ascii")


def file_kind(mode: int) -> str:
    """'a FIFO', 'a folder', ... for a ``st_mode`` (for messages)."""
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISLNK, "a symbolic link"),
                       (stat.S_ISREG, "a regular file")):
        if test(mode):
            return name
    return "not a regular file"


def read_regular_bytes(path: Path, max_bytes: int) -> bytes:
    """The bytes of ``path`` if it is a regular file of at most ``max_bytes``.

    Raises FileNotFoundError when missing (callers treat that apart), SafeReadError otherwise.
    The file is checked before it is opened and again through the open handle (O_NONBLOCK:
    a FIFO swapped in between never blocks the caller).
    """
    path = Path(path)
    try:
        before = os.stat(path)
    except FileNotFoundError:
        raise
    except OSError as exc:  # a symlink loop, a permission problem, a name too long
        raise SafeReadError(f"cannot be read ({exc.strerror or exc})") from None
    if not stat.S_ISREG(before.st_mode):
        raise SafeReadError(f"is {file_kind(before.st_mode)}, not a regular file")
    if before.st_size > max_bytes:
        raise SafeReadError(f"is {before.st_size:,} bytes, over the {max_bytes:,} byte limit")
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise SafeReadError(f"cannot be opened ({exc.strerror or exc})") from None
    try:
        now = os.fstat(fd)
        if not stat.S_ISREG(now.st_mode):
            raise SafeReadError(f"is {file_kind(now.st_mode)}, not a regular file")
        chunks, total = [], 0
        while True:
            chunk = os.read(fd, min(1 << 20, max_bytes + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > max_bytes:
                raise SafeReadError(f"grew over the {max_bytes:,} byte limit while read")
        return b"".join(chunks)
    except OSError as exc:
        raise SafeReadError(f"cannot be read ({exc.strerror or exc})") from None
    finally:
        os.close(fd)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:20]} is out of range")
    return value


_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")


def _too_deep(data: bytes | str, max_depth: int) -> bool:
    """Whether the JSON nests deeper than ``max_depth`` (strings ignored).

    Linear C-speed passes, no recursion: keep only the brackets, then remove innermost
    ``[]``/``{}`` pairs once per level; brackets that never close count one level each.
    """
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else bytes(data)
    if raw.count(b"[") + raw.count(b"{") <= max_depth:
        return False  # cannot be deeper than the cap
    brackets = _STRING.sub(b"", raw).translate(None, _NOT_BRACKET)
    for level in range(max_depth):
        shorter = brackets.replace(b"[]", b"").replace(b"{}", b"")
        if shorter == brackets:  # what is left never closes: each opening is one level more
            return level + brackets.count(b"[") + brackets.count(b"{") > max_depth
        brackets = shorter
    return b"[]" in brackets or b"{}" in brackets


def loads_limited(data: bytes | str, max_depth: int = MAX_DEPTH) -> Any:
    """``json.loads`` with a nesting cap, finite numbers only, and every failure a
    SafeReadError (never RecursionError, OverflowError or a huge-int ValueError)."""
    if _too_deep(data, max_depth):
        raise SafeReadError(f"is corrupt (JSON nested deeper than {max_depth} levels)")
    try:
        return json.loads(data, parse_constant=_reject_constant, parse_float=_finite_float)
    except json.JSONDecodeError as exc:
        raise SafeReadError(f"is corrupt (not valid JSON: {exc.msg} at line {exc.lineno})") \
            from None
    except (ValueError, RecursionError, UnicodeDecodeError, OverflowError) as exc:
        raise SafeReadError(f"is corrupt (not valid JSON: "
                            f"{str(exc)[:80] or type(exc).__name__})") from None


def read_json_file(path: Path, max_bytes: int) -> Any:
    """A small JSON file read with every safeguard above."""
    return loads_limited(read_regular_bytes(path, max_bytes))
