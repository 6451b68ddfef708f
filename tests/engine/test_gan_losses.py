"""GAN losses (bce, hinge, wgan-gp) and the class-conditional DCGAN: options, learning,
exact resume, the fast path, old runs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from test_trainer import Recorder, _assert_same_training, _final_state
from torch import nn

from aigc_studio.core.datasets import load_dataset
from aigc_studio.engine import runs
from aigc_studio.engine.callbacks import TrainingControl
from aigc_studio.engine.config import ConfigError, TrainConfig
from aigc_studio.engine.export import export_model, onnx_max_difference
from aigc_studio.engine.fastpath import set_learning_rate
from aigc_studio.engine.inference import load_model, sample
from aigc_studio.engine.trainer import Trainer
from aigc_studio.errors import AigcError
from aigc_studio.families import get
from aigc_studio.families.dcgan.model import gradient_penalty
from aigc_studio.families.dcgan.networks import Discriminator

Tiny = Callable[..., TrainConfig]
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "runs_v0_1"
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")

# every loss with the option values the tests use (a short critic loop keeps WGAN-GP quick)
LOSS_EXTRAS = {"bce": {"loss": "bce"}, "hinge": {"loss": "hinge"},
               "wgan-gp": {"loss": "wgan-gp", "n_critic": 2}}


@pytest.fixture
def tiny(tiny: Tiny) -> Tiny:
    """The shared tiny configs without the per-epoch quality metric (it times itself, and these
    tests are about the training step)."""
    return lambda **overrides: tiny(**{"eval_samples": 0, **overrides})


# ---------------------------------------------------------------------------- options
def test_defaults_are_todays_unconditional_bce() -> None:
    config = TrainConfig().validate()
    family = get("dcgan")
    assert (config.option("loss"), config.option("conditional")) == ("bce", False)
    assert family.step_metric_names(config) == ("loss_d", "loss_g", "d_real", "d_fake")
    assert [p.key for p in family.plots_for(config)] == ["loss", "d_out"]


def test_wgan_gp_records_the_critic_instead_of_probabilities() -> None:
    config = TrainConfig(extras={"loss": "wgan-gp"}).validate()
    family = get("dcgan")
    assert family.step_metric_names(config) == ("loss_d", "loss_g", "wasserstein", "penalty")
    assert [p.key for p in family.plots_for(config)] == ["loss", "critic"]
    help_text = family.option("loss").help
    assert all(word in help_text for word in ("log D(G(z))", "max(0, 1 - D(x))", "grad D"))


def test_the_hinge_loss_starts_from_its_papers_optimiser_settings() -> None:
    """hinge prefers SN-GAN's Adam betas (measured: 54 % to 84 % recognised digits); WGAN-GP
    keeps DCGAN's (its paper's did worse on digits)."""
    bce, hinge, wgan = (TrainConfig.defaults_for("dcgan", {"loss": loss}).validate()
                        for loss in ("bce", "hinge", "wgan-gp"))
    assert (bce.lr_g, bce.lr_d, bce.beta1, bce.beta2) == (2e-4, 2e-4, 0.5, 0.999)
    assert (hinge.beta1, hinge.beta2) == (0.0, 0.9)
    assert hinge.extras == {"loss": "hinge"}
    assert (wgan.lr_g, wgan.beta1, wgan.beta2) == (2e-4, 0.5, 0.999)
    assert get("dcgan").preferred({}) == dict(get("dcgan").defaults)  # bce: the family's own


@pytest.mark.parametrize(("extras", "words"), [
    ({"n_critic": 3}, "--n-critic applies to --loss wgan-gp only"),
    ({"loss": "hinge", "n_critic": 1}, "--n-critic applies to --loss wgan-gp only"),
    ({"loss": "wgan-gp", "n_critic": 0}, "--n-critic must be from 1"),
    ({"loss": "lsgan"}, "--loss must be one of bce, hinge, wgan-gp"),
    ({"conditional": "yes"}, "--conditional must be a bool"),
])
def test_bad_option_combinations_are_one_sentence(extras: dict, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        TrainConfig(extras=extras).validate()
    message = str(info.value)
    assert words in message and "\n" not in message and message.endswith(".")


def test_conditional_on_unlabelled_data_is_one_sentence(tiny: Tiny, tmp_path: Path) -> None:
    flat = tmp_path / "flat"  # images but no class sub-folders: one class
    flat.mkdir()
    rng = np.random.default_rng(0)
    for i in range(8):
        Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(flat / f"{i}.png")
    config = tiny(dataset=str(flat), batch_size=4, limit=0, extras={"conditional": True})
    trainer = Trainer(config, runs_root=tmp_path / "runs")
    with pytest.raises(ConfigError, match=r"A conditional DCGAN needs a data set with classes.*"
                                          r"flat has 1\.$"):
        trainer.fit()
    assert not (tmp_path / "runs").exists()  # refused before any run folder was made


# ---------------------------------------------------------------------------- the losses
def test_gradient_penalty_is_exact_for_a_linear_critic() -> None:
    """D(x) = <w, x> has gradient w everywhere: the penalty is (||w|| - 1)², in fp32 even
    under bf16 autocast."""

    class Linear(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = nn.Parameter(torch.full((1, 1, 4, 4), 0.5))  # ||w|| = 2

        def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
            return (x * self.w).sum(dim=(1, 2, 3))

    d = Linear()
    real, fake = torch.randn(6, 1, 4, 4), torch.randn(6, 1, 4, 4)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        penalty = gradient_penalty(d, real, fake, None, torch.Generator().manual_seed(0), "cpu")
    assert penalty.dtype == torch.float32
    assert penalty.item() == pytest.approx(1.0, abs=1e-5)
    penalty.backward()  # the double backward reaches D's weights: d/dw (||w||-1)² = w/||w||·2
    assert torch.allclose(d.w.grad, torch.full_like(d.w, 0.5), atol=1e-5)


def test_each_loss_builds_its_discriminator() -> None:
    family = get("dcgan").impl
    for loss, (norms, spectral) in {"bce": ({nn.BatchNorm2d}, False),
                                    "hinge": (set(), True),
                                    "wgan-gp": ({nn.GroupNorm}, False)}.items():
        cfg = TrainConfig(width=8, latent_dim=8, extras={"loss": loss}).validate()
        d = family.build_networks(cfg, 1)["discriminator"]
        kinds = {type(m) for m in d.modules()} & {nn.BatchNorm2d, nn.GroupNorm}
        assert kinds == norms, loss
        convs = [m for m in d.modules() if isinstance(m, nn.Conv2d)]
        assert all(hasattr(m, "parametrizations") == spectral for m in convs), loss


def _train_with_one_side_still(trainer: Trainer, still: str, epochs: int) -> dict:
    """One more epoch with one network's learning rate at 0; the run's step history."""
    for key in ("g", "d"):
        set_learning_rate(trainer.models.optims[key], 0.0 if key == still else 1e-3)
    trainer.config.epochs = epochs
    trainer._loop()
    return trainer.progress.history


def _early_late(values: list[float]) -> tuple[float, float]:
    return float(np.mean(values[:3])), float(np.mean(values[-3:]))


@pytest.mark.parametrize("loss", list(LOSS_EXTRAS))
def test_each_loss_learns(loss: str, tiny: Tiny) -> None:
    """Each side learns while the other stands still: with G frozen, D learns to tell real
    from fake (its loss falls; a critic's Wasserstein estimate grows); then with D frozen, G
    learns to fool it (G's loss falls)."""
    trainer = Trainer(tiny(limit=256, epochs=1, extras=LOSS_EXTRAS[loss]), save=False)
    trainer.prepare()
    spe = trainer.source.steps_per_epoch
    h = _train_with_one_side_still(trainer, "g", 1)
    if loss == "wgan-gp":
        early, late = _early_late(h["wasserstein"])
        assert late > early + 0.5, h["wasserstein"]
    else:
        early, late = _early_late(h["loss_d"])
        assert late < 0.7 * early, h["loss_d"]
    h = _train_with_one_side_still(trainer, "d", 2)
    early, late = _early_late(h["loss_g"][spe:])
    assert late < early - 0.3, h["loss_g"][spe:]


# ---------------------------------------------------------------------------- resume
@pytest.mark.parametrize("case", ["hinge", "wgan-gp", "conditional"])
def test_stop_and_resume_is_bit_identical(case: str, tiny: Tiny, tmp_path: Path) -> None:
    extras = {"loss": "bce", "conditional": True} if case == "conditional" else LOSS_EXTRAS[case]
    make = lambda: tiny(limit=128, epochs=2, log_every=2, extras=dict(extras))  # noqa: E731
    whole = Trainer(make(), runs_root=tmp_path / "a").fit()
    control = TrainingControl()
    stopped = Trainer(make(), runs_root=tmp_path / "b", control=control,
                      callbacks=[Recorder(stop_at=6, control=control)]).fit()
    assert stopped.status == "stopped" and _final_state(stopped.run_dir)["epoch_step"] == 2
    resumed = Trainer.resume(stopped.run_dir).fit()
    assert resumed.status == "finished" and resumed.step == 8
    _assert_same_training(whole.run_dir, resumed.run_dir)


# ---------------------------------------------------------------------------- conditional
def test_conditional_grid_has_one_row_per_class(tiny: Tiny, tmp_path: Path) -> None:
    rec = Recorder()
    end = Trainer(tiny(limit=64, epochs=1, extras={"conditional": True}), runs_root=tmp_path,
                  callbacks=[rec]).fit()
    grid = rec.epochs[0].grid
    assert grid.shape == (2 + 10 * 34, 2 + 8 * 34, 3)  # 10 classes down, 8 noise vectors across
    model = load_model(end.run_dir)
    assert model.class_names == tuple("0123456789") and model.num_classes == 10
    sevens = sample(model, 4, seed=0, class_index=7)
    assert sevens.shape == (4, 32, 32, 3)
    assert not np.array_equal(sevens, sample(model, 4, seed=0, class_index=1))
    assert np.array_equal(sevens, sample(model, 4, seed=0, class_index="7"))  # by name
    with pytest.raises(AigcError, match=r"^Class 10 is not one of the model's classes: 0, 1"):
        sample(model, 4, seed=0, class_index=10)
    onnx_path = export_model(model, "onnx", tmp_path / "cgan.onnx")  # takes the class too
    import onnxruntime as ort

    inputs = [i.name for i in ort.InferenceSession(str(onnx_path)).get_inputs()]
    assert inputs == ["latent", "class"]
    assert onnx_max_difference(model, onnx_path) < 1e-4


def test_class_count_needs_two_classes(tiny: Tiny) -> None:
    trainer = Trainer(tiny(extras={"conditional": True}), save=False)
    trainer.data = load_dataset("digits", 32, limit=64)
    assert trainer._class_count() == 10
    trainer.data.class_names = ["only"]
    with pytest.raises(ConfigError, match="needs a data set with classes"):
        trainer._class_count()
    trainer.config.extras = {}
    assert trainer._class_count() == 0  # unconditional: no classes asked for


# ---------------------------------------------------------------------------- old runs
@pytest.mark.parametrize("run", ["dcgan-digits", "autoencoder-digits"])
def test_runs_from_before_the_losses_still_sample(run: str) -> None:
    model = load_model(FIXTURES / run)
    assert model.config.extras == {} and model.num_classes == 0
    images = sample(model, 3, seed=0)
    assert images.shape == (3, 32, 32, 3)
    if run.startswith("dcgan"):
        assert model.config.option("loss") == "bce" and not model.config.option("conditional")
        with pytest.raises(AigcError, match="is not class-conditional, so --class does not"):
            sample(model, 3, seed=0, class_index=7)


# ---------------------------------------------------------------------------- fast path
@pytest.mark.parametrize("loss", list(LOSS_EXTRAS))
def test_each_loss_trains_under_bf16_autocast(loss: str, tiny: Tiny) -> None:
    """bf16 forced (emulated where the CPU lacks it): finite metrics, fp32 master weights."""
    trainer = Trainer(tiny(limit=64, epochs=1, precision="bf16",
                           extras={**LOSS_EXTRAS[loss], "conditional": True}), save=False)
    trainer.fit()
    assert trainer.accel.precision == "bf16"
    assert trainer.accel.memory_format == torch.channels_last
    assert all(np.isfinite(v).all() for v in trainer.progress.history.values())
    assert all(p.dtype == torch.float32 for p in trainer.models.nets["discriminator"].parameters())


@needs_cuda
@pytest.mark.parametrize("loss", list(LOSS_EXTRAS))
def test_cuda_graph_captures_every_loss_and_resumes(loss: str, tiny: Tiny,
                                                    tmp_path: Path) -> None:
    """The whole step (critic loop and penalty's double backward included) is one graph, and a
    stopped graphed run resumes to the same end as an unbroken one."""
    extras = {**LOSS_EXTRAS[loss], "conditional": True}
    make = lambda: tiny(device="cuda", limit=512, epochs=2, extras=dict(extras))  # noqa: E731
    rec = Recorder()
    whole_trainer = Trainer(make(), runs_root=tmp_path / "a", callbacks=[rec])
    whole = whole_trainer.fit()
    assert whole_trainer.runner.captured, whole_trainer.runner.fallback_reason
    assert not rec.warnings
    control = TrainingControl()
    Trainer(make(), runs_root=tmp_path / "b", control=control,
            callbacks=[Recorder(stop_at=20, control=control)]).fit()
    resumed = Trainer.resume(next((tmp_path / "b").iterdir())).fit()
    a, b = _final_state(whole.run_dir), _final_state(resumed.run_dir)
    for name in a["history"]:
        assert torch.allclose(a["history"][name], b["history"][name], rtol=1e-3, atol=1e-3)


def test_discriminator_keeps_old_layer_names() -> None:
    """Unconditional networks keep the first release's state-dict keys (old runs load)."""
    keys = set(Discriminator(1, 32, 8).state_dict())
    assert all(k.startswith("net.") for k in keys)


def test_an_average_of_g_samples(tiny: Tiny, tmp_path: Path) -> None:
    """G_ema follows G with a warm-up; the epoch's weights and grid are the average's, and a
    checkpoint from before G_ema loads with the average starting as G."""
    import torch

    from aigc_studio.engine.checkpoint import load_weights

    trainer = Trainer(tiny(limit=128, epochs=1), runs_root=tmp_path)
    end = trainer.fit()
    nets = trainer.models.nets
    g, ema = nets["generator"].state_dict(), nets["generator_ema"].state_dict()
    assert nets["ema_steps"].updates.item() == end.step
    assert any(not torch.equal(g[k], ema[k]) for k in g if g[k].is_floating_point())
    weights, meta = load_weights(runs.epoch_weights_path(end.run_dir, 1))
    assert meta["kind"] == "generator_ema"
    assert all(torch.equal(weights[k], ema[k]) for k in ema)
    impl = trainer.family.impl
    old = {"generator": g, "discriminator": nets["discriminator"].state_dict()}
    assert impl.legacy_state("generator_ema", old) is g
    assert impl.legacy_state("ema_steps", old)["updates"].item() == 0
