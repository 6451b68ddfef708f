"""Checkpoint integrity without torch: a recorded SHA-256 and a structural check.

Before ``last.pt`` is replaced, its checksum sidecar ``last.pt.sha256`` is rewritten to list
the new digest *and* the current one, so whatever a crash leaves in place (the old file or
the new one) is always listed. A reader that finds a digest not listed knows the file was
damaged or swapped for a foreign one. Runs written before checksums existed have no
sidecar; their checkpoint is checked as a zip archive (CRC of every member) instead.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import zipfile
from pathlib import Path

from aigc_studio.core.atomic import atomic_write_bytes
from aigc_studio.core.safe_read import SafeReadError, file_kind, read_json_file

SIDECAR_SUFFIX = ".sha256"
_CHUNK = 1 << 20
_cache: dict[tuple[str, int, int, int], str | None] = {}


def sidecar_path(path: Path) -> Path:
    """Where the checksums of ``path`` are recorded."""
    return Path(path).with_name(Path(path).name + SIDECAR_SUFFIX)


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a regular file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def recorded_digests(path: Path) -> list[str] | None:
    """Digests listed for ``path``; None when nothing was recorded (an older run)."""
    try:
        doc = read_json_file(sidecar_path(path), 64 * 1024)
    except FileNotFoundError:
        return None
    except (OSError, SafeReadError):
        return []  # a damaged record: nothing matches, so the checkpoint is not trusted
    if not isinstance(doc, dict) or not isinstance(doc.get("sha256"), list):
        return []
    return [d for d in doc["sha256"] if isinstance(d, str)]


def record_pending(path: Path, digest: str) -> None:
    """Record ``digest`` before ``path`` is replaced, keeping the current file's digest."""
    previous = recorded_digests(path) or []
    keep = [digest] + [d for d in previous[:1] if d != digest]
    if not previous and Path(path).is_file():  # an older run: list what is there now
        with contextlib.suppress(OSError):
            keep.append(sha256_file(path))
    data = json.dumps({"format": "aigc-studio-checksums", "sha256": keep}).encode()
    atomic_write_bytes(sidecar_path(path), data)


def checkpoint_problem(path: Path) -> str | None:
    """Why ``path`` is not a readable AIGC Studio checkpoint (or weights file), or None.

    A ``.pt`` is also checked as a zip archive; any file with a recorded checksum must
    match it.

    Cheap enough for a listing: the result is cached per file identity (inode, size, mtime).
    """
    path = Path(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    if not stat.S_ISREG(info.st_mode):
        return f"is {file_kind(info.st_mode)}, not a regular file"
    if info.st_size == 0:
        return "is empty (0 bytes)"
    key = (str(path), info.st_ino, info.st_size, info.st_mtime_ns)
    if key in _cache:
        return _cache[key]
    problem = _check(path, structure=path.suffix == ".pt")
    if len(_cache) > 4096:
        _cache.clear()
    _cache[key] = problem
    return problem


def _check(path: Path, *, structure: bool) -> str | None:
    for _ in range(3):  # a live writer may replace the file between hashing and the record
        before = os.stat(path)
        recorded = recorded_digests(path)
        if recorded is None:
            return _zip_problem(path, full=True) if structure else None
        try:
            digest = sha256_file(path)
        except OSError as exc:
            return f"cannot be read ({exc.strerror or exc})"
        if digest in recorded or digest in (recorded_digests(path) or []):
            return _zip_problem(path, full=False) if structure else None
        if os.stat(path).st_mtime_ns == before.st_mtime_ns:
            return "does not match the checksum recorded when it was written (damaged or " \
                   "replaced by another file)"
    return "kept changing while it was checked"


def _zip_problem(path: Path, *, full: bool) -> str | None:
    """A torch checkpoint is a zip archive with a ``data.pkl``."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            if not any(n.endswith("/data.pkl") or n == "data.pkl" for n in names):
                return "is not an AIGC Studio checkpoint (no data.pkl in it)"
            if full and archive.testzip() is not None:
                return "is corrupt (a member fails its CRC check)"
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
        return f"is truncated or not a checkpoint ({str(exc)[:80] or type(exc).__name__})"
    return None
