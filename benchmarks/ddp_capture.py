"""Does the training step still capture as a CUDA graph when its networks are in DDP?

A machine with one GPU cannot run two NCCL ranks, so this forms an NCCL group of one and
trains every family through the same DistributedDataParallel wrapping a multi-GPU run uses
(``Ranks.active`` forced on). It prints, per family, whether the step was captured (or why
not) and the images/s against the same run without the wrapping.

    PYTHONPATH=. python benchmarks/ddp_capture.py            # needs CUDA

H200, torch 2.11 (2026-11-30): every family's capture failed ("operation failed due to a
previous error during capture") and fell back to eager with the same weights as without DDP
(bce, hinge, autoencoder, VAE; WGAN-GP's eager double backward differs from its graph in the
last bits); diffusion was not run (no diffusers there). So ranks train without CUDA graphs.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from unittest import mock

import torch

from aigc_studio import families
from aigc_studio.engine import distributed
from aigc_studio.engine.config import TrainConfig
from aigc_studio.engine.trainer import Trainer

FAMILY_OPTIONS = {"dcgan": [{}, {"loss": "hinge"}, {"loss": "wgan-gp"}]}


def train(model: str, extras: dict[str, object], ddp: bool) -> tuple[Trainer, float]:
    cfg = TrainConfig(model=model, dataset="digits", limit=2048, batch_size=128, epochs=2,
                      eval_samples=0, device="cuda", extras=dict(extras)).validate()
    warnings: list[str] = []
    trainer = Trainer(cfg, save=False)
    trainer._warn = warnings.append  # type: ignore[method-assign]
    started = time.perf_counter()
    with contextlib.ExitStack() as patches:
        if ddp:  # a group of one, wrapped as for several; capture is tried (the trainer
            # turns it off for several processes because of what this prints)
            patches.enter_context(mock.patch.object(distributed.Ranks, "active",
                                                    property(lambda self: True)))
            patches.enter_context(mock.patch.object(distributed.Ranks, "adjust",
                                                    lambda self, accel: accel))
        trainer.fit()
    return trainer, 2 * trainer.source.steps_per_epoch * 128 / (time.perf_counter() - started)


def main() -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(distributed.free_port()))
    torch.cuda.set_device(0)
    torch.distributed.init_process_group("nccl", rank=0, world_size=1,
                                         device_id=torch.device("cuda", 0))
    os.environ["AIGC_STUDIO_HOME"] = tempfile.mkdtemp()
    for family in families.all_families():
        for extras in FAMILY_OPTIONS.get(family.name, [{}]):
            label = family.name + "".join(f" {k}={v}" for k, v in extras.items())
            try:
                plain, plain_rate = train(family.name, extras, ddp=False)
                wrapped, rate = train(family.name, extras, ddp=True)
            except Exception as exc:  # report and go on with the next family
                print(f"{label:24} FAILED: {type(exc).__name__}: {str(exc)[:300]}")
                continue
            same = all(torch.equal(a, b) for a, b in zip(
                plain.models.nets[family.inference_key].parameters(),
                wrapped.models.nets[family.inference_key].parameters(), strict=True))
            how = ("captured" if wrapped.runner.captured
                   else f"eager ({wrapped.runner.fallback_reason or 'no graph planned'})")
            print(f"{label:24} DDP step {how}; {rate:7.0f} img/s with DDP, "
                  f"{plain_rate:7.0f} without; same weights as without: {same}", flush=True)
    torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main()
