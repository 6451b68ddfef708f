"""Issue 18 on the command line: provenance in every image (``info``), TensorBoard export,
``runs --compare`` and the exact ``train`` command of a config."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image, PngImagePlugin

from aigc_studio import families
from aigc_studio.cli import main
from aigc_studio.core.provenance import KEYWORD, read_provenance

TINY = ["--limit", "128", "--batch-size", "32", "--width", "8", "--latent-dim", "8",
        "--log-every", "2", "--eval-samples", "0", "--seed", "5"]


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIGC_STUDIO_HOME", str(tmp_path / "home"))


def _train(root: Path, *extra: str) -> Path:
    """A tiny one-epoch run through ``main``; its folder."""
    import io
    from contextlib import redirect_stderr, redirect_stdout

    stdout = io.StringIO()
    with redirect_stdout(stdout), redirect_stderr(io.StringIO()):
        code = main(["train", *TINY, "--epochs", "1", "--out", str(root), *extra])
    assert code == 0
    return Path(stdout.getvalue().strip().splitlines()[-1])


@pytest.fixture(scope="module")
def runs_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two tiny runs that differ in two settings (a GAN and a VAE would differ in more)."""
    root = tmp_path_factory.mktemp("runs")
    _train(root)
    _train(root, "--lr-g", "0.001", "--loss", "hinge")
    return root


def _runs(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if (p / "config.json").exists())


def test_every_writer_stamps_its_images_and_info_reads_them(
        runs_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = _runs(runs_root)[0]
    run_id = json.loads((run / "config.json").read_text())["run_id"]
    grid = read_provenance(run / "samples" / "epoch_0001.png")
    assert (grid.kind, grid.model, grid.epoch, grid.seeds) == ("epoch-grid", "dcgan", 1, (5,))
    assert (grid.run_id, grid.run_folder, grid.ai_generated) == (run_id, run.name, True)

    assert main(["sample", str(run), "--n", "4", "--seed", "9",
                 "--out", str(tmp_path / "s.png")]) == 0
    assert main(["sample", str(run), "--n", "2", "--seed", "9",
                 "--out", str(tmp_path / "each")]) == 0
    assert main(["interpolate", str(run), "--seeds", "1", "2", "--steps", "3", "--slerp",
                 "--scale", "1", "--out", str(tmp_path / "walk.gif")]) == 0
    assert main(["interpolate", str(run), "--seeds", "1", "2", "--steps", "3", "--scale", "1",
                 "--out", str(tmp_path / "frames")]) == 0
    capsys.readouterr()
    sample = read_provenance(tmp_path / "s.png")
    assert (sample.kind, sample.seeds, dict(sample.sampler)) == ("sample", (9,), {"n": 4})
    assert sample.run_id == run_id and sample.epoch == 1
    assert read_provenance(tmp_path / "each" / "sample_0001.png").seeds == (10,)
    walk = read_provenance(tmp_path / "walk.gif")
    assert walk.seeds == (1, 2) and walk.sampler["path"] == "slerp"
    frame = read_provenance(tmp_path / "frames" / "frame_0002.png")
    assert frame.sampler["frame"] == 2 and frame.sampler["frames"] == 3

    assert main(["info", str(tmp_path / "s.png"), "--root", str(runs_root), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["run_path"] == str(run.resolve()) and doc["provenance"]["seeds"] == [9]
    assert main(["info", str(tmp_path / "walk.gif")]) == 0  # the run is not in the home root
    text = capsys.readouterr().out
    assert "Seeds" in text and "1, 2" in text and "not found here" in text
    assert "trainedAlgorithmicMedia" in text


def test_info_refuses_forged_images_with_one_sentence(tmp_path: Path) -> None:
    plain = Image.new("RGB", (4, 4))
    cases = {"big.png": json.dumps({"kind": "x" * (10 * 2**20)}),
             "binary.png": "\x00\x01\xfe garbage",
             "dotdot.png": json.dumps({"run_folder": "../../secrets"})}
    for name, text in cases.items():
        info = PngImagePlugin.PngInfo()
        info.add_text(KEYWORD, text)
        plain.save(tmp_path / name, pnginfo=info)
    plain.save(tmp_path / "none.png")
    for name in [*cases, "none.png"]:
        result = _cli("info", str(tmp_path / name), home=tmp_path / "home")
        assert result.returncode == 1, result
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and lines[0].endswith("."), \
            result.stderr
        assert "Traceback" not in result.stderr


def _cli(*args: str, home: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AIGC_STUDIO_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "aigc_studio", *args], capture_output=True,
                          text=True, env=env, timeout=timeout)


def test_runs_compare_shows_the_settings_that_differ(
        runs_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = (str(p) for p in _runs(runs_root))
    capsys.readouterr()
    assert main(["runs", "--compare", a, b]) == 0
    text = capsys.readouterr().out
    assert "Settings that differ:" in text
    rows = {line.split()[0]: line.split()[1:] for line in text.splitlines() if line.strip()}
    assert rows["lr_g"] == ["0.0002", "0.001"] and rows["loss"] == ["bce", "hinge"]
    assert "seed" not in rows and "loss_d" in rows
    assert main(["runs", "--compare", a, b, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    # the hinge run trains with its loss's own Adam betas: they differ too
    assert doc["settings"] == {"lr_g": [0.0002, 0.001], "loss": ["bce", "hinge"],
                               "beta1": [0.5, 0.0], "beta2": [0.999, 0.9]}
    assert doc["runs"][0]["best"]["loss_d"]["epoch"] == 1
    result = _cli("runs", "--compare", a, home=runs_root)
    assert result.returncode == 2 and result.stderr.strip().endswith("two run folders.")


def test_train_command_is_short_and_quoted() -> None:
    from aigc_studio.engine.command import train_command
    from aigc_studio.engine.config import TrainConfig

    assert train_command(TrainConfig()) == "aigc-studio train"
    assert train_command(TrainConfig.defaults_for("vae")) == "aigc-studio train --model vae"
    both = TrainConfig(lr_g=0.003, lr_d=0.003, dataset="/my data/it's")
    assert train_command(both) == \
        "aigc-studio train --dataset '/my data/it'\"'\"'s' --lr 0.003"
    on = TrainConfig(extras={"conditional": True, "loss": "bce"})  # bce is the default
    assert train_command(on) == "aigc-studio train --conditional"
    hinge = TrainConfig.defaults_for("dcgan", {"loss": "hinge"})  # the loss's own betas
    assert train_command(hinge) == "aigc-studio train --loss hinge"
    hinge.beta1 = 0.5
    assert train_command(hinge) == "aigc-studio train --beta1 0.5 --loss hinge"
    if "diffusion" in families.names():  # a family whose bool option is on by default
        off = TrainConfig.defaults_for("diffusion")
        off.extras["conditional"] = False
        assert train_command(off) == "aigc-studio train --model diffusion --no-conditional"


@pytest.mark.parametrize(("argv", "betas"), [
    (["--loss", "hinge"], (0.0, 0.9)),
    (["--loss", "hinge", "--beta1", "0.5"], (0.5, 0.9)),  # what the user typed wins
    (["--loss", "wgan-gp"], (0.5, 0.999)),
    ([], (0.5, 0.999)),
    (["--preset", "Stable hinge GAN"], (0.0, 0.9)),
])
def test_the_loss_brings_its_optimiser_settings(argv: list[str], betas: tuple) -> None:
    from aigc_studio.cli import _config_from_args, build_parser

    config = _config_from_args(build_parser().parse_args(["train", *argv]))
    assert (config.beta1, config.beta2) == betas


@pytest.mark.parametrize("model, extras", [("dcgan", {"loss": "hinge"}),
                                           ("vae", {"beta": 0.5})])
def test_train_command_round_trip(tmp_path: Path, model: str, extras: dict) -> None:
    """The command, run as typed, trains a run whose config equals the one it was made from."""
    import shlex

    from aigc_studio.engine import runs
    from aigc_studio.engine.command import train_command
    from aigc_studio.engine.config import TrainConfig

    config = TrainConfig.defaults_for(model)
    for name, value in dict(dataset="digits", limit=64, batch_size=32, width=8, latent_dim=4,
                            epochs=1, log_every=2, eval_samples=0, seed=11, lr_g=1e-3,
                            lr_d=5e-4, beta2=0.99, device="cpu", precision="fp32",
                            fast=False, extras=extras).items():
        setattr(config, name, value)
    config.validate()
    command = train_command(config)
    argv = shlex.split(command)
    assert argv[:2] == ["aigc-studio", "train"]
    result = _cli(*argv[1:], home=tmp_path / "home")
    assert result.returncode == 0, result.stderr
    run = Path(result.stdout.strip().splitlines()[-1])
    assert runs.load_run_config(run) == config


def test_export_tensorboard_and_train_tensorboard(
        runs_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run = _runs(runs_root)[0]
    assert main(["export", str(run), "--format", "tensorboard", "--out",
                 str(tmp_path / "tb")]) == 0
    assert "Wrote TensorBoard event files" in capsys.readouterr().out
    acc = EventAccumulator(str(tmp_path / "tb"))
    acc.Reload()
    assert "epoch/loss_d" in acc.Tags()["scalars"] and acc.Tags()["images"] == ["samples"]
    live = _train(tmp_path / "runs", "--tensorboard")
    assert list((live / "tensorboard").glob("events.out.tfevents.*"))
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = _cli("export", str(run), "--format", "tensorboard", "--out", str(blocker),
                  home=tmp_path / "home")
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and result.stderr.endswith("the run is untouched.\n")


def test_tensorboard_without_the_package_is_one_sentence(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)
    assert main(["train", *TINY, "--tensorboard", "--out", str(tmp_path / "runs")]) == 1
    assert capsys.readouterr().err == ("error: TensorBoard output needs the tensorboard "
                                       "package; install it with: pip install tensorboard\n")
    assert not (tmp_path / "runs").exists()


def test_train_from_a_preset_and_list_presets(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from aigc_studio.engine import runs
    from aigc_studio.engine.presets import save_preset

    run = _train(tmp_path / "runs", "--preset", "Stable hinge GAN")
    config = runs.load_run_config(run)
    assert config.option("loss") == "hinge" and config.epochs == 1 and config.seed == 5
    save_preset("Mine", config)
    assert main(["presets"]) == 0
    text = capsys.readouterr().out
    assert "Stable hinge GAN (shipped)" in text and "Mine (yours)" in text
    assert "aigc-studio train --epochs 10 --loss hinge" in text
    assert main(["train", "--preset", "VAE map", "--model", "dcgan"]) == 2
    assert "contradicts the preset" in capsys.readouterr().err
    assert main(["train", "--preset", "nope"]) == 1
    assert capsys.readouterr().err == "error: There is no preset called 'nope'.\n"
