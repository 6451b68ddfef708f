"""A toy model family written the way a plug-in would: one module, no other file changed.

It learns the data set's mean image (one parameter tensor, MSE), records one metric of its own
(``loss_toy``) and "samples" by adding a little of the latent to that image.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from aigc_studio.core.grid import make_grid, to_uint8_images
from aigc_studio.families.base import (
    Capabilities,
    FamilyImpl,
    MetricSpec,
    ModelFamily,
    PlotSpec,
)
from aigc_studio.families.step import AdamFactory, StepContext, TrainStep


class MeanImage(nn.Module):
    def __init__(self, channels: int, size: int, latent_dim: int) -> None:
        super().__init__()
        self.image = nn.Parameter(torch.zeros(1, channels, size, size))
        self.mix = nn.Linear(latent_dim, 1, bias=False)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.image + 0.01 * self.mix(z)[:, :, None, None])


class ToyStep(TrainStep):
    def __init__(self, net: MeanImage, opt: torch.optim.Optimizer, ctx: StepContext) -> None:
        super().__init__(ctx.accel)
        self.net, self.opt = net, opt
        self.z = torch.zeros(ctx.batch_size, net.mix.in_features, device=ctx.accel.device)

    def __call__(self, real: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        self.opt.zero_grad(set_to_none=True)
        loss = nn.functional.mse_loss(self.net(self.z).expand_as(real), real.float())
        self.update(loss, self.opt)
        self.end_step()
        return loss.detach()[None]


class ToyImpl(FamilyImpl):
    def build_networks(self, config: Any, channels: int, num_classes: int = 0
                       ) -> dict[str, nn.Module]:
        return {"mean": MeanImage(channels, config.image_size, config.latent_dim)}

    def build_optimizers(self, nets: Mapping[str, nn.Module], config: Any,
                         adam: AdamFactory) -> dict[str, torch.optim.Optimizer]:
        return {"g": adam(nets["mean"].parameters(), 0.05)}

    def make_step(self, nets: Mapping[str, nn.Module],
                  optims: Mapping[str, torch.optim.Optimizer], ctx: StepContext) -> TrainStep:
        return ToyStep(nets["mean"], optims["g"], ctx)  # type: ignore[arg-type]

    def fixed_inputs(self, config: Any, real_images: Callable[[int], torch.Tensor]
                     ) -> torch.Tensor:
        return torch.zeros(4, config.latent_dim)

    def epoch_grid(self, nets: Mapping[str, nn.Module], fixed: torch.Tensor,
                   device: torch.device) -> np.ndarray:
        with torch.no_grad():
            return make_grid(to_uint8_images(nets["mean"](fixed.to(device)).cpu().numpy()))

    def decode(self, net: nn.Module, z: torch.Tensor) -> torch.Tensor:
        return net(z)

    def export_example(self, config: Any, channels: int) -> tuple[torch.Tensor,
                                                                  tuple[str, str]]:
        return torch.zeros(2, config.latent_dim), ("latent", "image")


FAMILY = ModelFamily(
    name="toy",
    title="Toy mean image",
    short="Toy",
    description="Learns the data set's mean image (a test family).",
    capabilities=Capabilities(samples=True),
    metrics=(MetricSpec("loss_toy", "toy loss", group="toy", color="#00aa88"),),
    plots=(PlotSpec("toy", "Toy loss", "MSE"),),
    inference_key="mean",
    implementation=f"{__name__}:ToyImpl",
    grid_caption="the mean image",
)
