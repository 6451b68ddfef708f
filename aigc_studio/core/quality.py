"""Summaries of image-quality measures shared by the window and the command line (numpy only).

Identical images have an infinite PSNR. A mean over a batch ignores those infinite values
(they would make every mean infinite) and is infinite only when every image is identical;
:func:`mean_psnr` is the one place that decides this.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Protocol

import numpy as np

ERROR_FULL_SCALE = 128.0  # an absolute error of half the intensity range is drawn brightest

# Matplotlib's "inferno" at 11 evenly spaced stops (perceptually uniform, readable in grey).
_INFERNO_STOPS = np.array([
    (0, 0, 4), (22, 11, 57), (66, 10, 104), (106, 23, 110), (147, 38, 103), (188, 55, 84),
    (221, 81, 58), (243, 120, 25), (252, 165, 10), (246, 215, 70), (252, 255, 164),
], dtype=np.float64)
INFERNO_LUT: np.ndarray = np.stack(
    [np.interp(np.linspace(0, 1, 256), np.linspace(0, 1, len(_INFERNO_STOPS)),
               _INFERNO_STOPS[:, c]) for c in range(3)], axis=1).round().astype(np.uint8)


class Scored(Protocol):
    mse: float
    psnr: float
    ssim: float


def error_heatmap(original: np.ndarray, reconstruction: np.ndarray,
                  full_scale: float = ERROR_FULL_SCALE) -> np.ndarray:
    """|original - reconstruction| averaged over channels, as an inferno-coloured uint8 RGB.

    A fixed scale (not per image) keeps rows comparable: the same colour is the same error.
    """
    a = np.asarray(original, dtype=np.float32)
    b = np.asarray(reconstruction, dtype=np.float32)
    err = np.abs(a - b)
    if err.ndim == 3:
        err = err.mean(axis=2)
    index = np.clip(err * (255.0 / full_scale), 0, 255).astype(np.uint8)
    return INFERNO_LUT[index]


def mean_psnr(values: Iterable[float]) -> float:
    """Mean PSNR over finite values; infinite when every image was identical; nan when empty."""
    values = list(values)
    if not values:
        return math.nan
    finite = [v for v in values if math.isfinite(v)]
    return float(np.mean(finite)) if finite else math.inf


def mean_metrics(results: Sequence[Scored]) -> dict[str, float] | None:
    """Batch means of MSE, PSNR (see :func:`mean_psnr`) and SSIM; None for no results."""
    if not results:
        return None
    return {
        "mse": float(np.mean([r.mse for r in results])),
        "psnr": mean_psnr(r.psnr for r in results),
        "ssim": float(np.mean([r.ssim for r in results])),
    }


def format_psnr(value: float) -> str:
    """'31.20 dB', or '∞ (identical)'."""
    return "∞ (identical)" if math.isinf(value) else f"{value:.2f} dB"
