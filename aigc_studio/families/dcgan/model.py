"""The dcgan family's behaviour: networks, training step, grid (imports torch).

The step is the pytorch/examples DCGAN step in two marked phases (update D, update G); the
loss decides what D is and how each phase scores it (see :class:`GanLoss`). Noise is drawn
inside the step, so a CUDA graph replays it with fresh noise each time, and every loss keeps
the step free of host reads: the WGAN-GP critic's several updates and its penalty's double
backward are unrolled into the same device program.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from aigc_studio.core.grid import make_grid, to_uint8_images
from aigc_studio.families.base import FamilyImpl
from aigc_studio.families.dcgan import FAMILY, LOSSES
from aigc_studio.families.dcgan.networks import Discriminator, Generator, Norm
from aigc_studio.families.step import (
    AdamFactory,
    EmaCounter,
    HealthContext,
    StepAcceleration,
    StepContext,
    TrainStep,
    ema_update,
)

GRID_SAMPLES = 64  # fixed noise vectors: an 8x8 grid
GRID_COLUMNS = 8  # a conditional grid: one row per class, this many noise vectors across
COLLAPSE_AFTER_EPOCHS = 3  # a young generator is still nearly constant: judge no earlier
GP_WEIGHT = 10.0  # λ of the gradient penalty (Gulrajani et al. 2017)
EMA_HALF_LIFE_IMAGES = 10_000  # G_ema forgets half of a weight in 10k images (StyleGAN2's)


class GanLoss:
    """How one GAN loss scores D and G; subclasses per loss (bce, hinge, wgan-gp).

    ``d_loss`` returns D's loss and the two metrics that follow loss_d and loss_g in the
    step's row (D(x), D(G(z)) for the classifier losses; the Wasserstein estimate and the
    penalty for WGAN-GP), so each loss reports what means something for it.
    """

    norm: Norm = "batch"  # the discriminator's normalisation
    spectral: bool = False  # spectral normalisation on every D layer

    def d_loss(self, step: GanStep, real: torch.Tensor, fake: torch.Tensor,
               logits_real: torch.Tensor, logits_fake: torch.Tensor, y: torch.Tensor | None
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def g_loss(self, logits_fake: torch.Tensor) -> torch.Tensor:
        """Every loss here but BCE uses G's -E[D(G(z))]."""
        return -logits_fake.mean()

    @staticmethod
    def probabilities(logits_real: torch.Tensor, logits_fake: torch.Tensor
                      ) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean D(x) and D(G(z)) as probabilities (sigmoid of the logits)."""
        return (torch.sigmoid(logits_real.detach()).mean(),
                torch.sigmoid(logits_fake.detach()).mean())


class BceLoss(GanLoss):
    """Non-saturating BCE: L_D = -[log D(x) + log(1 - D(G(z)))], L_G = -log D(G(z))."""

    def __init__(self, batch_size: int, device: torch.device) -> None:
        self.ones = torch.ones(batch_size, device=device)
        self.zeros = torch.zeros(batch_size, device=device)
        self.bce = nn.BCEWithLogitsLoss()

    def d_loss(self, step: GanStep, real: torch.Tensor, fake: torch.Tensor,
               logits_real: torch.Tensor, logits_fake: torch.Tensor, y: torch.Tensor | None
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        loss = self.bce(logits_real, self.ones) + self.bce(logits_fake, self.zeros)
        return (loss, *self.probabilities(logits_real, logits_fake))

    def g_loss(self, logits_fake: torch.Tensor) -> torch.Tensor:
        return self.bce(logits_fake, self.ones)


class HingeLoss(GanLoss):
    """Hinge: L_D = E[max(0, 1 - D(x))] + E[max(0, 1 + D(G(z)))], L_G = -E[D(G(z))]."""

    norm: Norm = "none"
    spectral = True

    def d_loss(self, step: GanStep, real: torch.Tensor, fake: torch.Tensor,
               logits_real: torch.Tensor, logits_fake: torch.Tensor, y: torch.Tensor | None
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        loss = torch.relu(1 - logits_real).mean() + torch.relu(1 + logits_fake).mean()
        return (loss, *self.probabilities(logits_real, logits_fake))


class WganGpLoss(GanLoss):
    """WGAN-GP: L_D = E[D(G(z))] - E[D(x)] + λ E[(||∇D(x̂)|| - 1)²], L_G = -E[D(G(z))]."""

    norm: Norm = "layer"

    def d_loss(self, step: GanStep, real: torch.Tensor, fake: torch.Tensor,
               logits_real: torch.Tensor, logits_fake: torch.Tensor, y: torch.Tensor | None
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        wasserstein = logits_real.mean() - logits_fake.mean()
        penalty = gradient_penalty(step.d, real, fake, y, step.noise_gen,
                                   step.accel.device.type)
        return -wasserstein + GP_WEIGHT * penalty, wasserstein.detach(), penalty.detach()


def gradient_penalty(d: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                     y: torch.Tensor | None, gen: torch.Generator | None, device_type: str
                     ) -> torch.Tensor:
    """E[(||∇D(x̂)||₂ - 1)²] at random points x̂ between real and fake images.

    Computed in fp32 with autocast off: the gradient of a bf16 forward is too coarse for a
    penalty on its norm. ``create_graph`` keeps it differentiable (the double backward).
    """
    n = real.shape[0]
    eps = torch.rand(n, 1, 1, 1, device=real.device, generator=gen)
    with torch.autocast(device_type, enabled=False):
        x_hat = (eps * real.float() + (1 - eps) * fake.float()).requires_grad_(True)
        scores = d(x_hat, y).float()
        (grad,) = torch.autograd.grad(scores.sum(), x_hat, create_graph=True)
        norm = (grad.flatten(1).square().sum(1) + 1e-12).sqrt()
        return (norm - 1).square().mean()


def make_loss(name: str, batch_size: int, device: torch.device) -> GanLoss:
    """The loss object for a ``--loss`` value."""
    if name == "bce":
        return BceLoss(batch_size, device)
    return {"hinge": HingeLoss, "wgan-gp": WganGpLoss}[name]()


def loss_class(name: str) -> type[GanLoss]:
    """The class of a loss (its D normalisation and spectral flag), without building it."""
    return dict(zip(LOSSES, (BceLoss, HingeLoss, WganGpLoss), strict=True))[name]


class GanStep(TrainStep):
    """One GAN step: ``n_critic`` D updates, then one G update.

    Returns [loss_d, loss_g, a, b] on the device, where (a, b) are D(x), D(G(z)) or the
    Wasserstein estimate and penalty, as the loss says. A conditional step generates fakes for
    the batch's own labels, so the class mix of the fakes follows the data. Every critic update
    sees the same real batch with fresh noise (the step program is handed one batch; drawing
    more would change what an epoch is), averaged metrics over them.
    """

    def __init__(self, g: nn.Module, d: nn.Module, opt_g: torch.optim.Optimizer,
                 opt_d: torch.optim.Optimizer, batch_size: int, latent_dim: int,
                 noise_gen: torch.Generator, accel: StepAcceleration, *, loss: str = "bce",
                 n_critic: int = 1, conditional: bool = False,
                 ema: tuple[nn.Module, EmaCounter] | None = None) -> None:
        super().__init__(accel)
        self.g, self.d, self.opt_g, self.opt_d = g, d, opt_g, opt_d
        self.ema = None
        if ema is not None:  # G_ema: what samples (its BatchNorm statistics follow G's)
            net, counter = ema
            decay = 0.5 ** (batch_size / EMA_HALF_LIFE_IMAGES)
            self.ema = (list(net.parameters()), list(g.parameters()), list(net.buffers()),
                        list(g.buffers()), counter.updates,
                        torch.tensor(decay, dtype=torch.float32, device=accel.device))
        self.noise_gen = noise_gen
        self.z_shape = (batch_size, latent_dim, 1, 1)
        self.loss = make_loss(loss, batch_size, accel.device)
        self.n_critic, self.conditional = n_critic, conditional

    def _fake(self, y: torch.Tensor | None, keep_graph: bool) -> torch.Tensor:
        """Fresh noise through G (with G's graph only when G's update reuses these fakes)."""
        z = torch.randn(self.z_shape, device=self.accel.device, generator=self.noise_gen)
        grad = contextlib.nullcontext() if keep_graph else torch.no_grad()
        with grad, self.accel.autocast():
            return self.g(z, y)

    def __call__(self, real: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        d, accel = self.d, self.accel
        y = labels if self.conditional else None
        reuse = self.n_critic == 1  # one D update: G's update reuses its fakes (one G forward)
        totals: list[torch.Tensor] = []
        fake = real
        # (1) Update D n_critic times: minimise the loss's L_D on real and generated images
        for _ in range(self.n_critic):
            fake = self._fake(y, keep_graph=reuse)
            self.opt_d.zero_grad(set_to_none=True)
            with accel.autocast():
                logits_real = d(real, y).float()
                logits_fake = d(fake.detach(), y).float()
                loss_d, a, b = self.loss.d_loss(self, real, fake.detach(), logits_real,
                                                logits_fake, y)
            self.update(loss_d, self.opt_d)
            totals.append(torch.stack([loss_d.detach(), a.detach(), b.detach()]))
        if not reuse:
            fake = self._fake(y, keep_graph=True)
        # (2) Update G: minimise L_G, backpropagating through G (no detach here).
        # D's weights need no gradient for this: leaving them out saves a third of D's backward.
        self.opt_g.zero_grad(set_to_none=True)
        d.requires_grad_(False)
        try:
            with accel.autocast():
                loss_g = self.loss.g_loss(d(fake, y).float())
            self.update(loss_g, self.opt_g)
        finally:
            d.requires_grad_(True)
        self.end_step()
        if self.ema is not None:
            ema_params, params, ema_buffers, buffers, updates, decay = self.ema
            ema_update(ema_params, params, updates, decay)
            with torch.no_grad():
                torch._foreach_copy_(ema_buffers, buffers)
        with torch.no_grad():
            mean_d = totals[0] if reuse else torch.stack(totals).mean(0)
            return torch.stack([mean_d[0], loss_g.detach(), mean_d[1], mean_d[2]])


class DcganImpl(FamilyImpl):
    """The DCGAN family: samples from noise (per class when conditional); principal
    directions from G's first block."""

    def build_networks(self, config: Any, channels: int, num_classes: int = 0
                       ) -> dict[str, nn.Module]:
        size, width = config.image_size, config.width
        loss = loss_class(config.option("loss"))
        g = Generator(config.latent_dim, channels, size, width, num_classes)
        return {"generator": g,
                "discriminator": Discriminator(channels, size, width, num_classes,
                                               norm=loss.norm, spectral=loss.spectral),
                # an exponential moving average of G's weights samples: it smooths the
                # epoch-to-epoch swings of the game (Karras et al. 2018, 2020)
                "generator_ema": copy.deepcopy(g).requires_grad_(False),
                "ema_steps": EmaCounter()}

    def legacy_state(self, key: str, saved: Mapping[str, Any]) -> Mapping[str, Any] | None:
        """A run from before G_ema: the average starts as G, its warm-up from the start."""
        if key == "generator_ema":
            return saved.get("generator")
        if key == "ema_steps":
            return EmaCounter().state_dict()
        return None

    def build_optimizers(self, nets: Mapping[str, nn.Module], config: Any,
                         adam: AdamFactory) -> dict[str, torch.optim.Optimizer]:
        return {"g": adam(nets["generator"].parameters(), config.lr_g),
                "d": adam(nets["discriminator"].parameters(), config.lr_d)}

    def make_step(self, nets: Mapping[str, nn.Module],
                  optims: Mapping[str, torch.optim.Optimizer], ctx: StepContext) -> TrainStep:
        g, cfg = nets["generator"], ctx.config
        loss = cfg.option("loss")
        plain_g = getattr(g, "module", g)  # the network itself, also when wrapped (DDP)
        ema = nets["generator_ema"], nets["ema_steps"]
        assert isinstance(ema[1], EmaCounter)
        return GanStep(g, nets["discriminator"], optims["g"], optims["d"], ctx.batch_size,
                       cfg.latent_dim, ctx.noise_gen, ctx.accel, loss=loss,
                       n_critic=cfg.option("n_critic") if loss == "wgan-gp" else 1,
                       conditional=plain_g.num_classes > 0, ema=(ema[0], ema[1]))

    def fixed_inputs(self, config: Any, real_images: Callable[[int], torch.Tensor]
                     ) -> torch.Tensor:
        gen = torch.Generator().manual_seed(config.seed + 2)
        return torch.randn(GRID_SAMPLES, config.latent_dim, 1, 1, generator=gen)

    def grid_images(self, g: nn.Module, fixed: torch.Tensor, device: torch.device
                    ) -> tuple[torch.Tensor, int]:
        """What the epoch grid shows and its column count: 8x8 samples from the fixed noise,
        or for a conditional G one row per class over the same 8 noise vectors."""
        z = fixed.to(device)
        if not g.num_classes:
            return g(z), GRID_COLUMNS
        z = z[:GRID_COLUMNS].repeat(g.num_classes, 1, 1, 1)
        y = torch.arange(g.num_classes, device=device).repeat_interleave(GRID_COLUMNS)
        return g(z, y), GRID_COLUMNS

    def epoch_grid(self, nets: Mapping[str, nn.Module], fixed: torch.Tensor,
                   device: torch.device) -> np.ndarray:
        g = nets[FAMILY.inference_key]
        g.eval()
        try:
            with torch.no_grad():
                images, cols = self.grid_images(g, fixed, device)
        finally:
            g.train()
        return make_grid(to_uint8_images(images.float().cpu().numpy()), ncols=cols)

    def health_warnings(self, ctx: HealthContext) -> list[str]:
        """A discriminator that wins outright; samples that are all alike (mode collapse)."""
        out = []
        means = ctx.means
        if means.get("loss_d", 1.0) < 0.05 and means.get("d_fake", 1.0) < 0.02:
            out.append("The discriminator is winning outright (D loss near 0, D(G(z)) near 0): "
                       "the generator gets almost no gradient; try a lower D learning rate.")
        young = ctx.steps_done is not None and ctx.steps_done < FAMILY.useful_steps
        if ctx.epochs_done < COLLAPSE_AFTER_EPOCHS or young:
            return out  # a generator that has not learned yet looks collapsed: not a verdict
        if "recall" in ctx.scores and "coverage" in ctx.scores:  # quality metric on: trust it
            recall, coverage = ctx.scores["recall"], ctx.scores["coverage"]
            if recall < 0.1 and coverage < 0.1:  # shares of the real images the samples reach
                out.append(f"The samples reach almost none of the real images (recall "
                           f"{recall:.2f}, coverage {coverage:.2f}): the generator may have "
                           "collapsed to a few modes.")
            return out
        g = ctx.nets["generator"]
        g.eval()
        with torch.no_grad():
            samples = g(ctx.fixed.to(ctx.device)).float()
        g.train()
        spread = samples.std(dim=0).mean().item()
        if spread < 0.1 * ctx.real_spread:
            out.append(f"The samples look nearly identical (spread {spread:.3f} against "
                       f"{ctx.real_spread:.3f} in the data): the generator may have collapsed "
                       "to one mode.")
        return out

    def decode(self, net: nn.Module, z: torch.Tensor, labels: torch.Tensor | None = None
               ) -> torch.Tensor:
        return net(z[:, :, None, None], labels)

    def pca_features(self, net: nn.Module, z: torch.Tensor) -> torch.Tensor:
        first_block = net.net[:3]  # ConvTranspose -> BatchNorm -> ReLU: the 4x4 features
        return first_block(net.joined(z)).flatten(1)

    def export_example(self, config: Any, channels: int
                       ) -> tuple[torch.Tensor | tuple[torch.Tensor, ...], tuple[str, ...]]:
        """A latent batch; a conditional generator also takes each image's class index."""
        z = torch.randn(2, config.latent_dim)
        if FAMILY.is_conditional(config.extras):
            return (z, torch.zeros(2, dtype=torch.int64)), ("latent", "class", "image")
        return z, ("latent", "image")
