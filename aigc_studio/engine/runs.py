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
import logging
import math
import os
import re
import stat
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

from aigc_studio import __version__
from aigc_studio import metrics as quality_metrics
from aigc_studio.core.atomic import atomic_write_bytes, clean_temp_files
from aigc_studio.core.safe_read import (
    SafeReadError,
    display,
    loads_limited,
    read_json_file,
    read_regular_bytes,
)
from aigc_studio.engine import integrity, runlock
from aigc_studio.engine.config import ConfigError, TrainConfig
from aigc_studio.errors import RunError
from aigc_studio.paths import default_runs_root

log = logging.getLogger(__name__)

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

MAX_CONFIG_BYTES = 1 << 20  # a config.json is a few kB
MAX_METRICS_BYTES = 512 << 20  # about three million step records
MAX_COUNT = 10**12  # steps and epochs beyond this are not real
# keys whose value must be a number when present (any other number must be finite too)
METRIC_KEYS = ("loss_d", "loss_g", "d_real", "d_fake", "loss_recon", "seconds", "images_per_s",
               "lr_g", "lr_d")


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
    status: str = ""  # running (a live writer holds the lock), interrupted, stopped, ...
    writer: str = ""  # who writes the run while it is running ("process 1234 (since ...)")
    best: tuple[str, float, int] | None = None  # (score key, value, epoch): best sample quality


def is_run_dir(path: Path) -> bool:
    """A folder that looks like a run (has a config or metrics file of any kind)."""
    try:
        if not stat.S_ISDIR(os.stat(path).st_mode):
            return False
    except OSError:
        return False
    for name in (CONFIG, METRICS):
        with contextlib.suppress(OSError):
            os.lstat(Path(path) / name)  # a FIFO or a symlink loop is still "there"
            return True
    return False


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
        doc = read_json_file(path, MAX_CONFIG_BYTES)
    except FileNotFoundError:
        raise RunError(f"{display(path)} is missing.") from None
    except SafeReadError as exc:
        raise RunError(f"{display(path)} {exc}.") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("config"), dict):
        raise RunError(f"{display(path)} is not an AIGC Studio run config.")
    for key in ("created", "status", "app", "version"):
        if key in doc and not isinstance(doc[key], str):
            raise RunError(f"{display(path)} is corrupt ({key} is "
                           f"{type(doc[key]).__name__}, not text).")
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
        raise RunError(f"{display(Path(run_dir) / CONFIG)} holds an invalid config: {exc}") \
            from None


def record_problem(record: object) -> str | None:
    """Why a metrics record cannot be used (wrong types, non-finite numbers), or None."""
    if not isinstance(record, dict):
        return "not a JSON object"
    if "kind" in record and not isinstance(record["kind"], str):
        return "kind is not text"
    for key in ("step", "epoch"):
        if key in record:
            value = record[key]
            if isinstance(value, bool) or not isinstance(value, int) \
                    or not 0 <= value <= MAX_COUNT:
                return f"{key} is {value!r:.40}, not a whole number from 0 to {MAX_COUNT}"
    for key, value in record.items():  # metrics are open: every number must be finite
        numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
        if (key in METRIC_KEYS and not numeric) or (numeric and not math.isfinite(value)):
            return f"{key} is {value!r:.40}, not a finite number"
    for key in ("event", "message"):
        if key in record and not isinstance(record[key], str):
            return f"{key} is not text"
    return None


def _metrics_lines(run_dir: Path) -> list[bytes]:
    path = Path(run_dir) / METRICS
    try:
        return read_regular_bytes(path, MAX_METRICS_BYTES).split(b"\n")
    except FileNotFoundError:
        return []
    except SafeReadError as exc:
        raise RunError(f"{display(path)} {exc}.") from None


def _parse_lines(lines: list[bytes]) -> list[tuple[int, dict[str, Any] | None, str | None]]:
    """(line number, record or None, problem) for every non-blank line but a partly
    written last one (a live or killed writer)."""
    out: list[tuple[int, dict[str, Any] | None, str | None]] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = loads_limited(line)
        except SafeReadError as exc:
            if number >= len(lines) - 1:
                continue  # the line being written right now
            out.append((number, None, str(exc)))
            continue
        problem = record_problem(record)
        out.append((number, record if problem is None else None, problem))
    return out


def read_metrics(run_dir: Path, *, strict: bool = False) -> list[dict[str, Any]]:
    """All valid records of metrics.jsonl; a partly written last line (a live or killed run)
    is ignored, a damaged line elsewhere raises RunError when ``strict`` (skipped otherwise).
    A file that cannot be read at all (a FIFO, a folder, over the size cap) always raises."""
    path = Path(run_dir) / METRICS
    records = []
    for number, record, problem in _parse_lines(_metrics_lines(run_dir)):
        if record is None:
            if strict:
                raise RunError(f"{display(path)} is corrupt at line {number} ({problem}).")
            continue
        records.append(record)
    return records


def read_metrics_or_empty(run_dir: Path) -> list[dict[str, Any]]:
    """read_metrics for a view that polls: a file that cannot be read gives no records
    (the list and the opened run say why) instead of an exception in a timer."""
    try:
        return read_metrics(run_dir)
    except RunError:
        return []


def append_metrics(run_dir: Path, records: list[dict[str, Any]]) -> None:
    """Append records to metrics.jsonl in one write (a reader sees whole lines).

    A batch holding an epoch or event record (epoch end, stop, failure, warning) is fsynced:
    what the run reports as done survives a power cut; step batches only flush.
    """
    if not records:
        return
    data = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records).encode()
    with open(Path(run_dir) / METRICS, "ab") as handle:
        handle.write(data)
        handle.flush()
        if any(r.get("kind") in ("epoch", "event") for r in records):
            os.fsync(handle.fileno())


def truncate_metrics(run_dir: Path, step: int) -> list[int]:
    """Keep only records up to global ``step`` (for a resume from a checkpoint at that step).

    Damaged lines are not silently dropped: they are kept aside in ``metrics.jsonl.damaged``,
    reported in the log and as a warning event in the metrics; returns their line numbers.
    """
    path = Path(run_dir) / METRICS
    lines = _metrics_lines(run_dir)
    kept, bad = [], []
    for number, record, problem in _parse_lines(lines):
        if record is None:
            bad.append((number, problem))
        elif int(record.get("step", 0)) <= step:
            kept.append(record)
    if bad:
        aside = path.with_name(METRICS + ".damaged")
        text = b"".join(lines[n - 1] + b"\n" for n, _ in bad)
        with open(aside, "ab") as handle:
            handle.write(text)
        numbers = ", ".join(str(n) for n, _ in bad[:10]) + (" ..." if len(bad) > 10 else "")
        message = (f"{len(bad)} damaged line(s) of {METRICS} (line {numbers}: {bad[0][1]}) were "
                   f"moved to {aside.name} when the run resumed.")
        log.warning("%s: %s", display(run_dir), message)
        kept.append({"kind": "event", "event": "warning", "step": step, "message": message})
    data = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in kept).encode()
    atomic_write_bytes(path, data)
    return [n for n, _ in bad]


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
    """Summarise a run folder; never raises (a damaged run is marked with the reason)."""
    path = Path(path)
    info = RunInfo(path=path, name=display(path.name))
    try:
        _fill_run_info(info)
    except Exception as exc:  # one bad folder must never hide the others
        info.damaged = f"cannot be read ({type(exc).__name__}: {str(exc)[:120]})"
    return info


def _fill_run_info(info: RunInfo) -> None:
    path = info.path
    ckpt = last_checkpoint(path)
    with contextlib.suppress(OSError):
        os.lstat(ckpt)
        info.has_checkpoint = True
    writer = runlock.probe(path)
    try:
        doc = _read_config_doc(path)
        cfg = TrainConfig.from_dict(doc["config"])
    except (RunError, ConfigError) as exc:
        info.damaged = str(exc)
        info.status = "running" if writer.running else ""
        return
    info.model, info.dataset, info.epochs_planned = cfg.model, cfg.dataset, cfg.epochs
    info.created = doc.get("created", "")
    info.status = run_status(doc.get("status", ""), writer)
    info.writer = writer.describe() if writer.running else ""
    try:
        records = read_metrics(path, strict=True)
    except RunError as exc:
        info.damaged = str(exc)
        try:
            records = read_metrics(path)
        except RunError:
            records = []
    epochs = [r for r in records if r.get("kind") == "epoch" and "epoch" in r]
    if epochs:
        info.epochs_done = int(epochs[-1]["epoch"])
        info.best = quality_metrics.best_of(epochs)
    steps = [r for r in records if r.get("kind") == "step"]
    if steps:
        info.last_metrics = metric_values(steps[-1])
    if info.has_checkpoint and info.damaged is None and not writer.running:
        problem = integrity.checkpoint_problem(ckpt)
        if problem:
            info.damaged = f"{display(ckpt)} {problem}; it cannot be resumed."


def run_status(recorded: str, writer: runlock.WriterState) -> str:
    """The status a reader shows: 'running' only while a live writer holds the run's lock;
    a recorded 'running' without one means the writer died ('interrupted')."""
    if writer.running:
        return "running"
    if recorded == "running":
        return "interrupted"
    return recorded


RECORD_KEYS = frozenset({"kind", "epoch", "step", "images_per_s", "seconds", "event", "message"})


def metric_values(record: dict[str, Any]) -> dict[str, float]:
    """The metrics of one record: every number that is not bookkeeping (open metrics)."""
    return {k: float(v) for k, v in record.items()
            if k not in RECORD_KEYS and isinstance(v, (int, float)) and not isinstance(v, bool)}


def list_runs(root: Path | None = None) -> list[RunInfo]:
    """Every run folder directly under ``root``, newest first; damaged ones included.

    Never raises for what is inside a folder; a runs folder that cannot be listed is a
    RunError naming it.
    """
    root = Path(root) if root is not None else default_runs_root()
    try:
        if not stat.S_ISDIR(os.stat(root).st_mode):
            return []
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise RunError(f"Cannot list the runs folder {display(root)} "
                       f"({exc.strerror or exc}).") from None
    runs = [read_run(Path(e.path)) for e in entries if is_run_dir(Path(e.path))]
    return sorted(runs, key=lambda r: (r.created or "", r.name), reverse=True)


def prepare_resume(run_dir: Path) -> None:
    """Before a resume reads anything: refuse a run that a live process writes, then remove
    the temp files a killed writer left."""
    writer = runlock.probe(run_dir)
    if writer.running:
        raise RunError(f"{display(Path(run_dir).name)} is being trained by {writer.describe()}; "
                       "stop it first, or wait until it ends.")
    clean_run_temp_files(run_dir)


def kept_checkpoint_note(run_dir: Path | None) -> str:
    """What a failed write leaves: 'the previous checkpoint is kept' only when there is one."""
    if run_dir is not None and last_checkpoint(run_dir).is_file():
        return "the previous checkpoint is kept"
    return "no checkpoint had been written yet"


def check_resume_checkpoint(run_dir: Path, config: TrainConfig) -> None:
    """Refuse a ``last.pt`` that is damaged or belongs to another run (its checksum or its
    config does not match the run's ``config.json``) before anything is rewritten."""
    ckpt = last_checkpoint(run_dir)
    problem = integrity.checkpoint_problem(ckpt)
    if problem:
        raise RunError(f"{display(ckpt)} {problem}; nothing was resumed.")
    try:
        recorded = TrainConfig.from_dict(_read_config_doc(run_dir)["config"])
    except (RunError, ConfigError) as exc:
        log.warning("Resuming %s without checking its config.json: %s", display(run_dir), exc)
        return
    for name in IDENTITY_FIELDS:
        mine, theirs = getattr(recorded, name), getattr(config, name)
        if mine != theirs:
            raise RunError(f"{display(ckpt)} does not belong to this run: its {name} is "
                           f"{theirs!r} but the run's config.json says {mine!r}; nothing was "
                           "resumed.")


IDENTITY_FIELDS = ("model", "dataset", "image_size", "channels", "latent_dim", "width", "seed",
                   "batch_size", "limit")
