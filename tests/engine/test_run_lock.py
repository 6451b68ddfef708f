"""One writer per run: a second writer is refused naming the process; a dead writer's run
is "interrupted", not "running" for ever; readers keep working while a run trains."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from aigc_studio.engine import runlock, runs
from aigc_studio.engine.checkpoint import load_checkpoint
from aigc_studio.errors import RunError
from tests.cli.clihelp import one_sentence
from tests.engine.crafted import config_doc, write_checkpoint, write_run

HOLDER = """
import sys
from aigc_studio.engine.runlock import RunLock
lock = RunLock.acquire(sys.argv[1])
print("locked", flush=True)
sys.stdin.read()
"""


def test_a_second_writer_is_refused_and_the_lock_dies_with_its_process(tmp_path: Path) -> None:
    run = write_run(tmp_path, "run", doc=config_doc(status="running"))
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(run)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        state = runlock.probe(run)
        assert state.running and state.pid == holder.pid
        with pytest.raises(RunError, match=rf"is being trained by process {holder.pid}"):
            runlock.RunLock.acquire(run)
        with pytest.raises(RunError, match=rf"process {holder.pid}"):
            runs.prepare_resume(run)
        info = runs.read_run(run)
        assert info.status == "running" and str(holder.pid) in info.writer
        holder.send_signal(signal.SIGKILL)
    finally:
        holder.wait(timeout=60)
    assert not runlock.probe(run).running  # the OS released it with the process
    assert runs.read_run(run).status == "interrupted"
    with runlock.RunLock.acquire(run):
        assert runlock.probe(run).running  # this process is the writer now
    assert not runlock.probe(run).running


def test_status_without_a_live_writer_is_interrupted(tmp_path: Path) -> None:
    write_run(tmp_path, "finished")
    crashed = write_run(tmp_path, "crashed", doc=config_doc(status="running"))
    (crashed / runlock.LOCK_NAME).write_text("")  # a lock file left behind, held by nobody
    listed = {r.name: r.status for r in runs.list_runs(tmp_path)}
    assert listed == {"finished": "finished", "crashed": "interrupted"}


def test_a_lock_file_that_is_a_fifo_is_refused_not_blocked_on(tmp_path: Path) -> None:
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this system")
    run = write_run(tmp_path, "run")
    os.mkfifo(run / runlock.LOCK_NAME)
    assert not runlock.probe(run).running
    with pytest.raises(RunError, match="not a regular file"):
        runlock.RunLock.acquire(run)


def _cli(home: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AIGC_STUDIO_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "aigc_studio", *args], capture_output=True,
                          text=True, env=env, timeout=timeout)


def test_trainer_plus_a_second_resume_then_kill_9_then_resume(qtbot, tmp_path: Path
                                                              ) -> None:
    """Real processes: a training CLI, a second `resume` (refused), `sample` (works while
    training), kill -9 (listed as interrupted), then `resume` works."""
    home, root = tmp_path / "home", tmp_path / "runs"
    env = {**os.environ, "AIGC_STUDIO_HOME": str(home)}
    trainer = subprocess.Popen(
        [sys.executable, "-m", "aigc_studio", "train", "--limit", "1024", "--batch-size", "32",
         "--width", "8", "--latent-dim", "16", "--log-every", "4", "--checkpoint-every", "4",
         "--epochs", "100", "--no-fast", "--device", "cpu", "--out", str(root)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        assert trainer.stderr is not None
        run = None
        for line in trainer.stderr:
            if line.startswith("Run folder:"):
                run = Path(line.split(":", 1)[1].strip())
                break
        assert run is not None
        qtbot.waitUntil(lambda: runs.last_checkpoint(run).exists(), timeout=300_000)
        assert runlock.probe(run).pid == trainer.pid
        second = _cli(home, "resume", str(run))
        one_sentence(second, f"is being trained by process {trainer.pid}")
        listing = _cli(home, "runs", "--root", str(root))
        assert f"[running: process {trainer.pid}" in listing.stdout, listing.stdout
        reader = _cli(home, "sample", str(run), "--n", "4", "--out", str(tmp_path / "s.png"))
        assert reader.returncode == 0, reader.stderr
        trainer.send_signal(signal.SIGKILL)
    finally:
        trainer.wait(timeout=60)
    assert runs.read_run(run).status == "interrupted"
    assert "[interrupted]" in _cli(home, "runs", "--root", str(root)).stdout
    state = load_checkpoint(runs.last_checkpoint(run))
    resumed = _cli(home, "resume", str(run), "--epochs", str(state["epoch"] + 1))
    assert resumed.returncode == 0, resumed.stderr
    assert runs.read_run(run).status == "finished"
    assert not runlock.probe(run).running


def test_resume_refuses_a_checkpoint_of_another_run(tmp_path: Path) -> None:
    from aigc_studio.engine.trainer import Trainer
    from tests.engine.crafted import small_config

    run = write_run(tmp_path, "run")
    write_checkpoint(run, small_config(model="autoencoder"))
    before = (run / runs.CONFIG).read_bytes()
    with pytest.raises(RunError, match="does not belong to this run: its model is"):
        Trainer.resume(run, epochs=3)
    assert (run / runs.CONFIG).read_bytes() == before  # nothing rewritten


def test_a_writer_without_a_heartbeat_is_reported_as_stuck(tmp_path: Path) -> None:
    run = write_run(tmp_path, "run", doc=config_doc(status="running"))
    with runlock.RunLock.acquire(run):
        fresh = runlock.probe(run)
        assert fresh.running and "heartbeat" not in fresh.describe()
        old = time.time() - 600
        os.utime(run / runlock.LOCK_NAME, (old, old))  # as if the writer hung 10 minutes ago
        assert "no heartbeat for" in runlock.probe(run).describe()
