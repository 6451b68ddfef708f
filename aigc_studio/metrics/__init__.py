"""Per-epoch quality metrics: one file each, listed in one registry (no torch at import).

An :class:`EpochMetric` declares the metrics it records (``MetricSpec`` with ``axis="epoch"``)
and computes them at the end of every epoch from the trainer's state; the trainer merges the
values into the epoch's record in ``metrics.jsonl`` and the window plots them from the specs.
Implementations load lazily (``implementation = "module:Class"``), like model families.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aigc_studio.families.base import MetricSpec, PlotSpec

if TYPE_CHECKING:  # pragma: no cover
    from aigc_studio.engine.trainer import Trainer


class EpochMetricImpl:
    """What runs at an epoch end. ``start`` once per run, ``compute`` after every epoch."""

    def start(self, trainer: Trainer) -> None:
        """Prepare once (reference features of the real data, baselines)."""

    def compute(self, trainer: Trainer, epoch: int) -> Mapping[str, float]:
        """The values of this epoch, keyed by the declared metric names."""
        raise NotImplementedError


@dataclass(frozen=True)
class EpochMetric:
    """Declarations of one per-epoch metric (torch-free) and where its code lives."""

    name: str
    specs: tuple[MetricSpec, ...]
    implementation: str  # "module:Class" of an EpochMetricImpl taking (config) in __init__
    plots: tuple[PlotSpec, ...] = ()  # where the epoch-axis plot draws the specs (by group)
    headline: tuple[str, ...] = ()  # keys that rank epochs (the run's "best"), first found wins

    def applies(self, config: Any) -> bool:
        """Whether a run with this config records the metric (its family samples, it is on)."""
        return bool(config.family.capabilities.samples) and \
            int(getattr(config, "eval_samples", 1)) > 0

    def create(self, config: Any) -> EpochMetricImpl:
        module, _, cls = self.implementation.partition(":")
        return getattr(importlib.import_module(module), cls)(config)


_REGISTRY: dict[str, EpochMetric] = {}


def register(metric: EpochMetric) -> EpochMetric:
    _REGISTRY[metric.name] = metric
    return metric


def unregister(name: str) -> None:
    _REGISTRY.pop(name, None)


def all_metrics() -> tuple[EpochMetric, ...]:
    return tuple(_REGISTRY.values())


def for_config(config: Any) -> list[EpochMetric]:
    """The per-epoch metrics a run records."""
    return [m for m in _REGISTRY.values() if m.applies(config)]


def baseline_key(name: str, which: str) -> str:
    """The key of a score's baseline: ``which`` is "real" (real vs real) or "noise"."""
    return f"{name}_{which}"


BASELINES = ("real", "noise")
SAMPLE_COUNT_KEY = "quality_n"  # images per set the scores of a record were computed on


def is_reference_key(name: str) -> bool:
    """A record key that is not a series to plot: a score's baseline or the sample count."""
    if name == SAMPLE_COUNT_KEY:
        return True
    base, _, which = name.rpartition("_")
    return which in BASELINES and spec(base) is not None


def best_of(records: Iterable[Mapping[str, Any]]) -> tuple[str, float, int] | None:
    """(metric, value, epoch) of the best epoch record by the first headline score present."""
    epochs = [r for r in records if r.get("kind") == "epoch"]
    for metric in _REGISTRY.values():
        for key in metric.headline:
            scored = [(float(r[key]), int(r.get("epoch", 0))) for r in epochs
                      if isinstance(r.get(key), (int, float))]
            if not scored:
                continue
            s = spec(key)
            sign = -1.0 if s and s.higher_is_better else 1.0
            value, epoch = min(scored, key=lambda ve: (sign * ve[0], ve[1]))  # earliest on a tie
            return key, value, epoch
    return None


def spec(name: str) -> MetricSpec | None:
    """The spec of a per-epoch metric by its key in metrics.jsonl."""
    for metric in _REGISTRY.values():
        for s in metric.specs:
            if s.name == name:
                return s
    return None


def _register_builtin() -> None:
    # the registry lines: one per per-epoch metric
    from aigc_studio.metrics.quality_specs import SAMPLE_QUALITY

    register(SAMPLE_QUALITY)


_register_builtin()
