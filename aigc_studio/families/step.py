"""What a family's training step is built from and returns (torch; imported lazily).

A family's implementation module subclasses :class:`TrainStep`; the engine's fast path runs it
as one device-side program (captured as a CUDA graph where possible), so a step does device
work only: no host reads, no shapes that change.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch
from torch import nn


class StepAcceleration(Protocol):
    """What a training step needs of the fast path's plan (kept abstract: no engine import)."""

    device: torch.device
    grad_scaler: bool

    def autocast(self) -> contextlib.AbstractContextManager[object]: ...


@dataclass
class StepContext:
    """What a family's step is built with besides its networks and optimizers."""

    accel: StepAcceleration
    batch_size: int
    noise_gen: torch.Generator  # device generator for noise drawn inside the step
    config: Any = None  # the run's TrainConfig: family options (``config.option("beta")``)


class TrainStep:
    """One training step as device work only: ``step(real, labels) -> metrics`` on the device.

    ``labels`` are the batch's class indices (int64, on the device; all zeros for unlabelled
    data). Subclasses implement :meth:`__call__` returning a 1-D tensor in the order of the family's
    step metrics, and list their optimizers. Loss scaling (fp16 only) is shared here, so every
    family gets it by calling :meth:`update`. ``noise_gen`` is the generator noise is drawn
    from inside the step (the CUDA-graph capture registers it); None when a step draws none.
    """

    scaler: torch.amp.GradScaler | None = None
    noise_gen: torch.Generator | None = None

    def __init__(self, accel: StepAcceleration) -> None:
        self.accel = accel
        self.scaler = torch.amp.GradScaler(accel.device.type) if accel.grad_scaler else None

    def __call__(self, real: torch.Tensor, labels: torch.Tensor
                 ) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def optimizers(self) -> list[torch.optim.Optimizer]:
        """Every optimizer the step updates (zeroed around a graph capture)."""
        return [v for v in vars(self).values() if isinstance(v, torch.optim.Optimizer)]

    def update(self, loss: torch.Tensor, opt: torch.optim.Optimizer) -> None:
        """Backward and optimizer step, with loss scaling where the plan asks for it."""
        if self.scaler is None:
            loss.backward()
            opt.step()
        else:
            self.scaler.scale(loss).backward()
            self.scaler.step(opt)

    def end_step(self) -> None:
        """Call once at the end of a step: advances the loss scale (fp16 only)."""
        if self.scaler is not None:
            self.scaler.update()

    def scaler_state(self) -> dict[str, Any] | None:
        """The loss scale and its counters, for an exact resume."""
        return self.scaler.state_dict() if self.scaler is not None else None

    def load_scaler(self, state: dict[str, Any]) -> None:
        if self.scaler is not None:
            self.scaler.load_state_dict(state)


@dataclass
class HealthContext:
    """What a family's health check sees at the end of an epoch."""

    means: Mapping[str, float]
    epochs_done: int
    nets: Mapping[str, nn.Module]
    fixed: torch.Tensor
    device: torch.device
    real_spread: float  # per-pixel std of real images, averaged (a scale for "all alike")
    # the epoch's quality scores (metrics/), e.g. "recall", "coverage"; empty when they are off
    scores: Mapping[str, float] = field(default_factory=dict)
    steps_done: int | None = None  # optimisation steps so far (None: unknown, judge by epochs)


AdamFactory = Callable[[Iterable[nn.Parameter], float], torch.optim.Optimizer]


EMA_WARMUP = 10.0  # an average's decay ramps as (1 + n) / (10 + n) up to its target


class EmaCounter(nn.Module):
    """How many updates a weight average has taken: a buffer, so a checkpoint keeps it and a
    resumed run continues the same warm-up."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("updates", torch.zeros((), dtype=torch.float32))


@torch.no_grad()
def ema_update(ema_params: list[torch.Tensor], params: list[torch.Tensor],
               updates: torch.Tensor, decay: torch.Tensor) -> None:
    """ema <- lerp(ema, params, 1 - d), d = min(decay, (1+n)/(10+n)): device work only (a
    CUDA graph captures it), shared by every family that samples from an average."""
    updates.add_(1)
    d = torch.minimum(decay, (1 + updates) / (EMA_WARMUP + updates))
    torch._foreach_lerp_(ema_params, params, 1 - d)
