"""Training throughput with 1, 2, ... processes of one run (``aigc-studio train --nproc N``).

Each count trains the same short run through the real launcher and CLI (per-rank batch fixed,
so N processes see N times the images per step, as torchrun users expect); images/s is the
median over the epochs after the first (start-up and warm-up excluded), counted over all ranks.

    # this machine (CPU, gloo): correctness, not speed, is the point on 2 shared cores
    python benchmarks/scaling.py
    # a machine with 8 GPUs (NCCL, one GPU per process)
    python benchmarks/scaling.py --device cuda --nproc 1,2,4,8 --limit 0 --batch-size 256 \\
        --image-size 64 --width 64 --epochs 4
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run_once(nproc: int, args: argparse.Namespace, out: Path) -> tuple[float, float]:
    """(median images/s over epochs 2.., wall seconds) of one launched run."""
    cmd = [sys.executable, "-m", "aigc_studio", "train", "--nproc", str(nproc),
           "--model", args.model, "--dataset", args.dataset, "--limit", str(args.limit),
           "--batch-size", str(args.batch_size), "--image-size", str(args.image_size),
           "--width", str(args.width), "--epochs", str(args.epochs), "--eval-samples", "0",
           "--device", args.device, "--out", str(out)]
    started = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL,
                   env={**os.environ, "AIGC_STUDIO_HOME": str(out / "home")})
    wall = time.perf_counter() - started
    (run,) = [p for p in out.iterdir() if p.is_dir() and p.name != "home"]
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    rates = [r["images_per_s"] for r in records if r.get("kind") == "epoch"][1:]
    return statistics.median(rates), wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nproc", default="1,2", help="process counts, e.g. 1,2,4,8")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--model", default="dcgan")
    parser.add_argument("--dataset", default="digits")
    parser.add_argument("--limit", type=int, default=1024, help="images (0: all)")
    parser.add_argument("--batch-size", type=int, default=32, help="per process")
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    counts = [int(n) for n in args.nproc.split(",")]
    print(f"{args.model} on {args.dataset} (limit {args.limit}), {args.device}, batch "
          f"{args.batch_size} per process, {os.cpu_count()} CPUs")
    print(f"{'processes':>9}  {'images/s':>9}  {'vs 1 process':>12}  {'wall s':>7}")
    base = None
    for n in counts:
        with tempfile.TemporaryDirectory(prefix="aigc-scaling-") as tmp:
            rate, wall = run_once(n, args, Path(tmp))
        base = base or rate
        print(f"{n:>9}  {rate:>9.1f}  {rate / base:>11.2f}x  {wall:>7.1f}", flush=True)


if __name__ == "__main__":
    main()
