"""``aigc-studio`` with a VAE: train, sample, reconstruct, interpolate, map; option errors."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from aigc_studio import families
from aigc_studio.cli import main
from aigc_studio.engine.config import TrainConfig
from aigc_studio.families.base import OptionSpec

TINY = ["--limit", "128", "--batch-size", "32", "--width", "8", "--log-every", "4"]


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIGC_STUDIO_HOME", str(tmp_path / "home"))


def _train(root: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> Path:
    code = main(["train", *TINY, "--epochs", "1", "--out", str(root), *extra])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return Path(captured.out.strip().splitlines()[-1])


def _error(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().err


def test_vae_run_samples_reconstructs_interpolates_and_maps(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = _train(tmp_path / "runs", capsys, "--model", "vae", "--beta", "2")
    config = TrainConfig.from_dict(json.loads((run / "config.json").read_text())["config"])
    # the family's defaults (latent 2) under the user's flags; beta kept with the run
    assert (config.latent_dim, config.width, config.extras) == (2, 8, {"beta": 2.0})

    assert main(["sample", str(run), "--n", "4", "--out", str(tmp_path / "s.png")]) == 0
    assert Image.open(tmp_path / "s.png").size == (2 + 2 * 34, 2 + 2 * 34)

    image = tmp_path / "digit.png"
    Image.fromarray(np.full((28, 28), 200, np.uint8)).save(image)
    assert main(["reconstruct", str(run), str(image), "--out", str(tmp_path / "rec")]) == 0
    assert "PSNR" in capsys.readouterr().out
    assert Image.open(tmp_path / "rec" / "digit_pair.png").size == (32 * 2 + 2, 32)

    assert main(["interpolate", str(run), "--seeds", "1", "2", "--steps", "4", "--scale", "1",
                 "--out", str(tmp_path / "walk")]) == 0
    assert len(list((tmp_path / "walk").glob("*.png"))) == 4

    capsys.readouterr()
    assert main(["map", str(run), "--out", str(tmp_path / "map.png"), "--grid", "5",
                 "--limit", "200"]) == 0
    said = capsys.readouterr().out
    assert "latent map of 200 images and a 5 x 5 decoded grid" in said
    assert "principal" not in said  # latent 2: the map is the latent space itself
    width, height = Image.open(tmp_path / "map.png").size
    assert width > 2 * 5 * 32 and height > 5 * 32  # the scatter beside the decoded grid

    assert main(["export", str(run), "--format", "onnx", "--out",
                 str(tmp_path / "vae.onnx")]) == 0
    assert "largest difference" in capsys.readouterr().out


def test_map_of_a_larger_latent_says_it_is_projected(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = _train(tmp_path / "runs", capsys, "--model", "autoencoder", "--latent-dim", "8")
    assert main(["map", str(run), "--out", str(tmp_path / "map.png"), "--grid", "3",
                 "--limit", "100"]) == 0
    assert "Latent size 8: the map shows the first two principal directions" in \
        capsys.readouterr().out


def test_map_errors_are_one_sentence(tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    gan = _train(tmp_path / "runs", capsys, "--model", "dcgan", "--latent-dim", "8")
    code, err = _error(capsys, "map", str(gan), "--out", str(tmp_path / "m.png"))
    assert code == 1 and err.count("error:") == 1
    assert "is a DCGAN, which samples images from noise; the latent map needs a model that " \
           "encodes (Autoencoder or VAE)." in err
    code, err = _error(capsys, "map", str(gan), "--out", str(tmp_path / "m.png"), "--grid", "1")
    assert (code, err) == (2, "error: --grid must be from 2 to 64, not 1.\n")
    code, err = _error(capsys, "map", str(gan), "--out", str(tmp_path / "no" / "m.png"))
    assert code == 1 and "does not exist" in err


@pytest.fixture
def loss_option() -> Iterator[None]:
    """A family that declares ``--loss`` (as the GAN losses do), so the flag exists."""
    name = "loss_toy"
    toy = dataclasses.replace(families.get("dcgan"), name=name, title="Loss toy",
                              options=(OptionSpec("loss", str, "bce", "loss", "GAN loss",
                                                  choices=("bce", "hinge")),))
    families.register(toy)
    try:
        yield
    finally:
        families.unregister(name)


@pytest.mark.usefixtures("loss_option")
@pytest.mark.parametrize(("argv", "message"), [
    (["--model", "vae", "--loss", "hinge"], "--loss does not apply to a VAE model."),
    (["--model", "vae", "--beta", "-1"], "--beta must be from 0.0 to 1000.0, not -1.0."),
    (["--model", "dcgan", "--beta", "2"], "--beta does not apply to a DCGAN model."),
])
def test_bad_vae_options_are_one_sentence(argv: list[str], message: str, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _error(capsys, "train", *TINY, "--out", str(tmp_path), *argv)
    assert (code, err) == (2, f"error: {message}\n")
    assert not any(tmp_path.iterdir())  # refused before any run folder was made
