"""Faults that used to print a traceback: each is now one sentence naming the file or option.

Every case runs the real command in a subprocess and goes through :func:`one_sentence`,
which asserts that stderr holds no traceback (``Traceback`` never appears) and exactly one
error line. Inputs are crafted here: checkpoints with forged fields, safetensors metadata
that is not JSON, a read-only mount and a full tmpfs (root only), ``/dev/full``.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from aigc_studio.engine import runs
from aigc_studio.engine.checkpoint import FORMAT
from tests.cli.clihelp import one_sentence, run_cli
from tests.engine.crafted import checkpoint_state, small_config, write_checkpoint, write_run

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def run(tmp_path: Path) -> Path:
    """A run folder with a real (untrained) checkpoint: enough to sample and export."""
    folder = write_run(tmp_path / "runs", "run")
    write_checkpoint(folder)
    return folder


@contextlib.contextmanager
def mounted_tmpfs(path: Path, options: str) -> Iterator[Path]:
    """A real tmpfs at ``path`` (root only); skips the test with the reason otherwise."""
    if not IS_ROOT or sys.platform != "linux":
        pytest.skip("a real tmpfs needs root on Linux")
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def test_numbers_are_validated_at_the_parser(home: Path, run: Path, tmp_path: Path) -> None:
    out = str(tmp_path / "x.png")
    one_sentence(run_cli("sample", str(run), "--seed", str(2**70), "--out", out, home=home),
                 "--seed")
    one_sentence(run_cli("sample", str(run), "--seed", "-1", "--out", out, home=home), "--seed")
    one_sentence(run_cli("interpolate", str(run), "--seeds", "1", str(2**64), "--out", out,
                         home=home), "--seeds")
    for fps in ("nan", "inf", "0", "-3"):
        one_sentence(run_cli("interpolate", str(run), "--seeds", "1", "2", "--fps", fps,
                             "--out", str(tmp_path / "w.gif"), home=home), "--fps")
    one_sentence(run_cli("train", "--lr", "nan", home=home), "--lr")
    one_sentence(run_cli("train", "--seed", str(2**70), home=home), "--seed")
    assert not (tmp_path / "w.gif").exists()


def test_unknown_users_in_paths(home: Path, run: Path, tmp_path: Path) -> None:
    one_sentence(run_cli("runs", home=home, env={"AIGC_STUDIO_HOME": "~nouser-aigc/x"}),
                 "AIGC_STUDIO_HOME", "~nouser-aigc")
    one_sentence(run_cli("runs", "--root", "~nouser-aigc/runs", home=home), "--root")
    one_sentence(run_cli("sample", str(run), "--out", "~nouser-aigc/x.png", home=home), "--out")
    one_sentence(run_cli("train", "--out", "~nouser-aigc/runs", home=home), "--out")


def test_outputs_that_cannot_be_written(home: Path, run: Path, tmp_path: Path) -> None:
    folder = tmp_path / "taken.png"
    folder.mkdir()
    one_sentence(run_cli("sample", str(run), "--n", "4", "--out", str(folder), home=home),
                 "taken.png")
    assert folder.is_dir()
    one_sentence(run_cli("export", str(run), "--out", str(folder), home=home), "taken.png")
    with mounted_tmpfs(tmp_path / "ro", "ro,size=1m") as ro:
        one_sentence(run_cli("sample", str(run), "--n", "4", "--out", str(ro / "g.png"),
                             home=home), "Read-only file system")
        one_sentence(run_cli("export", str(run), "--out", str(ro / "g.safetensors"),
                             home=home), "Read-only file system")


def test_forged_checkpoints_and_weights(home: Path, tmp_path: Path) -> None:
    config = small_config()
    cases = {
        "version.pt": (checkpoint_state(config, format_version="1"), "format_version"),
        "epoch.pt": (checkpoint_state(config, epoch=torch.tensor(10.0**30)), "epoch"),
        "order.pt": (checkpoint_state(config, order=torch.tensor([3, 10**12])), "data order"),
        "counter.pt": (checkpoint_state(config, step=-5), "step"),
    }
    for name, (state, word) in cases.items():
        path = tmp_path / name
        torch.save({"format": FORMAT, "format_version": 1, **state}, path)
        one_sentence(run_cli("sample", str(path), "--out", str(tmp_path / "x.png"),
                             home=home), name, word)
    from safetensors.torch import save_file

    tensors = {k: v.contiguous() for k, v in
               checkpoint_state(config)["models"]["generator"].items()}
    for name, meta, word in (("meta.safetensors", {"format": FORMAT, "config": "{not json"},
                              "not valid JSON"),
                             ("deep.safetensors", {"format": FORMAT, "config": "[" * 5000},
                              "nested"),
                             ("chan.safetensors", {"format": FORMAT, "channels": "x",
                                                   "config": json.dumps(config.to_dict())},
                              "channels")):
        path = tmp_path / name
        save_file(tensors, str(path), metadata=meta)
        one_sentence(run_cli("sample", str(path), "--out", str(tmp_path / "y.png"),
                             home=home), name, word)


def test_a_closed_or_full_stdout_exits_non_zero(home: Path, run: Path, tmp_path: Path) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full on this system")
    with open("/dev/full", "w") as full:
        done = run_cli("runs", "--root", str(run.parent), home=home, stdout=full.fileno())
    one_sentence(done, "standard output")
    # a reader that went away: the pipe is closed before anything is written
    proc = subprocess.Popen([sys.executable, "-m", "aigc_studio", "runs", "--root",
                             str(run.parent)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "AIGC_STUDIO_HOME": str(home)})
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    stderr = proc.stderr.read()
    proc.wait(timeout=120)
    one_sentence(subprocess.CompletedProcess(proc.args, proc.returncode, "", stderr),
                 "standard output")


def test_names_with_invalid_utf8_are_listed_and_logged_escaped(home: Path,
                                                               tmp_path: Path) -> None:
    if sys.platform in ("win32", "darwin"):
        pytest.skip("this file system stores names as Unicode only")
    root = tmp_path / "runs"
    write_run(root, os.fsdecode(b"bad-\xff-name"))
    done = run_cli("runs", "--root", str(root), home=home)
    assert done.returncode == 0 and "bad-\\xff-name" in done.stdout, done.stderr
    assert "Logging error" not in done.stderr
    code = ("import logging, os; from aigc_studio.logs import setup_logging; "
            "path = setup_logging(); "
            "logging.getLogger('aigc_studio').warning('Skipped %s', os.fsdecode(b'/x/\\xfe.png'))")
    logged = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={**os.environ, "AIGC_STUDIO_HOME": str(home)}, timeout=120)
    assert logged.returncode == 0
    assert "Logging error" not in logged.stderr and "\\xfe.png" in logged.stderr
    assert "\\xfe.png" in (home / "logs" / "aigc-studio.log").read_text()


def test_unexpected_errors_go_to_the_log_not_stderr(home: Path, tmp_path: Path) -> None:
    """A bug's traceback lands in the log file; stderr names the file; --debug shows it."""
    code = ("import sys\nimport aigc_studio.cli as cli\n"
            "def boom(args): raise KeyError('surprise')\n"
            "cli.cmd_runs = boom\nsys.exit(cli.main(sys.argv[1:]))\n")
    env = {**os.environ, "AIGC_STUDIO_HOME": str(home)}
    done = subprocess.run([sys.executable, "-c", code, "runs"], capture_output=True, text=True,
                          env=env, timeout=120)
    line = one_sentence(done, "unexpected KeyError", "aigc-studio.log")
    assert "--debug" in line
    assert "Traceback" in (home / "logs" / "aigc-studio.log").read_text()
    debug = subprocess.run([sys.executable, "-c", code, "--debug", "runs"], capture_output=True,
                           text=True, env=env, timeout=120)
    assert debug.returncode != 0 and "Traceback" in debug.stderr


def test_a_real_full_disk_during_training_is_one_sentence(home: Path, tmp_path: Path) -> None:
    """ENOSPC on a real tiny filesystem: PyTorch's writer is never reached with a full disk
    (the checkpoint is serialised first and free space checked), so no RuntimeError."""
    with mounted_tmpfs(tmp_path / "tiny", "size=96k") as tiny:
        done = run_cli("train", "--limit", "64", "--batch-size", "32", "--width", "32",
                       "--latent-dim", "64", "--epochs", "5", "--no-fast", "--device", "cpu",
                       "--out", str(tiny / "runs"), home=home)
        line = one_sentence(done, "No space left on device")
        made = list((tiny / "runs").iterdir())
        assert len(made) == 1
        has_checkpoint = runs.last_checkpoint(made[0]).is_file()
        assert ("previous checkpoint is kept" in line) == has_checkpoint, line
        assert not list(made[0].rglob("*.tmp"))
