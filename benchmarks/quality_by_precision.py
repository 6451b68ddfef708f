"""Does bf16 training cost sample quality? fp32 against bf16 on this machine, over seeds.

Trains the same digits DCGAN with ``--precision fp32`` and ``--precision bf16`` (fast path on
both, so only the precision differs) for each seed, and prints the last epoch's sample-quality
scores (Fréchet LeNet distance, precision, recall, density, coverage) per run and as mean ± sd
per precision, with the real-vs-real baseline. The defaults are a full comparison (minutes per
run on a 2-core CPU); pass smaller numbers for a reduced one and say so when quoting it.

    python benchmarks/quality_by_precision.py [--seeds 0 1 2] [--epochs 5] [--limit 0]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aigc_studio.engine import runs  # noqa: E402
from aigc_studio.engine.config import TrainConfig  # noqa: E402
from aigc_studio.engine.trainer import Trainer  # noqa: E402

KEYS = ("fld", "precision", "recall", "density", "coverage")


def train(precision: str, seed: int, args: argparse.Namespace, root: Path
          ) -> tuple[dict[str, float], dict[str, float]]:
    """The last epoch record and the first (which holds the baselines) of one run."""
    cfg = TrainConfig(dataset="digits", epochs=args.epochs, limit=args.limit, width=args.width,
                      batch_size=args.batch_size, seed=seed, precision=precision, device="cpu",
                      eval_samples=args.eval_samples).validate()
    end = Trainer(cfg, runs_root=root).fit()
    assert end.run_dir is not None
    epochs = [r for r in runs.read_metrics(end.run_dir) if r.get("kind") == "epoch"]
    return epochs[-1], epochs[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--eval-samples", type=int, default=1000)
    args = parser.parse_args()
    results: dict[str, list[dict[str, float]]] = {"fp32": [], "bf16": []}
    baseline: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as root:
        for seed in args.seeds:
            for precision in results:
                last, first = train(precision, seed, args, Path(root))
                baseline = baseline or {k: first[f"{k}_real"] for k in KEYS}
                results[precision].append(last)
                print(f"seed {seed} {precision}: " + "  ".join(
                    f"{k} {last[k]:.3f}" for k in KEYS) + f"  ({last['seconds']:.0f} s/epoch)",
                    flush=True)
    print(f"\n{args.epochs} epochs, limit {args.limit or 'all'}, width {args.width}, "
          f"batch {args.batch_size}, "
          f"seeds {args.seeds}, {int(results['fp32'][0]['quality_n'])} images per set")
    print(f"{'':<14}" + "".join(f"{k:>17}" for k in KEYS))
    for precision, rows in results.items():
        cells = []
        for k in KEYS:
            values = [r[k] for r in rows]
            sd = statistics.stdev(values) if len(values) > 1 else 0.0
            cells.append(f"{statistics.mean(values):>9.3f} ± {sd:<5.3f}")
        print(f"{precision:<14}" + "".join(f"{c:>17}" for c in cells))
    print(f"{'real vs real':<14}" + "".join(f"{baseline[k]:>17.3f}" for k in KEYS))


if __name__ == "__main__":
    main()
