"""The diffusion family: the step learns, resume is exact (EMA included), sampling is
deterministic, the denoising path and progress/cancel work, bad settings are one sentence,
and a diffusers ``save_pretrained`` folder opens like a run."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from aigc_studio.engine.config import ConfigError, TrainConfig
from aigc_studio.engine.fastpath import make_adam, plan_acceleration
from aigc_studio.engine.inference import LoadedModel, load_model, sample, trajectory
from aigc_studio.engine.trainer import Trainer
from aigc_studio.errors import AigcError, Cancelled
from aigc_studio.families import get
from aigc_studio.families.step import StepContext

FAST = {"sample_steps": 2}  # epoch grids from 2 denoising steps keep each test to seconds


def _config(tiny: Callable[..., TrainConfig], **overrides: object) -> TrainConfig:
    values: dict[str, object] = dict(model="diffusion", limit=64, batch_size=32, width=8,
                                     epochs=1, eval_samples=0, extras=dict(FAST))
    values.update(overrides)
    return tiny(**values)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> LoadedModel:
    """One tiny conditional run on digits, loaded for sampling."""
    root = tmp_path_factory.mktemp("runs")
    cfg = TrainConfig(model="diffusion", dataset="digits", limit=64, batch_size=32, width=8,
                      epochs=1, seed=3, log_every=2, eval_samples=0,
                      extras=dict(FAST)).validate()
    end = Trainer(cfg, runs_root=root).fit()
    return load_model(end.run_dir)


def test_step_learns_on_a_fixed_batch(tiny: Callable[..., TrainConfig]) -> None:
    cfg = _config(tiny)
    impl = get("diffusion").impl
    torch.manual_seed(0)
    nets = impl.build_networks(cfg, 1, 10)
    accel = plan_acceleration(torch.device("cpu"), fast=False)
    optims = impl.build_optimizers(nets, cfg, lambda p, lr: make_adam(p, lr, (0.9, 0.999),
                                                                      accel))
    gen = torch.Generator().manual_seed(1)
    step = impl.make_step(nets, optims, StepContext(accel, 16, gen))
    real = torch.rand(16, 1, 32, 32, generator=gen) * 2 - 1
    real = torch.nn.functional.avg_pool2d(real, 5, 1, 2).sign()  # blobs: learnable fast
    labels = torch.arange(16) % 10
    losses = [float(step(real, labels)) for _ in range(40)]
    assert np.mean(losses[-8:]) < 0.7 * np.mean(losses[:8]), losses
    ema_moved = any(not torch.equal(a, b) for a, b in zip(
        nets["ema"].parameters(), nets["unet"].parameters(), strict=True))
    assert ema_moved and float(nets["ema"].updates) == 40  # EMA lags and counts its updates


def test_resume_is_bit_identical_ema_included(tiny: Callable[..., TrainConfig],
                                              tmp_path: Path) -> None:
    cfg = _config(tiny, epochs=2, limit=64, batch_size=16)
    straight = Trainer(cfg, runs_root=tmp_path / "a")
    straight.fit()
    first = Trainer(_config(tiny, epochs=1, limit=64, batch_size=16), runs_root=tmp_path / "b")
    end = first.fit()
    resumed = Trainer.resume(end.run_dir, epochs=2)
    resumed.fit()
    for key in ("unet", "ema"):
        want = straight.models.nets[key].state_dict()
        got = resumed.models.nets[key].state_dict()
        assert want.keys() == got.keys()
        for name in want:
            assert torch.equal(want[name], got[name]), (key, name)
    assert float(resumed.models.nets["ema"].updates) == 8


def test_same_seed_same_image_and_seed_convention(trained: LoadedModel) -> None:
    a = sample(trained, 2, 5, 3, steps=3, sampler="ddim", guidance=2.0)
    b = sample(trained, 2, 5, 3, steps=3, sampler="ddim", guidance=2.0)
    assert np.array_equal(a, b)
    other = sample(trained, 2, 5, 3, steps=3, sampler="dpm++", guidance=2.0)
    assert not np.array_equal(a, other)
    one = sample(trained, 1, 6, 3, steps=3, sampler="ddim", guidance=2.0)
    assert np.abs(one[0].astype(int) - a[1].astype(int)).max() <= 1  # image i is seed + i


def test_trajectory_goes_from_noise_to_the_sample_with_progress(trained: LoadedModel) -> None:
    seen: list[tuple[int, int]] = []
    frames = trajectory(trained, 4, 7, points=8, steps=7, sampler="ddim",
                        on_step=lambda i, n: seen.append((i, n)))
    assert frames.shape == (8, 32, 32, 3) and frames.dtype == np.uint8
    assert seen == [(i, 7) for i in range(1, 8)]
    final = sample(trained, 1, 4, 7, steps=7, sampler="ddim")[0]
    assert np.abs(frames[-1].astype(int) - final.astype(int)).max() <= 1
    assert frames[0].std() > frames[-1].std() * 0.5  # the first frame is the noise


def test_cancel_stops_sampling(trained: LoadedModel) -> None:
    calls: list[int] = []
    with pytest.raises(Cancelled):
        sample(trained, 2, 0, steps=10, on_step=lambda i, n: calls.append(i),
               cancel=lambda: len(calls) >= 2)
    assert calls == [1, 2]


@pytest.mark.parametrize(("options", "says"), [
    ({"steps": 0}, "--steps must be a whole number from 1 to 1000, not 0."),
    ({"sampler": "euler"}, "--sampler must be one of dpm++, ddim, not 'euler'."),
    ({"guidance": -1.0}, "--guidance must be from 0 to 50, not -1.0."),
])
def test_bad_sampling_settings_are_one_sentence(trained: LoadedModel,
                                                options: dict[str, object],
                                                says: str) -> None:
    with pytest.raises(AigcError) as info:
        sample(trained, 1, 0, **options)
    assert str(info.value) == says


def flat_folder(folder: Path, count: int = 32) -> Path:
    """A folder of images without sub-folders: a data set without classes."""
    folder.mkdir(parents=True)
    gen = np.random.default_rng(0)
    for i in range(count):
        Image.fromarray(gen.integers(0, 256, (32, 32), dtype=np.uint8)).save(
            folder / f"{i:03d}.png")
    return folder


def test_guidance_needs_a_conditional_run(tiny: Callable[..., TrainConfig],
                                          tmp_path: Path) -> None:
    data = str(flat_folder(tmp_path / "flat"))
    cfg = _config(tiny, dataset=data, extras={**FAST, "guidance": 3.0})
    with pytest.raises(ConfigError, match="--guidance needs a class-conditional run"):
        Trainer(cfg, runs_root=tmp_path).fit()
    end = Trainer(_config(tiny, dataset=data), runs_root=tmp_path).fit()  # no classes: uncond.
    model = load_model(end.run_dir)
    assert model.num_classes == 0
    with pytest.raises(AigcError, match=r"^--guidance needs a class-conditional model"):
        sample(model, 1, 0, guidance=2.0)
    assert sample(model, 2, 0, steps=2).shape[:3] == (2, 32, 32)


def test_sampler_options_on_a_gan_are_one_sentence(tiny: Callable[..., TrainConfig],
                                                   tmp_path: Path) -> None:
    end = Trainer(tiny(epochs=1, limit=64, eval_samples=0), runs_root=tmp_path).fit()
    gan = load_model(end.run_dir)
    with pytest.raises(AigcError) as info:
        sample(gan, 1, 0, sampler="ddim")
    assert str(info.value) == "--sampler does not apply to a DCGAN model."
    with pytest.raises(AigcError, match="denoising path"):
        trajectory(gan, 0)
    steps: list[tuple[int, int]] = []
    sample(gan, 1, 0, on_step=lambda i, n: steps.append((i, n)))  # progress for every family
    assert steps == [(1, 1)]


def test_a_diffusers_folder_opens_and_samples(tmp_path: Path) -> None:
    from diffusers import UNet2DModel

    torch.manual_seed(0)
    unet = UNet2DModel(sample_size=32, in_channels=1, out_channels=1,
                       block_out_channels=(8, 16), layers_per_block=1, norm_num_groups=8,
                       down_block_types=("DownBlock2D", "AttnDownBlock2D"),
                       up_block_types=("AttnUpBlock2D", "UpBlock2D"))
    unet.save_pretrained(tmp_path / "unet", safe_serialization=True)
    assert (tmp_path / "unet" / "diffusion_pytorch_model.safetensors").is_file()
    model = load_model(tmp_path / "unet")
    assert model.family.name == "diffusion" and model.num_classes == 0
    images = sample(model, 2, 0, steps=3, sampler="ddim")
    assert images.shape == (2, 32, 32, 3)
    assert np.array_equal(images, sample(model, 2, 0, steps=3, sampler="ddim"))


def test_onnx_export_of_the_unet_step(trained: LoadedModel, tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    from aigc_studio.engine.export import export_model, onnx_max_difference

    path = export_model(trained, "onnx", tmp_path / "unet.onnx")
    assert onnx_max_difference(trained, path) < 1e-3
