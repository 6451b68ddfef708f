"""Building blocks several families share: DCGAN-style initialisation, size checks, conv stages."""

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


def encoder_stages(channels: int, width: int, stages: int) -> tuple[list[nn.Module], int]:
    """Strided-conv stages from an image down to 4x4, and the channel count they end with.

    Every encoder (autoencoder, VAE) is built from these, so the same layer names (and
    checkpoints) come out however a family adds its head.
    """
    layers: list[nn.Module] = []
    c_in, c_out = channels, width
    for _ in range(stages):
        # (N, c_in, H, W) -> (N, c_out, H/2, W/2)
        layers += [nn.Conv2d(c_in, c_out, 4, 2, 1, bias=False), nn.BatchNorm2d(c_out),
                   nn.LeakyReLU(0.2, inplace=True)]
        c_in, c_out = c_out, c_out * 2
    return layers, c_in


def decoder_stages(top: int, channels: int, stages: int) -> list[nn.Module]:
    """The mirror of :func:`encoder_stages`: 4x4 with ``top`` channels up to an image in [-1, 1]."""
    layers: list[nn.Module] = []
    c_in = top
    for _ in range(stages - 1):
        # (N, C, H, W) -> (N, C/2, 2H, 2W)
        layers += [nn.ConvTranspose2d(c_in, c_in // 2, 4, 2, 1, bias=False),
                   nn.BatchNorm2d(c_in // 2), nn.ReLU(True)]
        c_in //= 2
    # (N, width, S/2, S/2) -> (N, channels, S, S)
    return [*layers, nn.ConvTranspose2d(c_in, channels, 4, 2, 1), nn.Tanh()]
