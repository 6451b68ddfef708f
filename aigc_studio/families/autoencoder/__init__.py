"""Convolutional autoencoder: compress an image to a latent vector and rebuild it (MSE)."""

from __future__ import annotations

from aigc_studio.families.base import Capabilities, MetricSpec, ModelFamily, PlotSpec
from aigc_studio.families.help import autoencoder_help

FAMILY = ModelFamily(
    name="autoencoder",
    title="Autoencoder",
    short="AE",
    description="Compresses each image to a small latent vector and rebuilds it; reconstructs "
                "images you drop on the window.",
    capabilities=Capabilities(samples=False, encodes=True),
    metrics=(MetricSpec("loss_recon", "reconstruction loss", unit="MSE", color="#b48cf2",
                        higher_is_better=False,
                        description="mean squared error between an image and its rebuild"),),
    plots=(PlotSpec("loss", "Reconstruction loss (MSE)", "loss",
                    tooltip="Mean squared error between each image and its reconstruction; "
                            "it should fall steadily and level off."),),
    implementation="aigc_studio.families.autoencoder.model:AutoencoderImpl",
    useful_steps=300,
    learn_help=autoencoder_help,
    inference_key="autoencoder",
    grid_caption="originals above their reconstructions",
)
