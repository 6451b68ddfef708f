"""Checkpoints: atomic writes, weights-only loads that never fall back to an unsafe load.

A full checkpoint (``checkpoints/last.pt``) holds everything an exact resume needs. Plain
weights go to safetensors files whose metadata carries the run's config, so a weights file
alone is enough to sample or reconstruct.
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import pickle
import re
import shutil
from pathlib import Path
from typing import Any

import torch

from aigc_studio.core.atomic import atomic_write_bytes
from aigc_studio.core.safe_read import SafeReadError, display, loads_limited
from aigc_studio.engine import integrity
from aigc_studio.engine.config import ConfigError, TrainConfig
from aigc_studio.errors import CheckpointError

FORMAT = "aigc-studio-checkpoint"
FORMAT_VERSION = 1


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Write a full training checkpoint atomically, with its checksum recorded beside it.

    The checkpoint is serialised in memory first: PyTorch's file writer turns a full disk
    into a RuntimeError ("unexpected pos"), while a plain write raises OSError(ENOSPC) that
    callers handle. Free space is checked before anything is written (about twice the size:
    the previous checkpoint stays until the new one is complete).
    """
    path = Path(path)
    payload = {"format": FORMAT, "format_version": FORMAT_VERSION, **state}
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    data = buffer.getbuffer()
    ensure_free_space(path, 2 * len(data))
    integrity.record_pending(path, hashlib.sha256(data).hexdigest())
    atomic_write_bytes(path, data)


def ensure_free_space(path: Path, needed: int) -> None:
    """OSError(ENOSPC) naming the figures when the folder of ``path`` has less than
    ``needed`` bytes free (nothing is written then)."""
    try:
        free = shutil.disk_usage(Path(path).parent).free
    except OSError:
        return  # cannot tell: let the write itself report
    if free < needed:
        raise OSError(errno.ENOSPC, f"No space left on device: {free / 1e6:.1f} MB free, "
                                    f"about {needed / 1e6:.1f} MB needed", str(path))


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
    version = state.get("format_version", 0)
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        raise CheckpointError(f"{path.name} is not a valid AIGC Studio checkpoint "
                              f"(format_version is {version!r:.40}).")
    if version > FORMAT_VERSION:
        raise CheckpointError(f"{path.name} was written by a newer AIGC Studio; update the app.")
    check_state_fields(state, path)
    return state


COUNTERS = ("epoch", "step", "epoch_step", "channels")


def check_state_fields(state: dict[str, Any], path: Path) -> None:
    """Types and ranges of what a checkpoint holds, checked before anything uses them:
    whole-number counters, finite weights, and a data order that is a permutation."""
    name = display(Path(path).name)
    for key in COUNTERS:
        if key in state:
            value = state[key]
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10**12:
                raise CheckpointError(f"{name} is not a valid checkpoint ({key} is "
                                      f"{value!r:.40}, not a whole number).")
    models = state.get("models")
    if models is not None:
        if not isinstance(models, dict):
            raise CheckpointError(f"{name} is not a valid checkpoint (no model weights).")
        for net, weights in models.items():
            check_finite(weights, f"{name} ({net})")
    order = state.get("order")
    if order is not None and (
            not isinstance(order, torch.Tensor) or order.dim() != 1 or order.is_floating_point()
            or not torch.equal(torch.sort(order).values, torch.arange(order.numel()))):
        raise CheckpointError(f"{name} is not a valid checkpoint (its data order is not a "
                                  "permutation of the data set).")
    fixed = state.get("fixed")
    if fixed is not None and (not isinstance(fixed, torch.Tensor) or fixed.numel() == 0
                              or fixed.numel() > 10**8):
        raise CheckpointError(f"{name} is not a valid checkpoint (fixed inputs are invalid).")


def check_finite(weights: object, what: str) -> None:
    """CheckpointError when a weights dict holds non-tensors or NaN / infinite values (a run
    that diverged writes such weights; sampling them gives a black grid)."""
    if not isinstance(weights, dict):
        raise CheckpointError(f"{what} holds no weights dict.")
    for key, tensor in weights.items():
        if not isinstance(tensor, torch.Tensor):
            raise CheckpointError(f"{what}: {key!s:.60} is not a tensor.")
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise CheckpointError(f"{what} holds NaN or infinite weights ({key!s:.60}); the "
                                  "run diverged before it was saved, so it cannot be used.")


def checkpoint_config(state: dict[str, Any], path: Path) -> TrainConfig:
    """The training config stored in a checkpoint, checked against the weights it holds
    (so a forged config never makes the app build networks it cannot fill)."""
    try:
        config = TrainConfig.from_dict(state["config"])
    except (KeyError, TypeError, ConfigError) as exc:
        raise CheckpointError(f"{Path(path).name} holds no valid training config ({exc}).") \
            from None
    models = state.get("models")
    if isinstance(models, dict):
        channels = state.get("channels", config.channels or 1)
        classes = state.get("num_classes", 0)
        for key, weights in models.items():
            check_shapes(config, channels, key, weights, path, num_classes=classes)
    return config


def check_shapes(config: TrainConfig, channels: object, key: str, weights: object,
                 path: Path, *, num_classes: object = 0) -> None:
    """CheckpointError unless ``weights`` have exactly the tensor shapes that ``config``
    implies for network ``key``. The networks are built on the ``meta`` device: no memory
    is allocated, whatever sizes the file claims."""
    name = display(Path(path).name)
    if isinstance(channels, bool) or channels not in (1, 3):
        raise CheckpointError(f"{name} is not a valid checkpoint (channels is "
                              f"{channels!r:.20}).")
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) \
            or not 0 <= num_classes <= 100_000:
        raise CheckpointError(f"{name} is not a valid checkpoint (num_classes is "
                              f"{num_classes!r:.20}).")
    with torch.device("meta"):
        nets = config.family.impl.build_networks(config, int(channels), num_classes)
    if key not in nets:
        raise CheckpointError(f"{name} holds a {key!s:.40} network, which a {config.model} "
                              "does not have.")
    if not isinstance(weights, dict):
        raise CheckpointError(f"{name} holds no weights for its {key}.")
    expected = {k: tuple(v.shape) for k, v in nets[key].state_dict().items()}
    found = {k: tuple(v.shape) for k, v in weights.items() if isinstance(v, torch.Tensor)}
    if expected == found:
        return
    differing = sorted(k for k in expected.keys() & found.keys() if expected[k] != found[k])
    missing = sorted(expected.keys() - found.keys())
    if differing:
        k = differing[0]
        detail = f"{k} is {list(found[k])}, the config implies {list(expected[k])}"
    elif missing:
        detail = f"{len(missing)} tensors are missing (e.g. {missing[0]})"
    else:
        detail = f"it holds tensors a {config.model} does not have"
    raise CheckpointError(
        f"{name} does not match a {config.model} of size {config.image_size} (latent "
        f"{config.latent_dim}, width {config.width}) as its config says: {detail}; nothing "
        "was built.")


def save_weights(path: Path, tensors: dict[str, torch.Tensor], config: TrainConfig,
                 **meta: str) -> None:
    """Write plain weights as safetensors (atomically), with the config in the metadata."""
    from safetensors.torch import save  # late: the engine runs without it until weights are saved

    path = Path(path)
    flat = {k: v.detach().contiguous().cpu() for k, v in tensors.items()}
    metadata = {"format": FORMAT, "config": json.dumps(config.to_dict()), **meta}
    data = save(flat, metadata=metadata)
    if _in_run(path):  # a run's own weights get a checksum; an export stays a single file
        ensure_free_space(path, 2 * len(data))
        integrity.record_pending(path, hashlib.sha256(data).hexdigest())
    atomic_write_bytes(path, data)


def _in_run(path: Path) -> bool:
    """``RUN/checkpoints/FILE`` of a run folder (one with a config.json)."""
    return path.parent.name == "checkpoints" and (path.parent.parent / "config.json").exists()


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
    try:
        config = loads_limited(metadata["config"])
    except SafeReadError as exc:
        raise CheckpointError(f"{display(path.name)}: the config in its metadata {exc}.") \
            from None
    if not isinstance(config, dict):
        raise CheckpointError(f"{display(path.name)}: the config in its metadata is not a "
                              "JSON object.")
    for key in ("epoch", "channels", "num_classes"):
        if key in metadata and not (metadata[key].isascii() and metadata[key].isdigit()
                                    and len(metadata[key]) < 13):
            raise CheckpointError(f"{display(path.name)}: {key} in its metadata is "
                                  f"{metadata[key]!r:.40}, not a whole number.")
    check_finite(tensors, display(path.name))
    try:
        train_config = TrainConfig.from_dict(config)
    except ConfigError as exc:
        raise CheckpointError(f"{display(path.name)} holds no valid training config ({exc}).") \
            from None
    kind = metadata.get("kind", train_config.family.inference_key)
    check_shapes(train_config, int(metadata.get("channels", train_config.channels or 1)), kind,
                 tensors, path, num_classes=int(metadata.get("num_classes", "0")))
    return tensors, metadata


def _check_file(path: Path) -> None:
    if not path.exists():
        raise CheckpointError(f"{display(path)} does not exist.")
    if not path.is_file():
        raise CheckpointError(f"{display(path)} is not a file.")
    if path.stat().st_size == 0:
        raise CheckpointError(f"{display(path.name)} is empty (0 bytes); it was never fully "
                              "written.")
    if integrity.recorded_digests(path) is not None:  # a run's checkpoint: check its checksum
        problem = integrity.checkpoint_problem(path)
        if problem:
            raise CheckpointError(f"{display(path)} {problem}.")


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

