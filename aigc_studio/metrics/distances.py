"""Distances between two sets of features: Fréchet distance and the k-NN manifold scores.

Written by hand because they are a few lines each and the trainer needs them on cached reference
features (torchmetrics' FID recomputes the real side and gives no PRDC). The Fréchet distance
agrees with torchmetrics' ``FrechetInceptionDistance`` (checked in tests/metrics).

- Fréchet distance (Heusel et al. 2017) between Gaussians fitted to each set. The matrix square
  root comes from eigendecompositions in float64 torch (no scipy):
  tr sqrt(S1 S2) = tr sqrt(sqrt(S1) S2 sqrt(S1)), a symmetric PSD matrix.
- Precision and recall (Kynkäänniemi et al. 2019): the share of generated samples inside the real
  k-NN manifold, and of real samples inside the generated one.
- Density and coverage (Naeem et al. 2020): how many real k-NN balls hold each generated sample
  (1 on average for real-like samples), and the share of real balls holding any generated one.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

NEAREST_K = 5  # Naeem et al.'s default; k-NN radii of each set
CHUNK = 1024  # rows of a distance matrix held at once (bounds memory for large sets)


@dataclass(frozen=True)
class Gaussian:
    """Mean and covariance of a feature set (float64)."""

    mean: torch.Tensor
    cov: torch.Tensor

    @classmethod
    def fit(cls, features: torch.Tensor) -> Gaussian:
        x = features.double()
        return cls(x.mean(0), torch.cov(x.T).reshape(x.shape[1], x.shape[1]))


def _sqrt_psd(matrix: torch.Tensor) -> torch.Tensor:
    values, vectors = torch.linalg.eigh(matrix)
    return (vectors * values.clamp_min(0).sqrt()) @ vectors.T


def frechet_distance(a: Gaussian, b: Gaussian) -> float:
    """||mu_a - mu_b||^2 + tr(S_a + S_b - 2 sqrt(S_a S_b))."""
    root_a = _sqrt_psd(a.cov)
    cross = torch.linalg.eigvalsh(root_a @ b.cov @ root_a).clamp_min(0).sqrt().sum()
    value = (a.mean - b.mean).square().sum() + a.cov.trace() + b.cov.trace() - 2 * cross
    return float(value.clamp_min(0))


def knn_radii(features: torch.Tensor, k: int = NEAREST_K) -> torch.Tensor:
    """Distance from each point to its k-th nearest other point (chunked)."""
    out = [torch.cdist(chunk, features).kthvalue(k + 1, dim=1).values
           for chunk in features.split(CHUNK)]
    return torch.cat(out)


@dataclass(frozen=True)
class Manifold:
    """A feature set with its k-NN radii (computed once for the real reference)."""

    features: torch.Tensor
    radii: torch.Tensor

    @classmethod
    def of(cls, features: torch.Tensor, k: int = NEAREST_K) -> Manifold:
        features = features.float()
        return cls(features, knn_radii(features, k))


def prdc(real: Manifold, fake: Manifold, k: int = NEAREST_K) -> dict[str, float]:
    """Precision, recall, density and coverage of ``fake`` against ``real``."""
    inside_real = torch.zeros(len(fake.features))  # real balls holding each fake sample
    recall_hits, covered = [], []
    for rows, radii in zip(real.features.split(CHUNK), real.radii.split(CHUNK), strict=True):
        d = torch.cdist(rows, fake.features)  # (real chunk, fake)
        inside_real += (d < radii[:, None]).sum(0)
        recall_hits.append((d < fake.radii[None, :]).any(1))
        covered.append(d.min(1).values < radii)
    return {
        "precision": float((inside_real > 0).float().mean()),
        "recall": float(torch.cat(recall_hits).float().mean()),
        "density": float(inside_real.mean() / k),
        "coverage": float(torch.cat(covered).float().mean()),
    }
