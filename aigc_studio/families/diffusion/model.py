"""The diffusion family's behaviour: UNet + EMA copy, the denoising step, grids, sampling.

The step is the DDPM objective (Ho et al. 2020) as device work only: timesteps, noise and
label dropout are drawn from the step's generator, x_t is built from ᾱ_t indexed on the
device (diffusers' ``add_noise`` is not used here: the schedule tensor is already on the
device and indexing it by device timesteps keeps the step one capturable program), the UNet
runs under the plan's autocast, Adam updates, and the EMA copy follows with one
``torch._foreach_lerp_``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from aigc_studio.core.grid import make_grid, to_uint8_images
from aigc_studio.errors import AigcError
from aigc_studio.families.base import FamilyImpl
from aigc_studio.families.diffusion.networks import (
    DiffusionNet,
    build_unet,
    is_diffusers_folder,
    load_diffusers_folder,
    schedule_config,
)
from aigc_studio.families.diffusion.sampling import Cancel, OnStep, denoise, trajectory_points
from aigc_studio.families.step import AdamFactory, StepContext, TrainStep, ema_update

GRID_COLS = 8  # samples per grid row; one row per class (at most MAX_ROWS) when conditional
MAX_ROWS = 10
STRIP_POINTS = 8  # the denoising strip under the epoch grid: 8 states from noise to image


class DiffusionStep(TrainStep):
    """One denoising step: returns [loss] (MSE of the ε or v prediction) on the device."""

    def __init__(self, net: nn.Module, ema: DiffusionNet, opt: torch.optim.Optimizer,
                 ctx: StepContext, *, predict_v: bool, ema_decay: float,
                 label_dropout: float) -> None:
        super().__init__(ctx.accel)
        self.net, self.ema, self.opt = net, ema, opt  # net: maybe DistributedDataParallel
        inner = unwrapped(net)
        self.noise_gen = ctx.noise_gen
        device = ctx.accel.device
        self.alphas = inner.alphas_cumprod.to(device, torch.float32)
        self.steps_t = self.alphas.numel()
        self.predict_v = predict_v
        self.label_dropout = label_dropout
        self.null = inner.num_classes  # the "no class" row of the class embedding
        self.ema_decay = torch.tensor(ema_decay, dtype=torch.float32, device=device)
        self.net_params = list(inner.parameters())
        self.ema_params = list(ema.parameters())

    def __call__(self, real: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        b, dev, gen = real.shape[0], real.device, self.noise_gen
        t = torch.randint(0, self.steps_t, (b,), device=dev, generator=gen)
        noise = torch.randn(real.shape, device=dev, generator=gen)
        abar = self.alphas.index_select(0, t).view(b, 1, 1, 1)
        a, s = abar.sqrt(), (1 - abar).sqrt()
        x0 = real.float()
        xt = (a * x0 + s * noise).contiguous(memory_format=real_format(real))
        target = a * noise - s * x0 if self.predict_v else noise
        y = None
        if self.null:  # classifier-free guidance: a share of the batch sees "no class"
            drop = torch.rand(b, device=dev, generator=gen) < self.label_dropout
            y = torch.where(drop, torch.full_like(labels, self.null), labels)
        self.opt.zero_grad(set_to_none=True)
        with self.accel.autocast():
            pred = self.net(xt, t, y)
        loss = nn.functional.mse_loss(pred.float(), target)
        self.update(loss, self.opt)
        self.end_step()
        self._update_ema()
        return loss.detach()[None]

    def _update_ema(self) -> None:
        ema_update(self.ema_params, self.net_params, self.ema.updates, self.ema_decay)


def unwrapped(net: nn.Module) -> DiffusionNet:
    """The DiffusionNet itself (DistributedDataParallel keeps it as ``.module``)."""
    inner = getattr(net, "module", net)
    assert isinstance(inner, DiffusionNet)
    return inner


def real_format(x: torch.Tensor) -> torch.memory_format:
    """The memory format a batch arrived in (channels_last on the fast path)."""
    if x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last):
        return torch.channels_last
    return torch.contiguous_format


class DiffusionImpl(FamilyImpl):
    """The diffusion family: samples from noise through a sampler, shows denoising paths."""

    sample_options = ("sampler", "steps", "guidance", "on_step", "cancel")  # reports progress

    def build_networks(self, config: Any, channels: int, num_classes: int = 0
                       ) -> dict[str, nn.Module]:
        if num_classes == 0 and "guidance" in config.extras:
            from aigc_studio.engine.config import ConfigError

            raise ConfigError("--guidance needs a class-conditional run (a data set with "
                              "classes); this one is unconditional.")
        net = make_net(config, channels, num_classes)
        ema = copy.deepcopy(net).requires_grad_(False)
        return {"unet": net, "ema": ema}

    def build_optimizers(self, nets: Mapping[str, nn.Module], config: Any,
                         adam: AdamFactory) -> dict[str, torch.optim.Optimizer]:
        return {"g": adam(nets["unet"].parameters(), config.lr_g)}

    def make_step(self, nets: Mapping[str, nn.Module],
                  optims: Mapping[str, torch.optim.Optimizer], ctx: StepContext) -> TrainStep:
        net, ema = nets["unet"], nets["ema"]
        assert isinstance(ema, DiffusionNet)
        cfg = unwrapped(net).run_options
        return DiffusionStep(net, ema, optims["g"], ctx, predict_v=cfg["prediction"] == "v",
                             ema_decay=cfg["ema_decay"], label_dropout=cfg["label_dropout"])

    def fixed_inputs(self, config: Any, real_images: Callable[[int], torch.Tensor]
                     ) -> torch.Tensor:
        """Fixed noise for the grid: enough for one row per class (up to 10 rows)."""
        channels, size = real_images(1).shape[1], config.image_size
        gen = torch.Generator().manual_seed(config.seed + 2)
        return torch.randn(GRID_COLS * MAX_ROWS, channels, size, size, generator=gen)

    def epoch_grid(self, nets: Mapping[str, nn.Module], fixed: torch.Tensor,
                   device: torch.device) -> np.ndarray:
        """EMA samples from the fixed noise (one row per class when conditional), and as the
        last row the denoising strip of the first sample: 8 states from noise to image."""
        ema = nets["ema"]
        assert isinstance(ema, DiffusionNet)
        rows = min(ema.num_classes, MAX_ROWS) if ema.num_classes else GRID_COLS
        noise = fixed[: rows * GRID_COLS].to(device)
        labels = (torch.arange(rows, device=device).repeat_interleave(GRID_COLS)
                  if ema.num_classes else None)
        opts = ema.sampling
        ema.eval()
        try:
            points = trajectory_points(opts["steps"], STRIP_POINTS)
            images, kept = denoise(ema, noise.contiguous(), labels, sampler=opts["sampler"],
                                   steps=opts["steps"], guidance=opts["guidance"], keep=points)
        finally:
            ema.train()
        strip = torch.stack([kept[p][0] for p in points])
        return make_grid(to_uint8_images(torch.cat([images, strip]).cpu().numpy()),
                         ncols=GRID_COLS)

    # ------------------------------------------------------------------ inference
    def latent_size(self, config: Any, channels: int) -> int:
        """The "latent" of a diffusion model is its initial noise: C·S·S numbers."""
        return channels * config.image_size ** 2

    def decode(self, net: nn.Module, z: torch.Tensor, labels: torch.Tensor | None = None,
               *, sampler: str | None = None, steps: int | None = None,
               guidance: float | None = None, on_step: OnStep | None = None,
               cancel: Cancel | None = None) -> torch.Tensor:
        """Initial noise (N, C·S·S) -> images in [-1, 1], through the sampler."""
        images, _ = self._run(net, z, labels, (), sampler, steps, guidance, on_step, cancel)
        return images

    def trajectory(self, net: nn.Module, z: torch.Tensor, labels: torch.Tensor | None = None,
                   *, points: int = STRIP_POINTS, sampler: str | None = None,
                   steps: int | None = None, guidance: float | None = None,
                   on_step: OnStep | None = None, cancel: Cancel | None = None
                   ) -> torch.Tensor:
        """States x_t at ``points`` evenly spaced steps, noise first: (points, N, C, S, S)."""
        assert isinstance(net, DiffusionNet)
        n_steps = steps if steps is not None else net.sampling["steps"]
        marks = trajectory_points(n_steps, points) if isinstance(n_steps, int) and \
            n_steps >= 1 else []
        _, kept = self._run(net, z, labels, marks, sampler, steps, guidance, on_step, cancel)
        return torch.stack([kept[m] for m in marks])

    def _run(self, net: nn.Module, z: torch.Tensor, labels: torch.Tensor | None,
             keep: Any, sampler: str | None, steps: int | None, guidance: float | None,
             on_step: OnStep | None, cancel: Cancel | None
             ) -> tuple[torch.Tensor, dict[int, torch.Tensor]]:
        assert isinstance(net, DiffusionNet)
        if guidance is not None and not net.null_class:
            raise AigcError("--guidance needs a class-conditional model trained with label "
                            "dropout; this one is " + ("conditional without a 'no class' row."
                                                       if net.num_classes else
                                                       "unconditional."))
        opts = net.sampling
        noise = z.reshape(z.shape[0], net.channels, net.image_size, net.image_size)
        return denoise(net, noise, labels,
                       sampler=sampler if sampler is not None else opts["sampler"],
                       steps=steps if steps is not None else opts["steps"],
                       guidance=guidance if guidance is not None else opts["guidance"],
                       keep=keep, on_step=on_step, cancel=cancel)

    def opens_folder(self, path: Path) -> bool:
        return is_diffusers_folder(path)

    def open_folder(self, path: Path) -> tuple[Any, nn.Module, int, list[str]]:
        """A diffusers ``UNet2DModel`` folder, sampled like a run with the family defaults."""
        from aigc_studio.engine.config import TrainConfig

        net = load_diffusers_folder(path)
        width = int(net.unet.config.block_out_channels[0])
        config = TrainConfig(model=self.family.name, dataset=str(path), channels=net.channels,
                             image_size=net.image_size, width=width)
        return config, net, net.channels, [str(i) for i in range(net.num_classes)]

    def export_example(self, config: Any, channels: int) -> tuple[Any, tuple[str, ...]]:
        """One UNet step: (x_t, t, class) -> ε or v; the sampler loop stays outside ONNX."""
        size = config.image_size
        x = torch.randn(2, channels, size, size)
        t = torch.tensor([999, 10], dtype=torch.long)
        y = torch.zeros(2, dtype=torch.long)
        return (x, t, y), ("x_t", "timestep", "class_label", "prediction")


def make_net(config: Any, channels: int, num_classes: int) -> DiffusionNet:
    """The run's UNet with its schedule and the run's sampling defaults attached."""
    unet = build_unet(channels, config.image_size, config.width, num_classes)
    net = DiffusionNet(unet, schedule_config(config.option("prediction")), num_classes)
    net.run_options = {k: config.option(k) for k in ("prediction", "ema_decay",
                                                      "label_dropout")}
    net.sampling = {"sampler": config.option("sampler"), "steps": config.option("sample_steps"),
                    "guidance": config.option("guidance")}
    return net
