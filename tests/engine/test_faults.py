"""Faults during work: out of memory, a full disk, no console (frozen windowed app)."""

from __future__ import annotations

import errno
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from aigc_studio.engine import runs
from aigc_studio.engine import trainer as trainer_module
from aigc_studio.engine.checkpoint import load_checkpoint
from aigc_studio.engine.config import TrainConfig
from aigc_studio.engine.trainer import Trainer
from aigc_studio.errors import RunError, TrainingError
from aigc_studio.families.dcgan.model import GanStep

Tiny = Callable[..., TrainConfig]


def test_out_of_memory_is_caught_with_advice(tiny: Tiny, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    trainer = Trainer(tiny(epochs=3), runs_root=tmp_path)
    real_step, calls = GanStep.__call__, {"n": 0}

    def step(self: GanStep, real: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        calls["n"] += 1
        if calls["n"] == 20:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real_step(self, real, labels)

    monkeypatch.setattr(GanStep, "__call__", step)
    with pytest.raises(TrainingError, match=r"Out of memory .* batch size 32; try a smaller "
                                            r"batch \(e.g. --batch-size 16\)"):
        trainer.fit()
    assert load_checkpoint(runs.last_checkpoint(trainer.run_dir))["step"] == 16
    # the process is fine: the same trainer's models still run
    with torch.no_grad():
        trainer.models.nets["generator"](torch.randn(2, 16, 1, 1))


def test_disk_full_surfaces_and_keeps_the_previous_checkpoint(
        tiny: Tiny, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_save, calls = trainer_module.save_checkpoint, {"n": 0}

    def save(path: Path, state: dict) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_save(path, state)

    monkeypatch.setattr(trainer_module, "save_checkpoint", save)
    trainer = Trainer(tiny(epochs=3), runs_root=tmp_path)
    with pytest.raises(RunError, match=r"No space left on device.*previous checkpoint is kept"):
        trainer.fit()
    assert load_checkpoint(runs.last_checkpoint(trainer.run_dir))["epoch"] == 1
    assert trainer.progress.epoch == 2  # the state in memory is intact, not half-updated
    assert not list(trainer.run_dir.rglob("*.tmp"))


def test_unwritable_runs_folder_is_a_clear_error(tiny: Tiny, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(RunError, match="Cannot create the runs folder"):
        Trainer(tiny(epochs=1), runs_root=blocker / "runs").fit()


def test_no_console_does_not_crash(tmp_path: Path) -> None:
    """A windowed frozen app has sys.stdout and sys.stderr set to None."""
    code = (
        "import sys; sys.stdout = None; sys.stderr = None\n"
        "from aigc_studio.cli import main\n"
        f"rc = main(['train', '--limit', '128', '--batch-size', '32', '--width', '8',"
        f" '--latent-dim', '8', '--epochs', '1', '--out', {str(tmp_path / 'runs')!r}])\n"
        f"rc2 = main(['train', '--dataset', {str(tmp_path / 'missing')!r}])\n"
        f"open({str(tmp_path / 'rc.json')!r}, 'w').write(str([rc, rc2]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={"AIGC_STUDIO_HOME": str(tmp_path / "home"),
                               "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "rc.json").read_text()) == [0, 1]
    assert len(runs.list_runs(tmp_path / "runs")) == 1
    log = (tmp_path / "home" / "logs" / "aigc-studio.log").read_text()
    assert "Epoch 1/1 done" in log


def test_a_generator_that_cannot_learn_raises_visible_warnings(tiny: Tiny,
                                                               tmp_path: Path) -> None:
    """D winning outright and collapsed samples are reported in metrics and to the UI."""
    from aigc_studio.engine.callbacks import TrainingCallback

    class Warnings(TrainingCallback):
        def __init__(self) -> None:
            self.seen: list[str] = []
            self.trainer: Trainer | None = None

        def on_start(self, info: object) -> None:
            # collapsed for certain: G's last layer draws nothing, so every sample is the same
            assert self.trainer is not None
            last = [m for m in self.trainer.models.nets["generator"].modules()
                    if isinstance(m, torch.nn.ConvTranspose2d)][-1]
            with torch.no_grad():
                last.weight.zero_()

        def on_warning(self, message: str) -> None:
            self.seen.append(message)

    seen = Warnings()
    # a frozen, collapsed generator (lr 1e-9) against a quick discriminator: D wins
    # quality metric off: this checks the pixel-spread test (tests/metrics covers recall/coverage)
    # 4 epochs of 128 steps: past the family's useful_steps, when a verdict is due
    config = tiny(epochs=4, batch_size=4, lr_g=1e-9, lr_d=2e-3, eval_samples=0)
    assert config.family.useful_steps <= 4 * 512 // 4
    trainer = Trainer(config, runs_root=tmp_path, callbacks=[seen])
    seen.trainer = trainer
    end = trainer.fit()
    assert any("discriminator is winning" in w for w in seen.seen), seen.seen
    assert any("nearly identical" in w for w in seen.seen), seen.seen
    events = [r for r in runs.read_metrics(end.run_dir) if r.get("event") == "warning"]
    assert {r["message"] for r in events} == set(seen.seen)
    assert all(r["epoch"] >= 1 for r in events)
