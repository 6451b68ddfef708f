"""Compare runs: the settings that differ and each run's last and best metrics.

Torch-free and Qt-free, so ``aigc-studio runs --compare`` and the window's compare view show
the same table. Metrics are open: every number of metrics.jsonl is a metric
(:func:`runs.metric_values`); "best" follows the metric's spec (higher or lower is better),
losses are lower-is-better, and a metric with no direction has no best.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aigc_studio import families
from aigc_studio import metrics as quality_metrics
from aigc_studio.engine import runs
from aigc_studio.engine.config import TrainConfig
from aigc_studio.errors import RunError


@dataclass(frozen=True)
class Best:
    """The best value of one metric over a run's epochs, and the epoch it came at."""

    value: float
    epoch: int


@dataclass
class RunMetrics:
    """One run in a comparison."""

    path: Path
    name: str
    config: TrainConfig
    epochs_done: int
    last: dict[str, float] = field(default_factory=dict)  # the newest value of every metric
    best: dict[str, Best] = field(default_factory=dict)  # metrics with a direction only


@dataclass
class Comparison:
    """Runs side by side: ``settings[name]`` holds one value per run, only where they differ."""

    runs: list[RunMetrics]
    settings: dict[str, list[Any]]
    metrics: list[str]  # every metric any run recorded, in first-seen order

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (``runs --compare --json``)."""
        return {
            "runs": [{"path": str(r.path), "name": r.name, "model": r.config.model,
                      "epochs_done": r.epochs_done, "last": r.last,
                      "best": {k: {"value": b.value, "epoch": b.epoch}
                               for k, b in r.best.items()}} for r in self.runs],
            "settings": self.settings,
            "metrics": self.metrics,
        }


def compare_runs(paths: Sequence[str | Path]) -> Comparison:
    """Compare run folders; :class:`RunError` (one sentence) for one that is not a run."""
    if not paths:
        raise RunError("Name at least one run folder to compare.")
    loaded = [run_metrics(Path(p).expanduser()) for p in paths]
    flat = [settings_of(r.config) for r in loaded]
    names = list(dict.fromkeys(k for s in flat for k in s))
    differing = {k: [s.get(k) for s in flat] for k in names
                 if len({repr(s.get(k)) for s in flat}) > 1}
    metrics = list(dict.fromkeys(k for r in loaded for k in r.last))
    return Comparison(loaded, differing, metrics)


def settings_of(config: TrainConfig) -> dict[str, Any]:
    """Every setting of a config as one flat dict; family options by name, with the family's
    default where the run did not set one (so an explicit default is no difference)."""
    flat = {k: v for k, v in config.to_dict().items() if k != "extras"}
    for spec in config.family.options:
        flat[spec.name] = config.option(spec.name)
    for name, value in config.extras.items():
        flat.setdefault(name, value)
    return flat


def direction(name: str, model: str) -> int:
    """+1 when higher is better, -1 when lower is, 0 when the metric has no best."""
    spec = quality_metrics.spec(name)
    if spec is None:
        try:
            spec = next((s for s in families.get(model).metrics if s.name == name), None)
        except families.UnknownFamilyError:
            spec = None
    if spec is not None and spec.higher_is_better is not None:
        return 1 if spec.higher_is_better else -1
    return -1 if name.startswith("loss") else 0


def best_values(records: Iterable[dict[str, Any]], model: str) -> dict[str, Best]:
    """The best epoch value of every metric with a direction (earliest epoch on a tie)."""
    best: dict[str, Best] = {}
    for record in records:
        if record.get("kind") != "epoch":
            continue
        epoch = int(record.get("epoch", 0))
        for name, value in runs.metric_values(record).items():
            sign = direction(name, model)
            if sign and (name not in best or sign * (value - best[name].value) > 0):
                best[name] = Best(value, epoch)
    return best


def run_metrics(path: Path) -> RunMetrics:
    """One run's config, epochs done, last and best metrics; RunError for a non-run."""
    if not runs.is_run_dir(path):
        raise RunError(f"{path} is not a run folder.")
    config = runs.load_run_config(path)
    records = runs.read_metrics(path)
    last: dict[str, float] = {}
    for kind in ("step", "epoch"):  # epoch means and scores win over the last logged step
        for record in records:
            if record.get("kind") == kind:
                last.update(runs.metric_values(record))
    epochs = [int(r.get("epoch", 0)) for r in records if r.get("kind") == "epoch"]
    return RunMetrics(path, path.name, config, max(epochs, default=0), last,
                      best_values(records, config.model))
