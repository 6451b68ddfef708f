"""Sample quality of finished digit runs: does a training path (bf16, a CUDA graph) cost any?

A small classifier trained on the bundled digits (``tests/engine/digit_judge.py``) looks at
256 samples from each run's weights after the given epochs (same latent seed for every run)
and reports the share it recognises as one digit with p >= 0.5, and how many classes appear.
Compare runs that differ only in their training path (``--precision``, ``--no-fast``).

    python benchmarks/sample_quality.py RUN [RUN ...] [--epochs 10 20]

The last line is the headline figure alone: ``recognised X.XX`` (the first run, last epoch).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "engine")]

from digit_judge import judge, train_judge  # noqa: E402

from aigc_studio.engine import runs  # noqa: E402
from aigc_studio.engine.inference import load_model, sample  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--epochs", nargs="+", type=int, default=[])
    parser.add_argument("--samples", type=int, default=256)
    args = parser.parse_args()
    judge_net = train_judge()
    headline = None
    for run in args.runs:
        doc = json.loads((run / runs.CONFIG).read_text())
        available = {int(p.stem.split("_")[-1]): p for p in runs.epoch_weights(run)}
        epochs = [e for e in args.epochs if e in available] or [max(available)]
        for epoch in epochs:
            share, classes = judge(judge_net, sample(load_model(available[epoch]),
                                                     args.samples, seed=1))
            how = f"{doc.get('device')} · {doc.get('acceleration') or 'not recorded'}"
            print(f"{run.name}  [{how}]  epoch {epoch:3d}: {share:6.1%} recognised, "
                  f"{classes} classes", flush=True)
            if headline is None or run == args.runs[0]:
                headline = share
    print(f"recognised {headline:.2f}")


if __name__ == "__main__":
    main()
