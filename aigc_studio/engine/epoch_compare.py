"""One row of an epoch comparison: the same latents through one saved epoch's weights.

``engine.explore.compare_epochs`` renders every epoch at once; the window renders them one
epoch at a time through :func:`epoch_strip` so a long comparison shows progress and can be
cancelled between epochs. Both use the seed convention of ``core.latent.seed_vectors``
(image i is seed + i).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from aigc_studio.core.grid import make_grid
from aigc_studio.core.latent import seed_vectors
from aigc_studio.engine import runs
from aigc_studio.engine.inference import decode, load_model


def epoch_strip(weights: Path, seed: int = 0, count: int = 8) -> tuple[int, np.ndarray]:
    """(epoch, uint8 (H, W*count, 3)): ``count`` latents from ``seed`` through ``weights``."""
    model = load_model(weights)
    z = seed_vectors(seed, count, model.latent_dim)
    return model.epoch, make_grid(decode(model, z), ncols=count)


def iter_epoch_strips(run_dir: Path, seed: int = 0, count: int = 8
                      ) -> Iterator[tuple[Path, int, np.ndarray]]:
    """(weights file, epoch, strip) per saved epoch of a run, oldest first, one at a time."""
    for weights in runs.epoch_weights(Path(run_dir)):
        epoch, strip = epoch_strip(weights, seed, count)
        yield weights, epoch, strip
