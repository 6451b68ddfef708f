"""Where the time of a run goes: start-up, training steps, and the work at each epoch's end.

start-up: from the call to the first step's set-up (data, networks, acceleration plan);
steps: the epochs' step time as the trainer measures it; epoch end: everything else (grid,
weights, the quality metric's reference and per-epoch scores, checkpoint). The quality
metric's own share is timed separately.

    python benchmarks/end_to_end.py [--epochs 2] [--limit 1000] [--width 16] [--eval-samples N]
"""

from __future__ import annotations

import argparse
import functools
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aigc_studio.engine.callbacks import EpochResult, RunStarted, TrainingCallback  # noqa: E402
from aigc_studio.engine.config import TrainConfig  # noqa: E402
from aigc_studio.engine.trainer import Trainer  # noqa: E402
from aigc_studio.metrics.sample_quality import SampleQuality  # noqa: E402

METRIC_SECONDS: dict[str, float] = {"start": 0.0, "compute": 0.0}


def _timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            METRIC_SECONDS[name] += time.perf_counter() - t0

    return run


class Clock(TrainingCallback):
    """Timestamps of the run's start and epoch ends."""

    def __init__(self) -> None:
        self.started = 0.0
        self.step_seconds = 0.0

    def on_start(self, info: RunStarted) -> None:
        self.started = time.perf_counter()

    def on_epoch_end(self, result: EpochResult) -> None:
        self.step_seconds += result.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--limit", type=int, default=1000)
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--eval-samples", type=int, default=None)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    SampleQuality.start = _timed("start", SampleQuality.start)  # type: ignore[method-assign]
    SampleQuality.compute = _timed("compute", SampleQuality.compute)  # type: ignore[method-assign]
    cfg = TrainConfig(dataset="digits", epochs=args.epochs, limit=args.limit, width=args.width,
                      device=args.device)
    if args.eval_samples is not None:
        cfg.eval_samples = args.eval_samples
    clock = Clock()
    with tempfile.TemporaryDirectory() as root:
        t0 = time.perf_counter()
        trainer = Trainer(cfg.validate(), runs_root=Path(root), callbacks=[clock])
        trainer.fit()
        total = time.perf_counter() - t0
    startup = clock.started - t0
    epoch_end = total - startup - clock.step_seconds
    metric = METRIC_SECONDS["start"] + METRIC_SECONDS["compute"]
    print(f"{args.epochs} epochs of {len(trainer.data)} digits, width {args.width}, "
          f"eval-samples {cfg.eval_samples}, {trainer.device_label}")
    for label, seconds in (("start-up", startup), ("steps", clock.step_seconds),
                           ("epoch end", epoch_end), ("  of which quality metric", metric),
                           ("total", total)):
        print(f"{label:<28} {seconds:8.2f} s {100 * seconds / total:6.1f} %")
    print(f"quality metric: start {METRIC_SECONDS['start']:.2f} s, "
          f"compute {METRIC_SECONDS['compute'] / args.epochs:.2f} s per epoch")


if __name__ == "__main__":
    main()
