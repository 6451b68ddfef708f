"""Pick the training device: CUDA first, then Apple MPS, then the CPU."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import torch

from aigc_studio.errors import AigcError


def available_devices() -> list[str]:
    """Device choices that exist on this machine, ``auto`` first."""
    found = ["auto", "cpu"]
    if torch.cuda.is_available():
        found.append("cuda")
    if _mps_available():
        found.append("mps")
    return found


def resolve_device(name: str) -> torch.device:
    """Turn a device choice into a ``torch.device``; ask for a missing one and get a clear error."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise AigcError("--device cuda was asked for, but PyTorch finds no CUDA GPU here.")
    if name == "mps" and not _mps_available():
        raise AigcError("--device mps was asked for, but Apple MPS is not available here.")
    return torch.device(name)


def describe_device(device: torch.device) -> str:
    """A short human name, e.g. 'cuda (NVIDIA H200)' or 'cpu (2 threads)'."""
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    if device.type == "cpu":
        return f"cpu ({torch.get_num_threads()} threads)"
    return device.type


def training_threads() -> int:
    """Intra-op threads for training: the physical cores this process may run on.

    ``OMP_NUM_THREADS`` wins when set. Hyper-threads share a core's vector units, so counting
    them only adds contention (torch's own default is physical cores too).
    """
    try:
        wanted = int(os.environ.get("OMP_NUM_THREADS", ""))
    except ValueError:
        wanted = 0
    if wanted > 0:
        return wanted
    try:
        cpus = sorted(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return max(1, torch.get_num_threads())
    siblings = Path(f"/sys/devices/system/cpu/cpu{cpus[0]}/topology/thread_siblings_list")
    try:
        per_core = len(_cpu_list(siblings.read_text()))
    except (OSError, ValueError):
        per_core = 1
    return max(1, len(cpus) // max(per_core, 1))


def use_training_threads() -> int:
    """Let this thread's torch ops use :func:`training_threads` cores; returns the count.

    Thread counts are per thread under OpenMP: a training thread started by the window would
    otherwise get the OpenMP default (logical CPUs), not torch's choice.
    """
    threads = training_threads()
    torch.set_num_threads(threads)
    return threads


def use_one_thread() -> None:
    """For threads that run small torch work beside training (explorer, reconstruction).

    Every thread that runs parallel torch ops keeps its own OpenMP pool; once a process holds
    more pool threads than CPUs, OpenMP stops spinning between parallel regions and training
    in another thread runs 15-25 % slower (measured on 2 cores). One thread keeps no pool.
    """
    torch.set_num_threads(1)


BACKGROUND_NICENESS = 5  # CFS weight about 3x below the GUI thread's: it gets a core when it asks


def yield_cpu_to_gui() -> bool:
    """Lower this thread's CPU priority so the window's thread wins when both want a core.

    Call it first thing in a training thread: OpenMP workers it starts later inherit the
    priority. Only contention changes - alone on the CPU, training runs as fast as before.
    Linux sets niceness per thread; elsewhere the window lowers its QThread's priority.
    Returns True when the priority was lowered here.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, max(os.getpriority(os.PRIO_PROCESS, tid),
                                                  BACKGROUND_NICENESS))
    except (AttributeError, OSError):
        return False
    return True


def _cpu_list(text: str) -> list[int]:
    """Parse a Linux CPU list such as ``0-3,8``."""
    out: list[int] = []
    for part in text.strip().split(","):
        low, _, high = part.partition("-")
        out.extend(range(int(low), int(high or low) + 1))
    return out


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())
