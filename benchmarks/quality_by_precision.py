"""Does bf16 training cost sample quality? fp32 against bf16 for every family and GAN loss.

Each case (a family, with a loss for the DCGAN) trains on the bundled digits with
``--precision fp32`` and ``--precision bf16`` (the fast path on both, so only the precision
differs) for each seed. The last epoch's weights are then scored the way training scores them
(``metrics/sample_quality.py``: Fréchet LeNet distance, precision, recall, density, coverage, on
the images of latent seeds 0..n-1), plus the share of those images that a digit classifier
trained on the bundled data labels with p >= 0.5 (``tests/engine/digit_judge.py``). Families
that encode are also scored on reconstruction: mean PSNR and SSIM over all 5,000 digits.

A case is ``MODEL[:LOSS][@EPOCHS]`` (``dcgan:hinge``, ``diffusion@5``). Every run appends one
JSON line to ``--out``; ``--table FILE...`` prints the summary of such files (runs made by
several processes side by side, one thread each, land in one table):

    python benchmarks/quality_by_precision.py --cases dcgan dcgan:hinge --seeds 0 1 2 \\
        --limit 2000 --width 32 --out q.jsonl
    python benchmarks/quality_by_precision.py --table q.jsonl
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "engine")]

from digit_judge import judge, train_judge  # noqa: E402

from aigc_studio.core.datasets import load_dataset, to_unit_range  # noqa: E402
from aigc_studio.core.grid import to_uint8_images  # noqa: E402
from aigc_studio.core.metrics import psnr, ssim  # noqa: E402
from aigc_studio.core.quality import mean_psnr  # noqa: E402
from aigc_studio.engine import runs  # noqa: E402
from aigc_studio.engine.config import TrainConfig  # noqa: E402
from aigc_studio.engine.inference import load_model  # noqa: E402
from aigc_studio.engine.trainer import Trainer  # noqa: E402
from aigc_studio.metrics.sample_quality import generate, prepare_reference  # noqa: E402

logging.getLogger("aigc_studio").setLevel(logging.ERROR)  # early-epoch warnings are noise here
PRECISIONS = ("fp32", "bf16")
SCORES = ("fld", "precision", "recall", "density", "coverage", "recognised", "psnr", "ssim")


def parse_case(text: str) -> tuple[str, dict[str, Any], int | None]:
    """``dcgan:hinge@5`` -> ("dcgan", {"loss": "hinge"}, 5)."""
    body, _, epochs = text.partition("@")
    model, _, loss = body.partition(":")
    return model, ({"loss": loss} if loss else {}), int(epochs) if epochs else None


def train(case: str, precision: str, seed: int, args: argparse.Namespace, root: Path) -> Path:
    """The run folder of one training run (the model's own defaults, then the sizes given)."""
    model, extras, epochs = parse_case(case)
    config = TrainConfig.defaults_for(model, extras)
    sizes = {"dataset": "digits", "epochs": epochs or args.epochs, "limit": args.limit,
             "seed": seed, "precision": precision, "device": "cpu", "eval_samples": 0}
    if args.width:
        sizes["width"] = args.width
    for name, value in sizes.items():
        setattr(config, name, value)
    end = Trainer(config.validate(), runs_root=root).fit()
    assert end.run_dir is not None
    return end.run_dir


def score(run_dir: Path, judge_net: torch.nn.Module, n: int) -> dict[str, float]:
    """The last epoch's scores: sample quality for a sampler, reconstruction for an encoder."""
    model = load_model(run_dir)
    out: dict[str, float] = {}
    data = load_dataset("digits", model.config.image_size, seed=model.config.seed)
    if model.capabilities.samples:
        reference = prepare_reference(data, n, "digits")
        images = generate(model.family.impl, model.net, model.latent_dim, reference.n,
                          model.num_classes, torch.device("cpu"))
        out.update(reference.score(images))
        out["recognised"] = judge(judge_net, to_uint8_images(images.numpy()))[0]
    if model.capabilities.encodes:
        x = to_unit_range(data.images)
        with torch.no_grad():
            recon = torch.cat([model.family.impl.reconstruct(model.net, x[i:i + 256]).float()
                               for i in range(0, len(x), 256)])
        originals, rebuilt = to_uint8_images(x.numpy()), to_uint8_images(recon.numpy())
        pairs = list(zip(originals, rebuilt, strict=True))
        out["psnr"] = mean_psnr(psnr(o, r) for o, r in pairs)
        out["ssim"] = float(np.mean([ssim(o, r) for o, r in pairs]))
    return out


def run(args: argparse.Namespace) -> None:
    judge_net = train_judge()
    with tempfile.TemporaryDirectory() as root:
        for case in args.cases:
            for seed in args.seeds:
                for precision in PRECISIONS:
                    started = time.perf_counter()
                    run_dir = train(case, precision, seed, args, Path(root))
                    trained = time.perf_counter() - started
                    epochs = [r for r in runs.read_metrics(run_dir) if r.get("kind") == "epoch"]
                    record = {"case": case, "dtype": precision, "seed": seed,
                              "limit": args.limit, "width": args.width,
                              "epochs": len(epochs), "n": args.n, "train_s": round(trained, 1),
                              "images_per_s": statistics.mean(e["images_per_s"]
                                                              for e in epochs),
                              **score(run_dir, judge_net, args.n)}
                    print(json.dumps(record), flush=True)
                    with open(args.out, "a", encoding="utf-8") as stream:
                        stream.write(json.dumps(record) + "\n")


def table(files: list[Path]) -> None:
    """Mean ± sd per case and precision over seeds, and the bf16 - fp32 gap per score."""
    records = [json.loads(line) for f in files for line in f.read_text().splitlines() if line]
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in records:
        groups.setdefault((r["case"], r["dtype"]), []).append(r)
    shown = [k for k in SCORES if any(k in r for r in records)]
    print("| case | training | seeds | " + " | ".join(shown) + " | images/s |")
    print("|---|---|---|" + "---|" * (len(shown) + 1))
    for (case, precision), rows in sorted(groups.items()):
        cells = []
        for key in shown:
            values = [r[key] for r in rows if key in r]
            if not values:
                cells.append("")
                continue
            sd = statistics.stdev(values) if len(values) > 1 else 0.0
            cells.append(f"{statistics.mean(values):.3f} ± {sd:.3f}")
        rate = statistics.mean(r["images_per_s"] for r in rows)
        seeds = ",".join(str(r["seed"]) for r in sorted(rows, key=lambda r: r["seed"]))
        print(f"| {case} | {precision} | {seeds} | " + " | ".join(cells) + f" | {rate:.0f} |")
    print("\nbf16 - fp32 (mean over seeds; sd of fp32 seeds in brackets):")
    for case in sorted({c for c, _ in groups}):
        fp32, bf16 = groups.get((case, "fp32"), []), groups.get((case, "bf16"), [])
        if not fp32 or not bf16:
            continue
        parts = []
        for key in shown:
            a, b = [r[key] for r in fp32 if key in r], [r[key] for r in bf16 if key in r]
            if a and b:
                sd = statistics.stdev(a) if len(a) > 1 else 0.0
                parts.append(f"{key} {statistics.mean(b) - statistics.mean(a):+.3f} ({sd:.3f})")
        print(f"- {case}: " + ", ".join(parts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+",
                        default=["dcgan", "dcgan:hinge", "dcgan:wgan-gp", "vae", "autoencoder",
                                 "diffusion"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--limit", type=int, default=0, help="training images (0: all 5,000)")
    parser.add_argument("--width", type=int, default=0, help="0: each family's default")
    parser.add_argument("--n", type=int, default=1000, help="images per scored set")
    parser.add_argument("--out", type=Path, default=Path("quality_by_precision.jsonl"))
    parser.add_argument("--table", type=Path, nargs="+", help="summarise these result files")
    args = parser.parse_args()
    if args.table:
        table(args.table)
    else:
        run(args)


if __name__ == "__main__":
    main()
