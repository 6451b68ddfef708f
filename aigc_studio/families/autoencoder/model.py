"""The autoencoder family's behaviour: networks, training step, grid (imports torch)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from aigc_studio.core.datasets import to_unit_range
from aigc_studio.core.grid import to_uint8_images
from aigc_studio.families.autoencoder.networks import ConvAutoencoder
from aigc_studio.families.codecs import EncoderDecoderImpl
from aigc_studio.families.grids import originals_over_reconstructions
from aigc_studio.families.step import (
    AdamFactory,
    StepAcceleration,
    StepContext,
    TrainStep,
)

GRID_IMAGES = 32  # fixed real images: 4 pairs of rows, originals above reconstructions


class AutoencoderStep(TrainStep):
    """One autoencoder step: MSE between the batch and its reconstruction."""

    def __init__(self, ae: nn.Module, opt: torch.optim.Optimizer,
                 accel: StepAcceleration) -> None:
        super().__init__(accel)
        self.ae, self.opt = ae, opt

    def __call__(self, real: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        self.opt.zero_grad(set_to_none=True)
        with self.accel.autocast():
            loss = nn.functional.mse_loss(self.ae(real).float(), real.float())
        self.update(loss, self.opt)
        self.end_step()
        return loss.detach()[None]


class AutoencoderImpl(EncoderDecoderImpl):
    """The autoencoder family: encodes and decodes, so it reconstructs dropped images."""

    def build_networks(self, config: Any, channels: int, num_classes: int = 0
                       ) -> dict[str, nn.Module]:
        return {"autoencoder": ConvAutoencoder(config.latent_dim, channels, config.image_size,
                                               config.width)}

    def build_optimizers(self, nets: Mapping[str, nn.Module], config: Any,
                         adam: AdamFactory) -> dict[str, torch.optim.Optimizer]:
        return {"g": adam(nets["autoencoder"].parameters(), config.lr_g)}

    def make_step(self, nets: Mapping[str, nn.Module],
                  optims: Mapping[str, torch.optim.Optimizer], ctx: StepContext) -> TrainStep:
        return AutoencoderStep(nets["autoencoder"], optims["g"], ctx.accel)

    def fixed_inputs(self, config: Any, real_images: Callable[[int], torch.Tensor]
                     ) -> torch.Tensor:
        return real_images(GRID_IMAGES)

    def epoch_grid(self, nets: Mapping[str, nn.Module], fixed: torch.Tensor,
                   device: torch.device) -> np.ndarray:
        net = nets["autoencoder"]
        net.eval()
        try:
            with torch.no_grad():
                real = to_unit_range(fixed.to(device))
                recon = net(real).float().cpu().numpy()
        finally:
            net.train()
        return originals_over_reconstructions(to_uint8_images(real.cpu().numpy()),
                                              to_uint8_images(recon))
