"""The convolutional autoencoder: a strided-conv encoder to a latent vector, mirrored decoder."""

from __future__ import annotations

import torch
from torch import nn

from aigc_studio.families.layers import dcgan_init, stride2_stages


class ConvAutoencoder(nn.Module):
    """image -> latent vector (N, latent_dim) -> reconstruction, with a mirrored decoder."""

    def __init__(self, latent_dim: int = 64, channels: int = 1, image_size: int = 32,
                 width: int = 32) -> None:
        super().__init__()
        stages = stride2_stages(image_size)
        self.latent_dim, self.channels, self.image_size = latent_dim, channels, image_size
        enc: list[nn.Module] = []
        c_in, c_out = channels, width
        for _ in range(stages):
            # (N, c_in, H, W) -> (N, c_out, H/2, W/2)
            enc += [nn.Conv2d(c_in, c_out, 4, 2, 1, bias=False), nn.BatchNorm2d(c_out),
                    nn.LeakyReLU(0.2, inplace=True)]
            c_in, c_out = c_out, c_out * 2
        self._top = c_in  # channels at the 4x4 bottleneck
        self.encoder = nn.Sequential(*enc, nn.Flatten(), nn.Linear(c_in * 16, latent_dim))
        self.project = nn.Sequential(nn.Linear(latent_dim, c_in * 16), nn.ReLU(True))
        dec: list[nn.Module] = []
        for _ in range(stages - 1):
            # (N, C, H, W) -> (N, C/2, 2H, 2W)
            dec += [nn.ConvTranspose2d(c_in, c_in // 2, 4, 2, 1, bias=False),
                    nn.BatchNorm2d(c_in // 2), nn.ReLU(True)]
            c_in //= 2
        # (N, width, S/2, S/2) -> (N, channels, S, S)
        dec += [nn.ConvTranspose2d(c_in, channels, 4, 2, 1), nn.Tanh()]
        self.decoder_net = nn.Sequential(*dec)
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
