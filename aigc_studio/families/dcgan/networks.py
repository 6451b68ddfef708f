"""The DCGAN networks: a transposed-conv generator and a strided-conv discriminator.

The discriminator returns logits (the losses use ``BCEWithLogitsLoss``), and the channel
count follows the data set (1 for digits, 3 for colour).
"""

from __future__ import annotations

import torch
from torch import nn

from aigc_studio.families.layers import dcgan_init, stride2_stages


class Generator(nn.Module):
    """z (N, nz, 1, 1) -> image (N, channels, S, S) in [-1, 1]."""

    def __init__(self, latent_dim: int = 100, channels: int = 1, image_size: int = 32,
                 width: int = 64) -> None:
        super().__init__()
        stages = stride2_stages(image_size)
        self.latent_dim, self.channels, self.image_size = latent_dim, channels, image_size
        mult = 2 ** (stages - 1)  # 4 for 32x32, 8 for 64x64
        layers: list[nn.Module] = [
            # (N, nz, 1, 1) -> (N, width*mult, 4, 4)
            nn.ConvTranspose2d(latent_dim, width * mult, 4, 1, 0, bias=False),
            nn.BatchNorm2d(width * mult),
            nn.ReLU(True),
        ]
        for _ in range(stages - 1):
            # (N, C, H, W) -> (N, C/2, 2H, 2W)
            layers += [
                nn.ConvTranspose2d(width * mult, width * mult // 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(width * mult // 2),
                nn.ReLU(True),
            ]
            mult //= 2
        # (N, width, S/2, S/2) -> (N, channels, S, S)
        layers += [nn.ConvTranspose2d(width, channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.apply(dcgan_init)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Accepts (N, nz) or (N, nz, 1, 1)."""
        if z.dim() == 2:
            z = z[:, :, None, None]
        return self.net(z)


class Discriminator(nn.Module):
    """image (N, channels, S, S) -> one logit per image (N,)."""

    def __init__(self, channels: int = 1, image_size: int = 32, width: int = 64) -> None:
        super().__init__()
        stages = stride2_stages(image_size)
        self.channels, self.image_size = channels, image_size
        layers: list[nn.Module] = [
            # (N, channels, S, S) -> (N, width, S/2, S/2); no BatchNorm on the input layer
            nn.Conv2d(channels, width, 4, 2, 1, bias=False),
            nn.LeakyReLU(0.2, inplace=True),
        ]
        mult = 1
        for _ in range(stages - 1):
            # (N, C, H, W) -> (N, 2C, H/2, W/2)
            layers += [
                nn.Conv2d(width * mult, width * mult * 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(width * mult * 2),
                nn.LeakyReLU(0.2, inplace=True),
            ]
            mult *= 2
        # (N, width*mult, 4, 4) -> (N, 1, 1, 1): a logit, no sigmoid (BCEWithLogitsLoss)
        layers.append(nn.Conv2d(width * mult, 1, 4, 1, 0, bias=False))
        self.net = nn.Sequential(*layers)
        self.apply(dcgan_init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).flatten()
