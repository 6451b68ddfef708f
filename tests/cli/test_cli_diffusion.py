"""The diffusion model from the command line: train, sample by class with a sampler, the
denoising options' one-sentence errors, interpolate, export (safetensors and ONNX), resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from aigc_studio.cli import main
from aigc_studio.engine import runs

TINY = ["--model", "diffusion", "--dataset", "digits", "--limit", "64", "--batch-size", "32",
        "--width", "8", "--log-every", "2", "--sample-steps", "2", "--eval-samples", "0"]


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIGC_STUDIO_HOME", str(tmp_path / "home"))


def _train(root: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> Path:
    code = main(["train", *TINY, "--epochs", "1", "--out", str(root), *extra])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return Path(captured.out.strip().splitlines()[-1])


def _fails(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return code, err


def test_train_sample_interpolate_export_resume(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    run = _train(tmp_path / "runs", capsys, "--ema-decay", "0.99", "--prediction", "v")
    config = json.loads((run / runs.CONFIG).read_text())["config"]
    assert config["model"] == "diffusion"
    assert config["extras"]["ema_decay"] == 0.99 and config["extras"]["prediction"] == "v"
    assert (run / "samples" / "epoch_0001.png").is_file()
    grid = Image.open(run / "samples" / "epoch_0001.png")
    assert grid.size == (2 + 8 * 34, 2 + 11 * 34)  # a row per class + the denoising strip

    out = tmp_path / "threes"
    assert main(["sample", str(run), "--n", "4", "--class", "3", "--steps", "3",
                 "--guidance", "2", "--sampler", "ddim", "--out", str(out)]) == 0
    assert len(list(out.glob("sample_*.png"))) == 4
    capsys.readouterr()

    assert main(["interpolate", str(run), "--seeds", "0", "1", "--steps", "3", "--slerp",
                 "--scale", "1", "--class", "7", "--out", str(tmp_path / "walk.gif")]) == 0
    assert Image.open(tmp_path / "walk.gif").n_frames == 3

    assert main(["export", str(run), "--format", "safetensors",
                 "--out", str(tmp_path / "ema.safetensors")]) == 0
    assert main(["sample", str(tmp_path / "ema.safetensors"), "--n", "2", "--steps", "2",
                 "--out", str(tmp_path / "from_file.png")]) == 0
    pytest.importorskip("onnxruntime")
    assert main(["export", str(run), "--format", "onnx",
                 "--out", str(tmp_path / "unet.onnx")]) == 0
    assert "largest difference" in capsys.readouterr().out

    code = main(["resume", str(run), "--epochs", "2"])
    assert code == 0, capsys.readouterr().err
    assert (run / "samples" / "epoch_0002.png").is_file()


def test_bad_settings_are_one_sentence(tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    run = _train(tmp_path / "runs", capsys)
    code, err = _fails(capsys, "sample", str(run), "--steps", "0", "--out",
                       str(tmp_path / "x.png"))
    assert code == 1 and err == "error: --steps must be a whole number from 1 to 1000, not 0."
    gan = Path(tmp_path / "gan")
    assert main(["train", "--limit", "64", "--width", "8", "--latent-dim", "8", "--epochs",
                 "1", "--eval-samples", "0", "--out", str(gan)]) == 0
    gan_run = Path(capsys.readouterr().out.strip().splitlines()[-1])
    code, err = _fails(capsys, "sample", str(gan_run), "--sampler", "ddim", "--out",
                       str(tmp_path / "g.png"))
    assert code == 1 and err == "error: --sampler does not apply to a DCGAN model."
    code, err = _fails(capsys, "train", "--model", "dcgan", "--sample-steps", "5",
                       "--out", str(tmp_path / "runs"))
    assert code == 2 and err == "error: --sample-steps does not apply to a DCGAN model."
