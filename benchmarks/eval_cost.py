"""What the per-epoch sample-quality metric costs against the epoch it follows (CPU).

Trains one epoch of the default DCGAN on the bundled digits with the metric off, then times the
metric on that trainer for each ``--eval-samples`` value: ``start`` (reference features and
baselines, once per run) and ``compute`` (generate, features, distances; every epoch).
With ``--limit`` the epoch is shorter; the cost is also given against a full 5,000-image epoch
(the epoch time scaled by 5000 / limit). The metric always reads the full 5,000 digits, so n up
to 2,500 is scored on n images per set. The default ``--eval-samples`` must stay <= 10 %.

    python benchmarks/eval_cost.py [--limit 0] [--width 64] [--n 250 500 1000 2000]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aigc_studio.core.datasets import load_dataset  # noqa: E402
from aigc_studio.engine.config import TrainConfig  # noqa: E402
from aigc_studio.engine.trainer import Trainer  # noqa: E402
from aigc_studio.metrics.sample_quality import SampleQuality  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=0, help="images per epoch (0: all 5,000)")
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--n", type=int, nargs="+", default=[250, 500, 1000, 2000])
    args = parser.parse_args()
    cfg = TrainConfig(dataset="digits", epochs=1, limit=args.limit, width=args.width,
                      device=args.device, eval_samples=0).validate()
    trainer = Trainer(cfg, save=False)
    trainer.fit()
    images = len(trainer.data)
    epoch = trainer.progress.elapsed
    # the metric draws its real images from the full set, so every n up to 2,500 is real
    trainer.data = load_dataset("digits", cfg.image_size, seed=cfg.seed)
    full = epoch * 5000 / images
    print(f"epoch: {images} images, width {args.width}, {trainer.device_label}: {epoch:.1f} s "
          f"(a 5,000-image epoch: {full:.1f} s)")
    print(f"{'n':>6} {'used':>6} {'start s':>8} {'compute s':>10} {'% of epoch':>11} "
          f"{'% of 5k epoch':>14}")
    for n in args.n:
        metric = SampleQuality(dataclasses.replace(cfg, eval_samples=n))
        t0 = time.perf_counter()
        metric.start(trainer)
        t1 = time.perf_counter()
        metric.compute(trainer, 1)
        t2 = time.perf_counter()
        used = metric.reference.n if metric.reference else 0
        print(f"{n:>6} {used:>6} {t1 - t0:>8.2f} {t2 - t1:>10.2f} {100 * (t2 - t1) / epoch:>10.1f}%"
              f" {100 * (t2 - t1) / full:>13.1f}%", flush=True)


if __name__ == "__main__":
    main()
