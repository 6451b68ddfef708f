"""Run folders and checkpoints written by the tests themselves (no training needed).

Hostile inputs are built from a well-formed run: a config.json, a metrics.jsonl and a
checkpoint saved by the real writer, then mutated by each test.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

import torch

from aigc_studio.engine import runs
from aigc_studio.engine.checkpoint import save_checkpoint
from aigc_studio.engine.config import TrainConfig

POSIX = os.name == "posix"

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
    nets = config.family.impl.build_networks(config, channels)
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
    return config.family.inference_key


def nested(depth: int) -> str:
    """JSON nested ``depth`` levels deep."""
    return "[" * depth + "]" * depth


def damage_cases(root: Path) -> dict[str, str]:
    """Damaged runs under ``root``: folder name -> a word the damage reason must contain."""
    cases: dict[str, str] = {}

    def doc_with(**config: Any) -> dict[str, Any]:
        doc = config_doc()
        doc["config"].update(config)
        return doc

    write_run(root, "epochs-text", doc=doc_with(epochs="20"))
    cases["epochs-text"] = "--epochs"
    write_run(root, "size-float", doc=doc_with(image_size=32.0))
    cases["size-float"] = "--image-size"
    write_run(root, "lr-bool", doc=doc_with(lr_g=True))
    cases["lr-bool"] = "--lr-g"
    write_run(root, "lr-huge", doc=None)
    text = (root / "lr-huge" / runs.CONFIG).read_text().replace('"lr_g": 0.0002',
                                                                 '"lr_g": 1e400')
    (root / "lr-huge" / runs.CONFIG).write_text(text)
    cases["lr-huge"] = "out of range"
    write_run(root, "created-number", doc=config_doc(created=12))
    cases["created-number"] = "created"
    lines = metrics_lines()
    lines[1] = lines[1].replace('"epoch": 1', '"epoch": "1"')
    write_run(root, "epoch-text", lines=lines)
    cases["epoch-text"] = "epoch is '1'"
    lines = metrics_lines()
    lines[0] = lines[0].replace('"loss_d": 1.2', '"loss_d": null')
    write_run(root, "loss-null", lines=lines)
    cases["loss-null"] = "loss_d is None"
    lines = metrics_lines()
    lines[0] = lines[0].replace('"loss_d": 1.2', '"loss_d": 1e400')
    write_run(root, "loss-inf", lines=lines)
    cases["loss-inf"] = "out of range"
    lines = metrics_lines()
    lines[0] = lines[0].replace('"loss_d": 1.2', '"loss_d": NaN')
    write_run(root, "loss-nan", lines=lines)
    cases["loss-nan"] = "NaN"
    write_run(root, "config-deep")
    (root / "config-deep" / runs.CONFIG).write_text(nested(100_000))
    cases["config-deep"] = "nested deeper"
    lines = metrics_lines()
    lines.insert(1, nested(100_000))
    write_run(root, "metrics-deep", lines=lines)
    cases["metrics-deep"] = "nested deeper"
    write_run(root, "metrics-folder")
    (root / "metrics-folder" / runs.METRICS).unlink()
    (root / "metrics-folder" / runs.METRICS).mkdir()
    cases["metrics-folder"] = "a folder"
    write_run(root, "config-list", doc=None)
    (root / "config-list" / runs.CONFIG).write_text("[1, 2]")
    cases["config-list"] = "not an AIGC Studio run config"
    write_run(root, "huge-int")
    (root / "huge-int" / runs.CONFIG).write_text('{"config": {"epochs": ' + "9" * 5000 + "}}")
    cases["huge-int"] = "corrupt"
    if POSIX:
        write_run(root, "metrics-loop")
        (root / "metrics-loop" / runs.METRICS).unlink()
        os.symlink(runs.METRICS, root / "metrics-loop" / runs.METRICS)
        cases["metrics-loop"] = "cannot be read"
        write_run(root, "config-fifo")
        (root / "config-fifo" / runs.CONFIG).unlink()
        os.mkfifo(root / "config-fifo" / runs.CONFIG)
        cases["config-fifo"] = "FIFO"
        write_run(root, "metrics-fifo")
        (root / "metrics-fifo" / runs.METRICS).unlink()
        os.mkfifo(root / "metrics-fifo" / runs.METRICS)
        cases["metrics-fifo"] = "FIFO"
    return cases


MUTATIONS = ("truncate", "type", "nest", "fifo", "folder", "loop", "empty", "binary", "huge",
             "drop")


def mutate(run: Path, rng: random.Random, kind: str) -> None:
    """Damage one file of ``run`` in the way ``kind`` says (types, truncation, nesting,
    file kinds)."""
    name = rng.choice([runs.CONFIG, runs.METRICS, "checkpoints/last.pt"])
    path = run / name
    if path.is_symlink() or (path.exists() and not path.is_file()):
        return  # already mutated into another kind of file
    if kind == "truncate" and path.is_file():
        data = path.read_bytes()
        path.write_bytes(data[: rng.randrange(max(len(data), 1))])
    elif kind == "type" and name != "checkpoints/last.pt" and path.is_file():
        text = path.read_text()
        swaps = [('"epochs": 2', '"epochs": "2"'), ('"loss_d": 1.2', '"loss_d": null'),
                 ('"step": 1,', '"step": -1,'), ('"epoch": 1', '"epoch": 1.5'),
                 ('"model": "dcgan"', '"model": ["dcgan"]'), ('"width": 8', '"width": 1e400'),
                 ('"config": {', '"config": [{'), ('"kind": "step"', '"kind": 7')]
        old, new = rng.choice(swaps)
        path.write_text(text.replace(old, new))
    elif kind == "nest":
        path.write_text(nested(rng.choice([40, 1000, 100_000])))
    elif kind == "fifo" and POSIX:
        path.unlink(missing_ok=True)
        os.mkfifo(path)
    elif kind == "folder":
        path.unlink(missing_ok=True)
        path.mkdir()
    elif kind == "loop" and POSIX:
        path.unlink(missing_ok=True)
        os.symlink(path.name, path)
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "binary":
        path.write_bytes(bytes(rng.randrange(256) for _ in range(512)))
    elif kind == "huge" and name == runs.METRICS:
        path.write_text('{"kind": "step", "step": 1, "loss_d": ' + "1" * 100_000 + "}\n" * 2)
    elif kind == "drop":
        path.unlink(missing_ok=True)


