"""Feature spaces for the sample-quality metrics, each named for what it is.

A Fréchet distance or a k-NN manifold means something only in a stated feature space, so every
extractor carries the name the user sees and the metric key it writes:

- ``fld``: the penultimate layer (84 values) of a LeNet-5 trained on the bundled digits by
  ``scripts/train_feature_classifier.py`` — the "Fréchet LeNet distance" of the MNIST literature.
  Used for digit data (the bundled digits, MNIST).
- ``fid``: torchvision's Inception-v3 pool features (2048 values) — used only when its weights are
  already on this machine (nothing is downloaded during training). torchvision's weights are not
  the TensorFlow graph of the original FID paper, so the values are close to, not equal to,
  published FIDs.
- ``fd_rand``: a fixed, randomly initialised CNN (seed 0, never trained) — for any other data.
  Random conv features separate real from generated images surprisingly well (Naeem et al. 2020,
  section 5), and the name says that no trained network judged the images.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from aigc_studio.paths import resource_path

LENET_FILE = ("models", "digit_lenet.safetensors")
DIGIT_DATASETS = ("digits", "mnist")  # data the bundled LeNet was trained for
INCEPTION_FILE_PREFIX = "inception_v3_google"


class LeNet5(nn.Module):
    """LeNet-5 for 32x32 greyscale digits; ``features`` is the 84-value penultimate layer."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2))
        self.fc = nn.Sequential(nn.Flatten(), nn.Linear(16 * 5 * 5, 120), nn.ReLU(),
                                nn.Linear(120, 84), nn.ReLU())
        self.head = nn.Linear(84, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.conv(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class RandomCNN(nn.Module):
    """A never-trained conv net (fixed seed): 128 pooled features of any image size."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        gen_state = torch.random.get_rng_state()
        torch.manual_seed(0)
        self.net = nn.Sequential(
            nn.Conv2d(channels, 32, 3, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(32, 64, 3, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(64, 128, 3, 2, 1), nn.LeakyReLU(0.2),
            nn.AdaptiveAvgPool2d(1), nn.Flatten())
        torch.random.set_rng_state(gen_state)  # building it never disturbs the caller's RNG

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


@dataclass(frozen=True)
class FeatureSpace:
    """An extractor and how it is presented: ``key`` prefixes the distance in metrics.jsonl."""

    key: str  # "fld", "fid" or "fd_rand"
    label: str  # what the UI calls the distance
    description: str
    extract: Callable[[torch.Tensor], torch.Tensor]  # images in [-1, 1] (N,C,S,S) -> (N, D)


def lenet_path() -> Path:
    return resource_path(*LENET_FILE)


def load_lenet(path: Path | None = None) -> tuple[LeNet5, dict[str, str]]:
    """The bundled digit classifier and its metadata (accuracy, seed, script version)."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    path = path or lenet_path()
    with safe_open(str(path), framework="pt") as handle:
        meta = dict(handle.metadata() or {})
    net = LeNet5()
    net.load_state_dict(load_file(str(path)))
    return net.eval(), meta


def inception_weights() -> Path | None:
    """torchvision's Inception-v3 weights if already downloaded (never fetched here)."""
    folder = Path(torch.hub.get_dir()) / "checkpoints"
    found = sorted(folder.glob(f"{INCEPTION_FILE_PREFIX}*.pth")) if folder.is_dir() else []
    return found[0] if found else None


def _batched(fn: Callable[[torch.Tensor], torch.Tensor], batch: int
             ) -> Callable[[torch.Tensor], torch.Tensor]:
    """Run ``fn`` in fp32, without gradients, ``batch`` images at a time."""

    def run(x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return torch.cat([fn(c.float()).float() for c in x.split(batch)]) if len(x) else \
                torch.empty(0)

    return run


def _lenet_space(channels: int) -> FeatureSpace:
    net, meta = load_lenet()
    accuracy = meta.get("accuracy", "?")

    def extract(x: torch.Tensor) -> torch.Tensor:
        if channels != 1:
            x = x.mean(1, keepdim=True)
        if x.shape[-1] != 32:
            x = F.interpolate(x, size=(32, 32), mode="bilinear", antialias=True,
                              align_corners=False)
        return net.features(x.to(next(net.parameters()).device))

    return FeatureSpace(
        "fld", "Fréchet LeNet distance",
        f"Fréchet distance in the 84 penultimate features of the bundled LeNet-5 digit "
        f"classifier (held-out accuracy {accuracy})", _batched(extract, 500))


def _inception_space(weights: Path) -> FeatureSpace:
    from torchvision.models import inception_v3

    net = inception_v3(weights=None, aux_logits=True, init_weights=False)
    net.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    net.fc = nn.Identity()
    net.eval()
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)

    def extract(x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        x = F.interpolate((x + 1) / 2, size=(299, 299), mode="bilinear", align_corners=False)
        return net((x - mean) / std)

    return FeatureSpace(
        "fid", "FID (torchvision Inception-v3)",
        "Fréchet Inception distance in the 2048 pool features of torchvision's Inception-v3 "
        "(close to, not identical with, published TensorFlow-Inception FIDs)",
        _batched(extract, 50))


def _random_space(channels: int) -> FeatureSpace:
    net = RandomCNN(channels).eval()
    return FeatureSpace(
        "fd_rand", "Fréchet distance (random-CNN features)",
        "Fréchet distance in the 128 pooled features of a fixed, untrained conv net (seed 0): "
        "no trained classifier fits this data", _batched(net, 500))


def feature_space(dataset: str, channels: int) -> FeatureSpace:
    """The feature space that fits the data: LeNet for digits, else Inception if present,
    else random-CNN features."""
    if dataset in DIGIT_DATASETS and lenet_path().exists():
        return _lenet_space(channels)
    weights = inception_weights()
    if weights is not None:
        return _inception_space(weights)
    return _random_space(channels)

