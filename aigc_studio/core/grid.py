"""Image grids as RGB uint8 arrays, and PNG writing (numpy + Pillow only, no torch)."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
from PIL import Image

from aigc_studio.core.atomic import atomic_write_bytes
from aigc_studio.core.provenance import Provenance, png_info


def to_uint8_images(images: np.ndarray) -> np.ndarray:
    """float images (N, C, H, W) in [-1, 1] -> uint8 (N, H, W, 3)."""
    arr = np.clip((np.asarray(images, dtype=np.float32) + 1.0) * 127.5 + 0.5, 0, 255)
    arr = arr.astype(np.uint8).transpose(0, 2, 3, 1)
    if arr.shape[-1] == 1:
        arr = np.repeat(arr, 3, axis=-1)
    return arr


def make_grid(images: np.ndarray, ncols: int | None = None, pad: int = 2,
              background: int = 24) -> np.ndarray:
    """Tile uint8 images (N, H, W, 3) into one (rows*H', cols*W', 3) array with padding."""
    n, h, w, c = images.shape
    ncols = ncols or max(1, math.ceil(math.sqrt(n)))
    nrows = math.ceil(n / ncols)
    grid = np.full((pad + nrows * (h + pad), pad + ncols * (w + pad), c), background, np.uint8)
    for i in range(n):
        r, col = divmod(i, ncols)
        y, x = pad + r * (h + pad), pad + col * (w + pad)
        grid[y:y + h, x:x + w] = images[i]
    return grid


def png_bytes(array: np.ndarray, provenance: Provenance | None = None) -> bytes:
    """Encode an RGB (or greyscale) uint8 array as PNG, with what made it when given."""
    buffer = io.BytesIO()
    extra = {"pnginfo": png_info(provenance)} if provenance is not None else {}
    Image.fromarray(np.ascontiguousarray(array)).save(buffer, format="PNG", optimize=False,
                                                      **extra)
    return buffer.getvalue()


def save_png(array: np.ndarray, path: Path, provenance: Provenance | None = None) -> None:
    """Write a PNG atomically (a viewer following the run never reads half a file), carrying
    ``provenance`` (what made it, the AI-generated marker) when given."""
    atomic_write_bytes(Path(path), png_bytes(array, provenance))
