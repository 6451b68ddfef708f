"""The VAE family's behaviour: networks, training step, grid (imports torch)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from aigc_studio.core.datasets import to_unit_range
from aigc_studio.core.grid import make_grid, to_uint8_images
from aigc_studio.core.latent import seed_vectors
from aigc_studio.families.codecs import EncoderDecoderImpl
from aigc_studio.families.grids import interleaved_pairs
from aigc_studio.families.step import (
    AdamFactory,
    HealthContext,
    StepAcceleration,
    StepContext,
    TrainStep,
)
from aigc_studio.families.vae.networks import ConvVae

GRID_COLUMNS = 8
GRID_SAMPLES = 16  # two rows of samples for seeds 0..15 (the CLI's and explorer's seeds)
GRID_IMAGES = 16  # fixed real images: two pairs of rows, originals above reconstructions
COLLAPSE_AFTER_EPOCHS = 2  # the KL is small at the start anyway: judge no earlier
COLLAPSED_KL = 0.05  # nats per image: the codes say next to nothing about the image


def kl_to_prior(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) per image, summed over the latent dimensions."""
    return -0.5 * (1.0 + logvar - mu.square() - logvar.exp()).sum(dim=1)


class VaeStep(TrainStep):
    """One VAE step: reparameterised code, loss = SSE + β·KL; returns [loss_recon, loss_kl].

    The noise ε of ``z = mu + σ·ε`` comes from the step's device generator, so a CUDA graph
    replays fresh noise and a resumed run draws exactly the noise the whole run would have.
    """

    def __init__(self, vae: ConvVae, opt: torch.optim.Optimizer, beta: float,
                 noise_gen: torch.Generator, accel: StepAcceleration) -> None:
        super().__init__(accel)
        self.vae, self.opt, self.beta = vae, opt, float(beta)
        self.noise_gen = noise_gen

    def __call__(self, real: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        vae = self.vae
        self.opt.zero_grad(set_to_none=True)
        with self.accel.autocast():
            mu, logvar = (t.float() for t in vae.gaussian(real))
            eps = torch.randn(mu.shape, device=mu.device, generator=self.noise_gen)
            recon = vae.decode(mu + eps * torch.exp(0.5 * logvar)).float()
        loss_recon = (recon - real.float()).square().flatten(1).sum(dim=1).mean()
        loss_kl = kl_to_prior(mu, logvar).mean()
        self.update(loss_recon + self.beta * loss_kl, self.opt)
        self.end_step()
        return torch.stack([loss_recon.detach(), loss_kl.detach()])


class VaeImpl(EncoderDecoderImpl):
    """The VAE family: samples from the prior and encodes images (explorer and reconstruction)."""

    def build_networks(self, config: Any, channels: int, num_classes: int = 0
                       ) -> dict[str, nn.Module]:
        return {"vae": ConvVae(config.latent_dim, channels, config.image_size, config.width)}

    def build_optimizers(self, nets: Mapping[str, nn.Module], config: Any,
                         adam: AdamFactory) -> dict[str, torch.optim.Optimizer]:
        return {"g": adam(nets["vae"].parameters(), config.lr_g)}

    def make_step(self, nets: Mapping[str, nn.Module],
                  optims: Mapping[str, torch.optim.Optimizer], ctx: StepContext) -> TrainStep:
        beta = ctx.config.option("beta") if ctx.config is not None else 1.0
        return VaeStep(nets["vae"], optims["g"], beta, ctx.noise_gen, ctx.accel)

    def health_warnings(self, ctx: HealthContext) -> list[str]:
        """Posterior collapse: the encoder's codes match the prior, the decoder ignores them."""
        kl = ctx.means.get("loss_kl")
        if ctx.epochs_done < COLLAPSE_AFTER_EPOCHS or kl is None or kl >= COLLAPSED_KL:
            return []
        return [f"The KL term is near 0 ({kl:.3f} nats): the codes carry almost nothing about "
                "the images (posterior collapse), so samples and reconstructions look alike; "
                "try a lower --beta."]

    def fixed_inputs(self, config: Any, real_images: Callable[[int], torch.Tensor]
                     ) -> torch.Tensor:
        return real_images(GRID_IMAGES)

    def epoch_grid(self, nets: Mapping[str, nn.Module], fixed: torch.Tensor,
                   device: torch.device) -> np.ndarray:
        vae = nets["vae"]
        z = seed_vectors(0, GRID_SAMPLES, vae.latent_dim).to(device)
        vae.eval()
        try:
            with torch.no_grad():
                real = to_unit_range(fixed.to(device))
                samples = vae.decode(z).float().cpu().numpy()
                recon = vae(real).float().cpu().numpy()
        finally:
            vae.train()
        pairs = interleaved_pairs(to_uint8_images(real.cpu().numpy()), to_uint8_images(recon),
                                  GRID_COLUMNS)
        return make_grid(np.concatenate([to_uint8_images(samples), pairs]), ncols=GRID_COLUMNS)
