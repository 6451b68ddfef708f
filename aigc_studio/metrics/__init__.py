"""Per-epoch quality metrics: one file each, listed in one registry (no torch at import).

An :class:`EpochMetric` declares the metrics it records (``MetricSpec`` with ``axis="epoch"``)
and computes them at the end of every epoch from the trainer's state; the trainer merges the
values into the epoch's record in ``metrics.jsonl`` and the window plots them from the specs.
Implementations load lazily (``implementation = "module:Class"``), like model families.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aigc_studio.families.base import MetricSpec

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

    def applies(self, config: Any) -> bool:
        """Whether a run with this config records the metric (its family samples, it is on)."""
        return bool(config.family.capabilities.samples)

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


def spec(name: str) -> MetricSpec | None:
    """The spec of a per-epoch metric by its key in metrics.jsonl."""
    for metric in _REGISTRY.values():
        for s in metric.specs:
            if s.name == name:
                return s
    return None
