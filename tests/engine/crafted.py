"""Run folders and checkpoints written by the tests themselves (no training needed).

Hostile inputs are built from a well-formed run: a config.json, a metrics.jsonl and a
checkpoint saved by the real writer, then mutated by each test.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from aigc_studio.engine import runs
from aigc_studio.engine.checkpoint import save_checkpoint
from aigc_studio.engine.config import TrainConfig
from aigc_studio.engine.trainer import build_networks, inference_key

SMALL = dict(dataset="digits", limit=64, batch_size=32, width=8, latent_dim=16, epochs=2,
             log_every=4, seed=3, device="cpu")


def small_config(**overrides: Any) -> TrainConfig:
    """A tiny valid config (nothing is trained with it unless a test says so)."""
    return TrainConfig(**{**SMALL, **overrides}).validate()  # type: ignore[arg-type]


def config_doc(config: TrainConfig | None = None, **extra: Any) -> dict[str, Any]:
    """What a healthy config.json holds."""
    config = config or small_config()
    return {"app": "aigc-studio", "version": "0.1.0", "created": "2026-11-30T10:00:00",
            "status": "finished", "config": config.to_dict(), **extra}


def metrics_lines(epochs: int = 2, steps_per_epoch: int = 2) -> list[str]:
    """Step and epoch records as a trainer writes them."""
    lines, step = [], 0
    for epoch in range(1, epochs + 1):
        for _ in range(steps_per_epoch):
            step += 1
            lines.append(json.dumps({"kind": "step", "epoch": epoch, "step": step,
                                     "loss_d": 1.2, "loss_g": 0.8, "d_real": 0.6,
                                     "d_fake": 0.4, "images_per_s": 100.0}))
        lines.append(json.dumps({"kind": "epoch", "epoch": epoch, "step": step, "loss_d": 1.2,
                                 "loss_g": 0.8, "seconds": 1.0, "images_per_s": 100.0}))
    return lines


def write_run(root: Path, name: str, *, doc: dict[str, Any] | None = None,
              lines: list[str] | None = None) -> Path:
    """A healthy finished run folder (config.json + metrics.jsonl) under ``root``."""
    run = root / name
    (run / runs.SAMPLES).mkdir(parents=True)
    (run / runs.CHECKPOINTS).mkdir()
    (run / runs.CONFIG).write_text(json.dumps(doc if doc is not None else config_doc()))
    (run / runs.METRICS).write_text("\n".join(lines if lines is not None
                                              else metrics_lines()) + "\n")
    return run


def checkpoint_state(config: TrainConfig | None = None, channels: int = 1,
                     **overrides: Any) -> dict[str, Any]:
    """A full checkpoint's state with freshly initialised networks (what epoch 1 writes,
    minus the training)."""
    config = config or small_config()
    torch.manual_seed(0)
    nets = build_networks(config, channels)
    state: dict[str, Any] = {
        "config": config.to_dict(),
        "models": {k: m.state_dict() for k, m in nets.items()},
        "epoch": 1, "step": 2, "epoch_step": 0, "order": None, "channels": channels,
        "fixed": torch.randn(64, config.latent_dim, 1, 1), "elapsed": 1.0,
        "history": {"epoch": torch.tensor([1.0, 1.0], dtype=torch.float64),
                    "step": torch.tensor([1.0, 2.0], dtype=torch.float64)},
    }
    state.update(overrides)
    return state


def write_checkpoint(run: Path, config: TrainConfig | None = None, **overrides: Any) -> Path:
    """``run/checkpoints/last.pt`` written by the real checkpoint writer."""
    path = runs.last_checkpoint(run)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint(path, checkpoint_state(config, **overrides))
    return path


def generator_key(config: TrainConfig) -> str:
    """The network a checkpoint samples with."""
    return inference_key(config)
