"""compare_runs: the settings that differ and each run's last and best metrics."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from aigc_studio.engine import runs
from aigc_studio.engine.compare import compare_runs, direction, settings_of
from aigc_studio.engine.config import TrainConfig
from aigc_studio.errors import RunError


def _fake_run(root: Path, config: TrainConfig, records: list[dict]) -> Path:
    """A run folder as the trainer leaves it (config.json, metrics.jsonl), without training."""
    run = runs.create_run_dir(root, config, {})
    runs.append_metrics(run, records)
    return run


def test_settings_that_differ_and_last_and_best(tmp_path: Path,
                                                tiny: Callable[..., TrainConfig]) -> None:
    a = _fake_run(tmp_path, tiny(), [
        {"kind": "step", "epoch": 1, "step": 2, "loss_d": 1.0, "loss_g": 2.0, "d_real": 0.6},
        {"kind": "epoch", "epoch": 1, "step": 4, "loss_d": 0.9, "loss_g": 2.5, "d_real": 0.7,
         "fld": 50.0, "precision": 0.8, "fld_real": 1.0, "seconds": 1.0,
         "images_per_s": 100.0},
        {"kind": "epoch", "epoch": 2, "step": 8, "loss_d": 1.1, "loss_g": 1.5, "d_real": 0.5,
         "fld": 40.0, "precision": 0.6, "fld_real": 0.5, "seconds": 1.0,
         "images_per_s": 100.0},
        {"kind": "step", "epoch": 3, "step": 9, "loss_d": 0.2, "new_metric": 3.0}])
    b = _fake_run(tmp_path, tiny(lr_g=1e-3, extras={"loss": "hinge"}), [])
    c = _fake_run(tmp_path, tiny(extras={"loss": "bce"}), [])  # the default, spelled out
    comparison = compare_runs([a, b, c])
    assert comparison.settings == {"lr_g": [2e-4, 1e-3, 2e-4], "loss": ["bce", "hinge", "bce"]}
    first = comparison.runs[0]
    assert first.epochs_done == 2
    assert first.last["loss_d"] == 1.1 and first.last["new_metric"] == 3.0  # epoch wins
    assert (first.best["loss_d"].value, first.best["loss_d"].epoch) == (0.9, 1)
    assert (first.best["loss_g"].value, first.best["loss_g"].epoch) == (1.5, 2)
    assert (first.best["fld"].value, first.best["fld"].epoch) == (40.0, 2)  # lower is better
    assert (first.best["precision"].value, first.best["precision"].epoch) == (0.8, 1)
    assert "d_real" not in first.best  # a probability has no better direction
    assert "fld_real" not in first.best  # a baseline: no spec, not a loss
    assert "seconds" not in first.last and "images_per_s" not in first.last
    assert comparison.runs[1].last == {} and comparison.runs[1].best == {}
    assert comparison.metrics[:2] == ["loss_d", "loss_g"]
    json.dumps(comparison.to_dict())  # JSON-ready


def test_a_vae_and_a_gan_differ_in_family_options(tiny: Callable[..., TrainConfig]) -> None:
    gan, vae = settings_of(tiny()), settings_of(tiny(model="vae"))
    assert gan["loss"] == "bce" and "loss" not in vae
    assert gan["model"] == "dcgan" and vae["model"] == "vae"


def test_direction_follows_the_metric_specs() -> None:
    assert direction("loss_recon", "vae") == -1
    assert direction("d_fake", "dcgan") == 0
    assert direction("never_heard_of", "dcgan") == 0


def test_a_folder_that_is_not_a_run_is_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(RunError, match="is not a run folder"):
        compare_runs([tmp_path])
    with pytest.raises(RunError):
        compare_runs([])
