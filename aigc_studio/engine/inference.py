"""Use a trained model: load it from a run, checkpoint or weights file; sample; reconstruct.

One loading path for every caller (CLI, window, explorer): the file is read weights-only,
the network is built from the config stored with it and filled with ``strict`` loading into a
fresh module, so a mismatch is an error and any model already in use is untouched.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from aigc_studio import families
from aigc_studio.core import images as imgs
from aigc_studio.core.datasets import to_unit_range
from aigc_studio.core.grid import to_uint8_images
from aigc_studio.core.latent import seed_vectors
from aigc_studio.core.metrics import mse, psnr, ssim
from aigc_studio.engine import runs
from aigc_studio.engine.checkpoint import (
    checkpoint_config,
    load_checkpoint,
    load_weights,
)
from aigc_studio.engine.config import TrainConfig
from aigc_studio.errors import AigcError, Cancelled, CheckpointError
from aigc_studio.families.base import Capabilities, ModelFamily


@dataclass
class LoadedModel:
    """A network ready for inference (eval mode, CPU unless moved)."""

    config: TrainConfig
    net: nn.Module
    channels: int
    source: Path
    epoch: int
    class_names: tuple[str, ...] = ()  # the classes a conditional model was trained on

    @property
    def num_classes(self) -> int:
        """Classes the model is conditioned on (0: unconditional)."""
        return len(self.class_names)

    @property
    def family(self) -> ModelFamily:
        """The model's family: what it can do and how (decode, reconstruct, PCA, export)."""
        return self.config.family

    @property
    def capabilities(self) -> Capabilities:
        return self.config.family.capabilities

    @property
    def latent_dim(self) -> int:
        """Numbers per latent vector (for a diffusion model, its whole initial noise)."""
        return self.family.impl.latent_size(self.config, self.channels)


def resolve_model_file(path: str | Path) -> Path:
    """A run folder means its last checkpoint (or, failing that, its newest epoch weights)."""
    path = Path(path).expanduser()
    if path.is_dir():
        last = runs.last_checkpoint(path)
        if last.exists():
            return last
        weights = runs.epoch_weights(path)
        if weights:
            return weights[-1]
        raise CheckpointError(f"The run folder {path} has no checkpoint or weights file yet.")
    return path


def load_model(path: str | Path, *, device: str | torch.device = "cpu") -> LoadedModel:
    """Load the family's inference network from a run folder, ``.pt`` or ``.safetensors``."""
    if foreign_model_folder(path):
        return load_foreign_folder(Path(path).expanduser(), device)
    file = resolve_model_file(path)
    if file.suffix == ".safetensors":
        tensors, meta = load_weights(file)
        config = TrainConfig.from_dict(json.loads(meta["config"]))
        channels = int(meta.get("channels", config.channels or 1))
        classes = json.loads(meta.get("classes", "[]"))
        state, epoch = tensors, int(meta.get("epoch", 0))
    else:
        ckpt = load_checkpoint(file)
        config = checkpoint_config(ckpt, file)
        channels = int(ckpt.get("channels", config.channels or 1))
        classes = ckpt.get("classes", [])
        key = config.family.inference_key
        models = ckpt.get("models")
        found = None
        if isinstance(models, dict):  # an older checkpoint may lack it: the family fills in
            found = models[key] if key in models else config.family.impl.legacy_state(key,
                                                                                      models)
        if found is None:
            raise CheckpointError(f"{file.name} holds no {key} weights.")
        state = found
        epoch = int(ckpt.get("epoch", 0))
    if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes):
        raise CheckpointError(f"{file.name} records its classes in a form this app cannot "
                              "read.")
    family = config.family
    net = family.impl.build_networks(config, channels, len(classes))[family.inference_key]
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise CheckpointError(_mismatch(file, config, exc)) from None
    net.eval().to(device)
    return LoadedModel(config, net, channels, file, epoch, tuple(classes))


def _folder_family(path: str | Path) -> ModelFamily | None:
    """The family that opens a model folder another library wrote (diffusers'
    ``save_pretrained``), or None; run folders and files are ours and never asked about."""
    path = Path(path).expanduser()
    if not path.is_dir() or runs.last_checkpoint(path).exists() or runs.epoch_weights(path):
        return None
    return next((f for f in families.all_families() if f.impl.opens_folder(path)), None)


def foreign_model_folder(path: str | Path) -> bool:
    """True for a model folder another library wrote that a family can open."""
    return _folder_family(path) is not None


def load_foreign_folder(folder: Path, device: str | torch.device) -> LoadedModel:
    """A folder saved by another library, loaded by the family that knows its format."""
    family = _folder_family(folder)
    assert family is not None
    config, net, channels, classes = family.impl.open_folder(folder)
    net.eval().to(device)
    return LoadedModel(config, net, channels, folder, 0, tuple(classes))


def check_compatible(current: LoadedModel, path: str | Path) -> LoadedModel:
    """Load ``path`` only if it matches the architecture and size of ``current``."""
    new = load_model(path)
    a, b = current.config, new.config
    for name in ("model", "image_size", "latent_dim", "width"):
        if getattr(a, name) != getattr(b, name):
            raise CheckpointError(
                f"{Path(path).name} is a {b.model} with {name} {getattr(b, name)}, but the "
                f"open model has {getattr(a, name)}; nothing was changed.")
    if current.channels != new.channels:
        raise CheckpointError(f"{Path(path).name} has {new.channels} channels, the open model "
                              f"{current.channels}; nothing was changed.")
    return new


def wrong_kind(model: LoadedModel, capability: str, task: str) -> str:
    """One sentence: what the file is, what it can do, and which models the task needs."""
    family = model.family
    return (f"{model.source.name} is a {family.title}, which {family.abilities}; {task} needs "
            f"a model that {capability.replace('_', ' ')} ({families.titles_with(capability)}).")


def _mismatch(file: Path, config: TrainConfig, exc: RuntimeError) -> str:
    first = str(exc).splitlines()
    detail = next((ln.strip() for ln in first[1:] if ln.strip()), first[0] if first else "")
    return (f"{file.name} does not match a {config.model} of size {config.image_size} "
            f"(latent {config.latent_dim}, width {config.width}): {detail[:200]}")


def latent_batch(model: LoadedModel, n: int, seed: int) -> torch.Tensor:
    """``n`` latent vectors for seeds ``seed, seed+1, ...``: the studio's one seed convention.

    Image ``i`` of a batch at seed ``s`` is the single image at seed ``s + i``, so
    ``sample --seed 7 --n 4`` and the explorer's grid at seed 7 show the same four images.
    """
    return seed_vectors(seed, n, model.latent_dim)


def resolve_class(model: LoadedModel, which: int | str | None) -> int | None:
    """The class a user asked for (an index or a class name) as an index; None stays None.

    One sentence when the model is not conditional or the class does not exist (naming the
    classes it knows).
    """
    if which is None:
        return None
    names = model.class_names
    if not names:
        raise AigcError(f"{model.source.name} is not class-conditional, so --class does not "
                        "apply; train one with --conditional to choose a class.")
    if isinstance(which, str) and which in names:
        return names.index(which)
    try:
        index = int(which)
    except ValueError:
        index = -1
    if not 0 <= index < len(names):
        listed = ", ".join(f"{i} ({n})" if n != str(i) else n for i, n in enumerate(names))
        raise AigcError(f"Class {which} is not one of the model's classes: {listed}.")
    return index


def class_labels(model: LoadedModel, which: int | str | None, n: int) -> torch.Tensor | None:
    """``n`` copies of the asked-for class (int64), or None when no class was asked for."""
    index = resolve_class(model, which)
    return None if index is None else torch.full((n,), index, dtype=torch.long)


def sample_options(model: LoadedModel, options: dict[str, Any]) -> dict[str, Any]:
    """The sampling options given (None: the model's default), checked against its family.

    ``on_step(i, n)`` and ``cancel()`` are for every family: one that samples in one pass
    reports a single step. Any other option the family does not take is one sentence.
    """
    given = {k: v for k, v in options.items() if v is not None}
    for name in given:
        if name not in (*model.family.impl.sample_options, "on_step", "cancel"):
            flag = "--" + name.replace("_", "-")
            raise AigcError(f"{flag} does not apply to a {model.family.title} model.")
    return given


def decode(model: LoadedModel, z: torch.Tensor, labels: torch.Tensor | None = None,
           **options: Any) -> np.ndarray:
    """Latent vectors (N, latent_dim) -> uint8 images (N, H, W, 3).

    ``labels`` (N,) are the classes a conditional model draws (None: its own choice).
    ``options`` are the family's sampling options (``sampler``, ``steps``, ``guidance`` for a
    diffusion model) plus ``on_step(i, n)`` progress and ``cancel()`` for any family.
    """
    given = sample_options(model, options)
    impl = model.family.impl
    on_step, cancel = given.get("on_step"), given.get("cancel")
    if "on_step" not in impl.sample_options:  # one pass: check, run, report it as one step
        given.pop("on_step", None)
        given.pop("cancel", None)
        if cancel is not None and cancel():
            raise Cancelled("Sampling was cancelled.")
    device = next(model.net.parameters()).device
    with torch.no_grad():
        z = z.to(device)
        out = (impl.decode(model.net, z, **given) if labels is None else
               impl.decode(model.net, z, labels.to(device), **given))
    if on_step is not None and "on_step" not in impl.sample_options:
        on_step(1, 1)
    return to_uint8_images(out.float().cpu().numpy())


def sample(model: LoadedModel, n: int, seed: int, class_index: int | str | None = None,
           **options: Any) -> np.ndarray:
    """``n`` generated images as uint8 (N, H, W, 3), all of one class when one is given.

    ``options``: see :func:`decode` (sampler settings, ``on_step``, ``cancel``).
    """
    return decode(model, latent_batch(model, n, seed), class_labels(model, class_index, n),
                  **options)


def trajectory(model: LoadedModel, seed: int, class_index: int | str | None = None, *,
               points: int = 8, **options: Any) -> np.ndarray:
    """One sample's way from pure noise to the image: uint8 frames (points, H, W, 3).

    The sample is the one :func:`sample` draws at ``seed``; ``options`` as for
    :func:`decode` (``sampler``, ``steps``, ``guidance``, ``on_step``, ``cancel``). One
    sentence for a model that has no denoising path (a GAN, an autoencoder).
    """
    if not model.capabilities.denoising_path:
        raise AigcError(wrong_kind(model, "denoising_path", "a denoising path"))
    given = sample_options(model, options)
    device = next(model.net.parameters()).device
    labels = class_labels(model, class_index, 1)
    with torch.no_grad():
        frames = model.family.impl.trajectory(
            model.net, latent_batch(model, 1, seed).to(device),
            None if labels is None else labels.to(device), points=points, **given)
    return to_uint8_images(frames[:, 0].float().cpu().numpy())


@dataclass
class Reconstruction:
    """One image through the autoencoder."""

    path: Path
    original: np.ndarray  # uint8 (S, S, 3) as fed to the model
    reconstruction: np.ndarray  # uint8 (S, S, 3)
    mse: float
    psnr: float
    ssim: float
    notes: tuple[str, ...]


def reconstruct(model: LoadedModel, paths: list[Path], *, batch_size: int = 64
                ) -> tuple[list[Reconstruction], list[tuple[Path, str]]]:
    """Reconstruct image files; unusable files are returned with the reason, the rest run."""
    if not model.capabilities.encodes:
        raise CheckpointError(wrong_kind(model, "encodes", "reconstruction"))
    size, channels = model.config.image_size, model.channels
    prepared, failed = [], []
    for path in paths:
        try:
            prepared.append(imgs.prepare_image(path, size, channels))
        except imgs.ImageLoadError as exc:
            failed.append((Path(path), exc.reason))
    results: list[Reconstruction] = []
    device = next(model.net.parameters()).device
    for start in range(0, len(prepared), batch_size):
        chunk = prepared[start:start + batch_size]
        batch = torch.from_numpy(np.stack([p.array for p in chunk])).permute(0, 3, 1, 2)
        with torch.no_grad():
            x = to_unit_range(batch.to(device))
            recon = model.family.impl.reconstruct(model.net, x)
        originals = to_uint8_images(x.cpu().numpy())
        recons = to_uint8_images(recon.float().cpu().numpy())
        for p, o, r in zip(chunk, originals, recons, strict=True):
            results.append(Reconstruction(p.path, o, r, mse(o, r), psnr(o, r), ssim(o, r),
                                          p.notes))
    return results, failed
