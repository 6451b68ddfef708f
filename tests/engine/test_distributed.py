"""One run trained by two real processes (gloo on the CPU), through the launcher and the CLI.

The runs are tiny (64 digits, width 8, 4 steps per rank per epoch) but real: two Python
processes, a gloo group, DistributedDataParallel. Each rank dumps its trained parameters
through ``dist_worker.py``, which runs the real CLI and gives every rank its own folders.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import pytest
import torch

from aigc_studio.engine import distributed, runs
from aigc_studio.engine.checkpoint import load_checkpoint
from aigc_studio.engine.config import TrainConfig
from aigc_studio.engine.trainer import Trainer

WORKER = [sys.executable, str(Path(__file__).with_name("dist_worker.py"))]
TIMEOUT_S = "60"  # a collective or a group start in these tests; a hang fails within it
RUN_LIMIT_S = 240.0  # one launched run on a busy two-core machine


def train_args(out: Path, model: str = "dcgan", epochs: int = 2, batch: int = 8,
               *extra: str) -> list[str]:
    return ["train", "--model", model, "--dataset", "digits", "--limit", "64",
            "--batch-size", str(batch), "--width", "8", "--latent-dim", "8",
            "--epochs", str(epochs), "--log-every", "2", "--eval-samples", "0",
            "--device", "cpu", "--precision", "fp32", "--seed", "5", "--out", str(out),
            *extra]


@pytest.fixture(scope="module")
def dist_env() -> Iterator[None]:
    with mock.patch.dict(os.environ, {distributed.ENV_TIMEOUT: TIMEOUT_S}):
        yield


def launch_worker(args: list[str], dump: Path) -> int:
    """Run the CLI as two ranks of one run; each dumps its parameters into ``dump``."""
    return distributed.launch(args, 2, program=[*WORKER, str(dump)])


def params(dump: Path, rank: int) -> dict[str, torch.Tensor]:
    return torch.load(dump / f"params_rank{rank}.pt", weights_only=True)


def only_run(out: Path) -> Path:
    (run,) = [p for p in out.iterdir() if p.is_dir()]
    return run


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory, dist_env: None) -> Path:
    """A two-process DCGAN run of two epochs, uninterrupted: its dump folder."""
    dump = tmp_path_factory.mktemp("reference")
    assert launch_worker(train_args(dump / "runs"), dump) == 0
    return dump


@pytest.mark.slow
def test_ranks_end_with_identical_parameters_and_only_rank_0_writes(reference: Path) -> None:
    p0, p1 = params(reference, 0), params(reference, 1)
    assert p0.keys() == p1.keys() and len(p0) > 10
    for name, value in p0.items():
        assert torch.equal(value, p1[name]), name  # bit for bit, G's and D's
    run = only_run(reference / "runs")
    config = json.loads((run / runs.CONFIG).read_text())
    assert config["world_size"] == 2 and config["backend"] == "gloo"
    state = load_checkpoint(runs.last_checkpoint(run))
    saved = state["rng"]["ranks"]
    assert len(saved) == 2 and not torch.equal(saved[0]["noise"], saved[1]["noise"])
    # rank 1 had its own --out, home and working folder: it wrote nothing anywhere
    assert not (reference / "runs_rank1").exists()
    assert [p.name for p in (reference / "home_rank1").rglob("*")] in (
        [], ["logs", "aigc-studio.log"])  # the app's own log (every process has one), no run
    assert list((reference / "cwd_rank1").iterdir()) == []
    steps = [r for r in runs.read_metrics(run) if r["kind"] == "step"]
    assert [r["step"] for r in steps] == list(range(1, 9))  # 4 steps per epoch per rank
    # one process may continue it too, with a warning that it is no longer bit for bit
    assert Trainer.resume(run, epochs=3).fit().status == "finished"
    warnings = [r["message"] for r in runs.read_metrics(run) if r.get("event") == "warning"]
    assert any("checkpointed by 2 processes and resumes with 1 process" in w
               for w in warnings), warnings


@pytest.mark.slow
def test_loss_curve_matches_one_process_with_the_same_global_batch(
        tmp_path: Path, dist_env: None) -> None:
    """2 ranks x 8 images against 1 process x 16: the same images in every step, the same
    averaged gradient; only BatchNorm's statistics (over 8 images, not 16) and float
    summation order differ, so the curves agree within 2 %."""
    args = train_args(tmp_path / "runs", "autoencoder", 2, 8)
    assert launch_worker(args, tmp_path) == 0
    two = [r["loss_recon"] for r in runs.read_metrics(only_run(tmp_path / "runs"))
           if r["kind"] == "step"]
    one_cfg = TrainConfig(model="autoencoder", dataset="digits", limit=64, batch_size=16,
                          width=8, latent_dim=8, epochs=2, log_every=2, eval_samples=0,
                          device="cpu", seed=5, precision="fp32").validate()
    trainer = Trainer(one_cfg, save=False)
    trainer.fit()
    one = trainer.progress.history["loss_recon"]
    assert len(one) == len(two) == 8
    assert one[-1] < one[0] and two[-1] < two[0]  # both learn
    for a, b in zip(one, two, strict=True):
        assert abs(a - b) <= 0.02 * abs(a), (one, two)


def rank_pid(launcher: subprocess.Popen[bytes], rank: int) -> int:
    """The pid of the launcher's child process running ``rank``."""
    children = Path(f"/proc/{launcher.pid}/task/{launcher.pid}/children").read_text().split()
    for pid in children:
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        if f"RANK={rank}".encode() in environ:
            return int(pid)
    raise AssertionError(f"no rank {rank} among {children}")


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_killed_rank_ends_the_run_in_one_sentence_and_resume_continues_exactly(
        qtbot, tmp_path: Path, reference: Path) -> None:
    out = tmp_path / "runs"
    launcher = subprocess.Popen(
        [sys.executable, "-m", "aigc_studio", *train_args(out), "--nproc", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, "AIGC_STUDIO_HOME": str(tmp_path / "home")})
    try:
        qtbot.waitUntil(lambda: out.exists() and any(out.glob("*/checkpoints/last.pt")),
                        timeout=int(RUN_LIMIT_S * 1000))  # the first epoch's checkpoint
        victim = rank_pid(launcher, 1)
        os.kill(victim, signal.SIGKILL)  # in epoch 2: its checkpoint is the one from epoch 1
        _, stderr = launcher.communicate(timeout=RUN_LIMIT_S)
    finally:
        if launcher.poll() is None:
            launcher.kill()
    run = only_run(out)
    assert launcher.returncode == 1
    last = stderr.decode().strip().splitlines()[-1]
    assert last == (f"Rank 1 (pid {victim}) was killed by SIGKILL; the run stopped. "
                    f"Resume with: aigc-studio resume {run}")
    assert load_checkpoint(runs.last_checkpoint(run))["epoch"] == 1
    # the same world size resumes exactly: the end equals the uninterrupted run's
    assert launch_worker(["resume", str(run)], tmp_path / "resumed") == 0
    resumed, uninterrupted = params(tmp_path / "resumed", 1), params(reference, 1)
    for name, value in uninterrupted.items():
        assert torch.equal(value, resumed[name]), name


@pytest.mark.slow
def test_a_stop_request_to_the_launcher_stops_every_rank_with_a_checkpoint(
        qtbot, tmp_path: Path, dist_env: None) -> None:
    out = tmp_path / "runs"
    launcher = subprocess.Popen(
        [sys.executable, "-m", "aigc_studio", *train_args(out, epochs=20), "--nproc", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, "AIGC_STUDIO_HOME": str(tmp_path / "home")})
    try:
        qtbot.waitUntil(lambda: out.exists() and any(  # the first metrics
            r["kind"] == "step" for run in out.iterdir() for r in runs.read_metrics(run)),
            timeout=int(RUN_LIMIT_S * 1000))
        launcher.send_signal(signal.SIGTERM)  # what the window's Stop does
        launcher.communicate(timeout=RUN_LIMIT_S)
    finally:
        if launcher.poll() is None:
            launcher.kill()
    assert launcher.returncode == 130  # every rank stopped cleanly at the same step
    run = only_run(out)
    state = load_checkpoint(runs.last_checkpoint(run))
    stopped = [r for r in runs.read_metrics(run) if r.get("event") == "stopped"]
    assert len(stopped) == 1 and stopped[0]["step"] == state["step"] < 80


@pytest.mark.slow
def test_torchrun_trains_one_run_with_two_processes(tmp_path: Path, dist_env: None) -> None:
    out = tmp_path / "runs"
    done = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
         "-m", "aigc_studio", *train_args(out, epochs=1)],
        capture_output=True, text=True, timeout=RUN_LIMIT_S,
        env={**os.environ, "AIGC_STUDIO_HOME": str(tmp_path / "home")})
    assert done.returncode == 0, done.stderr[-2000:]
    run = only_run(out)
    assert json.loads((run / runs.CONFIG).read_text())["world_size"] == 2
    assert done.stdout.strip() == str(run)  # rank 0 alone prints the run folder


def _start_rank(rank: int, port: int) -> subprocess.CompletedProcess[str]:
    code = ("import torch; from aigc_studio.engine.distributed import start; "
            "start(torch.device('cpu'))")
    env = {**os.environ, "RANK": str(rank), "LOCAL_RANK": str(rank), "WORLD_SIZE": "2",
           "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port),
           distributed.ENV_TIMEOUT: "3"}
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=90)


def test_a_group_whose_first_rank_never_comes_is_an_error_within_the_timeout() -> None:
    started = time.monotonic()
    done = _start_rank(1, distributed.free_port())  # rank 0 never listens on it
    assert time.monotonic() - started < 60
    assert done.returncode != 0
    assert "training processes could not form a group at 127.0.0.1:" in done.stderr


def test_a_port_in_use_is_an_error_not_a_hang() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        done = _start_rank(0, busy.getsockname()[1])
    assert done.returncode != 0
    assert "could not form a group" in done.stderr


def test_each_rank_reads_its_own_shard_as_distributed_sampler_splits_it() -> None:
    order = torch.randperm(23, generator=torch.Generator().manual_seed(0))
    shards = [distributed.Ranks(r, 2).shard(order) for r in range(2)]
    sampler = [list(torch.utils.data.DistributedSampler(
        range(23), num_replicas=2, rank=r, shuffle=False, drop_last=True)) for r in range(2)]
    for shard, indices in zip(shards, sampler, strict=True):
        assert shard.tolist() == order[indices].tolist()
    assert distributed.Ranks().shard(order) is order


def test_the_launcher_drops_only_its_own_flags() -> None:
    from aigc_studio.cli import _without_launch_flags

    assert _without_launch_flags(["train", "--nproc", "2", "--epochs", "3",
                                  "--master-port=29500", "--out", "x"]) == [
        "train", "--epochs", "3", "--out", "x"]
