"""The convolutional autoencoder: a strided-conv encoder to a latent vector, mirrored decoder."""

from __future__ import annotations

import torch
from torch import nn

from aigc_studio.families.layers import (
    dcgan_init,
    decoder_stages,
    encoder_stages,
    stride2_stages,
)


class ConvAutoencoder(nn.Module):
    """image -> latent vector (N, latent_dim) -> reconstruction, with a mirrored decoder."""

    def __init__(self, latent_dim: int = 64, channels: int = 1, image_size: int = 32,
                 width: int = 32) -> None:
        super().__init__()
        stages = stride2_stages(image_size)
        self.latent_dim, self.channels, self.image_size = latent_dim, channels, image_size
        enc, top = encoder_stages(channels, width, stages)
        self._top = top  # channels at the 4x4 bottleneck
        self.encoder = nn.Sequential(*enc, nn.Flatten(), nn.Linear(top * 16, latent_dim))
        self.project = nn.Sequential(nn.Linear(latent_dim, top * 16), nn.ReLU(True))
        self.decoder_net = nn.Sequential(*decoder_stages(top, channels, stages))
        self.apply(dcgan_init)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """(N, channels, S, S) -> (N, latent_dim)."""
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """(N, latent_dim) -> (N, channels, S, S) in [-1, 1]."""
        h = self.project(z).view(z.shape[0], self._top, 4, 4)
        return self.decoder_net(h)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))
