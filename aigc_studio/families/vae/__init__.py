"""Variational autoencoder (Kingma & Welling 2013): encode to a Gaussian, sample, decode.

The loss is the negative ELBO with a fixed-variance Gaussian decoder: the squared error
*summed over the pixels* of an image (in the [-1, 1] range) plus β times the KL divergence of
the encoder's Gaussian from N(0, I) *summed over the latent dimensions*, both averaged over the
batch. β is relative to that sum: β = 1 is the plain VAE, larger β trades sharpness for a
smoother, more regular latent space.
"""

from __future__ import annotations

from aigc_studio.families.base import (
    Capabilities,
    MetricSpec,
    ModelFamily,
    OptionSpec,
    PlotSpec,
)
from aigc_studio.families.help import vae_help

FAMILY = ModelFamily(
    name="vae",
    title="VAE",
    short="VAE",
    description="Encodes each image to a Gaussian in a small latent space and decodes samples "
                "of it; both generates new images and reconstructs yours.",
    capabilities=Capabilities(samples=True, encodes=True),
    metrics=(
        MetricSpec("loss_recon", "reconstruction", unit="SSE per image", color="#b48cf2",
                   higher_is_better=False,
                   description="squared error summed over an image's pixels, batch mean"),
        MetricSpec("loss_kl", "KL", group="kl", unit="nats per image", color="#e8b04b",
                   description="KL divergence of the encoder's Gaussian from N(0, I), summed "
                               "over the latent dimensions"),
    ),
    plots=(
        PlotSpec("loss", "Reconstruction loss", "SSE per image",
                 tooltip="Squared error summed over each image's pixels: how well the decoder "
                         "rebuilds an image from a noisy code. It should fall and level off."),
        PlotSpec("kl", "KL divergence", "nats",
                 tooltip="How far the codes stray from the N(0, I) prior (weighted by β in the "
                         "loss). It usually rises early as the codes spread out, then settles; "
                         "near 0 means the latent space is unused (posterior collapse)."),
    ),
    implementation="aigc_studio.families.vae.model:VaeImpl",
    useful_steps=300,
    learn_help=vae_help,
    inference_key="vae",
    grid_caption="top two rows: samples for seeds 0-15; below: originals above their "
                 "reconstructions",
    # 2-D codes make the latent map the latent space itself; Adam's usual β1 and a VAE's
    # usual learning rate give a readable map of the digits in 20 epochs
    defaults={"latent_dim": 2, "width": 32, "lr_g": 1e-3, "beta1": 0.9},
    options=(OptionSpec("beta", float, 1.0, "β (KL weight)",
                        "weight of the KL term against the summed reconstruction error",
                        low=0.0, high=1000.0),),
)
