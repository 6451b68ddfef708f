"""One damaged run never breaks the list: wrong types, deep nesting, FIFOs, folders, loops.

Every input is crafted here from a healthy run folder. Reading happens in a thread joined
with a time limit, so a reader that blocks on a FIFO fails the test instead of hanging it.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from aigc_studio.engine import runs
from aigc_studio.engine.config import TrainConfig
from tests.engine.crafted import (
    MUTATIONS,
    damage_cases,
    mutate,
    small_config,
    write_checkpoint,
    write_run,
)

LIMIT_S = 20.0


def within(seconds: float, work: Callable[[], Any]) -> Any:
    """Run ``work`` in a thread; fail (not hang) if it takes longer than ``seconds``."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = work()
        except BaseException as exc:  # re-raised in the test's thread
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"reading the runs took over {seconds} s (blocked?)"
    if "error" in box:
        raise box["error"]
    return box["value"]


def test_every_damaged_run_is_listed_with_its_reason(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    good = write_run(root, "good")
    cases = damage_cases(root)
    listed = {r.name: r for r in within(LIMIT_S, lambda: runs.list_runs(root))}
    assert set(listed) == set(cases) | {"good"}
    assert listed["good"].damaged is None and listed["good"].epochs_done == 2
    assert listed["good"].last_metrics["loss_d"] == 1.2 and good.is_dir()
    for name, word in cases.items():
        reason = listed[name].damaged
        assert reason and word in reason, (name, reason)
    # the readers the window uses on an opened run never raise anything but RunError either
    for name in cases:
        for read in (runs.read_metrics, runs.load_run_config):
            with contextlib.suppress(runs.RunError):
                within(LIMIT_S, lambda r=read, n=name: r(root / n))  # type: ignore[misc]
        polled = within(LIMIT_S, lambda n=name: runs.read_metrics_or_empty(root / n))
        assert isinstance(polled, list)  # what a followed run's timer reads: never raises


def test_the_cli_lists_damaged_runs_without_a_traceback_or_a_hang(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    write_run(root, "good")
    cases = damage_cases(root)
    done = subprocess.run([sys.executable, "-m", "aigc_studio", "runs", "--root", str(root)],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "AIGC_STUDIO_HOME": str(tmp_path / "home")})
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and not done.stderr.strip()
    assert done.stdout.count("DAMAGED") == len(cases)
    assert "good" in done.stdout


def test_a_corrupt_or_foreign_checkpoint_is_not_healthy(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    healthy = write_run(root, "healthy")
    write_checkpoint(healthy)
    flipped = write_run(root, "flipped")
    data = bytearray(write_checkpoint(flipped).read_bytes())
    data[len(data) // 2] ^= 0xFF
    runs.last_checkpoint(flipped).write_bytes(bytes(data))
    foreign = write_run(root, "foreign")
    write_checkpoint(foreign)
    other = write_run(tmp_path / "elsewhere", "other")
    runs.last_checkpoint(foreign).write_bytes(
        write_checkpoint(other, small_config(seed=99)).read_bytes())
    legacy = write_run(root, "legacy")  # an older run: no checksum recorded, cut short
    cut = write_checkpoint(legacy).read_bytes()
    os.unlink(runs.last_checkpoint(legacy).with_name("last.pt.sha256"))
    runs.last_checkpoint(legacy).write_bytes(cut[: len(cut) // 2])
    not_zip = write_run(root, "not-zip")
    write_checkpoint(not_zip)
    runs.last_checkpoint(not_zip).write_bytes(b"\x80\x02}q\x00.")
    listed = {r.name: r for r in runs.list_runs(root)}
    assert listed["healthy"].damaged is None and listed["healthy"].has_checkpoint
    for name in ("flipped", "foreign", "not-zip"):
        assert "does not match the checksum" in (listed[name].damaged or ""), name
    assert "truncated or not a checkpoint" in (listed["legacy"].damaged or "")


def test_fuzzed_run_folders_always_list_every_run(tmp_path: Path) -> None:
    """Each round mutates copies of a real run (types, truncation, nesting, file kinds);
    every run is still listed, nothing raises, and the listing finishes in time."""
    rng = random.Random(12)
    base = tmp_path / "base"
    write_checkpoint(write_run(base, "run"))
    for round_ in range(4):
        root = tmp_path / f"round{round_}"
        for i in range(12):
            run = write_run(root, f"run{i:02d}")
            (run / "checkpoints" / "last.pt").write_bytes(
                (base / "run" / "checkpoints" / "last.pt").read_bytes())
            for _ in range(rng.randrange(1, 3)):
                mutate(run, rng, rng.choice(MUTATIONS))
        listed = within(LIMIT_S, lambda r=root: runs.list_runs(r))  # type: ignore[misc]
        expected = {p.name for p in root.iterdir() if runs.is_run_dir(p)}
        assert {r.name for r in listed} == expected
        assert len(expected) >= 10  # most mutations keep the folder a run
        for info in listed:
            assert info.damaged is None or isinstance(info.damaged, str)


def test_config_types_are_checked_exactly() -> None:
    from aigc_studio.engine.config import ConfigError

    for bad in (dict(image_size=32.0), dict(channels=True), dict(epochs=2.0),
                dict(lr_g=True), dict(lr_d=float("nan")), dict(model=["dcgan"])):
        with pytest.raises(ConfigError):
            TrainConfig(**{**small_config().to_dict(), **bad}).validate()  # type: ignore[arg-type]
    assert json.loads(json.dumps(small_config().to_dict()))["image_size"] == 32
