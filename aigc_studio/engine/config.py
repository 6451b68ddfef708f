"""Typed training configuration: one place that validates what a user asked for.

Both the CLI and the window build a :class:`TrainConfig`; ``validate()`` turns every bad
value into one :class:`ConfigError` sentence naming the option, before any work starts.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aigc_studio import families

if TYPE_CHECKING:
    from aigc_studio.families.base import ModelFamily

BUILTIN_DATASETS = ("digits", "shapes", "mnist", "fashion-mnist", "cifar10")
IMAGE_SIZES = (32, 64)
DEVICES = ("auto", "cpu", "cuda", "mps")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
DEFAULT_EVAL_SAMPLES = 1000  # per-epoch quality metric: images per set (<= 10 % of a CPU epoch)


class ConfigError(ValueError):
    """A configuration value is invalid; the message is one sentence for the user."""


@dataclass
class TrainConfig:
    """Everything that defines a training run (saved as ``config.json`` in the run folder)."""

    model: str = "dcgan"
    dataset: str = "digits"
    epochs: int = 20
    batch_size: int = 64
    image_size: int = 32
    channels: int | None = None  # None: follow the data set
    latent_dim: int = 100
    width: int = 64  # ngf / ndf: feature maps of the first/last conv layer
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    device: str = "auto"
    fast: bool = True  # mixed precision, channels_last and (CUDA) graph capture; off: eager fp32
    precision: str = "auto"  # auto: bf16 where the hardware runs it natively, else fp32 / fp16
    seed: int = 0
    log_every: int = 10  # steps between metric read-backs from the device
    checkpoint_every: int = 0  # steps between mid-epoch checkpoints (0: only at epoch end)
    limit: int = 0  # use at most this many images (0: all)
    eval_samples: int = DEFAULT_EVAL_SAMPLES  # images per set for sample quality (0: off)
    data_root: str | None = None  # where torchvision data sets live (None: the app's data dir)
    tensorboard: bool = False  # also write TensorBoard event files live to RUN/tensorboard/
    extras: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def defaults_for(cls, model: str, extras: Mapping[str, Any] | None = None) -> TrainConfig:
        """The starting point of a new run of ``model`` with family options ``extras``: the
        defaults, then the values the family and the chosen options prefer (what a bare
        ``aigc-studio train --model MODEL [--loss L]`` trains)."""
        config = cls(model=model, extras=dict(extras or {}))
        for name, value in config.family.preferred(config.extras).items():
            setattr(config, name, value)
        return config

    @property
    def family(self) -> ModelFamily:
        """The model family this run trains (the registry's entry for ``model``)."""
        try:
            return families.get(self.model)
        except families.UnknownFamilyError:
            raise ConfigError(f"--model must be one of {', '.join(families.names())}, "
                              f"not {self.model!r}.") from None

    def validate(self) -> TrainConfig:
        """Check every field; raise :class:`ConfigError` naming the first bad one."""
        if not isinstance(self.model, str):
            raise ConfigError(f"--model must be a model name, not {self.model!r}.")
        self.family  # noqa: B018 - raises ConfigError for an unknown family
        if not isinstance(self.dataset, str) or not self.dataset.strip():
            raise ConfigError("--dataset must name a data set or an image folder.")
        if not _exact_int(self.image_size) or self.image_size not in IMAGE_SIZES:
            raise ConfigError(f"--image-size must be 32 or 64, not {self.image_size!r}.")
        if self.channels is not None and (not _exact_int(self.channels)
                                          or self.channels not in (1, 3)):
            raise ConfigError(f"--channels must be 1 or 3, not {self.channels!r}.")
        _positive_int("--epochs", self.epochs, 1, 100_000)
        _positive_int("--batch-size", self.batch_size, 2, 65_536)
        _positive_int("--latent-dim", self.latent_dim, 1, 4096)
        _positive_int("--width", self.width, 4, 1024)
        _positive_int("--log-every", self.log_every, 1, 100_000)
        _positive_int("--checkpoint-every", self.checkpoint_every, 0, 10**9)
        _positive_int("--limit", self.limit, 0, 10**9)
        _positive_int("--eval-samples", self.eval_samples, 0, 100_000)
        _positive_int("--seed", self.seed, 0, 2**63 - 1)
        for name, value in (("--lr-g", self.lr_g), ("--lr-d", self.lr_d)):
            if not _real(value) or not 0 < value <= 1:
                raise ConfigError(f"{name} must be a learning rate between 0 and 1, "
                                  f"not {value!r}.")
        for name, value in (("--beta1", self.beta1), ("--beta2", self.beta2)):
            if not _real(value) or not 0 <= value < 1:
                raise ConfigError(f"{name} must be in [0, 1), not {value!r}.")
        if self.data_root is not None and not isinstance(self.data_root, str):
            raise ConfigError(f"--data-root must be a folder path, not {self.data_root!r}.")
        if not isinstance(self.extras, dict):
            raise ConfigError("extras must be a JSON object.")
        if not isinstance(self.device, str) or self.device not in DEVICES:
            raise ConfigError(f"--device must be one of {', '.join(DEVICES)}, not {self.device!r}.")
        if not isinstance(self.fast, bool):
            raise ConfigError(f"fast must be true or false, not {self.fast!r}.")
        if not isinstance(self.tensorboard, bool):
            raise ConfigError(f"--tensorboard must be true or false, not {self.tensorboard!r}.")
        if not isinstance(self.precision, str) or self.precision not in PRECISIONS:
            raise ConfigError(f"--precision must be one of {', '.join(PRECISIONS)}, "
                              f"not {self.precision!r}.")
        self._validate_options()
        return self

    def _validate_options(self) -> None:
        """Family-only settings: each must belong to this family and have a valid value."""
        family = self.family
        if not isinstance(self.extras, dict):
            raise ConfigError(f"extras must be a JSON object, not {self.extras!r}.")
        for name, value in self.extras.items():
            spec = family.option(name)
            if spec is None:
                flag = "--" + str(name).replace("_", "-")
                raise ConfigError(f"{flag} does not apply to a {family.title} model.")
            problem = spec.check(value)
            if problem:
                raise ConfigError(problem)
        problem = family.validate_options(self)  # combinations, e.g. --n-critic without WGAN
        if problem:
            raise ConfigError(problem)

    def option(self, name: str) -> Any:
        """A family-only setting: the run's value, or the family's default."""
        spec = self.family.option(name)
        if spec is None:
            raise KeyError(f"{self.family.title} has no option {name!r}")
        return self.extras.get(name, spec.default)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Build from a dict (e.g. ``config.json``), ignoring unknown keys from newer versions."""
        if not isinstance(data, dict):
            raise ConfigError("the configuration is not a JSON object.")
        names = {f.name for f in dataclasses.fields(cls)}
        try:
            cfg = cls(**{k: v for k, v in data.items() if k in names})
        except TypeError as exc:  # pragma: no cover - dataclass rejects nothing we filter
            raise ConfigError(f"the configuration is invalid ({exc}).") from None
        return cfg.validate()


def _exact_int(value: object) -> bool:
    """An int that is not a bool (``32.0`` and ``True`` compare equal to ints: refuse them)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _real(value: object) -> bool:
    """A finite int or float that is not a bool."""
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and value == value and abs(value) != float("inf"))


def _positive_int(name: str, value: object, low: int, high: int) -> None:
    if not _exact_int(value) or not low <= value <= high:  # type: ignore[operator]
        raise ConfigError(f"{name} must be a whole number from {low} to {high}, not {value!r}.")
