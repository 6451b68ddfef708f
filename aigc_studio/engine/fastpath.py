"""The fast training path: mixed precision, channels_last, and a step captured as a CUDA graph.

A small DCGAN on a GPU is bound by kernel launches, not arithmetic; on a CPU by arithmetic,
where bf16 (on processors that run it natively) is the lever. :func:`plan_acceleration`
decides once, at set-up, what a device gets; :class:`StepRunner` then runs every training
step as one *program* over static buffers: the batch is gathered from device-resident data
by a cursor that lives on the device, noise is drawn inside, the step's metrics land in a
per-epoch ring on the device, and the cursor advances - so on CUDA the whole program (every
update of the family's step included) replays as one graph, and everywhere else the same
program runs eagerly. Nothing in a step reads back to the host. Nothing here knows a model
family: the step is whatever ``family.impl.make_step`` built.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from aigc_studio.core.datasets import BatchSource, to_unit_range
from aigc_studio.engine.config import PRECISIONS
from aigc_studio.errors import AigcError
from aigc_studio.families.step import TrainStep

log = logging.getLogger(__name__)

GRAPH_WARMUP_STEPS = 3  # eager steps before capture: cuDNN picks algorithms, Adam builds state

_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def cpu_supports_bf16() -> bool:
    """True when this CPU runs bf16 matrix work natively (AVX512-BF16 or AMX).

    Elsewhere oneDNN emulates bf16 at a fraction of fp32 speed (6 img/s against 220 on an
    AVX2-only EPYC), so the fast path must not pick it.
    """
    cpu = getattr(torch, "cpu", None)
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(bool(getattr(cpu, name, lambda: False)()) for name in checks)


@dataclass(frozen=True)
class Acceleration:
    """What one run does on its device (decided once; shown to the user and saved)."""

    device: torch.device
    amp_dtype: torch.dtype | None  # autocast dtype, None for fp32
    grad_scaler: bool  # fp16 needs loss scaling; bf16 does not
    memory_format: torch.memory_format
    cuda_graph: bool  # capture the whole step (falls back to eager when capture fails)
    fused_adam: bool
    note: str = ""  # why a faster option was not taken, e.g. no native bf16 on this CPU

    @property
    def precision(self) -> str:
        return {None: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}[self.amp_dtype]

    def describe(self) -> str:
        """A short label, e.g. 'bf16, channels_last, CUDA graph'."""
        parts = [self.precision]
        if self.memory_format == torch.channels_last:
            parts.append("channels_last")
        if self.cuda_graph:
            parts.append("CUDA graph")
        return ", ".join(parts)

    def autocast(self) -> contextlib.AbstractContextManager[object]:
        """Mixed precision for forward passes and losses (a no-op in fp32)."""
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        # a graph replays kernels, not Python: autocast's weight-cast cache must stay off
        return torch.autocast(self.device.type, dtype=self.amp_dtype,
                              cache_enabled=not self.cuda_graph)


def plan_acceleration(device: torch.device, *, fast: bool = True,
                      precision: str = "auto") -> Acceleration:
    """The fastest safe set-up for ``device``; ``fast=False`` is plain eager fp32 (NCHW).

    ``precision`` is ``auto`` (bf16 where the hardware runs it, fp16 + loss scaling on older
    GPUs, fp32 elsewhere) or a forced ``fp32`` / ``bf16`` / ``fp16``.
    """
    if precision not in PRECISIONS:
        raise AigcError(f"--precision must be one of {', '.join(PRECISIONS)}, not {precision!r}.")
    if not fast:
        return Acceleration(device, None, False, torch.contiguous_format, False, False,
                            "fast path switched off")
    kind = device.type
    note = ""
    if kind == "cuda":
        if precision == "auto":
            precision = "bf16" if _cuda_native_bf16(device) else "fp16"
        scaler = precision == "fp16"
        # GradScaler checks for inf/nan on the host each step, so fp16 stays eager
        return Acceleration(device, _DTYPES.get(precision), scaler, torch.channels_last,
                            not scaler, True, "fp16 loss scaling runs eagerly" if scaler else "")
    if precision == "fp16":
        raise AigcError(f"--precision fp16 runs on CUDA GPUs only, not on {kind}; "
                        "use bf16 or fp32.")
    if kind == "cpu":
        if precision == "auto":
            native = cpu_supports_bf16()
            precision = "bf16" if native else "fp32"
            note = "" if native else "fp32: this CPU has no native bf16 (AVX512-BF16 or AMX)"
        # oneDNN convolutions run a little faster on NHWC (1.05-1.2x on CPU)
        return Acceleration(device, _DTYPES.get(precision), False, torch.channels_last,
                            False, False, note)
    # Apple MPS and anything else: eager, and fp32 unless bf16 was asked for
    if precision == "auto":
        precision, note = "fp32", "mixed precision is not used on this device"
    return Acceleration(device, _DTYPES.get(precision), False, torch.contiguous_format,
                        False, False, note)


def _cuda_native_bf16(device: torch.device) -> bool:
    """Ampere (compute capability 8) and newer run bf16 natively; older GPUs get fp16."""
    return torch.cuda.get_device_capability(device)[0] >= 8


def make_adam(params: Iterator[nn.Parameter], lr: float, betas: tuple[float, float],
              accel: Acceleration) -> torch.optim.Adam:
    """Adam as the plan wants it: fused and capturable (a device-side lr) under a graph."""
    if accel.cuda_graph:
        # the learning rate is a device tensor, so a change reaches the captured kernels
        lr_t = torch.tensor(lr, dtype=torch.float32, device=accel.device)
        return torch.optim.Adam(params, lr=lr_t, betas=betas, fused=True, capturable=True)
    return torch.optim.Adam(params, lr=lr, betas=betas, fused=accel.fused_adam or None)


def set_learning_rate(opt: torch.optim.Optimizer, lr: float) -> None:
    """Change an optimiser's lr in place (a captured graph keeps reading the same tensor)."""
    for group in opt.param_groups:
        if isinstance(group["lr"], torch.Tensor):
            group["lr"].fill_(lr)
        else:
            group["lr"] = lr


def load_optimizer_state(opt: torch.optim.Optimizer, saved: dict[str, Any]) -> None:
    """Load a saved state but keep ``opt``'s own way of running (fused, capturable, device lr).

    A checkpoint from a CPU run resumes under a CUDA graph and the other way round: the saved
    groups carry the flags of the optimiser that wrote them, which would otherwise win.
    """
    flags = ("fused", "capturable", "foreach")
    groups = []
    for current, old in zip(opt.param_groups, saved["param_groups"], strict=True):
        new = dict(old)
        new.update({k: current[k] for k in flags if k in current})
        new["lr"] = float(old["lr"])
        groups.append(new)
    device_lr = [isinstance(g["lr"], torch.Tensor) for g in opt.param_groups]
    opt.load_state_dict({**saved, "param_groups": groups})
    for group, on_device in zip(opt.param_groups, device_lr, strict=True):
        if on_device:
            group["lr"] = torch.tensor(group["lr"], dtype=torch.float32,
                                       device=group["params"][0].device)


def plain_optimizer_state(opt: torch.optim.Optimizer) -> dict[str, Any]:
    """``state_dict`` with tensor learning rates as floats, so any device can resume it."""
    state = opt.state_dict()
    for group in state["param_groups"]:
        if isinstance(group.get("lr"), torch.Tensor):
            group["lr"] = float(group["lr"])
    return state


class StepRunner:
    """Runs a step function over an epoch as one device-side program, captured on CUDA.

    Per epoch the sample order goes to the device once (``begin_epoch``); each ``step()``
    then gathers its batch by a device cursor, runs the step, writes the metrics row into a
    device ring and advances the cursor. ``step()`` returns that row (a view, valid until the
    next epoch begins), so the caller reads many steps back in one transfer.
    Streamed data (too large to keep resident) is copied into a static batch instead.
    """

    def __init__(self, step_fn: TrainStep, n_metrics: int, source: BatchSource,
                 accel: Acceleration, on_fallback: Callable[[str], None] | None = None) -> None:
        self.step_fn, self.source, self.accel = step_fn, source, accel
        self.on_fallback = on_fallback
        dev, bs, spe = accel.device, source.batch_size, source.steps_per_epoch
        self.resident = source.resident
        self.rows = torch.zeros(spe, bs, dtype=torch.long, device=dev)
        self.cursor = torch.zeros(1, dtype=torch.long, device=dev)
        self.ring = torch.zeros(spe, n_metrics, dtype=torch.float32, device=dev)
        self.resident_labels = source.resident_labels
        self.static_real: torch.Tensor | None = None
        self.static_labels = torch.zeros(bs, dtype=torch.long, device=dev)
        self._feed: Iterator[tuple[torch.Tensor, torch.Tensor]] | None = None
        self._next_row = 0
        self.want_graph = accel.cuda_graph
        self.graph: torch.cuda.CUDAGraph | None = None
        self.eager_steps = 0
        self.fallback_reason = ""

    @property
    def captured(self) -> bool:
        """True once the step replays as a CUDA graph."""
        return self.graph is not None

    def begin_epoch(self, order: torch.Tensor, start: int = 0) -> None:
        """Load an epoch's sample order; the next step is batch ``start`` of it."""
        spe, bs = self.rows.shape
        if self.resident is not None:
            self.rows.copy_(order[: spe * bs].view(spe, bs), non_blocking=True)
        else:
            self._feed = self.source.batches(order, start)
        self.cursor.fill_(start)
        self._next_row = start

    def step(self) -> torch.Tensor:
        """Run one training step; returns its metrics row on the device."""
        if self._feed is not None:
            batch, labels = next(self._feed)
            if self.static_real is None:
                self.static_real = torch.empty_like(batch, memory_format=self.accel.memory_format)
            self.static_real.copy_(batch)
            self.static_labels.copy_(labels)
        if self.graph is not None:
            self.graph.replay()
        elif self.want_graph and self.eager_steps >= GRAPH_WARMUP_STEPS:
            self._capture()
        elif self.want_graph:
            self._run_on_side_stream()
        else:
            self._program()
        row = self.ring[self._next_row]
        self._next_row += 1
        return row

    def _program(self) -> None:
        """The whole step as device work only: no host reads, no shape that changes."""
        if self.resident is not None:
            idx = self.rows.index_select(0, self.cursor).view(-1)
            real = to_unit_range(self.resident.index_select(0, idx))
            labels = self.resident_labels.index_select(0, idx)
        else:
            assert self.static_real is not None
            real, labels = self.static_real, self.static_labels
        real = real.contiguous(memory_format=self.accel.memory_format)
        metrics = self.step_fn(real, labels)
        self.ring.index_copy_(0, self.cursor, metrics.view(1, -1).float())
        self.cursor.add_(1)
        self.eager_steps += 1

    def _run_on_side_stream(self) -> None:
        # warm-up steps run on a side stream, as CUDA graph capture requires of them
        side = torch.cuda.Stream(self.accel.device)
        side.wait_stream(torch.cuda.current_stream(self.accel.device))
        with torch.cuda.stream(side):
            self._program()
        torch.cuda.current_stream(self.accel.device).wait_stream(side)

    def _capture(self) -> None:
        """Capture the program once and replay it; on any failure, go on eagerly."""
        graph = torch.cuda.CUDAGraph()
        noise_gen = self.step_fn.noise_gen
        noise_state = noise_gen.get_state() if noise_gen is not None else None
        try:
            if noise_gen is not None:  # noise is drawn inside: each replay gets fresh noise
                graph.register_generator_state(noise_gen)
            self._zero_grads()
            with torch.cuda.graph(graph):
                self._program()
        except torch.OutOfMemoryError:
            raise
        except Exception as exc:  # any capture failure: train on, eagerly
            self._fall_back(exc, noise_state)
            self._program()
            return
        self.graph = graph
        self.eager_steps -= 1  # capture recorded the step; the replay below runs it
        graph.replay()
        log.info("Training step captured as one CUDA graph after %d eager steps",
                 GRAPH_WARMUP_STEPS)

    def _fall_back(self, exc: BaseException, noise_state: torch.Tensor | None) -> None:
        self.want_graph = False
        self.fallback_reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        self._zero_grads()
        torch.cuda.synchronize(self.accel.device)
        if noise_state is not None:
            # a generator registered with a failed capture refuses eager draws: a fresh one
            # carries on from the same state
            fresh = torch.Generator(device=self.accel.device)
            fresh.set_state(noise_state)
            self.step_fn.noise_gen = fresh
        if self.on_fallback is not None:
            self.on_fallback(f"CUDA graph capture is not possible here ({self.fallback_reason}); "
                             "training continues eagerly, a little slower.")

    def _zero_grads(self) -> None:
        for opt in self.step_fn.optimizers:
            opt.zero_grad(set_to_none=True)
