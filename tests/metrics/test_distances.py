"""The hand-written distances: closed forms, torchmetrics agreement, manifold edge cases."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from aigc_studio.metrics.distances import Gaussian, Manifold, frechet_distance, prdc


def test_frechet_distance_of_gaussians_with_known_answer() -> None:
    # N(0, I) vs N(m, 4I) in d dims: |m|^2 + d (1 + 4 - 2 * 2) = |m|^2 + d
    d = 6
    a = Gaussian(torch.zeros(d, dtype=torch.float64), torch.eye(d, dtype=torch.float64))
    b = Gaussian(torch.full((d,), 0.5, dtype=torch.float64), 4 * torch.eye(d, dtype=torch.float64))
    assert frechet_distance(a, b) == pytest.approx(d * 0.25 + d, rel=1e-9)
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-9)


class _Flatten(nn.Module):
    """A stand-in feature extractor torchmetrics and we both run."""

    num_features = 16

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.double().flatten(1)


def test_frechet_distance_agrees_with_torchmetrics() -> None:
    fid_module = pytest.importorskip("torchmetrics.image.fid")
    gen = torch.Generator().manual_seed(0)
    real = torch.randn(400, 1, 4, 4, generator=gen)
    fake = torch.randn(400, 1, 4, 4, generator=gen) * 1.3 + 0.2
    metric = fid_module.FrechetInceptionDistance(feature=_Flatten(), input_img_size=(1, 4, 4))
    metric.update(real, real=True)
    metric.update(fake, real=False)
    theirs = float(metric.compute())
    ours = frechet_distance(Gaussian.fit(real.flatten(1)), Gaussian.fit(fake.flatten(1)))
    assert ours == pytest.approx(theirs, rel=1e-6)


def test_identical_sets_are_fully_precise_and_covered() -> None:
    feats = torch.randn(200, 8, generator=torch.Generator().manual_seed(1))
    m = Manifold.of(feats)
    scores = prdc(m, m)
    assert scores["precision"] == scores["recall"] == scores["coverage"] == 1.0


def test_one_repeated_sample_has_no_recall_and_little_coverage() -> None:
    feats = torch.randn(300, 8, generator=torch.Generator().manual_seed(2))
    frozen = Manifold.of(feats[:1].repeat(300, 1))
    scores = prdc(Manifold.of(feats), frozen)
    assert scores["recall"] == 0.0
    assert scores["coverage"] < 0.05
    assert scores["precision"] == 1.0  # the one sample is real-looking: fidelity is not the issue


def test_chunking_gives_the_same_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    from aigc_studio.metrics import distances

    gen = torch.Generator().manual_seed(3)
    real, fake = torch.randn(130, 5, generator=gen), torch.randn(120, 5, generator=gen) + 0.3
    whole = prdc(Manifold.of(real), Manifold.of(fake))
    monkeypatch.setattr(distances, "CHUNK", 17)
    assert prdc(Manifold.of(real), Manifold.of(fake)) == pytest.approx(whole)


def test_reference_keys_are_told_apart_from_series() -> None:
    from aigc_studio import metrics

    assert metrics.is_reference_key("fld_real") and metrics.is_reference_key("coverage_noise")
    assert metrics.is_reference_key("quality_n")
    assert not metrics.is_reference_key("fld") and not metrics.is_reference_key("loss_real")
