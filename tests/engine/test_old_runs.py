"""Runs written by AIGC Studio 0.1 (before model families and open metrics) still work.

``tests/fixtures/runs_v0_1`` holds a tiny DCGAN run and a tiny autoencoder run written by that
version (2 epochs on 64 digits). They must list, sample, reconstruct and resume, and nothing in
them may change unless the user resumes one.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest

from aigc_studio.core.grid import save_png
from aigc_studio.engine import runs
from aigc_studio.engine.inference import load_model, reconstruct, sample
from aigc_studio.engine.trainer import Trainer

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "runs_v0_1"


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def old_runs(tmp_path: Path) -> Path:
    root = tmp_path / "runs"
    shutil.copytree(FIXTURES, root)
    return root


def test_old_runs_list_with_their_metrics_and_stay_untouched(old_runs: Path) -> None:
    before = _digest(old_runs)
    found = {r.model: r for r in runs.list_runs(old_runs)}
    assert set(found) == {"dcgan", "autoencoder"}
    assert all(r.damaged is None and r.epochs_done == 2 for r in found.values())
    assert set(found["dcgan"].last_metrics) == {"loss_d", "loss_g", "d_real", "d_fake"}
    assert set(found["autoencoder"].last_metrics) == {"loss_recon"}
    for run in found.values():
        model = load_model(run.path)
        assert model.epoch == 2 and model.num_classes == 0
    images = sample(load_model(found["dcgan"].path), 4, seed=7)
    assert images.shape == (4, 32, 32, 3) and images.std() > 0
    picture = old_runs.parent / "digit.png"
    save_png(np.full((32, 32, 3), 200, np.uint8), picture)
    results, failed = reconstruct(load_model(found["autoencoder"].path), [picture])
    assert len(results) == 1 and not failed
    assert _digest(old_runs) == before  # reading an old run never rewrites it


@pytest.mark.parametrize("model", ["dcgan", "autoencoder"])
def test_old_runs_resume(old_runs: Path, model: str) -> None:
    run = next(r.path for r in runs.list_runs(old_runs) if r.model == model)
    end = Trainer.resume(run, epochs=3).fit()
    assert end.status == "finished" and end.epoch == 3
    epochs = [r["epoch"] for r in runs.read_metrics(run) if r.get("kind") == "epoch"]
    assert epochs == [1, 2, 3]
    assert load_model(run).epoch == 3
