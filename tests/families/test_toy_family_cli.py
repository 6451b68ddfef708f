"""A family added from outside trains through the CLI, lists, samples and exports with no other
file changed: the engine and the CLI ask the registry, never a family's name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aigc_studio import families
from aigc_studio.cli import main
from aigc_studio.engine import runs
from aigc_studio.families.base import ModelFamily


def _train(tmp_path: Path, *extra: str) -> Path:
    root = tmp_path / "runs"
    code = main(["train", "--model", "toy", "--dataset", "digits", "--limit", "128",
                 "--batch-size", "32", "--epochs", "2", "--latent-dim", "4", "--out", str(root),
                 *extra])
    assert code == 0
    (run,) = runs.list_runs(root)
    return run.path


def test_toy_family_trains_through_the_cli(toy_family: ModelFamily, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    run = _train(tmp_path)
    records = [json.loads(line) for line in (run / runs.METRICS).read_text().splitlines()]
    steps = [r for r in records if r["kind"] == "step"]
    assert len(steps) == 8 and all(set(r) >= {"loss_toy", "epoch", "step"} for r in steps)
    assert steps[-1]["loss_toy"] < steps[0]["loss_toy"]  # it learns the mean image
    assert (run / "samples" / "epoch_0002.png").is_file()
    assert json.loads((run / runs.CONFIG).read_text())["config"]["model"] == "toy"

    capsys.readouterr()
    assert main(["runs", "--root", str(tmp_path / "runs")]) == 0
    listing = capsys.readouterr().out
    (line,) = [ln for ln in listing.splitlines() if run.name in ln]
    assert " toy " in line and "2/2" in line and "loss_toy" in line

    out = tmp_path / "grid.png"
    assert main(["sample", str(run), "--n", "4", "--out", str(out)]) == 0 and out.is_file()
    weights = tmp_path / "toy.safetensors"
    assert main(["export", str(run), "--format", "safetensors", "--out", str(weights)]) == 0
    assert weights.is_file()


def test_the_cli_offers_registered_families_only(toy_family: ModelFamily, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    assert "toy" in capsys.readouterr().out
    families.unregister("toy")
    with pytest.raises(SystemExit):
        main(["train", "--model", "toy"])
    assert "invalid choice: 'toy'" in capsys.readouterr().err
    families.register(toy_family)


def test_a_toy_family_refuses_reconstruction_in_one_sentence(
        toy_family: ModelFamily, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = _train(tmp_path)
    capsys.readouterr()
    images = tmp_path / "images"
    images.mkdir()
    assert main(["reconstruct", str(run), str(images), "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert "is a Toy mean image, which samples images from noise; reconstruction needs" in err
    assert "Traceback" not in err
