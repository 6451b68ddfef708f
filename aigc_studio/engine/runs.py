"""The run store: one folder per run, readable without torch (the window lists runs at once).

Layout::

    RUN/config.json        what was asked for, the data set, the device (written atomically)
    RUN/metrics.jsonl      one JSON object per logged step, per epoch, per event
    RUN/samples/epoch_0001.png
    RUN/checkpoints/last.pt, checkpoints/epoch_0001.safetensors
    RUN/train.log
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

from aigc_studio import __version__
from aigc_studio import metrics as quality_metrics
from aigc_studio.core.atomic import atomic_write_bytes, clean_temp_files
from aigc_studio.engine.config import ConfigError, TrainConfig
from aigc_studio.errors import RunError
from aigc_studio.paths import default_runs_root

__all__ = [
    "RunInfo",
    "create_run_dir",
    "default_runs_root",
    "last_checkpoint",
    "list_runs",
    "load_run_config",
    "read_metrics",
    "read_run",
    "sample_paths",
]

CONFIG = "config.json"
METRICS = "metrics.jsonl"
SAMPLES = "samples"
CHECKPOINTS = "checkpoints"
LAST = "last.pt"
LOG = "train.log"


@dataclass
class RunInfo:
    """A summary of one run folder, for listings (damaged runs carry the reason)."""

    path: Path
    name: str
    model: str = "?"
    dataset: str = "?"
    epochs_done: int = 0
    epochs_planned: int = 0
    last_metrics: dict[str, float] = field(default_factory=dict)
    created: str = ""
    damaged: str | None = None
    has_checkpoint: bool = False
    status: str = ""
    best: tuple[str, float, int] | None = None  # (score key, value, epoch): best sample quality


def is_run_dir(path: Path) -> bool:
    """A folder that looks like a run (has a config or metrics file)."""
    return path.is_dir() and ((path / CONFIG).exists() or (path / METRICS).exists())


def create_run_dir(root: Path, config: TrainConfig, extra: dict[str, Any]) -> Path:
    """Make a fresh run folder ``YYYYmmdd-HHMMSS-model-dataset`` and write its config.json."""
    root = Path(root).expanduser()
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunError(f"Cannot create the runs folder {root} ({exc.strerror}).") from None
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", Path(config.dataset).name or "data").strip("-")
    base = f"{stamp}-{config.model}-{slug[:40] or 'data'}"
    for i in range(1, 1000):
        run_dir = root / (base if i == 1 else f"{base}-{i}")
        try:
            run_dir.mkdir()
            break
        except FileExistsError:
            continue
        except OSError as exc:
            raise RunError(f"Cannot create a run folder in {root} ({exc.strerror}).") from None
    else:  # pragma: no cover - a thousand runs in one second
        raise RunError(f"Cannot find a free run folder name in {root}.")
    (run_dir / SAMPLES).mkdir()
    (run_dir / CHECKPOINTS).mkdir()
    write_run_config(run_dir, config, {"created": datetime.now().isoformat(timespec="seconds"),
                                       "run_id": uuid4().hex, **extra})
    return run_dir


def write_run_config(run_dir: Path, config: TrainConfig, extra: dict[str, Any]) -> None:
    """(Re)write config.json atomically, keeping what the run recorded before."""
    doc: dict[str, Any] = {}
    with contextlib.suppress(RunError):
        doc = _read_config_doc(run_dir)
    doc.update({"app": "aigc-studio", "version": __version__, **extra,
                "config": config.to_dict()})
    atomic_write_bytes(run_dir / CONFIG, json.dumps(doc, indent=2).encode())


def _read_config_doc(run_dir: Path) -> dict[str, Any]:
    path = Path(run_dir) / CONFIG
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunError(f"{path} is missing.") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RunError(f"{path} is corrupt ({exc}).") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("config"), dict):
        raise RunError(f"{path} is not an AIGC Studio run config.")
    return doc


def read_run_doc(run_dir: Path) -> dict[str, Any]:
    """The whole config.json document (config plus data set and device details)."""
    return _read_config_doc(run_dir)


def load_run_config(run_dir: Path) -> TrainConfig:
    """The run's TrainConfig; RunError naming the file when missing or damaged."""
    doc = _read_config_doc(run_dir)
    try:
        return TrainConfig.from_dict(doc["config"])
    except ConfigError as exc:
        raise RunError(f"{Path(run_dir) / CONFIG} holds an invalid config: {exc}") from None


def read_metrics(run_dir: Path, *, strict: bool = False) -> list[dict[str, Any]]:
    """All records of metrics.jsonl; a partly written last line (a live or killed run) is
    ignored, a damaged line elsewhere raises RunError when ``strict``."""
    path = Path(run_dir) / METRICS
    try:
        lines = path.read_bytes().split(b"\n")
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise RunError(f"{path} cannot be read ({exc.strerror}).") from None
    records = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise ValueError("not an object")
        except (ValueError, UnicodeDecodeError):
            if number >= len(lines) - 1:  # the line being written right now
                continue
            if strict:
                raise RunError(f"{path} is corrupt at line {number}.") from None
            continue
        records.append(record)
    return records


def append_metrics(run_dir: Path, records: list[dict[str, Any]]) -> None:
    """Append records to metrics.jsonl in one write (a reader sees whole lines)."""
    if not records:
        return
    data = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records).encode()
    with open(Path(run_dir) / METRICS, "ab") as handle:
        handle.write(data)
        handle.flush()


def truncate_metrics(run_dir: Path, step: int) -> None:
    """Keep only records up to global ``step`` (for a resume from a checkpoint at that step)."""
    kept = [r for r in read_metrics(run_dir) if int(r.get("step", 0)) <= step]
    data = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in kept).encode()
    atomic_write_bytes(Path(run_dir) / METRICS, data)


def sample_paths(run_dir: Path) -> list[Path]:
    """Sample grids ``samples/epoch_NNNN.png`` in epoch order."""
    return sorted((Path(run_dir) / SAMPLES).glob("epoch_[0-9][0-9][0-9][0-9]*.png"))


def sample_path(run_dir: Path, epoch: int) -> Path:
    """Where the grid of ``epoch`` is written."""
    return Path(run_dir) / SAMPLES / f"epoch_{epoch:04d}.png"


def epoch_weights_path(run_dir: Path, epoch: int) -> Path:
    """Where the model weights after ``epoch`` are written."""
    return Path(run_dir) / CHECKPOINTS / f"epoch_{epoch:04d}.safetensors"


def epoch_weights(run_dir: Path) -> list[Path]:
    """Per-epoch weight files in epoch order."""
    return sorted((Path(run_dir) / CHECKPOINTS).glob("epoch_[0-9][0-9][0-9][0-9].safetensors"))


def last_checkpoint(run_dir: Path) -> Path:
    """The full checkpoint a resume starts from."""
    return Path(run_dir) / CHECKPOINTS / LAST


def clean_run_temp_files(run_dir: Path) -> list[Path]:
    """Remove temp files a killed writer left in the run folder."""
    run_dir = Path(run_dir)
    removed = []
    for folder in (run_dir, run_dir / CHECKPOINTS, run_dir / SAMPLES):
        removed += clean_temp_files(folder)
    return removed


def read_run(path: Path) -> RunInfo:
    """Summarise a run folder; never raises for a damaged run (it is marked instead)."""
    path = Path(path)
    info = RunInfo(path=path, name=path.name, has_checkpoint=last_checkpoint(path).exists())
    try:
        doc = _read_config_doc(path)
        cfg = TrainConfig.from_dict(doc["config"])
    except (RunError, ConfigError) as exc:
        info.damaged = str(exc)
        return info
    info.model, info.dataset, info.epochs_planned = cfg.model, cfg.dataset, cfg.epochs
    info.created = str(doc.get("created", ""))
    info.status = str(doc.get("status", ""))
    try:
        records = read_metrics(path, strict=True)
    except RunError as exc:
        info.damaged = str(exc)
        records = read_metrics(path)
    epochs = [r for r in records if r.get("kind") == "epoch"]
    if epochs:
        info.epochs_done = int(epochs[-1].get("epoch", 0))
        info.best = quality_metrics.best_of(epochs)
    steps = [r for r in records if r.get("kind") == "step"]
    if steps:
        info.last_metrics = metric_values(steps[-1])
    return info


RECORD_KEYS = frozenset({"kind", "epoch", "step", "images_per_s", "seconds", "event", "message"})


def metric_values(record: dict[str, Any]) -> dict[str, float]:
    """The metrics of one record: every number that is not bookkeeping (open metrics)."""
    return {k: float(v) for k, v in record.items()
            if k not in RECORD_KEYS and isinstance(v, (int, float)) and not isinstance(v, bool)}


def list_runs(root: Path | None = None) -> list[RunInfo]:
    """Every run folder directly under ``root``, newest first; damaged ones included."""
    root = Path(root) if root is not None else default_runs_root()
    if not root.is_dir():
        return []
    runs = [read_run(p) for p in root.iterdir() if is_run_dir(p)]
    return sorted(runs, key=lambda r: (r.created or "", r.name), reverse=True)
