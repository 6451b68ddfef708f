"""The models of the source article: a DCGAN and a convolutional autoencoder.

Fixed from the seed listing: the generator's channel count follows the data set (1 for digits,
3 for colour), and the discriminator returns logits so the loss is ``BCEWithLogitsLoss``
(numerically stable); the training step lives in ``engine.trainer`` and backpropagates the
generator loss through G.
"""

from __future__ import annotations

import torch
from torch import nn


def dcgan_init(module: nn.Module) -> None:
    """DCGAN initialisation: conv weights N(0, 0.02), BatchNorm weights N(1, 0.02), biases 0."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def _check_size(image_size: int) -> int:
    if image_size not in (32, 64):
        raise ValueError(f"image size must be 32 or 64, not {image_size}")
    return 3 if image_size == 32 else 4  # number of stride-2 stages after the 4x4 base


class Generator(nn.Module):
    """z (N, nz, 1, 1) -> image (N, channels, S, S) in [-1, 1]."""

    def __init__(self, latent_dim: int = 100, channels: int = 1, image_size: int = 32,
                 width: int = 64) -> None:
        super().__init__()
        stages = _check_size(image_size)
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
        stages = _check_size(image_size)
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


class ConvAutoencoder(nn.Module):
    """image -> latent vector (N, latent_dim) -> reconstruction, with a mirrored decoder."""

    def __init__(self, latent_dim: int = 64, channels: int = 1, image_size: int = 32,
                 width: int = 32) -> None:
        super().__init__()
        stages = _check_size(image_size)
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
