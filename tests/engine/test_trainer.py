"""Training on real data: learning, exact resume, stop, faults, run folder contents."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from digit_judge import judge, train_judge
from PIL import Image

from aigc_studio.engine import runs
from aigc_studio.engine.callbacks import (
    EpochResult,
    StepMetrics,
    TrainingCallback,
    TrainingControl,
)
from aigc_studio.engine.checkpoint import load_checkpoint
from aigc_studio.engine.config import TrainConfig
from aigc_studio.engine.inference import load_model, sample
from aigc_studio.engine.trainer import Trainer
from aigc_studio.errors import AigcError, RunError, TrainingError
from aigc_studio.families.dcgan.model import GanStep

Tiny = Callable[..., TrainConfig]


class Recorder(TrainingCallback):
    """Keeps everything the trainer reports."""

    def __init__(self, stop_at: int | None = None, control: TrainingControl | None = None):
        self.steps: list[StepMetrics] = []
        self.epochs: list[EpochResult] = []
        self.warnings: list[str] = []
        self.stop_at, self.control = stop_at, control

    def on_steps(self, steps: list[StepMetrics]) -> None:
        self.steps += steps
        if self.stop_at is not None and steps[-1].step >= self.stop_at and self.control:
            self.control.stop()

    def on_epoch_end(self, result: EpochResult) -> None:
        self.epochs.append(result)

    def on_warning(self, message: str) -> None:
        self.warnings.append(message)


def test_engine_imports_no_qt() -> None:
    code = ("import sys, aigc_studio.engine, aigc_studio.engine.trainer, aigc_studio.engine.runs,"
            " aigc_studio.engine.inference, aigc_studio.engine.export, aigc_studio.core.datasets,"
            " aigc_studio.core.images, aigc_studio.cli;"
            "qt=('PySide6','pyqtgraph','shiboken6');"
            "bad=[m for m in sys.modules if m.split('.')[0] in qt];"
            "print(bad); sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_run_folder_contents(tiny: Tiny, tmp_path: Path) -> None:
    rec = Recorder()
    end = Trainer(tiny(), runs_root=tmp_path, callbacks=[rec]).fit()
    assert end.status == "finished" and end.epoch == 2 and end.step == 32
    run = end.run_dir
    assert run is not None and run.parent == tmp_path
    doc = json.loads((run / "config.json").read_text())
    assert doc["config"]["model"] == "dcgan" and doc["data"]["num_images"] == 512
    assert doc["status"] == "finished"
    records = runs.read_metrics(run)
    steps = [r for r in records if r["kind"] == "step"]
    assert [r["step"] for r in steps] == list(range(1, 33))  # every step, read back in batches
    assert {"loss_d", "loss_g", "d_real", "d_fake", "images_per_s"} <= steps[0].keys()
    assert [r["epoch"] for r in records if r["kind"] == "epoch"] == [1, 2]
    assert [p.name for p in runs.sample_paths(run)] == ["epoch_0001.png", "epoch_0002.png"]
    grid = np.asarray(Image.open(runs.sample_paths(run)[-1]))
    assert grid.shape == rec.epochs[-1].grid.shape and grid.dtype == np.uint8
    assert np.array_equal(grid, rec.epochs[-1].grid)
    assert len(runs.epoch_weights(run)) == 2 and runs.last_checkpoint(run).exists()
    assert "Epoch 2/2" in (run / "train.log").read_text()
    assert [s.step for s in rec.steps] == list(range(1, 33))
    info = runs.read_run(run)
    assert (info.epochs_done, info.damaged, info.has_checkpoint) == (2, None, True)


def test_generator_learns_through_g(tiny: Tiny, tmp_path: Path) -> None:
    """The seed listing detached the fakes before the G step, so G never changed."""
    trainer = Trainer(tiny(epochs=1, limit=64), runs_root=tmp_path, save=False)
    trainer.prepare()
    g = trainer.models.nets["generator"]
    before = [p.detach().clone() for p in g.parameters()]
    batch, labels = next(trainer.source.batches(torch.randperm(64)))
    trainer.step_fn(batch, labels)
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in g.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, g.parameters(), strict=True))


def test_autoencoder_loss_falls(tiny: Tiny, tmp_path: Path) -> None:
    rec = Recorder()
    Trainer(tiny(model="autoencoder", epochs=4, limit=1024, width=16), runs_root=tmp_path,
            callbacks=[rec]).fit()
    losses = [e.means["loss_recon"] for e in rec.epochs]
    assert losses[-1] < 0.7 * losses[0], losses
    assert all(set(s.values) == {"loss_recon"} for s in rec.steps)


def test_shapes_rgb_64(tiny: Tiny, tmp_path: Path) -> None:
    rec = Recorder()
    end = Trainer(tiny(dataset="shapes", image_size=64, limit=64, epochs=1),
                  runs_root=tmp_path, callbacks=[rec]).fit()
    model = load_model(end.run_dir)
    assert model.channels == 3 and model.config.image_size == 64
    assert sample(model, 4, 0).shape == (4, 64, 64, 3)
    assert rec.epochs[0].grid.shape[2] == 3


def _final_state(run_dir: Path) -> dict:
    return load_checkpoint(runs.last_checkpoint(run_dir))


def _assert_same_training(a: Path, b: Path) -> None:
    sa, sb = _final_state(a), _final_state(b)
    assert sa["step"] == sb["step"]
    for net in sa["models"]:
        for key, value in sa["models"][net].items():
            assert torch.equal(value, sb["models"][net][key]), f"{net}.{key} differs"
    for name in sa["history"]:
        assert torch.equal(sa["history"][name], sb["history"][name]), name
    assert torch.equal(sa["fixed"], sb["fixed"])
    def strip(records: list[dict]) -> list[dict]:
        return [{k: v for k, v in r.items() if k not in ("images_per_s", "seconds")}
                for r in records if r["kind"] in ("step", "epoch")]

    assert strip(runs.read_metrics(a)) == strip(runs.read_metrics(b))
    for pa, pb in zip(runs.sample_paths(a), runs.sample_paths(b), strict=True):
        # the pixels: each PNG's provenance names its own run
        assert np.array_equal(np.asarray(Image.open(pa)), np.asarray(Image.open(pb)))


@pytest.mark.parametrize("model", ["dcgan", "autoencoder"])
def test_stop_and_resume_is_bit_identical(model: str, tiny: Tiny, tmp_path: Path) -> None:
    config = tiny(model=model, epochs=3)
    whole = Trainer(config, runs_root=tmp_path / "a").fit()

    control = TrainingControl()
    rec = Recorder(stop_at=20, control=control)  # mid-way through epoch 2 (16 steps/epoch)
    stopped = Trainer(tiny(model=model, epochs=3), runs_root=tmp_path / "b", control=control,
                      callbacks=[rec]).fit()
    assert stopped.status == "stopped" and stopped.step == 20 and stopped.epoch == 1
    state = _final_state(stopped.run_dir)
    assert (state["step"], state["epoch"], state["epoch_step"]) == (20, 1, 4)

    resumed = Trainer.resume(stopped.run_dir).fit()
    assert resumed.status == "finished" and resumed.step == 48
    _assert_same_training(whole.run_dir, resumed.run_dir)


def test_stop_at_epoch_boundary_then_resume(tiny: Tiny, tmp_path: Path) -> None:
    whole = Trainer(tiny(epochs=2, log_every=16), runs_root=tmp_path / "a").fit()
    control = TrainingControl()
    rec = Recorder(stop_at=16, control=control)
    stopped = Trainer(tiny(epochs=2, log_every=16), runs_root=tmp_path / "b", control=control,
                      callbacks=[rec]).fit()
    assert stopped.status == "stopped" and stopped.epoch == 1
    Trainer.resume(stopped.run_dir).fit()
    _assert_same_training(whole.run_dir, stopped.run_dir)


def test_resume_extends_a_finished_run(tiny: Tiny, tmp_path: Path) -> None:
    end = Trainer(tiny(epochs=1), runs_root=tmp_path).fit()
    with pytest.raises(AigcError, match="already trained all 1 epochs"):
        Trainer.resume(end.run_dir)
    more = Trainer.resume(end.run_dir, epochs=2).fit()
    assert more.epoch == 2 and len(runs.sample_paths(end.run_dir)) == 2


def test_resume_without_checkpoint_is_an_error(tiny: Tiny, tmp_path: Path) -> None:
    end = Trainer(tiny(epochs=1), runs_root=tmp_path).fit()
    runs.last_checkpoint(end.run_dir).unlink()
    with pytest.raises(RunError, match="no checkpoint to resume from"):
        Trainer.resume(end.run_dir)
    with pytest.raises(RunError, match="does not exist"):
        Trainer.resume(tmp_path / "nope")


def test_pause_and_resume_training(tiny: Tiny, tmp_path: Path) -> None:
    control = TrainingControl()

    class PauseOnce(Recorder):
        def on_steps(self, steps: list[StepMetrics]) -> None:
            super().on_steps(steps)
            if steps[-1].step == 8:
                control.pause()
                assert control.paused
                # a GUI would resume later from its own thread; here the resume comes at once
                control.resume()

    rec = PauseOnce()
    end = Trainer(tiny(epochs=1), runs_root=tmp_path, control=control, callbacks=[rec]).fit()
    assert end.status == "finished" and [s.step for s in rec.steps] == list(range(1, 17))


def test_paused_time_is_not_training_time(tiny: Tiny, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A pause of "1000 s" (a clock that jumps while paused) is left out of the epoch's
    seconds and images/s."""
    import aigc_studio.engine.trainer as trainer_module

    clock = {"offset": 0.0}
    real = trainer_module.time.perf_counter

    class Clock:
        @staticmethod
        def perf_counter() -> float:
            return real() + clock["offset"]

    class LongPause(TrainingControl):
        def wait_while_paused(self, timeout: float | None = None) -> bool:
            clock["offset"] += 1000.0  # the user went for coffee
            self.resume()
            return True

    monkeypatch.setattr(trainer_module, "time", Clock)
    control = LongPause()

    class PauseOnce(Recorder):
        def on_steps(self, steps: list[StepMetrics]) -> None:
            super().on_steps(steps)
            if steps[-1].step == 8 and not clock["offset"]:
                control.pause()

    rec = PauseOnce()
    Trainer(tiny(epochs=1), runs_root=tmp_path, control=control, callbacks=[rec]).fit()
    assert clock["offset"] == 1000.0
    (result,) = rec.epochs
    assert result.seconds < 1000.0
    assert result.images_per_s == pytest.approx(16 * 32 / result.seconds, rel=1e-6)


def test_resumed_epoch_speed_counts_only_its_own_steps(tiny: Tiny, tmp_path: Path) -> None:
    control = TrainingControl()
    end = Trainer(tiny(epochs=1, checkpoint_every=8), runs_root=tmp_path, control=control,
                  callbacks=[Recorder(stop_at=8, control=control)]).fit()
    assert end.status == "stopped" and end.step == 8
    rec = Recorder()
    Trainer.resume(end.run_dir, callbacks=[rec]).fit()
    (result,) = rec.epochs
    # 8 of the epoch's 16 steps ran after the resume: 8 * 32 images in result.seconds
    assert result.images_per_s == pytest.approx(8 * 32 / result.seconds, rel=1e-6)


def test_learning_rate_change_mid_run(tiny: Tiny, tmp_path: Path) -> None:
    control = TrainingControl()

    class ChangeLr(Recorder):
        def on_steps(self, steps: list[StepMetrics]) -> None:
            super().on_steps(steps)
            if steps[-1].step == 8:
                control.set_learning_rates(lr_g=1e-3, lr_d=5e-5)

    trainer = Trainer(tiny(epochs=1), runs_root=tmp_path, control=control,
                      callbacks=[ChangeLr()])
    end = trainer.fit()
    assert [g["lr"] for g in trainer.models.optims["g"].param_groups] == [1e-3]
    assert [g["lr"] for g in trainer.models.optims["d"].param_groups] == [5e-5]
    events = [r for r in runs.read_metrics(end.run_dir) if r.get("event") == "lr_change"]
    assert events == [{"kind": "event", "event": "lr_change", "epoch": 1, "step": 8,
                       "lr_g": 1e-3, "lr_d": 5e-5}]
    assert runs.load_run_config(end.run_dir).lr_g == 1e-3


def test_nan_loss_stops_with_message_and_keeps_checkpoint(tiny: Tiny, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    trainer = Trainer(tiny(epochs=3), runs_root=tmp_path)
    real_step = GanStep.__call__
    calls = {"n": 0}

    def poisoned(self: GanStep, real: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        calls["n"] += 1
        out = real_step(self, real, labels)
        return out * float("nan") if calls["n"] == 21 else out

    monkeypatch.setattr(GanStep, "__call__", poisoned)
    with pytest.raises(TrainingError, match=r"loss_d became nan at step 21 \(epoch 2"):
        trainer.fit()
    state = _final_state(trainer.run_dir)
    assert state["epoch"] == 1 and state["step"] == 16  # the last good checkpoint
    steps = [r["step"] for r in runs.read_metrics(trainer.run_dir) if r["kind"] == "step"]
    assert steps[-1] == 20
    assert json.loads((trainer.run_dir / "config.json").read_text())["status"] == "failed"


def test_too_few_images_for_batch(tiny: Tiny, tmp_path: Path) -> None:
    with pytest.raises(AigcError, match="fewer than the batch size 64"):
        Trainer(tiny(limit=40, batch_size=64), runs_root=tmp_path).fit()


@pytest.mark.slow
def test_dcgan_learns_recognisable_digits(tmp_path: Path) -> None:
    """A classifier trained on real digits recognises most samples, from several classes."""
    judge_net = train_judge()
    config = TrainConfig(dataset="digits", width=32, epochs=6, batch_size=32, seed=0)
    end = Trainer(config, runs_root=tmp_path).fit()
    model = load_model(end.run_dir)
    share, classes = judge(judge_net, sample(model, 256, seed=1))
    first = load_model(runs.epoch_weights(end.run_dir)[0])
    share_first, _ = judge(judge_net, sample(first, 256, seed=1))
    assert share >= 0.6, f"only {share:.0%} of samples look like a digit"
    assert classes >= 8, f"only {classes} digit classes generated"
    assert share > 2 * share_first  # and it got there by training
