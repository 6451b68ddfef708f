"""Sample quality after every epoch: a Fréchet distance and precision/recall/density/coverage.

The same code scores a run while it trains (:class:`SampleQuality`, an epoch metric) and
afterwards (:func:`evaluate_weights`, the ``evaluate`` command), so both give the same numbers:

- real reference: ``n`` real images of the run's data set, chosen with a fixed seed;
- generated: the images of latent seeds ``0 .. n-1`` (the studio's seed convention), drawn in
  eval mode, classes in turn for a conditional model;
- baselines, computed once: ``n`` other real images (real vs real: where 'good' is) and ``n``
  uniform-noise images (where 'bad' is), against the same reference.

``n`` is ``--eval-samples``; a data set with fewer than ``2 n`` images is scored on half of what
it has (the record's ``quality_n`` says how many), one with fewer than ``2 * MIN_IMAGES`` is
not scored (the run says why). Training never fails because of this metric.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from aigc_studio import metrics
from aigc_studio.core.datasets import ImageData, to_unit_range
from aigc_studio.core.latent import seed_vectors
from aigc_studio.errors import AigcError
from aigc_studio.metrics.distances import Gaussian, Manifold, frechet_distance, prdc
from aigc_studio.metrics.features import FeatureSpace, feature_space
from aigc_studio.metrics.quality_specs import MANIFOLD_KEYS

if TYPE_CHECKING:  # pragma: no cover
    from aigc_studio.engine.config import TrainConfig
    from aigc_studio.engine.trainer import Trainer

log = logging.getLogger(__name__)

MIN_IMAGES = 20  # per set: fewer make k-NN radii and covariances meaningless
REFERENCE_SEED = 0  # which real images form the reference (fixed: every epoch and evaluate)
NOISE_SEED = 1
GENERATE_BATCH = 250
BEST_FILE = "best.safetensors"


class QualityUnavailable(AigcError):
    """The metric cannot be computed for this run; the message says why (one sentence)."""


@dataclass
class Reference:
    """The real side of every comparison, prepared once per run."""

    space: FeatureSpace
    n: int  # images per set (reference, held-out, generated, noise)
    gaussian: Gaussian
    manifold: Manifold
    baselines: dict[str, float]  # "fld_real", "fld_noise", "recall_real", ...
    note: str = ""  # why fewer than the asked-for images were used

    def score(self, images: torch.Tensor) -> dict[str, float]:
        """The scores of ``n`` images in [-1, 1] against the reference."""
        feats = self.space.extract(images.cpu())
        return {self.space.key: frechet_distance(Gaussian.fit(feats), self.gaussian),
                **prdc(self.manifold, Manifold.of(feats))}


def real_images(data: ImageData, index: torch.Tensor) -> torch.Tensor:
    """Real images of ``data`` at ``index`` as floats in [-1, 1] (CPU)."""
    if data.images is not None:
        batch = data.images[index.to(data.images.device)].cpu()
    else:
        batch = torch.stack([data.stream[int(i)][0] for i in index])
    return to_unit_range(batch)


def prepare_reference(data: ImageData, n: int, dataset: str) -> Reference:
    """Reference features and both baselines for ``n`` images per set (fewer if data is short)."""
    available = len(data) // 2
    if available < MIN_IMAGES:
        raise QualityUnavailable(
            f"Sample quality needs at least {2 * MIN_IMAGES} real images; {data.name} has "
            f"{len(data)}.")
    used = min(n, available)
    note = "" if used == n else (
        f"sample quality is computed on {used} images per set, not {n}: {data.name} has "
        f"{len(data)} images and the real-vs-real baseline needs two disjoint sets")
    order = torch.randperm(len(data), generator=torch.Generator().manual_seed(REFERENCE_SEED))
    space = feature_space(dataset, data.channels)
    ref_feats = space.extract(real_images(data, order[:used]))
    reference = Reference(space, used, Gaussian.fit(ref_feats), Manifold.of(ref_feats), {}, note)
    noise = torch.rand((used, data.channels, data.image_size, data.image_size),
                       generator=torch.Generator().manual_seed(NOISE_SEED)) * 2 - 1
    for which, images in (("real", real_images(data, order[used:2 * used])), ("noise", noise)):
        reference.baselines.update({metrics.baseline_key(k, which): v
                                    for k, v in reference.score(images).items()})
    return reference


def generate(family_impl: Any, net: nn.Module, latent_dim: int, n: int,
             num_classes: int, device: torch.device) -> torch.Tensor:
    """Images of latent seeds 0..n-1 in [-1, 1] (CPU), eval mode; the net's mode is restored."""
    z = seed_vectors(0, n, latent_dim)
    labels = torch.arange(n) % num_classes if num_classes else None
    was_training = net.training
    net.eval()
    out = []
    try:
        with torch.no_grad():
            for start in range(0, n, GENERATE_BATCH):
                zb = z[start:start + GENERATE_BATCH].to(device)
                if labels is None:  # unconditional: the plain decode(net, z) every family has
                    images = family_impl.decode(net, zb)
                else:
                    images = family_impl.decode(net, zb, labels[start:start + GENERATE_BATCH]
                                                .to(device))
                out.append(images.float().cpu())
    finally:
        net.train(was_training)
    return torch.cat(out).clamp_(-1, 1)


class SampleQuality(metrics.EpochMetricImpl):
    """The epoch metric: scores, baselines in the first record, ``best.safetensors``."""

    def __init__(self, config: TrainConfig) -> None:
        self.config = config
        self.reference: Reference | None = None
        self.best: float | None = None
        self._baselines_written = False

    def start(self, trainer: Trainer) -> None:
        self.reference = prepare_reference(trainer.data, self.config.eval_samples,
                                           self.config.dataset)
        if self.reference.note:  # labelled in every record by quality_n
            log.info("The %s", self.reference.note)
        if trainer.run_dir is not None:  # a resumed run keeps the best epoch it had
            from aigc_studio.engine import runs

            records = runs.read_metrics(trainer.run_dir)
            found = metrics.best_of(records)
            self.best = found[1] if found else None
            # a resumed run recorded its baselines in its first session: once per run
            self._baselines_written = any(
                k in record for record in records for k in self.reference.baselines)

    def compute(self, trainer: Trainer, epoch: int) -> Mapping[str, float]:
        ref = self.reference
        assert ref is not None
        key = trainer.family.inference_key
        net = trainer.models.nets[key]
        size = trainer.family.impl.latent_size(self.config, trainer.channels)
        images = generate(trainer.family.impl, net, size, ref.n, trainer.num_classes,
                          trainer.device)
        scores = {**ref.score(images), metrics.SAMPLE_COUNT_KEY: float(ref.n)}
        if not self._baselines_written:
            scores.update(ref.baselines)
            self._baselines_written = True
        self._keep_best(trainer, epoch, scores[ref.space.key])
        return scores

    def _keep_best(self, trainer: Trainer, epoch: int, value: float) -> None:
        """Write ``checkpoints/best.safetensors`` when the headline distance improves."""
        if self.best is not None and value >= self.best:
            return
        self.best = value
        if not (trainer.save and trainer.run_dir is not None):
            return
        from aigc_studio.engine import runs
        from aigc_studio.engine.checkpoint import save_weights

        net = trainer.models.nets[trainer.family.inference_key]
        assert self.reference is not None
        save_weights(best_weights_path(trainer.run_dir), net.state_dict(), self.config,
                     **trainer.weights_meta(epoch), score_name=self.reference.space.key,
                     score=repr(value))
        log.info("Epoch %d is the best so far (%s %.3f): %s", epoch, self.reference.space.key,
                 value, runs.CHECKPOINTS + "/" + BEST_FILE)


def best_weights_path(run_dir: Path) -> Path:
    """Where the weights of the best-scoring epoch are kept."""
    from aigc_studio.engine import runs

    return Path(run_dir) / runs.CHECKPOINTS / BEST_FILE


@dataclass
class Evaluation:
    """Scores of one weights file (the ``evaluate`` command)."""

    epoch: int
    source: Path
    scores: dict[str, float]


def evaluate_weights(files: list[Path], n: int | None = None
                     ) -> tuple[Reference, list[Evaluation]]:
    """Score per-epoch weights files of one run exactly as training scored them."""
    from aigc_studio.core.datasets import load_dataset
    from aigc_studio.engine.config import DEFAULT_EVAL_SAMPLES
    from aigc_studio.engine.inference import load_model

    if not files:
        raise QualityUnavailable("There are no weights to evaluate.")
    first = load_model(files[0])
    cfg = first.config
    if not first.capabilities.samples:
        raise QualityUnavailable(f"{first.source.name} is a {first.family.title}, which does "
                                 "not draw samples from noise; there is nothing to score.")
    data = load_dataset(cfg.dataset, cfg.image_size, channels=cfg.channels, seed=cfg.seed,
                        limit=cfg.limit, data_root=cfg.data_root)
    reference = prepare_reference(data, n or cfg.eval_samples or DEFAULT_EVAL_SAMPLES,
                                  cfg.dataset)
    results = []
    for file in files:
        model = first if file == files[0] else load_model(file)
        images = generate(model.family.impl, model.net, model.latent_dim, reference.n,
                          model.num_classes, torch.device("cpu"))
        results.append(Evaluation(model.epoch, file, reference.score(images)))
    return reference, results


def weights_to_evaluate(path: Path, epochs: list[int] | None) -> list[Path]:
    """The files to score: a file as given; for a run, its per-epoch weights (``epochs`` or all),
    or its last checkpoint when it has none (runs of v0.1 stopped mid-epoch)."""
    from aigc_studio.engine import runs
    from aigc_studio.engine.inference import resolve_model_file

    path = Path(path).expanduser()
    if not path.is_dir():
        if not path.exists():
            raise QualityUnavailable(f"{path} does not exist.")
        return [path]
    by_epoch = {int(p.stem.split("_")[1]): p for p in runs.epoch_weights(path)}
    if not by_epoch:
        return [resolve_model_file(path)]
    if epochs is None:
        return list(by_epoch.values())
    missing = [e for e in epochs if e not in by_epoch]
    if missing:
        raise QualityUnavailable(
            f"{path.name} has no weights for epoch {', '.join(map(str, missing))} (it has "
            f"epochs {min(by_epoch)} to {max(by_epoch)}).")
    return [by_epoch[e] for e in epochs]


def evaluation_report(reference: Reference, results: list[Evaluation]) -> dict[str, Any]:
    """The JSON-ready result of ``evaluate``: every number with what it means."""
    space = reference.space
    keys = (space.key, *MANIFOLD_KEYS)
    return {
        "features": {"key": space.key, "label": space.label, "description": space.description},
        "n": reference.n,
        "note": reference.note,
        "baselines": {which: {k: reference.baselines[metrics.baseline_key(k, which)]
                              for k in keys} for which in metrics.BASELINES},
        "epochs": [{"epoch": r.epoch, "file": str(r.source), **r.scores} for r in results],
    }
