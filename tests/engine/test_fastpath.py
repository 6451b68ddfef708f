"""The fast path: the plan per device, loss equivalence with fp32 eager, and CUDA graph capture.

The CPU tests run everywhere (bf16 is forced where the CPU only emulates it, so the same
code is proven); the CUDA tests run where a GPU is, e.g.
``python -m pytest tests/engine/test_fastpath.py`` on a GPU machine.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from aigc_studio.engine import fastpath, runs
from aigc_studio.engine.callbacks import StepMetrics, TrainingCallback, TrainingControl
from aigc_studio.engine.checkpoint import load_checkpoint
from aigc_studio.engine.config import TrainConfig
from aigc_studio.engine.fastpath import (
    load_optimizer_state,
    plain_optimizer_state,
    plan_acceleration,
    set_learning_rate,
)
from aigc_studio.engine.trainer import Trainer
from aigc_studio.errors import AigcError
from aigc_studio.families.dcgan.model import GanStep

Tiny = Callable[..., TrainConfig]
CPU = torch.device("cpu")
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
GAN_KEYS = ("loss_d", "loss_g", "d_real", "d_fake")


class Recorder(TrainingCallback):
    """Every step's metrics and every warning, as the trainer reports them."""

    def __init__(self, stop_after: int = 0, control: TrainingControl | None = None) -> None:
        self.steps: list[StepMetrics] = []
        self.warnings: list[str] = []
        self.stop_after, self.control = stop_after, control

    def on_steps(self, steps: list[StepMetrics]) -> None:
        self.steps += steps
        if self.control is not None and self.stop_after and len(self.steps) >= self.stop_after:
            self.control.stop()

    def on_warning(self, message: str) -> None:
        self.warnings.append(message)


def train(config: TrainConfig, root: Path | None = None) -> tuple[Trainer, Recorder]:
    rec = Recorder()
    trainer = Trainer(config, runs_root=root, callbacks=[rec], save=root is not None)
    trainer.fit()
    return trainer, rec


def windows(rec: Recorder, key: str, size: int) -> list[float]:
    values = [m.values[key] for m in rec.steps]
    return [statistics.fmean(values[i:i + size]) for i in range(0, len(values), size)]


# ---------------------------------------------------------------------------- the plan
def test_cpu_plan_uses_bf16_only_where_the_cpu_runs_it(monkeypatch: pytest.MonkeyPatch) -> None:
    for native in (False, True):
        monkeypatch.setattr(fastpath, "cpu_supports_bf16", lambda native=native: native)
        plan = plan_acceleration(CPU)
        assert plan.precision == ("bf16" if native else "fp32")
        assert plan.memory_format == torch.channels_last and not plan.cuda_graph
        assert ("no native bf16" in plan.note) is not native
    off = plan_acceleration(CPU, fast=False, precision="bf16")
    assert (off.precision, off.memory_format, off.describe()) == (
        "fp32", torch.contiguous_format, "fp32")
    assert plan_acceleration(CPU, precision="bf16").describe() == "bf16, channels_last"
    with pytest.raises(AigcError, match="fp16 runs on CUDA GPUs only"):
        plan_acceleration(CPU, precision="fp16")


def test_precision_is_validated_and_reaches_the_run(tiny: Tiny, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="--precision must be one of"):
        tiny(precision="fp8")
    trainer, rec = train(tiny(epochs=1, precision="fp32", device="cpu"), tmp_path)
    config = runs.load_run_config(trainer.run_dir)
    assert config.precision == "fp32" and config.fast
    assert trainer.device_label.endswith("· fp32, channels_last")
    assert len(rec.steps) == 16  # every step reported, though read back every 4


# ---------------------------------------------------------------------------- optimiser state
def test_optimizer_state_moves_between_plain_and_device_lr_adam() -> None:
    torch.manual_seed(0)
    net = torch.nn.Linear(4, 2)
    plain = torch.optim.Adam(net.parameters(), lr=2e-4)
    net(torch.randn(3, 4)).sum().backward()
    plain.step()
    # a capturable fused Adam with a tensor lr, as a CUDA graph wants it
    graphed = torch.optim.Adam(net.parameters(), lr=torch.tensor(1.0), fused=True,
                               capturable=True)
    load_optimizer_state(graphed, plain.state_dict())
    group = graphed.param_groups[0]
    assert group["fused"] and group["capturable"]  # its own flags, not the saved ones
    assert isinstance(group["lr"], torch.Tensor) and float(group["lr"]) == pytest.approx(2e-4)
    lr_tensor = group["lr"]
    set_learning_rate(graphed, 5e-4)
    assert group["lr"] is lr_tensor and float(lr_tensor) == pytest.approx(5e-4)
    saved = plain_optimizer_state(graphed)
    assert saved["param_groups"][0]["lr"] == pytest.approx(5e-4)
    back = torch.optim.Adam(net.parameters(), lr=1.0)
    load_optimizer_state(back, saved)
    assert back.param_groups[0]["lr"] == pytest.approx(5e-4)
    assert not back.param_groups[0]["capturable"]
    assert torch.equal(back.state[net.weight]["exp_avg"], plain.state[net.weight]["exp_avg"])


def test_a_run_resumes_with_the_fast_path_switched_off(tiny: Tiny, tmp_path: Path) -> None:
    control = TrainingControl()
    rec = Recorder(stop_after=12, control=control)
    first = Trainer(tiny(epochs=2), runs_root=tmp_path, control=control, callbacks=[rec])
    assert first.fit().status == "stopped"
    state = load_checkpoint(runs.last_checkpoint(first.run_dir))
    assert isinstance(state["optimizers"]["d"]["param_groups"][0]["lr"], float)
    resumed = Trainer.resume(first.run_dir)
    resumed.config.fast = False
    assert resumed.fit().status == "finished"
    assert resumed.accel.describe() == "fp32"
    assert load_checkpoint(runs.last_checkpoint(first.run_dir))["step"] == 32


# ---------------------------------------------------------------------------- equivalence
def _equivalence_config(seed: int, **overrides: object) -> TrainConfig:
    # 240 steps: big enough that D and G play (width 16), small enough to run emulated bf16
    values: dict[str, object] = dict(dataset="digits", limit=3840, batch_size=32, width=16,
                                      latent_dim=32, epochs=2, log_every=20, seed=seed)
    values.update(overrides)
    return TrainConfig(**values).validate()  # type: ignore[arg-type]


@pytest.mark.slow
def test_bf16_fast_path_losses_match_fp32_eager_statistically() -> None:
    """Same seed: the first step agrees closely; then, per 40-step window, the fast path
    stays as close to fp32 eager as two fp32 seeds stay to each other."""
    _, ref_rec = train(_equivalence_config(3, fast=False))
    _, other_rec = train(_equivalence_config(4, fast=False))
    fast, fast_rec = train(_equivalence_config(3, precision="bf16"))
    assert fast.accel.describe() == "bf16, channels_last"
    assert len(fast_rec.steps) == len(ref_rec.steps) == 240
    first_ref, first_fast = ref_rec.steps[0], fast_rec.steps[0]
    for key in GAN_KEYS:  # same weights, batch and noise: only rounding differs
        assert first_fast.values[key] == pytest.approx(first_ref.values[key], abs=0.02)
    for key, floor in zip(GAN_KEYS, (0.1, 0.3, 0.05, 0.05), strict=True):
        r, o, f = (windows(x, key, 40) for x in (ref_rec, other_rec, fast_rec))
        seed_spread = max(abs(a - b) for a, b in zip(r, o, strict=True))
        gap = max(abs(a - b) for a, b in zip(r, f, strict=True))
        assert gap <= 1.5 * max(seed_spread, floor), (key, r, f, o)
    # and it learns like the reference: D gets better at telling real from fake
    assert windows(fast_rec, "d_real", 40)[-1] > 0.7 > windows(fast_rec, "d_fake", 40)[-1]


def test_bf16_autoencoder_loss_tracks_fp32(tiny: Tiny) -> None:
    cfg = dict(model="autoencoder", epochs=3, log_every=8)
    _, ref = train(tiny(fast=False, **cfg))
    _, fast = train(tiny(precision="bf16", **cfg))
    r, f = windows(ref, "loss_recon", 8), windows(fast, "loss_recon", 8)
    assert r[-1] < 0.85 * r[0] and f[-1] < 0.85 * f[0]  # both learn
    assert all(abs(a - b) <= 0.1 * a for a, b in zip(r, f, strict=True)), (r, f)


# ---------------------------------------------------------------------------- CUDA
@needs_cuda
def test_cuda_step_is_captured_and_matches_eager(tiny: Tiny) -> None:
    cuda = dict(device="cuda", epochs=3, limit=1024)
    graphed, g_rec = train(tiny(**cuda))
    _, e_rec = train(tiny(fast=False, **cuda))
    assert graphed.runner.captured, graphed.runner.fallback_reason
    assert graphed.accel.describe() == "bf16, channels_last, CUDA graph"
    assert not [w for w in g_rec.warnings if "eagerly" in w]
    assert len(g_rec.steps) == len(e_rec.steps) == 96
    losses = [m.values["loss_d"] for m in g_rec.steps]
    assert len(set(losses)) > 90  # fresh noise every replay, not one baked-in draw
    assert all(torch.isfinite(torch.tensor(losses)))
    for key in GAN_KEYS:
        a, b = windows(g_rec, key, 32), windows(e_rec, key, 32)
        assert all(abs(x - y) <= max(0.25 * abs(y), 0.15) for x, y in zip(a, b, strict=True)), \
            (key, a, b)


@needs_cuda
def test_learning_rate_change_reaches_the_captured_graph(tiny: Tiny) -> None:
    control = TrainingControl()

    class FreezeAfter20(Recorder):
        def on_steps(self, steps: list[StepMetrics]) -> None:
            super().on_steps(steps)
            if 20 <= len(self.steps) < 24:  # once, mid-run, while the graph replays
                control.set_learning_rates(lr_g=1e-12, lr_d=1e-12)

    trainer = Trainer(tiny(device="cuda", epochs=2), control=control,
                      callbacks=[FreezeAfter20()], save=False)
    trainer.fit()
    assert trainer.runner.captured
    g = trainer.models.nets["generator"]
    before = [p.detach().clone() for p in g.parameters()]
    trainer.runner.begin_epoch(torch.randperm(512), 0)
    for _ in range(4):
        trainer.runner.step()
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(before, g.parameters(),
                                                                strict=True))


@needs_cuda
def test_capture_failure_falls_back_to_eager_with_a_warning(
        tiny: Tiny, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_call = GanStep.__call__

    def syncing_step(self: GanStep, real: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        out = real_call(self, real, labels)
        out.sum().item()  # a host read: not allowed while capturing
        return out

    monkeypatch.setattr(GanStep, "__call__", syncing_step)
    trainer, rec = train(tiny(device="cuda", epochs=2), tmp_path)
    assert not trainer.runner.captured and len(rec.steps) == 32
    assert any("continues eagerly" in w for w in rec.warnings)
    # the fallback's noise generator is the one checkpoints save: the run resumes
    assert Trainer.resume(trainer.run_dir, epochs=3).fit().status == "finished"


@needs_cuda
def test_fp16_with_loss_scaling_trains_eagerly(tiny: Tiny) -> None:
    trainer, rec = train(tiny(device="cuda", precision="fp16", epochs=2))
    assert trainer.accel.describe() == "fp16, channels_last" and trainer.accel.grad_scaler
    assert len(rec.steps) == 32
    assert all(torch.isfinite(torch.tensor([m.values["loss_d"] for m in rec.steps])))


@needs_cuda
def test_cuda_graph_run_stops_and_resumes(tiny: Tiny, tmp_path: Path) -> None:
    _, whole = train(tiny(device="cuda", epochs=2), tmp_path / "whole")
    control = TrainingControl()
    rec = Recorder(stop_after=12, control=control)
    first = Trainer(tiny(device="cuda", epochs=2), runs_root=tmp_path / "split",
                    control=control, callbacks=[rec])
    assert first.fit().status == "stopped"
    rest = Recorder()
    resumed = Trainer.resume(first.run_dir, callbacks=[rest])
    assert resumed.fit().status == "finished" and resumed.runner.captured
    joined = rec.steps + rest.steps
    assert [m.step for m in joined] == list(range(1, 33))
    for key in GAN_KEYS:  # the same run: equal up to kernel non-determinism
        a, b = windows(whole, key, 8), [statistics.fmean(m.values[key] for m in joined[i:i + 8])
                                        for i in range(0, 32, 8)]
        assert all(abs(x - y) <= 0.05 + 0.1 * abs(x) for x, y in zip(a, b, strict=True)), (a, b)


def test_streamed_data_feeds_the_step_program(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Folders too large to keep resident are copied into the program's static batch, and
    a stop mid-epoch resumes from the same batch."""
    from PIL import Image

    from aigc_studio.core import datasets

    digits = datasets.load_dataset("digits", 32, limit=64)
    folder = tmp_path / "digits"
    folder.mkdir()
    for i, image in enumerate(digits.images.numpy()):
        Image.fromarray(image[0]).save(folder / f"{i:03d}.png")
    monkeypatch.setattr(datasets, "STREAM_THRESHOLD", 10)
    config = TrainConfig(dataset=str(folder), batch_size=16, width=8, latent_dim=16, epochs=2,
                         log_every=1, device="cpu").validate()
    control = TrainingControl()
    rec = Recorder(stop_after=2, control=control)
    first = Trainer(config, runs_root=tmp_path / "runs", control=control, callbacks=[rec])
    assert first.fit().status == "stopped"
    assert first.runner.resident is None and first.runner.static_real is not None
    rest = Recorder()
    assert Trainer.resume(first.run_dir, callbacks=[rest]).fit().status == "finished"
    steps = rec.steps + rest.steps
    assert [m.step for m in steps] == list(range(1, 9))
    assert all(math.isfinite(m.values["loss_d"]) and math.isfinite(m.values["loss_g"])
               for m in steps)
