"""Denoising diffusion: a UNet learns to remove noise; sampling walks from noise to an image.

Forward noising x_t = √ᾱ_t·x_0 + √(1−ᾱ_t)·ε on a cosine schedule (T = 1000); the UNet
learns to predict ε (or v); an EMA copy of its weights samples with DDIM or DPM-Solver++ in
10-50 steps, with classifier-free guidance when the data set has classes.
"""

from __future__ import annotations

from aigc_studio.families.base import (
    Capabilities,
    MetricSpec,
    ModelFamily,
    OptionSpec,
    PlotSpec,
)
from aigc_studio.families.help import diffusion_help

_CONDITIONAL = (("conditional", (True,)),)  # guidance needs a class-conditional UNet

FAMILY = ModelFamily(
    name="diffusion",
    title="Diffusion model",
    short="DDPM",
    description="A UNet learns to remove noise step by step; samples images by denoising "
                "random noise (DDIM or DPM-Solver++), by class with guidance.",
    capabilities=Capabilities(samples=True, conditional=True, denoising_path=True),
    metrics=(MetricSpec("loss", "denoising loss", unit="MSE", color="#4fa3f7",
                        higher_is_better=False,
                        description="mean squared error of the predicted noise (or v) at a "
                                    "random timestep"),),
    plots=(PlotSpec("loss", "Denoising loss (MSE)", "loss",
                    tooltip="How well the UNet predicts the noise added at a random step; it "
                            "falls fast, then slowly, and stays noisy because every batch "
                            "draws new timesteps."),),
    implementation="aigc_studio.families.diffusion.model:DiffusionImpl",
    useful_steps=1500,
    learn_help=diffusion_help,
    inference_key="ema",
    grid_caption="EMA samples from fixed noise (a row per class); last row: the first "
                 "sample's denoising path, noise to image",
    # eval_samples 0: each scored sample costs a full sampler run (20 guided UNet passes), so
    # the per-epoch quality metric is opt-in (--eval-samples N) for this family
    defaults={"width": 32, "epochs": 15, "batch_size": 32, "lr_g": 1e-3, "beta1": 0.9,
              "beta2": 0.999, "eval_samples": 0},
    options=(
        OptionSpec("prediction", str, "eps", "Prediction",
                   "what the UNet predicts: the noise (eps) or v = √ᾱ·ε − √(1−ᾱ)·x₀",
                   choices=("eps", "v")),
        OptionSpec("ema_decay", float, 0.999, "EMA decay",
                   "decay of the weight average that samples (warms up from 0)",
                   low=0.0, high=0.99999),
        OptionSpec("label_dropout", float, 0.1, "Label dropout",
                   "share of training images shown without their class (for guidance)",
                   low=0.0, high=1.0, only_when=_CONDITIONAL),
        OptionSpec("guidance", float, 2.0, "Guidance",
                   "default classifier-free guidance scale for sampling (1: none)",
                   low=0.0, high=50.0, only_when=_CONDITIONAL),
        OptionSpec("sampler", str, "dpm++", "Sampler", "default sampler",
                   choices=("dpm++", "ddim")),
        OptionSpec("sample_steps", int, 20, "Sampling steps",
                   "default number of denoising steps when sampling", low=1, high=1000),
        OptionSpec("conditional", bool, True, "Class-conditional",
                   "condition on the class label (where the data set has classes)"),
    ),
)
