"""The ``aigc-studio`` command: subcommands end to end, errors as one sentence."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from aigc_studio.cli import main
from aigc_studio.engine import runs
from aigc_studio.engine.checkpoint import load_checkpoint
from tests.cli.clihelp import one_sentence

TINY = ["--limit", "256", "--batch-size", "32", "--width", "8", "--latent-dim", "16",
        "--log-every", "4"]


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIGC_STUDIO_HOME", str(tmp_path / "home"))


def _cli(*args: str, home: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AIGC_STUDIO_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "aigc_studio", *args], capture_output=True,
                          text=True, env=env, timeout=timeout)


def _train_with_log(tmp_path: Path, capsys: pytest.CaptureFixture[str], *extra: str
                    ) -> tuple[Path, str]:
    """Train a tiny run through ``main``; (its folder, what it printed on stderr)."""
    code = main(["train", *TINY, "--epochs", "1", "--out", str(tmp_path / "runs"), *extra])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    run = Path(captured.out.strip().splitlines()[-1])
    assert run.is_dir() and run.parent == tmp_path / "runs"
    return run, captured.err


def _train(tmp_path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> Path:
    return _train_with_log(tmp_path, capsys, *extra)[0]


def test_train_sample_runs_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run, log = _train_with_log(tmp_path, capsys)
    assert "Training dcgan on digits (256 images)" in log
    assert main(["sample", str(run), "--n", "9", "--out", str(tmp_path / "grid.png")]) == 0
    grid = Image.open(tmp_path / "grid.png")
    assert grid.size == (2 + 3 * 34, 2 + 3 * 34)
    assert main(["sample", str(run), "--n", "3", "--seed", "7", "--out",
                 str(tmp_path / "many")]) == 0
    names = sorted(p.name for p in (tmp_path / "many").iterdir())
    assert names == ["sample_0000.png", "sample_0001.png", "sample_0002.png"]
    # same seed, same images; the file alone (safetensors) samples the same as the run
    assert main(["export", str(run), "--format", "safetensors", "--out",
                 str(tmp_path / "g.safetensors")]) == 0
    assert main(["sample", str(tmp_path / "g.safetensors"), "--n", "3", "--seed", "7", "--out",
                 str(tmp_path / "again")]) == 0
    for name in names:
        assert np.array_equal(np.asarray(Image.open(tmp_path / "many" / name)),
                              np.asarray(Image.open(tmp_path / "again" / name)))
    capsys.readouterr()
    assert main(["runs", "--root", str(tmp_path / "runs")]) == 0
    listing = capsys.readouterr().out
    assert run.name in listing and "dcgan" in listing and "1/1" in listing


def test_onnx_export_matches_pytorch(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("onnxruntime")
    from aigc_studio.engine.export import onnx_max_difference
    from aigc_studio.engine.inference import load_model

    for model in ("dcgan", "autoencoder"):
        run = _train(tmp_path / model, capsys, "--model", model)
        out = tmp_path / f"{model}.onnx"
        assert main(["export", str(run), "--format", "onnx", "--out", str(out)]) == 0
        assert "largest difference" in capsys.readouterr().out
        assert onnx_max_difference(load_model(run), out) < 1e-4


def test_reconstruct_reports_and_skips_bad_files(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    run = _train(tmp_path, capsys, "--model", "autoencoder")
    images = tmp_path / "in"
    images.mkdir()
    digit = np.zeros((28, 28), np.uint8)
    digit[6:22, 12:16] = 255
    Image.fromarray(digit).save(images / "one.png")
    Image.new("RGB", (640, 480), (250, 250, 250)).save(images / "photo.jpg")
    (images / "fake.png").write_text("not an image")
    (images / "readme.txt").write_text("hello")
    assert main(["reconstruct", str(run), str(images), "--out", str(tmp_path / "out")]) == 0
    captured = capsys.readouterr()
    assert "one.png" in captured.out and "photo.jpg" in captured.out and "mean" in captured.out
    assert "PSNR" in captured.out
    assert "skipped" in captured.err and "fake.png" in captured.err
    assert "readme.txt" in captured.err
    pair = Image.open(tmp_path / "out" / "one_pair.png")
    assert pair.size == (32 * 2 + 2, 32)
    # a GAN cannot reconstruct: one clear sentence
    gan = _train(tmp_path / "gan", capsys)
    assert main(["reconstruct", str(gan), str(images), "--out", str(tmp_path / "o2")]) == 1
    assert "is a DCGAN, which samples images from noise; reconstruction needs a model " \
        "that encodes (Autoencoder or VAE)." in capsys.readouterr().err


def test_errors_are_one_sentence_without_traceback(tmp_path: Path) -> None:
    home = tmp_path / "home"
    cases = [
        (["train", "--dataset", str(tmp_path / "missing")], "does not exist"),
        (["train", "--epochs", "0"], "--epochs must be a whole number"),
        (["resume", str(tmp_path)], "no checkpoint to resume from"),
        (["train", "--device", "cpu", "--precision", "fp16"], "fp16 runs on CUDA GPUs only"),
        (["sample", str(tmp_path / "nothing.pt"), "--out", str(tmp_path / "x.png")],
         "does not exist"),
    ]
    for args, expected in cases:
        one_sentence(_cli(*args, home=home), expected)
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"\x00" * 10)
    debug = _cli("--debug", "sample", str(bad), "--out", str(tmp_path / "y.png"), home=home)
    assert debug.returncode != 0 and "Traceback" in debug.stderr


def test_sigkill_mid_run_resumes_from_last_complete_checkpoint(tmp_path: Path) -> None:
    """A real process killed with SIGKILL; the restart continues and matches an unbroken run."""
    home = tmp_path / "home"
    args = ["train", *TINY, "--epochs", "3", "--checkpoint-every", "5", "--seed", "4"]
    env = {**os.environ, "AIGC_STUDIO_HOME": str(home)}
    proc = subprocess.Popen([sys.executable, "-m", "aigc_studio", *args, "--out",
                             str(tmp_path / "killed")], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        run_dir = None
        deadline_lines = []
        for line in proc.stderr:  # the progress lines say where the run is
            deadline_lines.append(line)
            if line.startswith("Run folder:"):
                run_dir = Path(line.split(":", 1)[1].strip())
            if run_dir is not None:
                records = runs.read_metrics(run_dir)
                if any(r.get("step", 0) >= 12 for r in records):
                    break
            if line.startswith("epoch 1/3 done"):
                break
        assert run_dir is not None, "".join(deadline_lines)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    state = load_checkpoint(runs.last_checkpoint(run_dir))  # complete, never half-written
    assert state["step"] % 5 == 0 or state["epoch_step"] == 0
    resumed = _cli("resume", str(run_dir), home=home)
    assert resumed.returncode == 0, resumed.stderr
    assert f"Resuming at step {state['step']}" in resumed.stderr
    whole = _cli(*args, "--out", str(tmp_path / "whole"), home=home)
    assert whole.returncode == 0, whole.stderr
    a = load_checkpoint(runs.last_checkpoint(run_dir))
    b = load_checkpoint(runs.last_checkpoint(Path(whole.stdout.strip().splitlines()[-1])))
    assert a["step"] == b["step"] == 24
    for key, value in a["models"]["generator"].items():
        assert np.array_equal(value.numpy(), b["models"]["generator"][key].numpy()), key
    assert not list(run_dir.rglob("*.tmp"))


def test_no_fast_trains_plain_fp32_and_says_so(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    run = _train(tmp_path, capsys, "--no-fast", "--device", "cpu")
    doc = json.loads((run / "config.json").read_text())
    assert (doc["config"]["fast"], doc["acceleration"]) == (False, "fp32")
    assert "cpu (" in (run / runs.LOG).read_text()


def test_help_lists_commands() -> None:
    done = _cli("--help", home=Path("/tmp"))
    assert done.returncode == 0
    for command in ("train", "resume", "sample", "reconstruct", "runs", "export"):
        assert command in done.stdout


def test_interpolate_writes_a_gif_and_frames(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    run = _train(tmp_path, capsys)
    gif = tmp_path / "walk.gif"
    assert main(["interpolate", str(run), "--seeds", "1", "2", "--steps", "9", "--slerp",
                 "--out", str(gif)]) == 0
    with Image.open(gif) as image:
        assert image.n_frames == 9 and image.size == (128, 128)
        assert image.info.get("loop") == 0
    assert main(["interpolate", str(run), "--seeds", "1", "2", "--steps", "5", "--scale", "1",
                 "--out", str(tmp_path / "frames")]) == 0
    frames = sorted((tmp_path / "frames").iterdir())
    assert frames[0].name == "frame_0000.png" and len(frames) == 5
    assert Image.open(frames[0]).size == (32, 32)
    # the first frame is seed 1's image exactly
    from aigc_studio.core.latent import seed_vector
    from aigc_studio.engine.inference import decode, load_model

    model = load_model(run)
    direct = decode(model, seed_vector(1, 16)[None])[0]
    assert np.array_equal(np.asarray(Image.open(frames[0]).convert("RGB")), direct)


SLOW_WRITER = """
import sys, threading
import aigc_studio.core.atomic as atomic
from aigc_studio.cli import main

original = atomic.atomic_open

@atomic.contextlib.contextmanager
def slow_open(path):
    with original(path) as handle:
        yield handle
        if path.name == "last.pt":  # the temp file is written, not yet renamed: hold it here
            handle.flush()
            sys.__stdout__.write("WRITING\\n")
            sys.__stdout__.flush()
            threading.Event().wait(120)

atomic.atomic_open = slow_open
sys.exit(main(sys.argv[1:]))
"""


def test_sigkill_during_a_checkpoint_write_never_leaves_a_half_file(tmp_path: Path) -> None:
    """Killed while last.pt's temp file is written: the old checkpoint is what a reader finds,
    the temp file is cleaned at the next start, and resume works from it."""
    home = tmp_path / "home"
    first = _cli("train", *TINY, "--epochs", "1", "--out", str(tmp_path / "runs"), home=home)
    assert first.returncode == 0, first.stderr
    run_dir = Path(first.stdout.strip().splitlines()[-1])
    before = runs.last_checkpoint(run_dir).read_bytes()
    env = {**os.environ, "AIGC_STUDIO_HOME": str(home)}
    proc = subprocess.Popen([sys.executable, "-c", SLOW_WRITER, "resume", str(run_dir),
                             "--epochs", "2"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "WRITING"  # blocks until mid-write
        temps = list((run_dir / "checkpoints").glob(".*.tmp"))
        assert len(temps) == 1 and temps[0].stat().st_size > 0  # half a write is on disk
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    assert runs.last_checkpoint(run_dir).read_bytes() == before  # never the half file
    assert load_checkpoint(runs.last_checkpoint(run_dir))["epoch"] == 1
    again = _cli("resume", str(run_dir), "--epochs", "2", home=home)
    assert again.returncode == 0, again.stderr
    assert load_checkpoint(runs.last_checkpoint(run_dir))["epoch"] == 2
    assert not list(run_dir.rglob("*.tmp"))
