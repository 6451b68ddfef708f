"""The denoiser: diffusers' ``UNet2DModel`` sized for 32-64 px, plus its noise schedule.

``UNet2DModel`` already is the network the issue asks for (residual blocks, group norm, a
sinusoidal time embedding, self-attention at the lowest resolution, a class embedding), so it
is used as is; :class:`DiffusionNet` only wraps it with what sampling needs to know besides
the weights: the scheduler config (T, beta schedule, ε or v prediction) and the class count.
A folder written by diffusers' ``save_pretrained`` loads into the same wrapper.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import torch
from torch import nn

from aigc_studio.errors import CheckpointError

TRAIN_TIMESTEPS = 1000
PREDICTIONS = {"eps": "epsilon", "v": "v_prediction"}  # our option value -> diffusers' name
SAMPLING_DEFAULTS = {"sampler": "dpm++", "steps": 20, "guidance": 2.0}


def schedule_config(prediction: str) -> dict[str, Any]:
    """The scheduler config of a run: T = 1000, cosine schedule (Nichol & Dhariwal 2021)."""
    return {"num_train_timesteps": TRAIN_TIMESTEPS, "beta_schedule": "squaredcos_cap_v2",
            "prediction_type": PREDICTIONS[prediction], "clip_sample": False}


def alphas_cumprod(schedule: dict[str, Any]) -> torch.Tensor:
    """ᾱ_t for every training timestep, from diffusers' DDPM scheduler (float32, CPU)."""
    from diffusers import DDPMScheduler

    return DDPMScheduler.from_config(schedule).alphas_cumprod.float().clone()


def build_unet(channels: int, image_size: int, width: int, num_classes: int) -> nn.Module:
    """A small UNet: widths (w, 2w, 2w[, 2w]), one residual block per level, attention at the
    lowest resolution (8×8) and in the middle; ``num_classes`` > 0 adds a class embedding
    with one extra "no class" row for classifier-free guidance."""
    from diffusers import UNet2DModel

    levels = 3 if image_size == 32 else 4  # 32 -> 16 -> 8 (-> 8), attention at 8x8
    widths = (width,) + (2 * width,) * (levels - 1)
    return UNet2DModel(
        sample_size=image_size, in_channels=channels, out_channels=channels,
        block_out_channels=widths, layers_per_block=1,
        down_block_types=("DownBlock2D",) * (levels - 1) + ("AttnDownBlock2D",),
        up_block_types=("AttnUpBlock2D",) + ("UpBlock2D",) * (levels - 1),
        norm_num_groups=math.gcd(width, 8), attention_head_dim=min(2 * width, 32),
        num_class_embeds=num_classes + 1 if num_classes else None)


class DiffusionNet(nn.Module):
    """A UNet with its schedule: ``net(x_t, t, labels)`` predicts ε (or v) for a noisy batch.

    ``labels`` index the class embedding; index ``num_classes`` is the "no class" used by
    label dropout and the unconditional half of guidance.
    """

    def __init__(self, unet: nn.Module, schedule: dict[str, Any], num_classes: int,
                 *, null_class: bool = True) -> None:
        super().__init__()
        self.unet = unet
        self.schedule = dict(schedule)
        self.num_classes = num_classes
        self.null_class = null_class and num_classes > 0  # trained with label dropout: CFG
        # EMA updates so far (drives the decay warm-up; saved, so a resume is exact)
        self.register_buffer("updates", torch.zeros((), dtype=torch.float32))
        self.sampling: dict[str, Any] = dict(SAMPLING_DEFAULTS)  # a run sets its own
        self.run_options: dict[str, Any] = {}
        # not in the state dict: it follows from the schedule, and diffusers folders lack it
        self.register_buffer("alphas_cumprod", alphas_cumprod(self.schedule), persistent=False)

    @property
    def channels(self) -> int:
        return int(self.unet.config.in_channels)

    @property
    def image_size(self) -> int:
        size = self.unet.config.sample_size
        return int(size[0] if isinstance(size, (tuple, list)) else size)

    @property
    def prediction(self) -> str:
        return str(self.schedule.get("prediction_type", "epsilon"))

    def forward(self, x: torch.Tensor, t: torch.Tensor,
                labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.unet(x, t, class_labels=labels, return_dict=False)[0]


def is_diffusers_folder(path: Path) -> bool:
    """True for a folder written by diffusers' ``save_pretrained`` (a UNet or a pipeline)."""
    path = Path(path)
    if (path / "model_index.json").is_file():
        return (path / "unet" / "config.json").is_file()
    try:
        config = json.loads((path / "config.json").read_text("utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(config, dict) and config.get("_class_name") == "UNet2DModel"


def load_diffusers_folder(path: Path) -> DiffusionNet:
    """A ``UNet2DModel`` saved with ``save_pretrained`` (safetensors only, never a pickle).

    A pipeline folder (``model_index.json`` with ``unet/`` and ``scheduler/``) brings its own
    scheduler config; a bare UNet folder is assumed to be ε-prediction on the cosine schedule.
    """
    from diffusers import UNet2DModel

    path = Path(path)
    unet_dir, schedule = path, schedule_config("eps")
    if (path / "model_index.json").is_file():
        unet_dir = path / "unet"
        sched_file = path / "scheduler" / "scheduler_config.json"
        if sched_file.is_file():
            saved = json.loads(sched_file.read_text("utf-8"))
            schedule = {k: v for k, v in saved.items() if not k.startswith("_")}
    try:  # safetensors only: a folder holding pickled weights alone is refused
        unet = UNet2DModel.from_pretrained(str(unet_dir), use_safetensors=True,
                                           local_files_only=True)
    except (OSError, ValueError, RuntimeError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
        raise CheckpointError(f"{path.name} could not be opened as a diffusers UNet2DModel "
                              f"folder with safetensors weights ({first}).") from None
    # a foreign class embedding has no "no class" row we know of: conditional, no guidance
    return DiffusionNet(unet, schedule, int(unet.config.num_class_embeds or 0), null_class=False)


def parameter_count(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())
