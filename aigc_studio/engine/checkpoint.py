"""Checkpoints: atomic writes, weights-only loads that never fall back to an unsafe load.

A full checkpoint (``checkpoints/last.pt``) holds everything an exact resume needs. Plain
weights go to safetensors files whose metadata carries the run's config, so a weights file
alone is enough to sample or reconstruct.
"""

from __future__ import annotations

import json
import pickle
import re
from pathlib import Path
from typing import Any

import torch

from aigc_studio.core.atomic import atomic_write_bytes, atomic_write_with
from aigc_studio.engine.config import ConfigError, TrainConfig
from aigc_studio.errors import CheckpointError

FORMAT = "aigc-studio-checkpoint"
FORMAT_VERSION = 1


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Write a full training checkpoint atomically."""
    payload = {"format": FORMAT, "format_version": FORMAT_VERSION, **state}
    atomic_write_with(Path(path), lambda handle: torch.save(payload, handle))


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a full checkpoint with ``weights_only=True``; every failure is a CheckpointError."""
    path = Path(path)
    _check_file(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise CheckpointError(_refusal(path, exc)) from None
    except (RuntimeError, EOFError, OSError, ValueError, KeyError, AttributeError) as exc:
        raise CheckpointError(f"{path.name} is truncated or corrupt and cannot be loaded "
                              f"({_first_line(exc)}).") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path.name} is not an AIGC Studio checkpoint.")
    if state.get("format_version", 0) > FORMAT_VERSION:
        raise CheckpointError(f"{path.name} was written by a newer AIGC Studio; update the app.")
    return state


def checkpoint_config(state: dict[str, Any], path: Path) -> TrainConfig:
    """The training config stored in a checkpoint or weights file."""
    try:
        return TrainConfig.from_dict(state["config"])
    except (KeyError, TypeError, ConfigError) as exc:
        raise CheckpointError(f"{Path(path).name} holds no valid training config ({exc}).") \
            from None


def save_weights(path: Path, tensors: dict[str, torch.Tensor], config: TrainConfig,
                 **meta: str) -> None:
    """Write plain weights as safetensors (atomically), with the config in the metadata."""
    from safetensors.torch import save  # late: the engine runs without it until weights are saved

    flat = {k: v.detach().contiguous().cpu() for k, v in tensors.items()}
    metadata = {"format": FORMAT, "config": json.dumps(config.to_dict()), **meta}
    atomic_write_bytes(Path(path), save(flat, metadata=metadata))


def load_weights(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Read a safetensors weights file: (tensors, metadata)."""
    path = Path(path)
    _check_file(path)
    from safetensors import SafetensorError, safe_open
    from safetensors.torch import load_file

    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = dict(handle.metadata() or {})
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"{path.name} is truncated or corrupt and cannot be loaded "
                              f"({_first_line(exc)}).") from None
    if metadata.get("format") != FORMAT or "config" not in metadata:
        raise CheckpointError(f"{path.name} is not an AIGC Studio weights file.")
    return tensors, metadata


def _check_file(path: Path) -> None:
    if not path.exists():
        raise CheckpointError(f"{path} does not exist.")
    if not path.is_file():
        raise CheckpointError(f"{path} is not a file.")
    if path.stat().st_size == 0:
        raise CheckpointError(f"{path.name} is empty (0 bytes); it was never fully written.")


def _refusal(path: Path, exc: Exception) -> str:
    text = str(exc)
    found = re.findall(r"GLOBAL ([\w.]+)", text, flags=re.IGNORECASE)
    if found:
        names = ", ".join(sorted(set(found)))
        return (f"{path.name} was refused: loading it would need code ({names}) that an "
                f"AIGC Studio checkpoint never holds, so it is not a trusted checkpoint.")
    return f"{path.name} was refused by the safe loader: it is not an AIGC Studio checkpoint."


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:160]

