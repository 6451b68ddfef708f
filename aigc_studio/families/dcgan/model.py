"""The dcgan family's behaviour: networks, training step, grid (imports torch)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from aigc_studio.core.grid import make_grid, to_uint8_images
from aigc_studio.families.base import FamilyImpl
from aigc_studio.families.dcgan.networks import Discriminator, Generator
from aigc_studio.families.step import (
    AdamFactory,
    HealthContext,
    StepAcceleration,
    StepContext,
    TrainStep,
)

GRID_SAMPLES = 64  # fixed noise vectors: an 8x8 grid
COLLAPSE_AFTER_EPOCHS = 3  # a young generator is still nearly constant: judge no earlier


class GanStep(TrainStep):
    """One DCGAN step (D then G), returning [loss_d, loss_g, D(x), D(G(z))] on the device."""

    def __init__(self, g: nn.Module, d: nn.Module, opt_g: torch.optim.Optimizer,
                 opt_d: torch.optim.Optimizer, batch_size: int, latent_dim: int,
                 noise_gen: torch.Generator, accel: StepAcceleration) -> None:
        super().__init__(accel)
        self.g, self.d, self.opt_g, self.opt_d = g, d, opt_g, opt_d
        self.noise_gen = noise_gen
        self.z_shape = (batch_size, latent_dim, 1, 1)
        self.ones = torch.ones(batch_size, device=accel.device)
        self.zeros = torch.zeros(batch_size, device=accel.device)
        self.bce = nn.BCEWithLogitsLoss()

    def __call__(self, real: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        g, d, accel = self.g, self.d, self.accel
        z = torch.randn(self.z_shape, device=accel.device, generator=self.noise_gen)
        # (1) Update D: minimise -[log D(x) + log(1 - D(G(z)))]
        self.opt_d.zero_grad(set_to_none=True)
        with accel.autocast():
            fake = g(z)
            logits_real = d(real).float()
            logits_fake = d(fake.detach()).float()
            loss_d = self.bce(logits_real, self.ones) + self.bce(logits_fake, self.zeros)
        self.update(loss_d, self.opt_d)
        # (2) Update G: minimise -log D(G(z)), backpropagating through G (no detach here).
        # D's weights need no gradient for this: leaving them out saves a third of D's backward.
        self.opt_g.zero_grad(set_to_none=True)
        d.requires_grad_(False)
        try:
            with accel.autocast():
                loss_g = self.bce(d(fake).float(), self.ones)
            self.update(loss_g, self.opt_g)
        finally:
            d.requires_grad_(True)
        self.end_step()
        with torch.no_grad():
            return torch.stack([loss_d.detach(), loss_g.detach(),
                                torch.sigmoid(logits_real.detach()).mean(),
                                torch.sigmoid(logits_fake.detach()).mean()])


class DcganImpl(FamilyImpl):
    """The DCGAN family: samples from noise; principal directions from G's first block."""

    def build_networks(self, config: Any, channels: int, num_classes: int = 0
                       ) -> dict[str, nn.Module]:
        size, width = config.image_size, config.width
        return {"generator": Generator(config.latent_dim, channels, size, width),
                "discriminator": Discriminator(channels, size, width)}

    def build_optimizers(self, nets: Mapping[str, nn.Module], config: Any,
                         adam: AdamFactory) -> dict[str, torch.optim.Optimizer]:
        return {"g": adam(nets["generator"].parameters(), config.lr_g),
                "d": adam(nets["discriminator"].parameters(), config.lr_d)}

    def make_step(self, nets: Mapping[str, nn.Module],
                  optims: Mapping[str, torch.optim.Optimizer], ctx: StepContext) -> TrainStep:
        g = nets["generator"]
        return GanStep(g, nets["discriminator"], optims["g"], optims["d"], ctx.batch_size,
                       g.latent_dim, ctx.noise_gen, ctx.accel)

    def fixed_inputs(self, config: Any, real_images: Callable[[int], torch.Tensor]
                     ) -> torch.Tensor:
        gen = torch.Generator().manual_seed(config.seed + 2)
        return torch.randn(GRID_SAMPLES, config.latent_dim, 1, 1, generator=gen)

    def epoch_grid(self, nets: Mapping[str, nn.Module], fixed: torch.Tensor,
                   device: torch.device) -> np.ndarray:
        g = nets["generator"]
        g.eval()
        try:
            with torch.no_grad():
                images = g(fixed.to(device)).float().cpu().numpy()
        finally:
            g.train()
        return make_grid(to_uint8_images(images), ncols=8)

    def health_warnings(self, ctx: HealthContext) -> list[str]:
        """A discriminator that wins outright; samples that are all alike (mode collapse)."""
        out = []
        means = ctx.means
        if means.get("loss_d", 1.0) < 0.05 and means.get("d_fake", 1.0) < 0.02:
            out.append("The discriminator is winning outright (D loss near 0, D(G(z)) near 0): "
                       "the generator gets almost no gradient; try a lower D learning rate.")
        if ctx.epochs_done < COLLAPSE_AFTER_EPOCHS:
            return out
        g = ctx.nets["generator"]
        g.eval()
        with torch.no_grad():
            samples = g(ctx.fixed.to(ctx.device)).float()
        g.train()
        spread = samples.std(dim=0).mean().item()
        if spread < 0.1 * ctx.real_spread:
            out.append(f"The samples look nearly identical (spread {spread:.3f} against "
                       f"{ctx.real_spread:.3f} in the data): the generator may have collapsed "
                       "to one mode.")
        return out

    def decode(self, net: nn.Module, z: torch.Tensor) -> torch.Tensor:
        return net(z[:, :, None, None])

    def pca_features(self, net: nn.Module, z: torch.Tensor) -> torch.Tensor:
        first_block = net.net[:3]  # ConvTranspose -> BatchNorm -> ReLU: the 4x4 features
        return first_block(z[:, :, None, None]).flatten(1)

    def export_example(self, config: Any, channels: int) -> tuple[torch.Tensor,
                                                                  tuple[str, str]]:
        return torch.randn(2, config.latent_dim), ("latent", "image")
