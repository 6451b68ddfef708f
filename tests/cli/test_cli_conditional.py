"""``--conditional``, ``--loss`` and ``--class`` on the command line: a conditional digit GAN
draws the class it is asked for; every misuse is one sentence."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from aigc_studio.cli import main

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))
from digit_judge import train_judge

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "runs_v0_1"
SMALL = ["--batch-size", "32", "--width", "16", "--latent-dim", "16", "--log-every", "8"]


@pytest.fixture(scope="module")
def conditional_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A conditional DCGAN trained briefly on 1,024 digits (shared by this module's tests)."""
    root = tmp_path_factory.mktemp("conditional")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AIGC_STUDIO_HOME", str(root / "home"))
        code = main(["train", *SMALL, "--limit", "1024", "--epochs", "3", "--conditional",
                     "--lr", "1e-3", "--eval-samples", "0", "--out", str(root / "runs")])
        assert code == 0
        yield next((root / "runs").iterdir())


def _one_sentence(err: str) -> str:
    lines = [ln for ln in err.strip().splitlines() if ln.startswith("error: ")]
    assert len(lines) == 1, err
    return lines[0]


def _judged(folder: Path, judge_net: object) -> np.ndarray:
    """The judge's label for every PNG in ``folder``."""
    import torch

    from aigc_studio.core.datasets import to_unit_range

    images = np.stack([np.asarray(Image.open(p))[..., :1] for p in sorted(folder.iterdir())])
    x = torch.from_numpy(images).permute(0, 3, 1, 2)
    with torch.no_grad():
        return judge_net(to_unit_range(x)).argmax(1).numpy()  # type: ignore[operator]


def test_sample_class_7_looks_like_7(conditional_run: Path, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    """After a short training, the judge calls the samples asked for 7 a 7 more often than
    chance (1 in 10), and more often than the samples asked for 1."""
    judge_net = train_judge(epochs=1)
    shares = {}
    for cls in ("7", "1"):
        out = tmp_path / cls
        assert main(["sample", str(conditional_run), "--class", cls, "--n", "64",
                     "--out", str(out)]) == 0
        assert len(list(out.iterdir())) == 64
        shares[cls] = float(np.mean(_judged(out, judge_net) == 7))
    assert shares["7"] > 0.2 and shares["7"] > shares["1"] + 0.1, shares


def test_grid_has_one_row_per_class(conditional_run: Path) -> None:
    grid = Image.open(conditional_run / "samples" / "epoch_0003.png")
    assert grid.size == (2 + 8 * 34, 2 + 10 * 34)


def test_interpolate_one_class(conditional_run: Path, tmp_path: Path) -> None:
    assert main(["interpolate", str(conditional_run), "--seeds", "0", "1", "--steps", "4",
                 "--scale", "1", "--class", "3", "--out", str(tmp_path / "walk")]) == 0
    assert len(list((tmp_path / "walk").iterdir())) == 4


def test_class_out_of_range_names_the_classes(conditional_run: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sample", str(conditional_run), "--class", "12", "--out",
                 str(tmp_path / "x")]) == 1
    line = _one_sentence(capsys.readouterr().err)
    assert line == ("error: Class 12 is not one of the model's classes: 0, 1, 2, 3, 4, 5, 6, "
                    "7, 8, 9.")


def test_class_on_an_unconditional_model_is_one_sentence(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for command in (["sample", str(FIXTURES / "dcgan-digits"), "--class", "7", "--out",
                     str(tmp_path / "x")],
                    ["interpolate", str(FIXTURES / "dcgan-digits"), "--seeds", "0", "1",
                     "--class", "7", "--out", str(tmp_path / "w.gif")]):
        assert main(command) == 1
        assert "is not class-conditional, so --class does not apply" in _one_sentence(
            capsys.readouterr().err)


@pytest.mark.parametrize(("flags", "words"), [
    (["--n-critic", "3"], "--n-critic applies to --loss wgan-gp only"),
    (["--loss", "hinge", "--n-critic", "3"], "--n-critic applies to --loss wgan-gp only"),
    (["--model", "autoencoder", "--loss", "hinge"], "--loss does not apply to a"),
    (["--model", "autoencoder", "--conditional"], "--conditional does not apply to a"),
])
def test_bad_flag_combinations_are_one_sentence(flags: list[str], words: str, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIGC_STUDIO_HOME", str(tmp_path / "home"))
    assert main(["train", *flags, "--out", str(tmp_path / "runs")]) == 2
    assert words in _one_sentence(capsys.readouterr().err)
    assert not (tmp_path / "runs").exists()


def test_conditional_on_unlabelled_folder_is_one_sentence(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIGC_STUDIO_HOME", str(tmp_path / "home"))
    flat = tmp_path / "photos"
    flat.mkdir()
    rng = np.random.default_rng(0)
    for i in range(8):
        Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(flat / f"{i}.png")
    assert main(["train", "--dataset", str(flat), "--conditional", "--batch-size", "4",
                 "--width", "8", "--epochs", "1", "--out", str(tmp_path / "runs")]) == 2
    line = _one_sentence(capsys.readouterr().err)
    assert "A conditional DCGAN needs a data set with classes" in line and "photos has 1" in line
