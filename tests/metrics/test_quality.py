"""Sample quality after every epoch: baselines, collapse, training records, evaluate, edge cases."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from aigc_studio import metrics
from aigc_studio.cli import main
from aigc_studio.core.datasets import load_dataset
from aigc_studio.engine import runs
from aigc_studio.engine.checkpoint import load_weights
from aigc_studio.engine.config import TrainConfig
from aigc_studio.engine.trainer import Trainer
from aigc_studio.families.step import HealthContext
from aigc_studio.metrics.features import feature_space, load_lenet
from aigc_studio.metrics.sample_quality import (
    QualityUnavailable,
    best_weights_path,
    prepare_reference,
)

FIXTURES = Path(__file__).parents[1] / "fixtures" / "runs_v0_1"
SCORES = ("fld", "precision", "recall", "density", "coverage")


@pytest.fixture(scope="module")
def digits_reference() -> object:
    return prepare_reference(load_dataset("digits", 32), 500, "digits")


def _tiny(**overrides: object) -> TrainConfig:
    values: dict[str, object] = dict(dataset="digits", limit=256, batch_size=32, width=8,
                                     latent_dim=16, epochs=2, log_every=4, seed=3,
                                     fast=False)  # eager fp32: the fast path only adds start-up
    values.update(overrides)
    return TrainConfig(**values).validate()  # type: ignore[arg-type]


def _train(tmp_path: Path, **overrides: object) -> tuple[Path, list[dict[str, object]]]:
    end = Trainer(_tiny(**overrides), runs_root=tmp_path / "runs").fit()
    assert end.status == "finished"
    assert end.run_dir is not None
    return end.run_dir, [r for r in runs.read_metrics(end.run_dir) if r["kind"] == "epoch"]


def test_bundled_classifier_is_small_and_states_its_accuracy() -> None:
    from aigc_studio.metrics.features import lenet_path

    _, meta = load_lenet()
    assert lenet_path().stat().st_size < 500_000
    assert float(meta["accuracy"]) > 0.95
    assert {"seed", "script_version", "held_out"} <= set(meta)


def test_real_vs_real_is_near_zero_and_noise_is_far(digits_reference: object) -> None:
    b = digits_reference.baselines  # type: ignore[attr-defined]
    assert b["fld_real"] < 0.05 * b["fld_noise"]
    assert b["recall_real"] > 0.8 and b["coverage_real"] > 0.8
    assert b["recall_noise"] < 0.05 and b["coverage_noise"] < 0.1


def test_a_generator_frozen_at_one_output_has_no_recall_or_coverage(
        digits_reference: object) -> None:
    data = load_dataset("digits", 32)
    one = (data.images[:1].float() / 127.5 - 1).repeat(500, 1, 1, 1)
    scores = digits_reference.score(one)  # type: ignore[attr-defined]
    assert scores["recall"] < 0.02
    assert scores["coverage"] < 0.05


def test_feature_space_is_named_for_the_data(tmp_path: Path) -> None:
    assert feature_space("digits", 1).key == "fld"
    assert feature_space("digits", 3).key == "fld"  # greyscale digits forced to RGB
    other = feature_space(str(tmp_path), 3)
    assert other.key in ("fid", "fd_rand")
    assert metrics.spec(other.key) is not None  # every key the run writes has a stated meaning


def test_training_records_scores_baselines_and_best_weights_and_evaluate_agrees(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_dir, epochs = _train(tmp_path, eval_samples=100)
    for record in epochs:
        assert set(SCORES) <= set(record)
        assert record["quality_n"] == 100
    first = epochs[0]
    for key in SCORES:
        assert metrics.baseline_key(key, "real") in first
        assert metrics.baseline_key(key, "noise") in first
    assert "fld_real" not in epochs[1]  # baselines once per session
    best = runs.read_run(run_dir).best
    assert best is not None and best[0] == "fld"
    assert best[1] == min(r["fld"] for r in epochs)
    _, meta = load_weights(best_weights_path(run_dir))
    assert int(meta["epoch"]) == best[2]
    assert main(["runs", "--root", str(run_dir.parent)]) == 0
    assert f"best fld {best[1]:.2f} at epoch {best[2]}" in capsys.readouterr().out

    assert main(["evaluate", str(run_dir), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n"] == 100
    for recorded, evaluated in zip(epochs, report["epochs"], strict=True):
        assert evaluated["epoch"] == recorded["epoch"]
        assert evaluated["fld"] == pytest.approx(recorded["fld"], rel=1e-3)
        for key in SCORES[1:]:
            assert evaluated[key] == pytest.approx(recorded[key], abs=0.02)
    assert report["baselines"]["real"]["fld"] == pytest.approx(first["fld_real"], rel=1e-6)

    assert main(["evaluate", str(run_dir), "--epochs", "2"]) == 0
    table = capsys.readouterr().out
    assert "Fréchet LeNet distance" in table and "epoch 2" in table and "epoch 1 " not in table
    assert "real vs real" in table and "noise" in table


def test_evaluate_reads_runs_written_before_the_metric(capsys: pytest.CaptureFixture[str]
                                                       ) -> None:
    assert main(["evaluate", str(FIXTURES / "dcgan-digits"), "--json", "--n", "500"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [e["epoch"] for e in report["epochs"]] == [1, 2]
    assert report["n"] == 32 and "32 images" in report["note"]  # 64 images in that run


def test_evaluate_refuses_a_model_that_does_not_sample(capsys: pytest.CaptureFixture[str]
                                                       ) -> None:
    assert main(["evaluate", str(FIXTURES / "autoencoder-digits")]) == 1
    assert "does not draw samples" in capsys.readouterr().err


def test_evaluate_refuses_bad_epochs(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", str(FIXTURES / "dcgan-digits"), "--epochs", "x"]) == 2
    assert main(["evaluate", str(FIXTURES / "dcgan-digits"), "--epochs", "9"]) == 1
    assert "no weights for epoch 9" in capsys.readouterr().err


def test_eval_samples_zero_turns_the_metric_off(tmp_path: Path) -> None:
    run_dir, epochs = _train(tmp_path, eval_samples=0, epochs=1, limit=64)
    assert "fld" not in epochs[0]
    assert not best_weights_path(run_dir).exists()
    assert runs.read_run(run_dir).best is None


def test_a_small_data_set_is_scored_on_what_there_is(tmp_path: Path) -> None:
    _, epochs = _train(tmp_path, epochs=1, limit=100)  # default eval_samples 1000
    assert epochs[0]["quality_n"] == 50


def test_too_few_images_turn_the_metric_off_with_a_reason(tmp_path: Path) -> None:
    with pytest.raises(QualityUnavailable, match="at least 40 real images"):
        prepare_reference(load_dataset("digits", 32, limit=30), 1000, "digits")
    run_dir, epochs = _train(tmp_path, epochs=1, limit=30, batch_size=8)
    assert "fld" not in epochs[0]
    warnings = [r["message"] for r in runs.read_metrics(run_dir) if r.get("event") == "warning"]
    assert any("at least 40 real images" in w for w in warnings)


def test_a_one_class_folder_is_scored_in_named_features(tmp_path: Path) -> None:
    folder = tmp_path / "blobs"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(48):
        Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(
            folder / f"{i}.png")
    _, epochs = _train(tmp_path, dataset=str(folder), epochs=1, batch_size=8, limit=0)
    key = feature_space(str(folder), 3).key
    assert key != "fld" and key in epochs[0]
    assert epochs[0]["quality_n"] == 24


def test_collapse_warning_uses_recall_and_coverage_when_scored() -> None:
    impl = TrainConfig(model="dcgan").family.impl

    def ctx(**scores: float) -> HealthContext:
        return HealthContext(means={}, epochs_done=10, nets={}, fixed=torch.zeros(1),
                             device=torch.device("cpu"), real_spread=0.5, scores=scores)

    collapsed = impl.health_warnings(ctx(recall=0.01, coverage=0.03))
    assert any("recall 0.01" in w for w in collapsed)
    assert impl.health_warnings(ctx(recall=0.6, coverage=0.7)) == []


def test_collapse_warning_waits_until_the_generator_could_have_learned() -> None:
    """12 steps on a 300-image folder (3 epochs): a young generator is not a collapsed one."""
    family = TrainConfig(model="dcgan").family

    def ctx(steps: int) -> HealthContext:
        return HealthContext(means={}, epochs_done=3, nets={}, fixed=torch.zeros(1),
                             device=torch.device("cpu"), real_spread=0.5,
                             scores={"recall": 0.01, "coverage": 0.02}, steps_done=steps)

    assert family.impl.health_warnings(ctx(12)) == []
    assert family.impl.health_warnings(ctx(family.useful_steps))  # now it may say so


def test_cli_flag_sets_eval_samples(tmp_path: Path) -> None:
    from aigc_studio.cli import _config_from_args, build_parser

    args = build_parser().parse_args(["train", "--eval-samples", "0"])
    assert _config_from_args(args).eval_samples == 0
    with pytest.raises(Exception, match="--eval-samples"):
        TrainConfig(eval_samples=-1).validate()


@pytest.mark.slow
def test_the_distance_of_a_digits_run_falls_as_it_trains(tmp_path: Path) -> None:
    # ~190 steps: far from good digits, but the distance must already move the right way
    _, epochs = _train(tmp_path, epochs=3, limit=1000, width=16, batch_size=16,
                       eval_samples=300, latent_dim=32, fast=True)
    fld = [r["fld"] for r in epochs]
    assert fld[-1] < fld[0], fld
    assert epochs[-1]["coverage"] >= epochs[0]["coverage"]
