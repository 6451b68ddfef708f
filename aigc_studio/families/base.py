"""The model-family interface: what a family of models declares and does, asked by everyone else.

The trainer, the fast path, inference, export, the explorer, the CLI and the window never ask
*which* model they hold; they ask its family what it can do (sample from noise, encode images,
be conditioned on a class), which metrics it records and how each is plotted, what its epoch
grid shows, and let it build its networks, optimizers and training step. A new family is one
folder under ``aigc_studio/families`` plus one line in the registry.

A family is two parts, so the window can list families before torch loads: a
:class:`ModelFamily` of plain declarations (this module imports neither torch nor Qt), and a
:class:`FamilyImpl` in the family's ``model`` module, imported on first use of ``family.impl``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:  # pragma: no cover - typing only: torch loads with the implementation
    import numpy as np
    import torch
    from torch import nn

    from aigc_studio.families.step import AdamFactory, HealthContext, StepContext, TrainStep

Axis = Literal["step", "epoch"]


@dataclass(frozen=True)
class MetricSpec:
    """One metric by name: how it is labelled, on which axis it lives and how it is plotted."""

    name: str  # the key in metrics.jsonl, e.g. "loss_d"
    label: str  # legend text, e.g. "D loss"
    axis: Axis = "step"
    group: str = "loss"  # the plot it is drawn in (a PlotSpec key)
    unit: str = ""
    higher_is_better: bool | None = None  # None: neither (a loss of a game, a probability)
    color: str = "#4c8bf5"
    description: str = ""
    # recorded only when each named option has one of the listed values, e.g.
    # (("loss", ("wgan-gp",)),); empty: always recorded
    only_when: tuple[tuple[str, tuple[Any, ...]], ...] = ()


@dataclass(frozen=True)
class PlotSpec:
    """One plot of metrics: its title, y axis and optional reference lines."""

    key: str
    title: str
    y_label: str
    axis: Axis = "step"
    y_range: tuple[float, float] | None = None
    lines: tuple[tuple[float, str], ...] = ()  # (y, label) reference lines
    tooltip: str = ""


@dataclass(frozen=True)
class Capabilities:
    """What a family's trained model can do; every caller asks this, never the family's name."""

    samples: bool = False  # generate images from noise (explorer seeds, sample, interpolate)
    encodes: bool = False  # encode and decode images (reconstruction, latent map)
    conditional: bool = False  # conditioned on a class label
    principal_directions: bool = False  # the explorer's PCA over an inner layer
    adversarial: bool = False  # a generator against a discriminator (health checks of a game)
    denoising_path: bool = False  # samples by denoising steps: a trajectory can be shown


@dataclass(frozen=True)
class OptionSpec:
    """A setting only some families have (β of a VAE, a GAN's loss): CLI flag and form field.

    Values live in ``TrainConfig.extras`` under ``name``; the CLI flag is ``--name`` with
    underscores as dashes. ``kind`` is the exact Python type a value must have.
    """

    name: str
    kind: type  # int, float, str or bool
    default: Any
    label: str
    help: str
    choices: tuple[Any, ...] = ()
    low: float | None = None
    high: float | None = None
    # applies only when each named option has one of the listed values, e.g.
    # (("loss", ("wgan-gp",)),): the form hides it otherwise; empty: always applies
    only_when: tuple[tuple[str, tuple[Any, ...]], ...] = ()
    # TrainConfig values a choice prefers, e.g. {"hinge": {"beta1": 0.0}}: a loss trains best
    # with the optimiser settings its paper uses; they apply where the user set nothing else
    prefers: Mapping[Any, Mapping[str, Any]] = field(default_factory=dict, hash=False)

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def check(self, value: Any) -> str | None:
        """None when ``value`` is valid, else the sentence saying why not."""
        kind_ok = isinstance(value, self.kind) and not (
            self.kind is not bool and isinstance(value, bool))
        if self.kind is float and isinstance(value, int) and not isinstance(value, bool):
            kind_ok = True
        if not kind_ok:
            return f"{self.flag} must be a {self.kind.__name__}, not {value!r}."
        if self.choices and value not in self.choices:
            allowed = ", ".join(map(str, self.choices))
            return f"{self.flag} must be one of {allowed}, not {value!r}."
        numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
        if numeric and (value != value or (self.low is not None and value < self.low) or (
                self.high is not None and value > self.high)):
            return f"{self.flag} must be from {self.low} to {self.high}, not {value!r}."
        return None


@dataclass(frozen=True)
class ModelFamily:
    """A family's declarations: names, capabilities, metrics and plots (no torch needed)."""

    name: str  # the CLI/config value, e.g. "dcgan"
    title: str  # e.g. "DCGAN"
    short: str  # a column-width name, e.g. "AE"
    description: str  # one sentence for the model list's tooltip
    capabilities: Capabilities
    metrics: tuple[MetricSpec, ...]
    plots: tuple[PlotSpec, ...]
    inference_key: str  # the network that samples / reconstructs
    implementation: str  # "package.module:Class" of the FamilyImpl, imported on first use
    grid_caption: str = ""  # what the epoch grid shows, for the window's header
    defaults: Mapping[str, Any] = field(default_factory=dict)  # TrainConfig values it prefers
    uses_lr_d: bool = False  # a second optimizer driven by lr_d
    # about how many optimisation steps before its samples look like anything: fewer planned
    # steps get a note before Start, and health warnings wait for them
    useful_steps: int = 0
    # Help > How this model learns: (latest plotted values, the run's options) -> HTML
    learn_help: Callable[[Mapping[str, float], Mapping[str, Any]], str] | None = None
    options: tuple[OptionSpec, ...] = ()  # family-only settings, kept in TrainConfig.extras
    # cross-option rules: extras -> None, or the sentence saying which combination is refused
    check_options: Callable[[Mapping[str, Any]], str | None] | None = None

    @property
    def step_metrics(self) -> tuple[str, ...]:
        """Names of every per-step metric the family declares (any configuration)."""
        return tuple(m.name for m in self.metrics if m.axis == "step")

    def option_value(self, extras: Mapping[str, Any], name: str) -> Any:
        """A family option's value in ``extras``, or its default (None when undeclared)."""
        spec = self.option(name)
        return extras.get(name, spec.default if spec else None)

    def preferred(self, extras: Mapping[str, Any]) -> dict[str, Any]:
        """The TrainConfig values a run with these options prefers: the family's defaults,
        then what each chosen option value prefers (a hinge loss's Adam betas)."""
        values = dict(self.defaults)
        for spec in self.options:
            values.update(spec.prefers.get(self.option_value(extras, spec.name), {}))
        return values

    def records(self, spec: MetricSpec | OptionSpec, extras: Mapping[str, Any]) -> bool:
        """True when a run with these settings records the metric, or uses the option (its
        ``only_when`` holds)."""
        return all(self.option_value(extras, name) in allowed
                   for name, allowed in spec.only_when)

    def step_metric_names(self, config: Any) -> tuple[str, ...]:
        """The per-step metrics a run of ``config`` records, in the order its step returns
        them (a WGAN critic reports a Wasserstein estimate where a BCE GAN reports D(x))."""
        extras = config.extras
        return tuple(m.name for m in self.metrics
                     if m.axis == "step" and self.records(m, extras))

    def plots_for(self, config: Any) -> tuple[PlotSpec, ...]:
        """The plots a run of ``config`` fills: those with at least one recorded metric."""
        extras = config.extras
        used = {m.group for m in self.metrics if self.records(m, extras)}
        return tuple(p for p in self.plots if p.key in used)

    def validate_options(self, config: Any) -> str | None:
        """None when the family's options fit together, else the sentence saying why not."""
        return self.check_options(config.extras) if self.check_options else None

    def metric(self, name: str) -> MetricSpec | None:
        """The spec of one of this family's metrics, or None."""
        return next((m for m in self.metrics if m.name == name), None)

    @property
    def abilities(self) -> str:
        """What a trained model of this family can do, as a phrase for messages."""
        caps = self.capabilities
        parts = (["samples images from noise"] if caps.samples else []) + (
            ["encodes and reconstructs images"] if caps.encodes else [])
        return " and ".join(parts) or "trains only"

    def option(self, name: str) -> OptionSpec | None:
        return next((o for o in self.options if o.name == name), None)

    def is_conditional(self, extras: Mapping[str, Any]) -> bool:
        """True when a run with these settings is conditioned on the class label."""
        if not self.capabilities.conditional:
            return False
        spec = self.option("conditional")
        return bool(extras.get("conditional", spec.default if spec else True))

    @cached_property
    def impl(self) -> FamilyImpl:
        """The family's behaviour (networks, step, grid), imported the first time it is used."""
        module, _, cls = self.implementation.partition(":")
        factory: Callable[[ModelFamily], FamilyImpl] = getattr(importlib.import_module(module),
                                                               cls)
        return factory(self)


class FamilyImpl:
    """A family's behaviour; subclasses live in the family's ``model`` module (torch)."""

    # keyword options ``decode`` takes besides the labels (a sampler's steps, guidance...);
    # inference refuses any other with one sentence
    sample_options: tuple[str, ...] = ()

    def __init__(self, family: ModelFamily) -> None:
        self.family = family

    # ------------------------------------------------------------------ training
    def build_networks(self, config: Any, channels: int, num_classes: int = 0
                       ) -> dict[str, nn.Module]:
        """The networks a config describes (CPU, freshly initialised from the global RNG).

        ``num_classes`` is the data set's class count when the run is conditional, else 0.
        """
        raise NotImplementedError

    def build_optimizers(self, nets: Mapping[str, nn.Module], config: Any,
                         adam: AdamFactory) -> dict[str, torch.optim.Optimizer]:
        """Optimizers keyed "g" (driven by lr_g) and, for a second network, "d" (lr_d)."""
        raise NotImplementedError

    def legacy_state(self, key: str, saved: Mapping[str, Any]) -> Mapping[str, Any] | None:
        """The state of network ``key`` for a checkpoint written before the family had it
        (``saved``: the checkpoint's networks by name); None: the checkpoint is incomplete."""
        return None

    def wrap_for_ddp(self, nets: Mapping[str, nn.Module],
                     optims: Mapping[str, torch.optim.Optimizer],
                     wrap: Callable[[nn.Module], nn.Module]) -> dict[str, nn.Module]:
        """The networks ``make_step`` gets when several processes train one run.

        ``wrap`` puts one network in DistributedDataParallel (its calls and method calls
        average gradients over the processes). By default every network an optimizer updates
        is wrapped on its own (G and D apart: one wrapper around both would see parameters
        unused in each phase); one without an optimizer (an EMA copy) is left as it is.
        """
        trained = {id(p) for opt in optims.values() for group in opt.param_groups
                   for p in group["params"]}
        return {key: wrap(net) if any(id(p) in trained for p in net.parameters()) else net
                for key, net in nets.items()}

    def make_step(self, nets: Mapping[str, nn.Module],
                  optims: Mapping[str, torch.optim.Optimizer], ctx: StepContext) -> TrainStep:
        raise NotImplementedError

    def fixed_inputs(self, config: Any, real_images: Callable[[int], torch.Tensor]
                     ) -> torch.Tensor:
        """What every epoch grid is rendered from (fixed noise, or a fixed real batch)."""
        raise NotImplementedError

    def epoch_grid(self, nets: Mapping[str, nn.Module], fixed: torch.Tensor,
                   device: torch.device) -> np.ndarray:
        """The epoch's picture as RGB uint8 (H, W, 3)."""
        raise NotImplementedError

    def health_warnings(self, ctx: HealthContext) -> list[str]:
        """Warnings a user should see at an epoch end (a failing game, collapse)."""
        return []

    # ------------------------------------------------------------------ inference
    def decode(self, net: nn.Module, z: torch.Tensor, labels: torch.Tensor | None = None
               ) -> torch.Tensor:
        """Latents (N, latent_dim) -> images in [-1, 1] (families that sample or encode).

        ``labels`` (int64 (N,)) are the classes a conditional network draws; None lets the
        network choose (unconditional families ignore them).
        """
        raise NotImplementedError(f"{self.family.title} has no decoder")

    def opens_folder(self, path: Path) -> bool:
        """True when ``path`` is a model folder another library wrote that this family reads."""
        return False

    def open_folder(self, path: Path) -> tuple[Any, nn.Module, int, list[str]]:
        """(config, inference network, channels, class names) of such a folder."""
        raise NotImplementedError(f"{self.family.title} opens no foreign model folders")

    def latent_size(self, config: Any, channels: int) -> int:
        """Numbers per latent vector (a diffusion model's latent is its whole initial noise)."""
        return int(config.latent_dim)

    def trajectory(self, net: nn.Module, z: torch.Tensor, labels: torch.Tensor | None = None,
                   *, points: int = 8, **options: Any) -> torch.Tensor:
        """States from noise to image, (points, N, C, S, S) in [-1, 1] (``denoising_path``)."""
        raise NotImplementedError(f"{self.family.title} has no denoising path")

    def reconstruct(self, net: nn.Module, x: torch.Tensor) -> torch.Tensor:
        """Images in [-1, 1] -> reconstructions (families that encode)."""
        raise NotImplementedError(f"{self.family.title} does not reconstruct images")

    def encode(self, net: nn.Module, x: torch.Tensor) -> torch.Tensor:
        """Images in [-1, 1] -> latent vectors (families that encode)."""
        raise NotImplementedError(f"{self.family.title} does not encode images")

    def pca_features(self, net: nn.Module, z: torch.Tensor) -> torch.Tensor:
        """Features of an inner layer for latents ``z``: the explorer's PCA reads these."""
        raise NotImplementedError(f"{self.family.title} has no principal directions")

    def export_example(self, config: Any, channels: int) -> tuple[torch.Tensor,
                                                                  tuple[str, str]]:
        """An example input for ONNX export and its (input, output) names."""
        raise NotImplementedError
