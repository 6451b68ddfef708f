"""Epoch-grid layouts several families share (numpy only)."""

from __future__ import annotations

import numpy as np

from aigc_studio.core.grid import make_grid


def rows_of(images: np.ndarray, per_row: int) -> list[np.ndarray]:
    """Split (N, H, W, C) into consecutive rows of ``per_row`` images."""
    return [images[i:i + per_row] for i in range(0, len(images), per_row)]


def interleaved_pairs(originals: np.ndarray, recons: np.ndarray, per_row: int = 8
                      ) -> np.ndarray:
    """Images in grid order: a row of originals, the row of their reconstructions, and so on."""
    rows: list[np.ndarray] = []
    for top, bottom in zip(rows_of(originals, per_row), rows_of(recons, per_row), strict=True):
        rows += [top, bottom]
    return np.concatenate(rows)


def originals_over_reconstructions(originals: np.ndarray, recons: np.ndarray,
                                   per_row: int = 8) -> np.ndarray:
    """A grid of alternating rows: originals, then their reconstructions below."""
    return make_grid(interleaved_pairs(originals, recons, per_row), ncols=per_row)
