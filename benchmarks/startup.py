"""Start-up: launch to first paint and to ready-to-train, against a bare ``import torch``.

Runs ``python -m aigc_studio --exit-after-paint`` several times (offscreen unless
QT_QPA_PLATFORM says otherwise); the app reports, from its own process start, when the window
first painted and when PyTorch had loaded and Start became usable. The reference, measured in
the same run, is a process that only does ``import torch, torchvision``.
Targets: first paint < 1.0 s, ready-to-train < 4 s (medians).

    python benchmarks/startup.py [--runs 5]

The last line is the headline figure alone: ``paint_s X``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen"),
           "PYTHONPATH": str(ROOT)}
    paint, ready, torch_import = [], [], []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as home:
            run_env = {**env, "AIGC_STUDIO_HOME": home, "XDG_CONFIG_HOME": home}
            done = subprocess.run([sys.executable, "-m", "aigc_studio", "--exit-after-paint"],
                                  env=run_env, capture_output=True, text=True, timeout=300,
                                  check=True)
        fields = dict(part.split("=") for part in done.stdout.split())
        paint.append(float(fields["painted_since_process_start_s"]))
        ready.append(float(fields["ready_since_process_start_s"]))
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import torch, torchvision"], env=env, check=True)
        torch_import.append(time.perf_counter() - t0)
    med = statistics.median
    print(f"runs {args.runs}  platform {env['QT_QPA_PLATFORM']}")
    print(f"reference: python -c 'import torch, torchvision'  median {med(torch_import):.2f} s "
          f"(spread {min(torch_import):.2f}-{max(torch_import):.2f})")
    print(f"first paint    median {med(paint):.2f} s (spread {min(paint):.2f}-{max(paint):.2f})"
          f"  target < 1.0 s: {'met' if med(paint) < 1.0 else 'MISSED'}")
    print(f"ready to train median {med(ready):.2f} s (spread {min(ready):.2f}-{max(ready):.2f})"
          f"  target < 4 s: {'met' if med(ready) < 4.0 else 'MISSED'}")
    print(f"ratio ready/torch-import {med(ready) / med(torch_import):.2f}")
    print(f"paint_s {med(paint):.2f}")


if __name__ == "__main__":
    main()
