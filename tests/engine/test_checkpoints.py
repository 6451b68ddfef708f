"""Checkpoints and weights: atomic writes, weights-only loads, clear refusals."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from aigc_studio.core.atomic import atomic_write_bytes, clean_temp_files
from aigc_studio.engine import runs
from aigc_studio.engine.checkpoint import load_checkpoint, load_weights, save_checkpoint
from aigc_studio.engine.config import TrainConfig
from aigc_studio.engine.inference import check_compatible, load_model
from aigc_studio.engine.trainer import Trainer
from aigc_studio.errors import CheckpointError

Tiny = Callable[..., TrainConfig]


class Payload:
    """Unpickling this would create a marker file (what a malicious checkpoint does)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"touch {self.marker}",))


def test_pickle_that_runs_code_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.pt"
    torch.save({"format": "aigc-studio-checkpoint", "models": Payload(marker)}, evil)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(evil)
    assert "evil.pt was refused" in str(info.value) and "system" in str(info.value)
    with pytest.raises(CheckpointError):
        load_model(evil)
    assert not marker.exists()


def test_disallowed_classes_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.pt"
    import argparse

    torch.save({"opts": argparse.Namespace(a=1)}, path)
    with pytest.raises(CheckpointError, match=r"other.pt was refused.*argparse.Namespace"):
        load_checkpoint(path)
    plain = tmp_path / "plain.pt"
    torch.save({"weights": torch.zeros(3)}, plain)
    with pytest.raises(CheckpointError, match="not an AIGC Studio checkpoint"):
        load_checkpoint(plain)


def test_zero_byte_truncated_and_missing(tmp_path: Path, tiny: Tiny) -> None:
    end = Trainer(tiny(epochs=1), runs_root=tmp_path).fit()
    good = runs.last_checkpoint(end.run_dir)
    empty = tmp_path / "empty.pt"
    empty.write_bytes(b"")
    with pytest.raises(CheckpointError, match=r"empty\.pt is empty"):
        load_checkpoint(empty)
    cut = tmp_path / "cut.pt"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(CheckpointError, match=r"cut\.pt is truncated or corrupt"):
        load_checkpoint(cut)
    weights = runs.epoch_weights(end.run_dir)[0]
    cut_w = tmp_path / "cut.safetensors"
    cut_w.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(CheckpointError, match=r"cut\.safetensors is truncated or corrupt"):
        load_weights(cut_w)
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.pt")


def test_other_architecture_is_refused_and_model_untouched(tmp_path: Path, tiny: Tiny) -> None:
    small = load_model(Trainer(tiny(epochs=1), runs_root=tmp_path / "a").fit().run_dir)
    other = Trainer(tiny(epochs=1, image_size=64), runs_root=tmp_path / "b").fit().run_dir
    before = {k: v.clone() for k, v in small.net.state_dict().items()}
    with pytest.raises(CheckpointError, match="image_size 64"):
        check_compatible(small, other)
    assert all(torch.equal(v, small.net.state_dict()[k]) for k, v in before.items())
    # a checkpoint whose weights do not fit its own config names the mismatch
    state = load_checkpoint(runs.last_checkpoint(other))
    state["config"]["width"] = 16
    bad = tmp_path / "mismatch.pt"
    save_checkpoint(bad, {k: v for k, v in state.items() if k not in ("format", "format_version")})
    with pytest.raises(CheckpointError, match=r"mismatch.pt does not match a dcgan of size 64"):
        load_model(bad)


def test_atomic_write_leaves_old_file_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "file.bin"
    atomic_write_bytes(target, b"old")

    class Boom(Exception):
        pass

    from aigc_studio.core.atomic import atomic_open

    with pytest.raises(Boom), atomic_open(target) as handle:
        handle.write(b"half")
        raise Boom
    assert target.read_bytes() == b"old"
    assert list(tmp_path.iterdir()) == [target]
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    leftover = tmp_path / f".file.bin.{dead}.tmp"  # its writer is gone: stale
    leftover.write_bytes(b"junk")
    with subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                          stdin=subprocess.PIPE) as live:
        in_use = tmp_path / f".other.bin.{live.pid}.tmp"  # a live writer's: kept
        in_use.write_bytes(b"half")
        assert clean_temp_files(tmp_path) == [leftover] and not leftover.exists()
        assert in_use.exists()
        live.communicate(b"")


def test_checkpoint_holds_everything_for_resume(tmp_path: Path, tiny: Tiny) -> None:
    end = Trainer(tiny(epochs=1), runs_root=tmp_path).fit()
    state = load_checkpoint(runs.last_checkpoint(end.run_dir))
    assert {"config", "models", "optimizers", "epoch", "step", "epoch_step", "rng", "fixed",
            "history", "order"} <= state.keys()
    assert set(state["rng"]) == {"data", "noise", "torch"}
    assert state["fixed"].shape == (64, 16, 1, 1)
    assert state["history"]["loss_d"].shape == (16,)
    assert pickle.dumps(state["config"])  # plain data only
