"""Train the bundled digit classifier whose features the quality metrics use (LeNet-5).

Reproducible: seeded, CPU, single-threaded maths order, under a minute. 500 of the 5,000 bundled
digits are held out for the stated accuracy, which is saved in the weights' metadata with the
seed and this script's version. Run from the repository root::

    .venv/bin/python scripts/train_feature_classifier.py
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

from aigc_studio.core.datasets import load_dataset, to_unit_range
from aigc_studio.metrics.features import LeNet5, lenet_path

SCRIPT_VERSION = "1"
HELD_OUT = 500


def train(seed: int, epochs: int) -> tuple[LeNet5, float]:
    """The trained network and its accuracy on the held-out digits."""
    torch.manual_seed(seed)
    data = load_dataset("digits", 32)
    assert data.images is not None
    order = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed))
    test, train_idx = order[:HELD_OUT], order[HELD_OUT:]
    x, y = to_unit_range(data.images), data.labels
    net = LeNet5()
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    batches = torch.Generator().manual_seed(seed + 1)
    for _ in range(epochs):
        perm = train_idx[torch.randperm(len(train_idx), generator=batches)]
        for idx in perm.split(64):
            # small shifts make the features robust to the slightly off-centre digits a GAN draws
            shift = torch.randint(-2, 3, (2,), generator=batches).tolist()
            xb = torch.roll(x[idx], shifts=shift, dims=(2, 3))
            loss = F.cross_entropy(net(xb), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    net.eval()
    with torch.no_grad():
        accuracy = (net(x[test]).argmax(1) == y[test]).float().mean().item()
    return net, accuracy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--out", type=Path, default=lenet_path())
    args = parser.parse_args()
    torch.set_num_threads(1)  # one thread: the same floating-point order on every machine
    start = time.perf_counter()
    net, accuracy = train(args.seed, args.epochs)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"accuracy": f"{accuracy:.4f}", "held_out": str(HELD_OUT), "seed": str(args.seed),
            "epochs": str(args.epochs), "script": "scripts/train_feature_classifier.py",
            "script_version": SCRIPT_VERSION, "torch": torch.__version__}
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(args.out),
              metadata=meta)
    print(f"held-out accuracy {accuracy:.2%} on {HELD_OUT} digits; "
          f"{time.perf_counter() - start:.1f} s; wrote {args.out} "
          f"({args.out.stat().st_size / 1024:.0f} KB)")


if __name__ == "__main__":
    main()
