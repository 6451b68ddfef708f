"""Does a VAE with the family's defaults give a readable latent map of the digits?

Trains ``aigc-studio train --model vae`` (defaults only: latent 2, 20 epochs, the whole
bundled digits set) unless a finished run is given, writes ``aigc-studio map`` of it, and
reports how well the map separates the classes: the share of points whose 10 nearest
neighbours on the map mostly share their digit (1.0: every class its own region; about 0.1:
no structure), the share of samples a digit classifier recognises (``digit_judge``) and the
KL and reconstruction loss of the last epoch.

    python benchmarks/vae_latent_map.py [RUN] [--out DIR] [--epochs 20]

The last line is the headline figure alone: ``neighbours X.XX``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "engine")]

from digit_judge import judge, train_judge  # noqa: E402

from aigc_studio.engine import runs  # noqa: E402
from aigc_studio.engine.inference import load_model, sample  # noqa: E402
from aigc_studio.engine.latent_map import build_latent_map, render_map_png  # noqa: E402


def neighbour_agreement(coords: np.ndarray, labels: np.ndarray, k: int = 10) -> float:
    """Share of points whose k nearest neighbours (on the map) mostly carry their label."""
    d = ((coords[:, None, :] - coords[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    near = np.argsort(d, axis=1)[:, :k]
    votes = (labels[near] == labels[:, None]).mean(axis=1)
    return float((votes > 0.5).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", nargs="?", type=Path)
    parser.add_argument("--out", type=Path, default=Path("vae_map_runs"))
    parser.add_argument("--epochs", type=int, default=20)
    args = parser.parse_args()
    run = args.run
    if run is None:
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "aigc_studio", "train", "--model", "vae",
                               "--epochs", str(args.epochs), "--out", str(args.out)],
                              capture_output=True, text=True)
        if done.returncode:
            sys.exit(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed")
        run = Path(done.stdout.strip().splitlines()[-1])
        print(f"trained {run.name} in {time.perf_counter() - start:.0f} s", flush=True)
    lmap = build_latent_map(load_model(run), limit=2000)
    png = render_map_png(lmap, run / "latent_map.png", grid=20)
    last = [r for r in runs.read_metrics(run) if r["kind"] == "epoch"][-1]
    share, classes = judge(train_judge(), sample(load_model(run), 256, seed=1))
    agreement = neighbour_agreement(lmap.coords, lmap.labels)
    print(f"map {png}")
    print(f"epoch {last['epoch']}: loss_recon {last['loss_recon']:.1f}, "
          f"loss_kl {last['loss_kl']:.2f}")
    print(f"samples recognised {share:.1%} ({classes} classes)")
    print(f"neighbours {agreement:.2f}")


if __name__ == "__main__":
    main()
