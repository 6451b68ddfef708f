"""What the explorer's controls need to know about how a model samples (plain data).

Read once in the render thread when a model loads and sent to the GUI, so the controls never
touch the network: the classes it can be asked for, whether it can draw without a class,
which sampler settings its family takes and the run's defaults for them. Decided from the
model and its family's declarations, never from the family's name.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aigc_studio.core.provenance import Provenance

if TYPE_CHECKING:  # pragma: no cover - typing only; torch stays unloaded at import time
    from aigc_studio.engine.inference import LoadedModel

SAMPLER_TITLES = {"ddim": "DDIM", "dpm++": "DPM-Solver++"}  # how samplers are named on screen
STRIP_POINTS = 8  # states shown in a denoising strip, pure noise to the image


@dataclass(frozen=True)
class SamplingInfo:
    """How a loaded model can be asked to draw (empty for a one-pass unconditional model)."""

    path: Path | None = None  # what the user opened: ties this to one load
    class_names: tuple[str, ...] = ()  # conditional for this run when not empty
    any_class: bool = False  # it can also draw without a class (trained with label dropout)
    samplers: tuple[str, ...] = ()  # sampler choices (empty: the family has none)
    sampler: str = ""  # the run's default sampler
    steps: int | None = None  # the run's default step count (None: one pass, no steps)
    guidance: float | None = None  # default guidance scale (None: guidance does not apply)
    denoising: bool = False  # the family shows a denoising path
    provenance: Provenance | None = None  # the model's stamp; exports fill in the rest

    @property
    def conditional(self) -> bool:
        """The model draws a class asked for."""
        return bool(self.class_names)

    @property
    def has_options(self) -> bool:
        """The family's sampling takes settings (a sampler run of several steps)."""
        return bool(self.samplers) or self.steps is not None


def sampling_info(path: Path, model: LoadedModel) -> SamplingInfo:
    """Summarise ``model``'s sampling for the controls (runs in the render thread)."""
    from aigc_studio.engine.provenance import for_model

    family = model.family
    takes = set(family.impl.sample_options)
    defaults: dict[str, Any] = dict(getattr(model.net, "sampling", {}))  # the run's settings
    # a "no class" row (label dropout) lets the model draw unconditionally and use guidance
    any_class = bool(getattr(model.net, "null_class", False))
    spec = family.option("sampler")
    samplers = tuple(spec.choices) if spec is not None and "sampler" in takes else ()
    steps = defaults.get("steps") if "steps" in takes else None
    guidance = defaults.get("guidance") if "guidance" in takes and any_class else None
    return SamplingInfo(
        path=Path(path), class_names=tuple(model.class_names), any_class=any_class,
        samplers=samplers, sampler=str(defaults.get("sampler", samplers[0] if samplers else "")),
        steps=int(steps) if steps is not None else None,
        guidance=float(guidance) if guidance is not None else None,
        denoising=family.capabilities.denoising_path,
        provenance=for_model(model, kind="explorer"))


@dataclass(frozen=True)
class TrajectoryRequest:
    """One sample's denoising path: every state from pure noise to the image."""

    seed: int = 0
    class_index: int | None = None
    sampler: tuple[tuple[str, Any], ...] = ()  # as in RenderRequest
    steps: int = 20  # states kept: steps + 1 (noise first)
    serial: int = 0
