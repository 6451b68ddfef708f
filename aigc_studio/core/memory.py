"""Memory before work: estimate what a job needs, compare it with what the machine has, and
recognise an out-of-memory error from any device (CUDA, MPS, CPU) as the same fault.

``AIGC_STUDIO_MEMORY_LIMIT`` (bytes, or with a K/M/G suffix) caps what the app plans to use,
for a machine shared with others.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

LIMIT_ENV = "AIGC_STUDIO_MEMORY_LIMIT"
FIT_FRACTION = 0.8  # plan for at most this share of what is available


def parse_size(text: str) -> int | None:
    """'512M' -> 536870912; None when it is not a size."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)i?B?\s*", text, flags=re.IGNORECASE)
    if not match:
        return None
    power = " KMGT".index(match.group(2).upper() or " ")
    return int(float(match.group(1)) * 1024**power)


def available_bytes() -> int | None:
    """Memory this process can still use: the least of the free RAM (MemAvailable), the
    cgroup limit and ``AIGC_STUDIO_MEMORY_LIMIT``; None when nothing can be told."""
    limits: list[int] = []
    override = os.environ.get(LIMIT_ENV)
    if override and parse_size(override) is not None:
        limits.append(parse_size(override))  # type: ignore[arg-type]
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                limits.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        pass
    try:
        text = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if text.isdigit():
            used = int(Path("/sys/fs/cgroup/memory.current").read_text().strip())
            limits.append(max(int(text) - used, 0))
    except (OSError, ValueError):
        pass
    return min(limits) if limits else None


def human(n: float) -> str:
    """1.5e9 -> '1.5 GB'."""
    for unit in ("bytes", "kB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"  # pragma: no cover


def fits(needed: int) -> tuple[bool, int | None]:
    """Whether ``needed`` bytes fit in what is available (True when it cannot be told)."""
    free = available_bytes()
    return (free is None or needed <= free * FIT_FRACTION), free


_OOM_TEXT = ("out of memory", "not enough memory", "cannot allocate memory",
             "failed to allocate memory", "std::bad_alloc")


def is_out_of_memory(exc: BaseException) -> bool:
    """A GPU's OutOfMemoryError, Python's MemoryError, or a RuntimeError from an allocator
    (``DefaultCPUAllocator: not enough memory``, MPS "out of memory") alike."""
    if isinstance(exc, MemoryError):
        return True
    if type(exc).__name__ == "OutOfMemoryError":
        return True
    if isinstance(exc, RuntimeError):
        text = str(exc).lower()
        return any(t in text for t in _OOM_TEXT)
    return False
