"""GAN losses side by side on digits: sample quality and throughput of bce, hinge and wgan-gp.

Each loss trains the DCGAN on the bundled digits for the same epochs and seeds (everything
else at the loss's defaults, or as given); a small classifier trained on the bundled digits
(``tests/engine/digit_judge.py``) then scores 256 samples of the last epoch (latent seed 1):
the share it gives one class with p >= 0.5, and how many classes appear among those.
Throughput is the mean of the per-epoch images/s the trainer reports (real images per second;
a WGAN-GP step updates its critic ``n_critic`` times on each batch).

    python benchmarks/gan_losses.py [--epochs 20] [--seeds 0 1 2] [--limit 0] [--width 64]

The full proof is ``--epochs 20 --seeds 0 1 2``; anything less prints "REDUCED" in the title.
The last line is the headline figure alone: ``hinge-bce X.XX`` (mean share, hinge minus bce).
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "engine")]

from digit_judge import judge, train_judge  # noqa: E402

from aigc_studio.engine.callbacks import EpochResult, TrainingCallback  # noqa: E402
from aigc_studio.engine.config import TrainConfig  # noqa: E402
from aigc_studio.engine.inference import load_model, sample  # noqa: E402
from aigc_studio.engine.trainer import Trainer  # noqa: E402
from aigc_studio.families.dcgan import LOSSES  # noqa: E402

logging.getLogger("aigc_studio").setLevel(logging.ERROR)  # early-epoch warnings are noise here


class Throughput(TrainingCallback):
    """Keeps each epoch's images/s."""

    def __init__(self) -> None:
        self.rates: list[float] = []

    def on_epoch_end(self, result: EpochResult) -> None:
        self.rates.append(result.images_per_s)


def train_and_judge(judge_net: object, loss: str, seed: int, args: argparse.Namespace,
                    root: Path) -> tuple[float, int, float]:
    """(share recognised, classes, images/s) of one run."""
    config = TrainConfig.defaults_for("dcgan", {"loss": loss})  # with the loss's own Adam
    # no per-epoch quality metric (eval_samples 0): it would skew images/s
    settings = dict(dataset="digits", epochs=args.epochs, seed=seed, limit=args.limit,
                    width=args.width, eval_samples=0)
    settings.update({k: v for k in ("lr_g", "lr_d", "beta1", "beta2")  # given on the line
                     if (v := getattr(args, k)) is not None})
    for name, value in settings.items():
        setattr(config, name, value)
    config.validate()
    rates = Throughput()
    end = Trainer(config, runs_root=root, callbacks=[rates]).fit()
    share, classes = judge(judge_net, sample(load_model(end.run_dir), args.samples, seed=1))
    return share, classes, statistics.mean(rates.rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--limit", type=int, default=0, help="images used (0: all 5,000)")
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--lr-g", type=float, default=None, help="G's learning rate")
    parser.add_argument("--lr-d", type=float, default=None, help="D's learning rate")
    parser.add_argument("--beta1", type=float, default=None, help="Adam's beta1")
    parser.add_argument("--beta2", type=float, default=None, help="Adam's beta2")
    parser.add_argument("--samples", type=int, default=256)
    parser.add_argument("--losses", nargs="+", default=list(LOSSES), choices=LOSSES)
    args = parser.parse_args()
    optimiser = {k: v for k in ("lr_g", "lr_d", "beta1", "beta2")
                 if (v := getattr(args, k)) is not None}
    full = args.epochs >= 20 and len(args.seeds) >= 3 and args.limit == 0 and args.width == 64
    judge_net = train_judge()
    print(f"## GAN losses on digits{'' if full else ' (REDUCED)'}: {args.epochs} epochs, "
          f"seeds {args.seeds}, limit {args.limit or 'all'}, width {args.width}, "
          f"optimiser {optimiser or 'defaults'}\n", flush=True)
    print("| loss | seed | recognised | classes | images/s |\n|---|---|---|---|---|",
          flush=True)
    summary: dict[str, list[tuple[float, int, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for loss in args.losses:
            for seed in args.seeds:
                row = train_and_judge(judge_net, loss, seed, args, Path(tmp))
                summary.setdefault(loss, []).append(row)
                print(f"| {loss} | {seed} | {row[0]:.1%} | {row[1]} | {row[2]:.0f} |", flush=True)
    print("\n| loss | mean recognised | min | classes (min) | mean images/s |")
    print("|---|---|---|---|---|")
    for loss, rows in summary.items():
        shares = [r[0] for r in rows]
        print(f"| {loss} | {statistics.mean(shares):.1%} | {min(shares):.1%} | "
              f"{min(r[1] for r in rows)} | {statistics.mean(r[2] for r in rows):.0f} |")
    if "hinge" in summary and "bce" in summary:
        gap = (statistics.mean(r[0] for r in summary["hinge"])
               - statistics.mean(r[0] for r in summary["bce"]))
        print(f"hinge-bce {gap:.2f}")


if __name__ == "__main__":
    main()
