"""Latent-explorer update latency: one slider move to pixels, against a bare generator forward.

Trains (or opens) a 32x32 DCGAN, then times ``Explorer.render`` for a sequence of slider moves
(a latent axis and a principal direction changing every update, as a drag does) and, as the
reference measured in the same run, the bare ``generator(z)`` forward of one latent. Target:
one update under 30 ms on this CPU.

    python benchmarks/explorer_latency.py [--run RUN_OR_CHECKPOINT] [--updates 300]

The last line is the headline figure alone: ``p99_ms X``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch
from _stats import percentile  # the benchmarks folder is the script's own

from aigc_studio.engine.config import TrainConfig
from aigc_studio.engine.explore import Explorer, RenderRequest
from aigc_studio.engine.inference import load_model
from aigc_studio.engine.trainer import Trainer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=None, help="a DCGAN run or checkpoint")
    parser.add_argument("--updates", type=int, default=300)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        run = args.run
        if run is None:  # the seed model's size (32x32x1, width 64, latent 100), one epoch
            config = TrainConfig(dataset="digits", epochs=1, limit=1024)
            run = Trainer(config, runs_root=Path(tmp)).fit().run_dir
        explorer = Explorer(load_model(run))
        explorer.directions()  # computed once when a model opens, not per update
        net, dim = explorer.model.net, explorer.latent_dim
        z = torch.randn(1, dim, 1, 1)
        for _ in range(20):  # warm-up both paths
            with torch.no_grad():
                net(z)
            explorer.render(RenderRequest(seed=1))
        ref, upd = [], []
        for i in range(args.updates):
            t0 = time.perf_counter()
            with torch.no_grad():
                net(z)
            ref.append((time.perf_counter() - t0) * 1000)
            request = RenderRequest(seed=7, offsets=((i % dim, (i % 61) / 10 - 3),),
                                    pca=((i % 8, ((i * 7) % 61) / 10 - 3),), serial=i)
            t0 = time.perf_counter()
            explorer.render(request)
            upd.append((time.perf_counter() - t0) * 1000)
    print(f"threads {torch.get_num_threads()}  updates {args.updates}  model {run}")
    print(f"reference generator forward: p50 {statistics.median(ref):.2f} ms  "
          f"p99 {percentile(ref, 99):.2f} ms")
    print(f"explorer update (latents + decode + uint8): p50 {statistics.median(upd):.2f} ms  "
          f"p99 {percentile(upd, 99):.2f} ms  max {max(upd):.2f} ms")
    print(f"ratio update/reference (p50) {statistics.median(upd) / statistics.median(ref):.2f}"
          f"  target p99 < 30 ms: {'met' if percentile(upd, 99) < 30 else 'MISSED'}")
    print(f"p99_ms {percentile(upd, 99):.2f}")


if __name__ == "__main__":
    main()
