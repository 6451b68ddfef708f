"""DCGAN: a generator learns to fool a discriminator (Radford et al. 2015).

The step is the pytorch/examples DCGAN step in two marked phases (update D, update G) with
the non-saturating BCE losses on logits; noise is drawn inside the step, so a CUDA graph
replays it with fresh noise each time.
"""

from __future__ import annotations

from aigc_studio.families.base import Capabilities, MetricSpec, ModelFamily, PlotSpec

FAMILY = ModelFamily(
    name="dcgan",
    title="DCGAN",
    short="DCGAN",
    description="A generator learns to fool a discriminator; samples new images from noise.",
    capabilities=Capabilities(samples=True, principal_directions=True, adversarial=True),
    metrics=(
        MetricSpec("loss_d", "D loss", color="#ef6c5a",
                   description="how well D separates real from generated images"),
        MetricSpec("loss_g", "G loss", color="#4fa3f7",
                   description="how well G fools D (measured after D's update)"),
        MetricSpec("d_real", "D(x)", group="d_out", unit="probability", color="#6cc76c",
                   description="how real D thinks real images are"),
        MetricSpec("d_fake", "D(G(z))", group="d_out", unit="probability", color="#e8b04b",
                   description="how real D thinks the generated images are"),
    ),
    plots=(
        PlotSpec("loss", "Losses", "loss",
                 tooltip="Discriminator (D) and generator (G) loss at every step. In a healthy "
                         "GAN neither wins for long: the two curves wobble around each other "
                         "instead of one going to 0."),
        PlotSpec("d_out", "Discriminator outputs", "probability", y_range=(0.0, 1.0),
                 lines=((0.5, "0.5: D can't tell real from fake"),),
                 tooltip="D(x): how real D thinks real images are; D(G(z)): how real it thinks "
                         "the fakes are. Both drifting towards 0.5 means D can no longer tell "
                         "them apart."),
    ),
    implementation="aigc_studio.families.dcgan.model:DcganImpl",
    inference_key="generator",
    grid_caption="samples from fixed noise",
    uses_lr_d=True,
)
