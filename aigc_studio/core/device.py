"""Pick the training device: CUDA first, then Apple MPS, then the CPU."""

from __future__ import annotations

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


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())
