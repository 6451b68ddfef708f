"""Training throughput: the pytorch/examples DCGAN loop (the reference) vs the engine.

Both train the same networks (the project's Generator / Discriminator), with the same Adam
settings and batch size, on the bundled digits, in this process, one after the other, twice
(A B A B) so drift on a shared machine shows as spread. The reference is faithful to
pytorch/examples/dcgan: eager fp32 NCHW, a DataLoader with 2 workers over a per-item
transform, a Sigmoid + BCELoss discriminator head, and four host reads per step
(Loss_D, Loss_G, D(x), D(G(z)) printed every iteration, here formatted into a string).

The engine runs as users get it (``fast`` on: the precision the hardware runs natively,
channels_last, and on CUDA the whole step as one graph) and, where that is not fp32, also with
``--precision fp32`` (the fp32 path must never be slower than the reference).

``--model diffusion`` compares the diffusion family's step (the same diffusers UNet2DModel,
class-conditional, EMA) against a loop in the style of diffusers' unconditional training
example: a DataLoader over a per-item transform, eager fp32 NCHW, ``scheduler.add_noise``,
label dropout and EMA (diffusers' ``EMAModel``) on the host side, and the loss read back
every step for the progress bar's logs.

Runs from a source checkout with only torch, numpy and Pillow installed (no GUI packages;
diffusers for ``--model diffusion``):
    python benchmarks/train_throughput.py [--device cpu|cuda] [--model seed|dcgan64|diffusion]
                                          [--batch-size B] [--steps N] [--precision P]
The last line is the headline figure alone: ``ratio X.XX`` (engine / reference).
"""

from __future__ import annotations

import argparse
import functools
import gc
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch
from torch import nn

from aigc_studio.core.datasets import load_dataset
from aigc_studio.engine import trainer as trainer_module
from aigc_studio.engine.callbacks import StepMetrics, TrainingCallback, TrainingControl
from aigc_studio.engine.config import PRECISIONS, TrainConfig
from aigc_studio.engine.fastpath import plan_acceleration
from aigc_studio.engine.trainer import Trainer
from aigc_studio.families import get as get_family
from aigc_studio.families.dcgan.networks import Discriminator, Generator

# a benchmark stops runs at any point: the health warnings of early epochs are noise here
logging.getLogger("aigc_studio").setLevel(logging.ERROR)
# every engine run would rebuild the data set (20,000 procedural shapes take seconds): once
trainer_module.load_dataset = functools.lru_cache(maxsize=2)(load_dataset)

MODELS = {  # name: (image_size, channels, data set)
    "seed": (32, 1, "digits"),
    "dcgan64": (64, 3, "shapes"),
    "diffusion": (32, 1, "digits"),
}
FAMILY = {"seed": "dcgan", "dcgan64": "dcgan", "diffusion": "diffusion"}  # model -> family
SHAPES_LIMIT = 20_000


class DigitsForLoader(torch.utils.data.Dataset):
    """Per-item conversion as torchvision's ToTensor + Normalize would do it."""

    def __len__(self) -> int:
        return len(self.images)

    def __init__(self, images_u8: torch.Tensor, labels: torch.Tensor | None = None) -> None:
        self.images = images_u8
        self.labels = labels

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        x = self.images[i].float().div(255.0)
        return (x - 0.5) / 0.5, int(self.labels[i]) if self.labels is not None else 0


def reference(data_u8: torch.Tensor, size: int, channels: int, batch: int, steps: int,
              warmup: int, device: torch.device) -> float:
    """images/s of the pytorch/examples loop over ``steps`` timed iterations."""
    torch.manual_seed(0)
    net_g = Generator(100, channels, size, 64).to(device)
    net_d = nn.Sequential(Discriminator(channels, size, 64), nn.Sigmoid()).to(device)
    criterion = nn.BCELoss()
    opt_d = torch.optim.Adam(net_d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(net_g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    # persistent workers: a kindness to the reference (pytorch/examples restarts them each
    # epoch), so the ratio compares training steps, not epoch boundaries
    loader = torch.utils.data.DataLoader(DigitsForLoader(data_u8), batch_size=batch,
                                         shuffle=True, num_workers=2, drop_last=True,
                                         persistent_workers=True)
    done, t0, lines = 0, 0.0, []
    while True:
        for real_cpu, _ in loader:
            if done == warmup:
                if device.type == "cuda":
                    torch.cuda.synchronize()
                t0 = time.perf_counter()
            if done == warmup + steps:
                return steps * batch / (time.perf_counter() - t0)
            # (1) Update D network: maximize log(D(x)) + log(1 - D(G(z)))
            net_d.zero_grad()
            real = real_cpu.to(device)
            label = torch.full((batch,), 1.0, device=device)
            output = net_d(real).view(-1)
            err_d_real = criterion(output, label)
            err_d_real.backward()
            d_x = output.mean().item()
            noise = torch.randn(batch, 100, 1, 1, device=device)
            fake = net_g(noise)
            label.fill_(0.0)
            output = net_d(fake.detach()).view(-1)
            err_d_fake = criterion(output, label)
            err_d_fake.backward()
            d_g_z1 = output.mean().item()
            err_d = err_d_real + err_d_fake
            opt_d.step()
            # (2) Update G network: maximize log(D(G(z)))
            net_g.zero_grad()
            label.fill_(1.0)
            output = net_d(fake).view(-1)
            err_g = criterion(output, label)
            err_g.backward()
            d_g_z2 = output.mean().item()
            opt_g.step()
            lines.append(f"Loss_D: {err_d.item():.4f} Loss_G: {err_g.item():.4f} "
                         f"D(x): {d_x:.4f} D(G(z)): {d_g_z1:.4f} / {d_g_z2:.4f}")
            done += 1


def reference_diffusion(data_u8: torch.Tensor, labels: torch.Tensor, size: int, channels: int,
                        batch: int, steps: int, warmup: int, device: torch.device) -> float:
    """images/s of a diffusers-example-style loop training the family's own UNet (fp32)."""
    from diffusers import DDPMScheduler
    from diffusers.training_utils import EMAModel

    from aigc_studio.families.diffusion.networks import build_unet, schedule_config

    torch.manual_seed(0)
    unet = build_unet(channels, size, 32, 10).to(device)
    scheduler = DDPMScheduler.from_config(schedule_config("eps"))
    ema = EMAModel(unet.parameters(), decay=0.999, use_ema_warmup=True)
    opt = torch.optim.Adam(unet.parameters(), lr=1e-3, betas=(0.9, 0.999))
    loader = torch.utils.data.DataLoader(DigitsForLoader(data_u8, labels), batch_size=batch,
                                         shuffle=True, num_workers=2, drop_last=True,
                                         persistent_workers=True)
    done, t0, logs = 0, 0.0, []
    while True:
        for clean, classes in loader:
            if done == warmup:
                if device.type == "cuda":
                    torch.cuda.synchronize()
                t0 = time.perf_counter()
            if done == warmup + steps:
                return steps * batch / (time.perf_counter() - t0)
            clean, classes = clean.to(device), classes.to(device)
            noise = torch.randn(clean.shape, device=device)
            timesteps = torch.randint(0, scheduler.config.num_train_timesteps, (batch,),
                                      device=device)
            noisy = scheduler.add_noise(clean, noise, timesteps)
            drop = torch.rand(batch, device=device) < 0.1  # classifier-free guidance
            classes = torch.where(drop, torch.full_like(classes, 10), classes)
            pred = unet(noisy, timesteps, class_labels=classes).sample
            loss = nn.functional.mse_loss(pred.float(), noise.float())
            loss.backward()
            opt.step()
            opt.zero_grad()
            ema.step(unet.parameters())
            logs.append({"loss": loss.detach().item(), "ema_decay": ema.cur_decay_value,
                         "step": done})
            done += 1


class StepClock(TrainingCallback):
    """Stops the engine after warm-up + steps and times the steps in between."""

    def __init__(self, control: TrainingControl, warmup: int, steps: int) -> None:
        self.control, self.warmup, self.steps = control, warmup, steps
        self.t0 = self.t1 = 0.0
        self.first = self.last = 0

    def on_steps(self, steps: list[StepMetrics]) -> None:
        last = steps[-1].step
        if self.t0 == 0.0 and last >= self.warmup:
            self.t0, self.first = time.perf_counter(), last
        if last >= self.warmup + self.steps and self.t1 == 0.0:
            self.t1, self.last = time.perf_counter(), last
            self.control.stop()


def engine(dataset: str, size: int, batch: int, steps: int, warmup: int, device: str,
           log_every: int, precision: str, family: str = "dcgan") -> tuple[float, str]:
    """images/s of Trainer.fit on the same model between two metric read-backs, and its plan."""
    control = TrainingControl()
    clock = StepClock(control, warmup, steps)
    config = TrainConfig(model=family, dataset=dataset, image_size=size, batch_size=batch,
                         epochs=1000, device=device, log_every=log_every, precision=precision,
                         limit=SHAPES_LIMIT if dataset == "shapes" else 0, eval_samples=0)
    for name, value in get_family(family).defaults.items():  # the family's own settings
        if name not in ("epochs", "batch_size"):
            setattr(config, name, value)
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(config, runs_root=Path(tmp), control=control, callbacks=[clock],
                          save=False)
        trainer.fit()
    label = trainer.accel.describe()
    if trainer.runner.fallback_reason:
        label += f" (capture failed: {trainer.runner.fallback_reason})"
    del trainer
    gc.collect()  # free the captured graph here, not in the reference's forked loader workers
    return (clock.last - clock.first) * batch / (clock.t1 - clock.t0), label


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--model", default="seed", choices=tuple(MODELS))
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=None,
                        help="timed steps per measurement (default: 60 on CPU, 600 on CUDA)")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--precision", default="auto", choices=PRECISIONS,
                        help="the engine's precision for the headline ratio")
    args = parser.parse_args()
    size, channels, dataset = MODELS[args.model]
    device = torch.device(args.device)
    data = trainer_module.load_dataset(dataset, size, channels=None, seed=0, limit=SHAPES_LIMIT
                                       if dataset == "shapes" else 0, data_root=None)
    # the engine reads metrics back every log_every steps: time whole windows of steps
    log_every = 10
    steps = args.steps or (600 if args.device == "cuda" else 60)
    steps = max(log_every, steps // log_every * log_every)
    name = torch.cuda.get_device_name() if args.device == "cuda" else \
        f"{torch.get_num_threads()} threads, {torch.backends.cpu.get_cpu_capability()}"
    print(f"device {args.device} ({name})  model {args.model} ({size}x{size}x{channels})  "
          f"batch {args.batch_size}  torch {torch.__version__}")
    variants = [args.precision]
    if plan_acceleration(device, precision=args.precision).precision != "fp32":
        variants.append("fp32")  # also prove the fp32 path against the reference
    ref: list[float] = []
    eng: dict[str, list[float]] = {}
    labels: dict[str, str] = {}
    family = FAMILY[args.model]
    per_epoch = len(data) // args.batch_size
    if args.steps is None and steps + args.warmup > per_epoch:  # default: fit in one epoch
        steps = max(log_every, (per_epoch - args.warmup) // log_every * log_every)
    if steps + args.warmup > per_epoch:  # no epoch end (grid) in a window
        parser.error(f"--steps + --warmup must fit in one epoch "
                     f"({len(data) // args.batch_size} steps at this batch size).")
    for _ in range(args.repeats):
        if family == "diffusion":
            ref.append(reference_diffusion(data.images, data.labels, size, channels,
                                           args.batch_size, steps, args.warmup, device))
        else:
            ref.append(reference(data.images, size, channels, args.batch_size, steps,
                                 args.warmup, device))
        line = f"  reference {ref[-1]:9.1f} img/s"
        for precision in variants:
            ips, labels[precision] = engine(dataset, size, args.batch_size, steps, args.warmup,
                                            args.device, log_every, precision, family)
            eng.setdefault(precision, []).append(ips)
            line += f"   engine [{labels[precision]}] {ips:9.1f} img/s ({ips / ref[-1]:.2f}x)"
        print(line, flush=True)
    med_ref = statistics.median(ref)
    print(f"median reference {med_ref:.1f} img/s (spread {min(ref):.0f}-{max(ref):.0f})")
    for precision, values in eng.items():
        print(f"median engine [{labels[precision]}] {statistics.median(values):.1f} img/s "
              f"(spread {min(values):.0f}-{max(values):.0f}), "
              f"ratio {statistics.median(values) / med_ref:.2f}")
    print(f"ratio {statistics.median(eng[args.precision]) / med_ref:.2f}")


if __name__ == "__main__":
    main()
