"""Diffusion on digits with the defaults: are the samples digits, and of the class asked for?

Trains ``--model diffusion`` on the bundled digits with the family's defaults (what
``aigc-studio train --model diffusion --dataset digits`` does), or judges ``--run``. Then:

* the confusion table of class-conditional samples (row: class asked for, with the run's
  sampler, steps and guidance; column: the label a small classifier trained on the bundled
  digits gives with p >= 0.5, "?" when none does),
* how many unconditional samples (no class asked for) get a confident label, and which classes,
* sampling speed: images/s of DDIM with 20 steps at batch 64 on this device.

    python benchmarks/diffusion_digits.py [--run RUN] [--per-class 20] [--epochs N]

The last line is the headline figure alone: ``worst-class X.XX``.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "engine")]

import torch  # noqa: E402
from digit_judge import judge, train_judge  # noqa: E402

from aigc_studio.cli import format_duration  # noqa: E402
from aigc_studio.core.datasets import to_unit_range  # noqa: E402
from aigc_studio.engine.config import TrainConfig  # noqa: E402
from aigc_studio.engine.inference import LoadedModel, load_model, sample  # noqa: E402
from aigc_studio.engine.trainer import Trainer  # noqa: E402
from aigc_studio.families import get  # noqa: E402

logging.getLogger("aigc_studio").setLevel(logging.INFO)


def default_config(epochs: int | None) -> TrainConfig:
    """The CLI's config for ``train --model diffusion --dataset digits`` (family defaults)."""
    config = TrainConfig(model="diffusion", dataset="digits")
    for name, value in get("diffusion").defaults.items():
        setattr(config, name, value)
    if epochs is not None:
        config.epochs = epochs
    return config.validate()


def confusion(judge_net: torch.nn.Module, model: LoadedModel, per_class: int,
              confidence: float = 0.5) -> torch.Tensor:
    """(K, K+1) counts: row k = samples asked for class k (seeds 1, 2, ...); column = the
    judge's label with p >= ``confidence``, the last column when no label reaches it."""
    k = model.num_classes
    table = torch.zeros(k, k + 1, dtype=torch.long)
    for cls in range(k):
        images = sample(model, per_class, 1, cls)
        x = torch.from_numpy(images[..., :1].copy()).permute(0, 3, 1, 2)
        with torch.no_grad():
            top, label = judge_net(to_unit_range(x)).softmax(1).max(1)
        label[top < confidence] = k
        table[cls] = torch.bincount(label, minlength=k + 1)
    return table


def sampling_speed(run: Path, batch: int = 64, steps: int = 20) -> float:
    """Images/s of DDIM at ``steps`` steps, batch ``batch``, one class (guided), best of 2."""
    model = load_model(run)
    best = 0.0
    for _ in range(2):
        t0 = time.perf_counter()
        sample(model, batch, 0, 0 if model.num_classes else None, sampler="ddim", steps=steps)
        best = max(best, batch / (time.perf_counter() - t0))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=None)
    parser.add_argument("--epochs", type=int, default=None, help="default: the family's")
    parser.add_argument("--out", type=Path, default=None, help="runs folder (default: the app's)")
    parser.add_argument("--per-class", type=int, default=20)
    args = parser.parse_args()
    run = args.run
    if run is None:
        config = default_config(args.epochs)
        t0 = time.perf_counter()
        run = Trainer(config, runs_root=args.out).fit().run_dir
        print(f"trained in {format_duration(time.perf_counter() - t0)} "
              f"({time.perf_counter() - t0:.0f} s), run {run}", flush=True)
    model = load_model(run)
    net = train_judge()
    table = confusion(net, model, args.per_class)
    unconditional = sample(model, 100, 1000)
    sure, classes = judge(net, unconditional)
    cfg, opts = model.config, model.net.sampling
    print(f"\n## Diffusion on digits: {model.epoch} epochs, width {cfg.width}, batch "
          f"{cfg.batch_size}, seed {cfg.seed}; {opts['sampler']} {opts['steps']} steps, "
          f"guidance {opts['guidance']}; {args.per_class} samples per class\n")
    names = list(model.class_names)
    print("| asked \\ judged | " + " | ".join(names) + " | ? | hit |")
    print("|---" * (len(names) + 3) + "|")
    hits = []
    for k, row in enumerate(table.tolist()):
        hits.append(row[k] / max(sum(row), 1))
        print(f"| **{names[k]}** | " + " | ".join(map(str, row)) + f" | {hits[-1]:.0%} |")
    confident = 1 - table[:, -1].sum().item() / table.sum().item()
    print(f"\nclass-conditional samples with a confident label: {confident:.0%}; "
          f"mean hit rate {sum(hits) / len(hits):.0%}")
    print(f"unconditional samples (no class asked): {sure:.0%} confident, "
          f"{classes} of 10 classes appear")
    print(f"sampling: DDIM 20 steps, batch 64: {sampling_speed(run):.1f} images/s")
    print(f"grid: {sorted((Path(run) / 'samples').glob('epoch_*.png'))[-1]}")
    print(f"worst-class {min(hits):.2f}")


if __name__ == "__main__":
    main()
