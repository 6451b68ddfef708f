"""Image quality measures on uint8 images (numpy only): MSE, PSNR and SSIM."""

from __future__ import annotations

import math

import numpy as np


def mse(a: np.ndarray, b: np.ndarray) -> float:
    """Mean squared error of two uint8 images, on the [0, 1] scale."""
    diff = a.astype(np.float64) / 255.0 - b.astype(np.float64) / 255.0
    return float(np.mean(diff * diff))


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB (inf for identical images)."""
    err = mse(a, b)
    return math.inf if err == 0 else 10.0 * math.log10(1.0 / err)


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Structural similarity (Wang et al. 2004, 7x7 uniform window), averaged over channels."""
    x = a.astype(np.float64) / 255.0
    y = b.astype(np.float64) / 255.0
    if x.ndim == 2:
        x, y = x[..., None], y[..., None]
    c1, c2 = 0.01**2, 0.03**2
    scores = []
    for ch in range(x.shape[-1]):
        xs, ys = x[..., ch], y[..., ch]
        mx, my = _box(xs), _box(ys)
        vx = _box(xs * xs) - mx * mx
        vy = _box(ys * ys) - my * my
        cov = _box(xs * ys) - mx * my
        num = (2 * mx * my + c1) * (2 * cov + c2)
        den = (mx * mx + my * my + c1) * (vx + vy + c2)
        scores.append(float(np.mean(num / den)))
    return float(np.mean(scores))


def _box(img: np.ndarray, k: int = 7) -> np.ndarray:
    """Mean over each valid k x k window (summed-area table, no SciPy needed)."""
    k = min(k, img.shape[0], img.shape[1])
    s = np.pad(img, ((1, 0), (1, 0))).cumsum(0).cumsum(1)
    return (s[k:, k:] - s[:-k, k:] - s[k:, :-k] + s[:-k, :-k]) / (k * k)
