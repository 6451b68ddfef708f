"""The convolutional VAE: the autoencoder's conv stages with a Gaussian head on the encoder."""

from __future__ import annotations

import torch
from torch import nn

from aigc_studio.families.layers import (
    dcgan_init,
    decoder_stages,
    encoder_stages,
    stride2_stages,
)

LOGVAR_RANGE = (-30.0, 20.0)  # exp() of this stays finite in fp16 and bf16


class ConvVae(nn.Module):
    """image -> (mean, log-variance) of a Gaussian code -> decoded image (mirrored decoder).

    ``forward`` reconstructs from the mean (deterministic): the inference and ONNX graph.
    """

    def __init__(self, latent_dim: int = 2, channels: int = 1, image_size: int = 32,
                 width: int = 32) -> None:
        super().__init__()
        stages = stride2_stages(image_size)
        self.latent_dim, self.channels, self.image_size = latent_dim, channels, image_size
        enc, top = encoder_stages(channels, width, stages)
        self._top = top  # channels at the 4x4 bottleneck
        self.encoder = nn.Sequential(*enc, nn.Flatten())
        self.moments = nn.Linear(top * 16, 2 * latent_dim)  # mean and log-variance, side by side
        self.project = nn.Sequential(nn.Linear(latent_dim, top * 16), nn.ReLU(True))
        self.decoder_net = nn.Sequential(*decoder_stages(top, channels, stages))
        self.apply(dcgan_init)

    def gaussian(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(N, channels, S, S) -> mean (N, latent_dim) and log-variance (N, latent_dim)."""
        mu, logvar = self.moments(self.encoder(x)).chunk(2, dim=1)
        return mu, logvar.clamp(*LOGVAR_RANGE)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """(N, channels, S, S) -> the code's mean (N, latent_dim)."""
        return self.gaussian(x)[0]

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """(N, latent_dim) -> (N, channels, S, S) in [-1, 1]."""
        h = self.project(z).view(z.shape[0], self._top, 4, 4)
        return self.decoder_net(h)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))
