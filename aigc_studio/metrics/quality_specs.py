"""Declarations of the sample-quality metric (no torch): what each key means and where it plots.

The distance key depends on the feature space that fits the run's data (see
``metrics/features.py``): ``fld`` for digits, ``fid`` where torchvision's Inception weights are
on the machine, ``fd_rand`` otherwise; a run records exactly one of them. The first epoch record
of a training session also holds each score's baselines, ``<key>_real`` (two disjoint sets of
real images) and ``<key>_noise`` (uniform noise), keyed by :func:`metrics.baseline_key`.
"""

from __future__ import annotations

from aigc_studio.families.base import MetricSpec, PlotSpec
from aigc_studio.metrics import EpochMetric  # defined before the registry imports this module

DISTANCE_KEYS = ("fld", "fid", "fd_rand")
MANIFOLD_KEYS = ("precision", "recall", "density", "coverage")

_DISTANCE = "quality_distance"
_MANIFOLD = "quality_manifold"


def _spec(name: str, label: str, group: str, higher: bool, color: str, text: str) -> MetricSpec:
    return MetricSpec(name=name, label=label, axis="epoch", group=group, higher_is_better=higher,
                      color=color, description=text)


_FD_NOTE = ("between the generated images of seeds 0..n-1 and n real images; lower is better, "
            "the real-vs-real baseline shows where 'good' is, the noise baseline where 'bad' is")

SPECS = (
    _spec("fld", "Fréchet LeNet distance", _DISTANCE, False, "#d62728",
          "Fréchet distance in the features of the bundled LeNet-5 digit classifier "
          f"(FLD), {_FD_NOTE}."),
    _spec("fid", "FID (torchvision Inception-v3)", _DISTANCE, False, "#d62728",
          "Fréchet Inception distance in torchvision's Inception-v3 pool features (close "
          f"to, not identical with, published FIDs), {_FD_NOTE}."),
    _spec("fd_rand", "Fréchet distance (random-CNN features)", _DISTANCE, False, "#d62728",
          "Fréchet distance in the features of a fixed, untrained conv net (no trained "
          f"classifier fits this data), {_FD_NOTE}."),
    _spec("precision", "Precision", _MANIFOLD, True, "#1f77b4",
          "Fidelity: the share of generated images that fall inside the real images' "
          "5-NN manifold (Kynkäänniemi et al. 2019); 0 to 1, higher is better. A few real "
          "outliers with wide balls can cover blank or noisy images (in LeNet features even "
          "noise scores 1.0): read it beside its noise baseline and density."),
    _spec("recall", "Recall", _MANIFOLD, True, "#2ca02c",
          "Diversity: the share of real images inside the generated images' 5-NN "
          "manifold (Kynkäänniemi et al. 2019); near 0 means mode collapse."),
    _spec("density", "Density", _MANIFOLD, True, "#9467bd",
          "Fidelity robust to outliers: real 5-NN balls around each generated image, "
          "divided by 5 (Naeem et al. 2020); about 1 for real-like images, can exceed 1."),
    _spec("coverage", "Coverage", _MANIFOLD, True, "#ff7f0e",
          "Mode coverage: the share of real images whose 5-NN ball holds a generated "
          "image (Naeem et al. 2020); 0 to 1, near 0 means mode collapse."),
)

PLOTS = (
    PlotSpec(_DISTANCE, "Sample quality: Fréchet distance", "distance (lower is better)",
             axis="epoch",
             tooltip="Dashed lines: real vs real (good) and noise (bad) baselines."),
    PlotSpec(_MANIFOLD, "Fidelity and coverage", "share", axis="epoch", y_range=(0.0, 1.2),
             tooltip="Precision/density: do samples look real; recall/coverage: do they cover "
                     "every kind of real image. Dashed lines: real-vs-real baselines."),
)

SAMPLE_QUALITY = EpochMetric("sample_quality", SPECS,
                             "aigc_studio.metrics.sample_quality:SampleQuality",
                             plots=PLOTS, headline=DISTANCE_KEYS)
