"""Integrity: checksums of checkpoints, finite weights, damaged metrics lines reported."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from aigc_studio.engine import integrity, runs
from aigc_studio.engine.checkpoint import load_checkpoint
from aigc_studio.engine.inference import load_model
from aigc_studio.engine.trainer import Trainer
from aigc_studio.errors import CheckpointError
from tests.cli.clihelp import one_sentence, run_cli
from tests.engine.crafted import (
    checkpoint_state,
    metrics_lines,
    small_config,
    write_checkpoint,
    write_run,
)


def test_nan_weights_are_refused_on_load(tmp_path: Path) -> None:
    state = checkpoint_state()
    weights = state["models"]["generator"]
    first = next(k for k, v in weights.items() if v.is_floating_point())
    weights[first] = torch.full_like(weights[first], float("nan"))
    run = write_run(tmp_path / "runs", "nan")
    write_checkpoint(run, models=state["models"])
    with pytest.raises(CheckpointError, match="NaN or infinite weights"):
        load_model(run)
    done = run_cli("sample", str(run), "--out", str(tmp_path / "grid.png"),
                   home=tmp_path / "home")
    one_sentence(done, "NaN or infinite weights")
    assert not (tmp_path / "grid.png").exists()  # no black grid


def test_checksums_are_recorded_and_checked_on_resume(tmp_path: Path) -> None:
    run = write_run(tmp_path, "run")
    path = write_checkpoint(run)
    assert integrity.recorded_digests(path) == [integrity.sha256_file(path)]
    assert integrity.checkpoint_problem(path) is None
    # killed between recording the next digest and replacing the file: still trusted
    integrity.record_pending(path, "0" * 64)
    assert integrity.checkpoint_problem(path) is None
    data = bytearray(path.read_bytes())
    data[-100] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="does not match the checksum"):
        load_checkpoint(path)
    with pytest.raises(CheckpointError, match="does not match the checksum"):
        Trainer.resume(run, epochs=5)


def test_damaged_metrics_lines_are_reported_at_resume_not_deleted(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    lines = metrics_lines()
    lines.insert(2, "garbage{")
    lines.insert(4, json.dumps({"kind": "step", "step": "3"}))
    run = write_run(tmp_path, "run", lines=lines)
    with caplog.at_level(logging.WARNING):
        bad = runs.truncate_metrics(run, step=3)
    assert bad == [3, 5]
    aside = (run / "metrics.jsonl.damaged").read_text().splitlines()
    assert aside == ["garbage{", json.dumps({"kind": "step", "step": "3"})]
    records = runs.read_metrics(run, strict=True)
    assert max(r["step"] for r in records) == 3
    assert records[-1]["event"] == "warning" and "moved to metrics.jsonl.damaged" in \
        records[-1]["message"]
    assert "2 damaged line(s)" in caplog.text


def test_onnx_export_says_when_its_check_was_skipped(tmp_path: Path) -> None:
    pytest.importorskip("onnx")
    run = write_run(tmp_path, "run")
    write_checkpoint(run)
    code = ("import sys; sys.modules['onnxruntime'] = None\n"  # as if it were not installed
            "from aigc_studio.cli import main\nsys.exit(main(sys.argv[1:]))\n")
    done = subprocess.run([sys.executable, "-c", code, "export", str(run), "--format", "onnx",
                           "--out", str(tmp_path / "g.onnx")], capture_output=True, text=True,
                          env={**os.environ, "AIGC_STUDIO_HOME": str(tmp_path / "home")},
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert "check against PyTorch was skipped: onnxruntime is not installed" in done.stdout
    assert "Checked against PyTorch" not in done.stdout


def test_epoch_and_event_records_are_fsynced(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Epoch ends and stops are forced to disk; step batches only flush (fsync per batch
    would slow training). The writes are real; only fsync calls are counted."""
    run = write_run(tmp_path, "run", lines=[])
    synced: list[int] = []
    real_fsync = os.fsync

    def counting_fsync(fd: int) -> None:
        synced.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", counting_fsync)
    runs.append_metrics(run, [{"kind": "step", "step": 1, "loss_d": 1.0}])
    assert synced == []
    runs.append_metrics(run, [{"kind": "epoch", "epoch": 1, "step": 1}])
    runs.append_metrics(run, [{"kind": "event", "event": "stopped", "step": 1}])
    assert len(synced) == 2
    kinds = [r["kind"] for r in runs.read_metrics(run, strict=True)]
    assert kinds == ["step", "epoch", "event"]


def test_a_runs_epoch_weights_are_checksummed_too_but_exports_stay_single_files(
        tmp_path: Path) -> None:
    from aigc_studio.engine.checkpoint import load_weights, save_weights

    config = small_config()
    weights = checkpoint_state(config)["models"]["generator"]
    run = write_run(tmp_path, "run")
    epoch_file = runs.epoch_weights_path(run, 1)
    save_weights(epoch_file, weights, config, kind="generator", channels="1")
    assert integrity.recorded_digests(epoch_file) == [integrity.sha256_file(epoch_file)]
    assert load_weights(epoch_file)[1]["kind"] == "generator"
    data = bytearray(epoch_file.read_bytes())
    data[-10] ^= 0x01
    epoch_file.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="does not match the checksum"):
        load_weights(epoch_file)
    exported = tmp_path / "g.safetensors"
    save_weights(exported, weights, config, kind="generator", channels="1")
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("g.")) == \
        ["g.safetensors"]
