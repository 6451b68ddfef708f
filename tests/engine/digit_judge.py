"""A small digit classifier trained on the bundled digits: judges generated samples."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from aigc_studio.core.datasets import load_dataset, to_unit_range


def train_judge(size: int = 32, epochs: int = 3, seed: int = 0) -> nn.Module:
    """A LeNet-style classifier; ~98% on held-out bundled digits after a few seconds."""
    torch.manual_seed(seed)
    data = load_dataset("digits", size, seed=seed)
    x, y = to_unit_range(data.images), data.labels
    net = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * (size // 4) ** 2, 64), nn.ReLU(), nn.Linear(64, 10))
    opt = torch.optim.Adam(net.parameters(), 2e-3)
    train_x, train_y = x[:4500], y[:4500]
    for _ in range(epochs):
        perm = torch.randperm(len(train_x))
        for i in range(0, len(perm), 64):
            idx = perm[i:i + 64]
            opt.zero_grad()
            nn.functional.cross_entropy(net(train_x[idx]), train_y[idx]).backward()
            opt.step()
    net.eval()
    with torch.no_grad():
        acc = (net(x[4500:]).argmax(1) == y[4500:]).float().mean().item()
    assert acc > 0.9, f"the judge itself is too weak ({acc:.2f})"
    return net


def judge(net: nn.Module, images_u8: np.ndarray, confidence: float = 0.5
          ) -> tuple[float, int]:
    """(share of samples given one class with probability >= confidence, number of
    distinct confident classes) for uint8 images (N, H, W, 3)."""
    x = torch.from_numpy(images_u8[..., :1].copy()).permute(0, 3, 1, 2)
    with torch.no_grad():
        probs = net(to_unit_range(x)).softmax(1)
    top, cls = probs.max(1)
    sure = top >= confidence
    return float(sure.float().mean()), len(set(cls[sure].tolist()))
