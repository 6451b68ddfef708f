"""The latent explorer's renderer: pure functions from a request to pixels.

Kept free of Qt so the window's render worker, the CLI and the benchmarks share one code path
(the StyleGAN3-visualizer shape: a renderer function plus "latest request wins" coalescing in
the GUI). Everything here returns uint8 RGB arrays.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from aigc_studio.core.atomic import atomic_write_with
from aigc_studio.core.grid import make_grid, save_png
from aigc_studio.core.latent import path, principal_directions, seed_vector, seed_vectors
from aigc_studio.core.provenance import Provenance, gif_comment
from aigc_studio.engine.inference import LoadedModel, class_labels, decode
from aigc_studio.errors import AigcError


@dataclass(frozen=True)
class RenderRequest:
    """What to draw: ``count`` images starting at ``seed`` (seed, seed+1, ...), each moved by
    ``offsets`` along latent axes and ``pca`` along principal directions."""

    seed: int = 0
    count: int = 1
    offsets: tuple[tuple[int, float], ...] = ()
    pca: tuple[tuple[int, float], ...] = ()
    serial: int = 0  # increases with every request; lets a worker drop stale ones
    class_index: int | None = None  # the class a conditional model draws (None: its choice)
    # the family's sampling options as (name, value) pairs (a diffusion model's sampler,
    # steps, guidance); hashable, so a request stays a frozen value
    sampler: tuple[tuple[str, Any], ...] = ()


@dataclass
class Explorer:
    """Latent-space walks through any model that decodes latents (its family says how)."""

    model: LoadedModel
    _directions: np.ndarray | None = field(default=None, repr=False)
    _scales: np.ndarray | None = field(default=None, repr=False)

    @property
    def latent_dim(self) -> int:
        return self.model.latent_dim

    def latents(self, request: RenderRequest) -> torch.Tensor:
        """The latent vectors a request describes (N, latent_dim)."""
        z = seed_vectors(request.seed, request.count, self.latent_dim)
        for index, value in request.offsets:
            if 0 <= index < self.latent_dim:
                z[:, index] += value
        if request.pca:
            directions, _ = self.directions()
            for index, value in request.pca:
                if 0 <= index < len(directions):
                    # unit direction in a space of unit-variance axes: value is in std devs
                    z += value * torch.from_numpy(directions[index])
        return z

    def render(self, request: RenderRequest, **hooks: Any) -> np.ndarray:
        """One image (count 1) or a grid, as uint8 (H, W, 3); ``hooks`` are ``on_step`` and
        ``cancel`` (see :func:`~aigc_studio.engine.inference.decode`), so a long sampler run
        reports progress and gives way to a newer request."""
        images = decode(self.model, self.latents(request),
                        class_labels(self.model, request.class_index, request.count),
                        **dict(request.sampler), **hooks)
        return images[0] if request.count == 1 else make_grid(images)

    def directions(self, k: int = 8, samples: int = 2000, seed: int = 0
                   ) -> tuple[np.ndarray, np.ndarray]:
        """Principal latent directions (GANSpace), computed once per model."""
        if self._directions is None:
            if not self.model.capabilities.principal_directions:
                raise AigcError(f"A {self.model.family.title} has no principal directions to "
                                "explore.")
            gen = torch.Generator().manual_seed(seed)
            z = torch.randn(samples, self.latent_dim, generator=gen)
            device = next(self.model.net.parameters()).device
            with torch.no_grad():
                feats = self.model.family.impl.pca_features(self.model.net, z.to(device))
                feats = feats.cpu().numpy()
            self._directions, self._scales = principal_directions(feats, z.numpy(), k)
        return self._directions, self._scales

    def interpolation(self, seed_a: int, seed_b: int, steps: int, *, spherical: bool = True,
                      class_index: int | str | None = None, **options: Any) -> np.ndarray:
        """Frames walking from seed A to seed B: uint8 (steps, H, W, 3), all of one class when
        a conditional model is given one; ``options`` as for
        :func:`~aigc_studio.engine.inference.decode` (sampler settings, progress, cancel)."""
        a, b = seed_vector(seed_a, self.latent_dim), seed_vector(seed_b, self.latent_dim)
        return decode(self.model, path(a, b, steps, spherical=spherical),
                      class_labels(self.model, class_index, steps), **options)


def compare_epochs(run_dir: Path, seed: int = 0, count: int = 8
                   ) -> list[tuple[int, np.ndarray]]:
    """The same latents rendered by every saved epoch of a run: [(epoch, (H, W*count, 3))]."""
    from aigc_studio.engine.epoch_compare import iter_epoch_strips

    return [(epoch, strip) for _, epoch, strip in iter_epoch_strips(run_dir, seed, count)]


def upscale(frames: np.ndarray, scale: int) -> np.ndarray:
    """Nearest-neighbour enlargement (N, H, W, C) so small model outputs are visible."""
    if scale <= 1:
        return frames
    return frames.repeat(scale, axis=1).repeat(scale, axis=2)


def save_gif(frames: Sequence[np.ndarray] | np.ndarray, path_out: Path, fps: float = 12.0,
             *, bounce: bool = False, provenance: Provenance | None = None,
             hold_last_ms: int = 0) -> Path:
    """An animated GIF that loops forever (``bounce`` plays it forwards then backwards; the
    last frame shows for ``hold_last_ms`` when longer than the others); its comment carries
    ``provenance`` when given."""
    seq = list(frames)
    if not seq:
        raise AigcError("There are no frames to export.")
    if bounce and len(seq) > 2:
        seq = seq + seq[-2:0:-1]
    images = [Image.fromarray(np.ascontiguousarray(f)) for f in seq]
    duration = max(round(1000.0 / max(fps, 0.1)), 20)
    durations = [duration] * len(images)
    durations[-1] = max(duration, hold_last_ms)
    extra = {"comment": gif_comment(provenance)} if provenance is not None else {}

    def write(handle: object) -> None:
        images[0].save(handle, format="GIF", save_all=True, append_images=images[1:],
                       duration=durations, loop=0, optimize=False, disposal=2, **extra)

    atomic_write_with(Path(path_out), write)  # type: ignore[arg-type]
    return Path(path_out)


def save_frames(frames: Iterable[np.ndarray], folder: Path,
                provenance: Provenance | None = None, *, count: int | None = None
                ) -> list[Path]:
    """One PNG per frame: ``frame_0000.png``, ...; each carries ``provenance`` with its frame
    number and the frame count. ``frames`` may be a generator (one frame in memory at a time);
    then ``count`` says how many it yields."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    total = count if count is not None else len(frames)  # type: ignore[arg-type]
    written = []
    for i, frame in enumerate(frames):
        target = folder / f"frame_{i:04d}.png"
        save_png(frame, target, None if provenance is None else
                 provenance.with_sampler(frame=i, frames=total))
        written.append(target)
    return written
