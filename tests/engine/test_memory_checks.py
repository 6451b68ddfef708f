"""Memory before checks: sizes read from files are validated against the tensors present
before anything is built; walks that cannot fit are refused with the figure; CPU
out-of-memory is handled like the GPU's."""

from __future__ import annotations

import json
import resource
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from aigc_studio.engine import runs
from aigc_studio.engine.checkpoint import FORMAT, load_checkpoint, save_weights
from aigc_studio.engine.config import TrainConfig
from aigc_studio.engine.inference import load_model
from aigc_studio.engine.trainer import Trainer
from aigc_studio.errors import CheckpointError, TrainingError
from aigc_studio.families.dcgan.model import GanStep
from tests.cli.clihelp import one_sentence, run_cli
from tests.engine.crafted import checkpoint_state, small_config, write_checkpoint, write_run

Tiny = Callable[..., TrainConfig]


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def test_a_forged_size_is_refused_before_anything_is_built(tmp_path: Path) -> None:
    """1 MB of real weights whose config claims latent 4096, width 1024 (8 GB of networks)."""
    small = small_config()
    state = checkpoint_state(small)
    forged = small_config(latent_dim=4096, width=1024).to_dict()
    path = tmp_path / "forged.pt"
    torch.save({"format": FORMAT, "format_version": 1, **state, "config": forged}, path)
    weights = tmp_path / "forged.safetensors"
    save_weights(weights, state["models"]["generator"], small, kind="generator", channels="1")
    with safe_open(str(weights), framework="pt") as handle:
        meta = dict(handle.metadata())
    meta["config"] = json.dumps(forged)
    forged_weights = tmp_path / "forged2.safetensors"
    save_file({k: v.contiguous() for k, v in state["models"]["generator"].items()},
              str(forged_weights), metadata=meta)
    before, start = _peak_rss_mb(), time.perf_counter()
    for file in (path, forged_weights):
        with pytest.raises(CheckpointError, match=r"latent 4096, width 1024\) as its config says"):
            load_model(file)
    assert time.perf_counter() - start < 10
    assert _peak_rss_mb() - before < 500  # nothing near 8 GB was ever allocated
    assert load_model(weights).config.latent_dim == 16  # an honest file still loads


def test_a_walk_that_cannot_fit_is_refused_with_the_figure(tmp_path: Path) -> None:
    run = write_run(tmp_path / "runs", "run")
    write_checkpoint(run)
    home = tmp_path / "home"
    env = {"AIGC_STUDIO_MEMORY_LIMIT": "1G"}
    done = run_cli("interpolate", str(run), "--seeds", "1", "2", "--steps", "2000", "--scale",
                   "32", "--out", str(tmp_path / "walk.gif"), home=home, env=env)
    one_sentence(done, "needs about 14.7 GB", "2000 frames of 1024x1024")
    assert not (tmp_path / "walk.gif").exists()
    # PNG frames stream to disk: the same frame size fits, one frame at a time
    frames = run_cli("interpolate", str(run), "--seeds", "1", "2", "--steps", "3", "--scale",
                     "32", "--out", str(tmp_path / "frames"), home=home, env=env)
    assert frames.returncode == 0, frames.stderr
    assert len(list((tmp_path / "frames").glob("frame_*.png"))) == 3


@pytest.mark.parametrize("fault", [
    MemoryError(),
    RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: not enough memory: "
                 "you tried to allocate 8589934592 bytes."),
])
def test_cpu_out_of_memory_is_handled_like_the_gpus(tiny: Tiny, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    fault: BaseException) -> None:
    trainer = Trainer(tiny(epochs=3, limit=128, fast=False), runs_root=tmp_path)
    real_step, calls = GanStep.__call__, {"n": 0}

    def step(self: GanStep, real: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        calls["n"] += 1
        if calls["n"] == 6:
            raise fault
        return real_step(self, real, labels)

    monkeypatch.setattr(GanStep, "__call__", step)
    with pytest.raises(TrainingError, match=r"Out of memory on cpu .* smaller batch .*--width"):
        trainer.fit()
    assert load_checkpoint(runs.last_checkpoint(trainer.run_dir))["epoch"] == 1  # kept


def test_other_runtime_errors_are_not_taken_for_out_of_memory(
        tiny: Tiny, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def step(self: GanStep, real: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("mat1 and mat2 shapes cannot be multiplied")

    monkeypatch.setattr(GanStep, "__call__", step)
    with pytest.raises(RuntimeError, match="shapes cannot be multiplied"):
        Trainer(tiny(epochs=1, limit=64, fast=False), runs_root=tmp_path).fit()
