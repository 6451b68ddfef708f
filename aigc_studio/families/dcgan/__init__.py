"""DCGAN: a generator learns to fool a discriminator (Radford et al. 2015).

Three losses (``--loss``): the non-saturating BCE of the original, the hinge loss with a
spectrally normalised discriminator (Miyato et al. 2018), and the Wasserstein loss with a
gradient penalty (Gulrajani et al. 2017), whose critic takes ``--n-critic`` steps per generator
step. ``--conditional`` conditions both networks on the class label: the generator joins a
class embedding to its noise, the discriminator sees the class as one-hot input planes
(Mirza & Osindero 2014; see networks.py for why not a projection discriminator).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aigc_studio.families.base import Capabilities, MetricSpec, ModelFamily, OptionSpec, PlotSpec
from aigc_studio.families.help import gan_help

LOSSES = ("bce", "hinge", "wgan-gp")
_CLASSIFIER_LOSSES = (("loss", ("bce", "hinge")),)  # D outputs a probability-like logit
_CRITIC_LOSSES = (("loss", ("wgan-gp",)),)  # D is a critic: unbounded scores

LOSS_HELP = (
    "bce: non-saturating binary cross-entropy, L_D = -[log D(x) + log(1 - D(G(z)))], "
    "L_G = -log D(G(z)). "
    "hinge: L_D = E[max(0, 1 - D(x))] + E[max(0, 1 + D(G(z)))], L_G = -E[D(G(z))], with "
    "spectral normalisation on every D layer, no BatchNorm in D and Adam betas (0, 0.9) "
    "(Miyato et al. 2018). "
    "wgan-gp: L_D = E[D(G(z))] - E[D(x)] + 10 E[(||grad D(x')|| - 1)^2] at points x' between "
    "real and fake images, L_G = -E[D(G(z))]; D is a critic without BatchNorm that takes "
    "--n-critic steps per G step (Gulrajani et al. 2017)")

# Adam settings a loss trains best with where they differ from DCGAN's (2e-4, 0.5, 0.999).
# Measured on digits (benchmarks/RESULTS.md, same seed and budget): hinge with beta1 0.5 drew
# 54 % recognisable digits, with SN-GAN's (0, 0.9) 84 % (Miyato et al. 2018). WGAN-GP keeps
# DCGAN's: its paper's lr 1e-4 with (0, 0.9) drew 1 %, (0, 0.9) 7 %, DCGAN's 10 %.
LOSS_OPTIMISER = {"hinge": {"beta1": 0.0, "beta2": 0.9}}


def check_options(extras: Mapping[str, Any]) -> str | None:
    """Combinations the step cannot honour: a critic step count without a critic."""
    loss = extras.get("loss", "bce")
    if "n_critic" in extras and loss != "wgan-gp":
        return (f"--n-critic applies to --loss wgan-gp only (the {loss} loss updates D once "
                "per G step); drop it or add --loss wgan-gp.")
    return None


FAMILY = ModelFamily(
    name="dcgan",
    title="DCGAN",
    short="DCGAN",
    description="A generator learns to fool a discriminator; samples new images from noise.",
    capabilities=Capabilities(samples=True, principal_directions=True, adversarial=True,
                              conditional=True),
    metrics=(
        MetricSpec("loss_d", "D loss", color="#ef6c5a",
                   description="how well D separates real from generated images (for WGAN-GP "
                               "the critic's loss, penalty included)"),
        MetricSpec("loss_g", "G loss", color="#4fa3f7",
                   description="how well G fools D (measured after D's update)"),
        MetricSpec("d_real", "D(x)", group="d_out", unit="probability", color="#6cc76c",
                   description="how real D thinks real images are", only_when=_CLASSIFIER_LOSSES),
        MetricSpec("d_fake", "D(G(z))", group="d_out", unit="probability", color="#e8b04b",
                   description="how real D thinks the generated images are",
                   only_when=_CLASSIFIER_LOSSES),
        MetricSpec("wasserstein", "Wasserstein estimate", group="critic", color="#6cc76c",
                   description="E[D(x)] - E[D(G(z))]: the critic's estimate of the distance "
                               "between real and generated images; it falls as G improves",
                   only_when=_CRITIC_LOSSES),
        MetricSpec("penalty", "gradient penalty", group="critic", color="#e8b04b",
                   description="E[(||grad D(x')|| - 1)^2]: how far the critic is from "
                               "1-Lipschitz (weighted by 10 in D's loss)",
                   only_when=_CRITIC_LOSSES),
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
        PlotSpec("critic", "Critic", "value", lines=((0.0, "0"),),
                 tooltip="Wasserstein estimate E[D(x)] - E[D(G(z))]: large while the critic "
                         "tells real from generated easily, falling towards 0 as G catches up. "
                         "Gradient penalty E[(||grad D(x')|| - 1)^2]: stays small while the "
                         "critic keeps gradients of norm 1, which the Wasserstein estimate needs."),
    ),
    implementation="aigc_studio.families.dcgan.model:DcganImpl",
    useful_steps=500,
    learn_help=gan_help,
    inference_key="generator_ema",
    grid_caption="samples from fixed noise (one row per class when conditional)",
    uses_lr_d=True,
    options=(
        OptionSpec("loss", str, "bce", "Loss", LOSS_HELP, choices=LOSSES,
                   prefers=LOSS_OPTIMISER),
        OptionSpec("n_critic", int, 5, "Critic steps",
                   "critic (D) updates per generator update, WGAN-GP only", low=1, high=100,
                   only_when=_CRITIC_LOSSES),
        OptionSpec("conditional", bool, False, "Class-conditional",
                   "condition G and D on the class label (a data set with classes: digits, "
                   "MNIST, Fashion-MNIST, CIFAR-10, or a folder of class sub-folders)"),
    ),
    check_options=check_options,
)
