"""Building blocks several families share: DCGAN-style initialisation and size checks."""

from __future__ import annotations

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


def stride2_stages(image_size: int) -> int:
    """How many stride-2 stages lie between a 4x4 base and ``image_size`` (32 -> 3, 64 -> 4)."""
    if image_size not in (32, 64):
        raise ValueError(f"image size must be 32 or 64, not {image_size}")
    return 3 if image_size == 32 else 4
