"""One run trained by several processes: DistributedDataParallel, rank-0 writes, a launcher.

``torchrun --nproc_per_node N -m aigc_studio train ...`` (or ``aigc-studio train --nproc N``,
which starts the same processes through :func:`launch`) gives every process the usual
``RANK`` / ``WORLD_SIZE`` / ``LOCAL_RANK`` / ``MASTER_ADDR`` / ``MASTER_PORT`` variables; the
trainer calls :func:`start` and gets a :class:`Ranks` that says what this process does:

- every rank builds the same networks and trains on its own shard of each epoch's seeded
  permutation (``order[rank::world]``, as ``DistributedSampler`` splits it), with
  ``--batch-size`` images per rank, so one step sees ``batch_size x world`` images;
- each network an optimizer updates is wrapped on its own (G and D separately) in
  ``DistributedDataParallel`` with ``broadcast_buffers=False``: a discriminator's BatchNorm sees
  real and fake batches in turn, and re-broadcasting rank 0's running statistics at every
  forward would overwrite them mid-step. Families choose with ``FamilyImpl.wrap_for_ddp``;
- metric rows are averaged over ranks in one all-reduce per flush, which also carries any
  rank's stop request, so every rank stops at the same step;
- only rank 0 writes the run folder; a checkpoint gathers every rank's RNG states so a resume
  with the same world size continues exactly.

The launcher forwards Ctrl+C / SIGTERM to the ranks as a clean stop, and when a rank dies it
ends the others and says which one in one sentence.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import inspect
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, TextIO

import torch
from torch import nn

from aigc_studio.core.signals import handling_stop_signals
from aigc_studio.engine.callbacks import RunStarted, TrainingCallback
from aigc_studio.engine.command import self_program
from aigc_studio.errors import AigcError, DataError

ENV_TIMEOUT = "AIGC_DIST_TIMEOUT"  # seconds a group start or a collective may wait
DEFAULT_TIMEOUT_S = 600.0  # an epoch end on rank 0 (grid, quality scores) must fit in it
ENV_RUN_FILE = "AIGC_DIST_RUN_FILE"  # where rank 0 writes the run folder for the launcher
SEED_STRIDE = 1_000_003  # rank r draws noise from seed + 1 + r * SEED_STRIDE


class DistributedError(AigcError):
    """The processes of a run could not form a group, or one of them was lost."""


def _env_int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


def env_rank() -> int:
    """This process's rank as its launcher set it (0 when not launched for several)."""
    return _env_int("RANK", 0)


def env_world_size() -> int:
    """Processes in the run as the launcher set it (1 when not launched for several)."""
    return _env_int("WORLD_SIZE", 1)


def timeout_s() -> float:
    """How long forming the group or one collective may take (``AIGC_DIST_TIMEOUT``)."""
    try:
        return float(os.environ.get(ENV_TIMEOUT, DEFAULT_TIMEOUT_S))
    except ValueError:
        return DEFAULT_TIMEOUT_S


@dataclass(frozen=True)
class Ranks:
    """Where this process stands in the run; ``Ranks()`` is a plain one-process run."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str = ""

    @property
    def active(self) -> bool:
        """True when several processes train this run."""
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the one process that writes the run folder and reports."""
        return self.rank == 0

    @property
    def seed_offset(self) -> int:
        """Added to the noise seed: each rank draws its own noise (0 on rank 0)."""
        return self.rank * SEED_STRIDE

    def describe(self) -> dict[str, Any]:
        """What config.json records about the processes."""
        return {"world_size": self.world_size, **({"backend": self.backend}
                                                  if self.active else {})}

    # ------------------------------------------------------------------ data
    def shard(self, order: torch.Tensor) -> torch.Tensor:
        """This rank's part of an epoch's order (``DistributedSampler`` with drop_last)."""
        if not self.active:
            return order
        usable = order.numel() // self.world_size * self.world_size
        return order[self.rank:usable:self.world_size]

    def fit_source(self, source: Any, n_images: int) -> None:
        """Set the batch source's steps per epoch to what one rank's shard gives."""
        if not self.active:
            return
        steps = n_images // self.world_size // source.batch_size
        if steps < 1:
            raise DataError(f"{n_images} images split over {self.world_size} processes give "
                            f"each fewer than the batch size {source.batch_size}; lower "
                            "--batch-size or use more images.")
        source.steps_per_epoch = steps

    # ------------------------------------------------------------------ collectives
    def average_rows(self, rows: torch.Tensor, stop: bool) -> tuple[torch.Tensor, bool]:
        """Metric rows averaged over ranks, and whether any rank asked to stop: one
        all-reduce (the stop flag rides along, so every rank stops at the same step)."""
        if not self.active:
            return rows, stop
        flat = torch.cat([rows.float().flatten(),
                          torch.tensor([float(stop)], device=rows.device)])
        with self._collective("averaging the step metrics"):
            torch.distributed.all_reduce(flat)
        return (flat[:-1] / self.world_size).view(rows.shape), bool(flat[-1].item() > 0)

    def gather(self, obj: Any) -> list[Any]:
        """``obj`` of every rank, in rank order (the same list on every rank)."""
        if not self.active:
            return [obj]
        out: list[Any] = [None] * self.world_size
        with self._collective("gathering the random states for a checkpoint"):
            torch.distributed.all_gather_object(out, obj)
        return out

    @contextlib.contextmanager
    def _collective(self, what: str) -> Iterator[None]:
        """A lost peer becomes one sentence instead of a transport traceback."""
        try:
            yield
        except (RuntimeError, ValueError) as exc:
            raise DistributedError(
                f"Rank {self.rank} lost contact with another process of this run while "
                f"{what} ({_first_line(exc)}); the run stopped and its last checkpoint is "
                "kept.") from None

    # ------------------------------------------------------------------ resume
    def rng_states(self, noise_gen: torch.Generator) -> dict[str, Any]:
        """``{"ranks": [every rank's noise and global RNG states]}`` for a checkpoint (a
        collective: every rank calls it); nothing for a one-process run."""
        if not self.active:
            return {}
        return {"ranks": self.gather({"noise": noise_gen.get_state(),
                                      "torch": torch.get_rng_state()})}

    def restore_rng(self, rng: Mapping[str, Any], noise_gen: torch.Generator) -> None:
        """Continue this rank's noise and global RNG streams from a checkpoint's ``rng``.

        A rank the checkpoint did not have (more processes than wrote it) keeps the fresh
        streams it was seeded with.
        """
        saved = _saved_ranks(rng)
        if self.rank < len(saved):
            noise_gen.set_state(saved[self.rank]["noise"])
            torch.set_rng_state(saved[self.rank]["torch"])

    def resume_note(self, rng: Mapping[str, Any]) -> str | None:
        """The warning for a resume with another number of processes (rank 0 only)."""
        written = len(_saved_ranks(rng))
        if written == self.world_size or not self.is_main:
            return None
        return (f"This run was checkpointed by {_processes(written)} and resumes with "
                f"{_processes(self.world_size)}: it continues, but no longer bit for bit as "
                "it would have.")

    # ------------------------------------------------------------------ networks
    def adjust(self, accel: Any) -> Any:
        """The fast path's plan for one rank: the same, without a CUDA graph.

        DDP's gradient hooks do not capture (measured on an H200 with torch 2.11: every family's
        capture failed and fell back), and a failed capture attempt is no state to leave
        collectives in: ranks run the step eagerly, still in bf16 and channels_last.
        """
        if not (self.active and accel.cuda_graph):
            return accel
        note = "; ".join(filter(None, [accel.note, "no CUDA graph with several processes"]))
        return dataclasses.replace(accel, cuda_graph=False, note=note)

    def wrap_networks(self, impl: Any, nets: Mapping[str, nn.Module],
                      optims: Mapping[str, torch.optim.Optimizer], device: torch.device
                      ) -> Mapping[str, nn.Module]:
        """The networks the family's step trains with (wrapped as the family says)."""
        if not self.active:
            return nets
        wrap = functools.partial(DistributedNet.wrap, device=device)
        return impl.wrap_for_ddp(nets, optims, wrap)


def start(device: torch.device) -> tuple[Ranks, torch.device]:
    """Join the run's process group when launched for several processes.

    Returns the ranks and this rank's device (``cuda:LOCAL_RANK`` on GPUs, whose backend is
    NCCL; gloo on CPUs). A group that cannot form is one sentence after ``timeout_s()``.
    """
    world = env_world_size()
    if world <= 1:
        return Ranks(), device
    local = _env_int("LOCAL_RANK", 0)
    backend = "gloo"
    if device.type == "cuda":
        device = torch.device("cuda", local)
        torch.cuda.set_device(device)
        backend = "nccl"
    if not torch.distributed.is_initialized():
        seconds = timeout_s()
        try:
            torch.distributed.init_process_group(
                backend, timeout=timedelta(seconds=seconds),
                device_id=device if device.type == "cuda" else None)
        except (RuntimeError, ValueError, OSError) as exc:
            where = (f"{os.environ.get('MASTER_ADDR', '?')}:"
                     f"{os.environ.get('MASTER_PORT', '?')}")
            raise DistributedError(
                f"The {world} training processes could not form a group at {where} within "
                f"{seconds:.0f} s ({_first_line(exc)}); check the address and port (a wrong "
                "address, a port in use, or a process that never started).") from None
    return Ranks(torch.distributed.get_rank(), world, local, backend), device


class _MethodCall(nn.Module):
    """Runs ``net.<name>(...)`` as its forward, so every method a step calls (a VAE's
    ``gaussian`` and ``decode``) goes through DistributedDataParallel's forward."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return getattr(self.net, name)(*args, **kwargs)


class DistributedNet(nn.Module):
    """A network wrapped in DistributedDataParallel that still looks like the network.

    Calling it, or calling any of its methods, runs through DDP (gradients are averaged over
    ranks in backward); plain attributes (a schedule, a class count) read the network's own.
    ``__class__`` answers the network's class, as a mock does, so a family's step that checks
    the class it was given works unchanged.
    """

    def __init__(self, net: nn.Module, ddp: nn.Module) -> None:
        super().__init__()
        self.ddp = ddp
        object.__setattr__(self, "_net", net)

    @classmethod
    def wrap(cls, net: nn.Module, *, device: torch.device) -> DistributedNet:
        from torch.nn.parallel import DistributedDataParallel

        ids = ([torch.cuda.current_device() if device.index is None else device.index]
               if device.type == "cuda" else None)
        # buffers are made equal once, at the start, then stay each rank's own (newer
        # PyTorch names that forward_sync_buffers=False; broadcast_buffers=False before it)
        name = ("forward_sync_buffers" if "forward_sync_buffers"
                in inspect.signature(DistributedDataParallel).parameters else "broadcast_buffers")
        ddp = DistributedDataParallel(_MethodCall(net), device_ids=ids, **{name: False})
        return cls(net, ddp)

    @property  # type: ignore[misc]
    def __class__(self) -> type:
        return type(object.__getattribute__(self, "_net"))

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self.ddp("forward", *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        with contextlib.suppress(AttributeError):
            return super().__getattr__(name)
        net = object.__getattribute__(self, "_net")
        value = getattr(net, name)
        if callable(value) and getattr(value, "__self__", None) is net:
            return functools.partial(self.ddp, name)
        return value


class RunDirNote(TrainingCallback):
    """Tells the launcher (through a file it named) which run folder rank 0 writes."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def on_start(self, info: RunStarted) -> None:
        if info.run_dir is not None:
            with contextlib.suppress(OSError):
                self.path.write_text(str(info.run_dir), encoding="utf-8")


def rank_callbacks() -> list[TrainingCallback]:
    """Callbacks this process adds to a training run: the launcher's note, on rank 0."""
    path = os.environ.get(ENV_RUN_FILE)
    return [RunDirNote(Path(path))] if path and env_rank() == 0 else []


# ---------------------------------------------------------------------------- launcher
def free_port() -> int:
    """A TCP port the OS says is free now (for the group's rendezvous)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rank_env(rank: int, nproc: int, port: int, run_file: Path) -> dict[str, str]:
    """The variables torchrun would give rank ``rank`` of ``nproc`` on this machine.

    Each rank gets its share of the CPUs as OpenMP threads (unless OMP_NUM_THREADS is set):
    N processes with all cores each would fight over them.
    """
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        cpus = os.cpu_count() or 1
    threads = os.environ.get("OMP_NUM_THREADS") or str(max(1, cpus // nproc))
    return {**os.environ, "OMP_NUM_THREADS": threads, "RANK": str(rank), "LOCAL_RANK": str(rank),
            "WORLD_SIZE": str(nproc), "LOCAL_WORLD_SIZE": str(nproc),
            "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), ENV_RUN_FILE: str(run_file)}


def launch(args: Sequence[str], nproc: int, *, port: int = 0,
           stream: TextIO | None = None, poll_s: float = 0.1,
           program: Sequence[str] | None = None) -> int:
    """Run ``aigc-studio ARGS`` as ``nproc`` ranks of one run on this machine.

    Returns 0 when every rank finished, 130 when the run stopped on request, 1 when a rank
    failed: then the others are ended and one sentence names the rank and how to resume.
    ``program`` replaces ``python -m aigc_studio`` (tests run the CLI through a wrapper).
    """
    program = list(program) if program else self_program()
    stream = stream if stream is not None else sys.stderr
    port = port or free_port()
    with tempfile.TemporaryDirectory(prefix="aigc-launch-") as tmp:
        run_file = Path(tmp) / "run_dir"
        # own sessions: a terminal's Ctrl+C reaches the launcher only, which forwards it once
        procs = [subprocess.Popen([*program, *args],
                                  env=rank_env(rank, nproc, port, run_file),
                                  start_new_session=True)
                 for rank in range(nproc)]
        with _forward_stop_signals(procs):
            failed = _wait(procs, poll_s)
        run_dir = run_file.read_text(encoding="utf-8") if run_file.exists() else ""
    if failed is None:
        codes = {p.returncode for p in procs}
        return 0 if codes == {0} else 130
    rank, proc = failed
    how = (f"was killed by {signal.Signals(-proc.returncode).name}" if proc.returncode < 0
           else f"exited with status {proc.returncode}")
    after = (f"Resume with: aigc-studio resume {run_dir}" if run_dir
             else "It stopped before its run folder was made")
    stream.write(f"Rank {rank} (pid {proc.pid}) {how}; the run stopped. {after}\n")
    stream.flush()
    return 1


def _wait(procs: list[subprocess.Popen[bytes]], poll_s: float
          ) -> tuple[int, subprocess.Popen[bytes]] | None:
    """Wait for every rank; on the first failure end the others and return it."""
    while True:
        codes = [p.poll() for p in procs]
        bad = [i for i, c in enumerate(codes) if c is not None and c not in (0, 130)]
        if bad:
            # a rank killed by a signal is the cause; the others failed because it went
            first = next((i for i in bad if (codes[i] or 0) < 0), bad[0])
            for p in procs:
                if p.poll() is None:
                    p.kill()  # checkpoints are written atomically: the last complete one stays
            for p in procs:
                p.wait()
            return first, procs[first]
        if all(c is not None for c in codes):
            return None
        time.sleep(poll_s)


@contextlib.contextmanager
def _forward_stop_signals(procs: list[subprocess.Popen[bytes]]) -> Iterator[None]:
    """Ctrl+C / SIGTERM: ask every rank for a clean stop (SIGTERM); a second one kills them."""
    asked: list[bool] = []

    def handler(signum: int, frame: object) -> None:
        for p in procs:
            if p.poll() is None:
                if asked:
                    p.kill()
                else:
                    p.send_signal(signal.SIGTERM)
        asked.append(True)

    with handling_stop_signals(handler):
        yield


def _saved_ranks(rng: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Every rank's RNG states in a checkpoint (one-process checkpoints: rank 0's only)."""
    return list(rng.get("ranks") or [{"noise": rng["noise"], "torch": rng["torch"]}])


def _processes(n: int) -> str:
    return f"{n} process" + ("" if n == 1 else "es")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:200]
