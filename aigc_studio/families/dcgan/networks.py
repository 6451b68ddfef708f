"""The DCGAN networks: a transposed-conv generator and a strided-conv discriminator.

The discriminator returns logits (or a critic's scores), and the channel count follows the
data set (1 for digits, 3 for colour). Both take an optional class label: the generator joins
a learned class embedding to the noise, the discriminator sees the class as one-hot input
planes beside the image (Mirza & Osindero 2014), so it checks the class from its first layer.
A projection term (Miyato & Koyama 2018) was tried first: with the BCE loss and BatchNorm it
left half the digit classes drawn as other digits after 20 epochs (benchmarks/RESULTS.md).
Unconditional networks keep the layer names of the first release, so old runs load unchanged.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from aigc_studio.families.layers import dcgan_init, stride2_stages

Norm = Literal["batch", "layer", "none"]


def class_embedding_dim(latent_dim: int) -> int:
    """Size of the class embedding joined to the noise: as wide as the noise, 8 to 64."""
    return max(8, min(latent_dim, 64))


def default_labels(n: int, num_classes: int, device: torch.device) -> torch.Tensor:
    """Classes for a batch nobody labelled: 0, 1, ..., K-1, 0, 1, ... (every class shows)."""
    return torch.arange(n, device=device) % num_classes


class Generator(nn.Module):
    """z (N, nz, 1, 1) [+ class (N,)] -> image (N, channels, S, S) in [-1, 1]."""

    def __init__(self, latent_dim: int = 100, channels: int = 1, image_size: int = 32,
                 width: int = 64, num_classes: int = 0) -> None:
        super().__init__()
        stages = stride2_stages(image_size)
        self.latent_dim, self.channels, self.image_size = latent_dim, channels, image_size
        self.num_classes = num_classes
        extra = 0
        if num_classes:
            extra = class_embedding_dim(latent_dim)
            # (N,) -> (N, extra): joined to the noise before the first layer
            self.embed = nn.Embedding(num_classes, extra)
        mult = 2 ** (stages - 1)  # 4 for 32x32, 8 for 64x64
        layers: list[nn.Module] = [
            # (N, nz [+ embed], 1, 1) -> (N, width*mult, 4, 4)
            nn.ConvTranspose2d(latent_dim + extra, width * mult, 4, 1, 0, bias=False),
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
        if num_classes:
            nn.init.normal_(self.embed.weight, 0.0, 1.0)  # on the scale of the noise

    def joined(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """The first layer's input (N, nz [+ embed], 1, 1): noise, joined to the class."""
        if z.dim() == 2:
            z = z[:, :, None, None]
        if not self.num_classes:
            return z
        if labels is None:
            labels = default_labels(z.shape[0], self.num_classes, z.device)
        emb = self.embed(labels).to(z.dtype)[:, :, None, None]
        return torch.cat([z, emb], dim=1)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Accepts z as (N, nz) or (N, nz, 1, 1); labels (N,) int64 for a conditional G."""
        return self.net(self.joined(z, labels))


def _norm_layer(norm: Norm, c: int) -> list[nn.Module]:
    if norm == "batch":
        return [nn.BatchNorm2d(c)]
    if norm == "layer":  # layer norm over (C, H, W): no coupling between a batch's images
        return [nn.GroupNorm(1, c)]
    return []


class Discriminator(nn.Module):
    """image (N, channels, S, S) [+ class (N,)] -> one logit (or critic score) per image (N,).

    ``norm`` "batch" is the classic DCGAN discriminator; a WGAN-GP critic uses "layer" (the
    gradient penalty is per image, so a batch statistic must not mix images); ``spectral``
    wraps every layer in spectral normalisation (hinge loss, Miyato et al. 2018).
    """

    def __init__(self, channels: int = 1, image_size: int = 32, width: int = 64,
                 num_classes: int = 0, norm: Norm = "batch", spectral: bool = False) -> None:
        super().__init__()
        stages = stride2_stages(image_size)
        self.channels, self.image_size, self.num_classes = channels, image_size, num_classes
        layers: list[nn.Module] = [
            # (N, channels [+ K class planes], S, S) -> (N, width, S/2, S/2); no normalisation
            # on the input layer
            nn.Conv2d(channels + num_classes, width, 4, 2, 1, bias=False),
            nn.LeakyReLU(0.2, inplace=True),
        ]
        mult = 1
        for _ in range(stages - 1):
            # (N, C, H, W) -> (N, 2C, H/2, W/2)
            layers += [
                nn.Conv2d(width * mult, width * mult * 2, 4, 2, 1, bias=False),
                *_norm_layer(norm, width * mult * 2),
                nn.LeakyReLU(0.2, inplace=True),
            ]
            mult *= 2
        # (N, width*mult, 4, 4) -> (N, 1, 1, 1): a logit, no sigmoid (BCEWithLogitsLoss)
        layers.append(nn.Conv2d(width * mult, 1, 4, 1, 0, bias=False))
        self.net = nn.Sequential(*layers)
        if num_classes:
            # a lookup, not F.one_hot: one_hot checks the labels on the host (a sync that a
            # CUDA graph cannot capture)
            self.register_buffer("one_hot", torch.eye(num_classes), persistent=False)
        self.apply(dcgan_init)
        if spectral:
            for module in self.modules():
                if isinstance(module, nn.Conv2d):
                    spectral_norm(module)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if not self.num_classes:
            return self.net(x).flatten()
        if labels is None:
            labels = default_labels(x.shape[0], self.num_classes, x.device)
        n, _, h, w = x.shape
        planes = self.one_hot[labels].to(x.dtype)[:, :, None, None].expand(n, -1, h, w)
        return self.net(torch.cat([x, planes], dim=1)).flatten()
