"""What every family with an encoder and a decoder does alike at inference (imports torch)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from aigc_studio.families.base import FamilyImpl


class EncoderDecoderImpl(FamilyImpl):
    """Inference for a net with ``encode``, ``decode`` and ``forward`` = reconstruction."""

    def decode(self, net: nn.Module, z: torch.Tensor, labels: torch.Tensor | None = None
               ) -> torch.Tensor:
        """Latents -> images; ``labels`` are ignored (these families are unconditional)."""
        return net.decode(z)

    def encode(self, net: nn.Module, x: torch.Tensor) -> torch.Tensor:
        return net.encode(x)

    def reconstruct(self, net: nn.Module, x: torch.Tensor) -> torch.Tensor:
        return net(x)

    def export_example(self, config: Any, channels: int) -> tuple[torch.Tensor,
                                                                  tuple[str, str]]:
        """Images in [-1, 1]: the exported graph reconstructs them."""
        size = config.image_size
        return torch.rand(2, channels, size, size) * 2 - 1, ("image", "reconstruction")
