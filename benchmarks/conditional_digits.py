"""Class-conditional DCGAN on digits: does a sample asked for class k look like a k?

Trains ``--model dcgan --conditional`` on the bundled digits, then asks the last epoch's
generator for ``--per-class`` samples of each class (latent seeds 1, 2, ...), and has a small
classifier trained on the bundled digits (``tests/engine/digit_judge.py``) label them. Prints
the 10x10 confusion table (row: the class asked for, column: the judge's label with p >= 0.5,
"?" when no label reaches 0.5) and each class's hit rate. The issue's bar: at least 80 % of the
samples of every class get their own label with p >= 0.5.

    python benchmarks/conditional_digits.py [--epochs 20] [--limit 0] [--width 64] [--run RUN]

``--run`` judges an existing conditional run instead of training one. The last line is the
headline figure alone: ``worst-class X.XX``.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "engine")]

from digit_judge import train_judge  # noqa: E402

from aigc_studio.core.datasets import to_unit_range  # noqa: E402
from aigc_studio.engine.config import TrainConfig  # noqa: E402
from aigc_studio.engine.inference import LoadedModel, load_model, sample  # noqa: E402
from aigc_studio.engine.trainer import Trainer  # noqa: E402

logging.getLogger("aigc_studio").setLevel(logging.ERROR)


def confusion(judge_net: torch.nn.Module, model: LoadedModel, per_class: int,
              confidence: float = 0.5) -> torch.Tensor:
    """(K, K+1) counts: row k = samples asked for class k; last column: no confident label."""
    k = model.num_classes
    table = torch.zeros(k, k + 1, dtype=torch.long)
    for cls in range(k):
        images = sample(model, per_class, seed=1, class_index=cls)
        x = torch.from_numpy(images[..., :1].copy()).permute(0, 3, 1, 2)
        with torch.no_grad():
            top, label = judge_net(to_unit_range(x)).softmax(1).max(1)
        label[top < confidence] = k
        table[cls] = torch.bincount(label, minlength=k + 1)
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lr", type=float, default=None, help="both learning rates")
    parser.add_argument("--per-class", type=int, default=100)
    parser.add_argument("--run", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run = args.run
        if run is None:
            config = TrainConfig(dataset="digits", epochs=args.epochs, limit=args.limit,
                                 width=args.width, seed=args.seed,
                                 extras={"conditional": True}).validate()
            if args.lr:
                config.lr_g = config.lr_d = args.lr
            config.eval_samples = 0  # judged once at the end instead
            run = Trainer(config, runs_root=Path(tmp)).fit().run_dir
        model = load_model(run)
        table = confusion(train_judge(), model, args.per_class)
    cfg = model.config
    print(f"## Conditional DCGAN on digits: {model.epoch} epochs, limit {cfg.limit or 'all'}, "
          f"width {cfg.width}, lr {cfg.lr_g:g}, seed {cfg.seed}; "
          f"{args.per_class} samples per class\n")
    names = list(model.class_names)
    print("| asked \\ judged | " + " | ".join(names) + " | ? | hit |")
    print("|---" * (len(names) + 3) + "|")
    hits = []
    for k, row in enumerate(table.tolist()):
        hit = row[k] / max(sum(row), 1)
        hits.append(hit)
        print(f"| **{names[k]}** | " + " | ".join(str(v) for v in row) + f" | {hit:.0%} |")
    print(f"\nevery class >= 80 %: {'yes' if min(hits) >= 0.8 else 'no'}")
    print(f"worst-class {min(hits):.2f}")


if __name__ == "__main__":
    main()
