"""Latent maths: slerp keeps the norm, paths hit their ends, PCA finds the real axes."""

from __future__ import annotations

import numpy as np
import torch

from aigc_studio.core.latent import lerp, path, principal_directions, seed_vector, slerp


def test_slerp_keeps_the_norm_and_hits_the_ends() -> None:
    a, b = seed_vector(1, 100), seed_vector(2, 100)
    b = b / b.norm() * a.norm()  # equal norms: every point of the walk keeps that norm
    for t in np.linspace(0, 1, 11):
        assert abs(slerp(a, b, float(t)).norm().item() - a.norm().item()) < 1e-4
    assert torch.allclose(slerp(a, b, 0.0), a, atol=1e-5)
    assert torch.allclose(slerp(a, b, 1.0), b, atol=1e-5)
    # a straight line dips towards the origin half-way; slerp does not
    assert lerp(a, b, 0.5).norm() < 0.9 * a.norm()


def test_slerp_of_parallel_vectors_is_stable() -> None:
    a = seed_vector(3, 16)
    mid = slerp(a, 2 * a, 0.5)
    assert torch.isfinite(mid).all() and torch.allclose(mid, 1.5 * a, atol=1e-5)


def test_path_shape_and_seed_determinism() -> None:
    a, b = seed_vector(5, 8), seed_vector(6, 8)
    walk = path(a, b, 7, spherical=False)
    assert walk.shape == (7, 8) and torch.allclose(walk[3], (a + b) / 2)
    assert torch.equal(seed_vector(5, 8), a) and not torch.equal(a, b)


def test_principal_directions_recover_the_varying_axis() -> None:
    rng = np.random.default_rng(0)
    z = rng.standard_normal((500, 6)).astype(np.float32)
    features = np.stack([5 * z[:, 2], 0.1 * z[:, 4], 0.01 * z[:, 0]], axis=1)  # axis 2 dominates
    directions, scales = principal_directions(features, z, 2)
    assert directions.shape == (2, 6) and np.allclose(np.linalg.norm(directions, axis=1), 1)
    assert abs(directions[0][2]) > 0.99 and abs(directions[1][4]) > 0.99
    assert scales[0] > scales[1]
