"""Headless training: ``Trainer.fit`` runs any model family and keeps the run safe.

The trainer never asks which model it holds: the run's family (``config.family``) builds the
networks, optimizers and step, names the metrics, draws the epoch grid and checks health.

The step is lean: losses stay on the device and are read back every ``log_every`` steps in one
transfer (still reported per step); nothing per step scales with the batch in Python. Pause,
stop and learning-rate changes arrive through a :class:`TrainingControl` checked every step.
Every epoch ends with a sample grid, per-epoch weights and a full checkpoint; a stop writes a
checkpoint of the exact state at that step, so ``Trainer.resume`` continues bit for bit.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from aigc_studio import metrics as quality_metrics
from aigc_studio.core.datasets import BatchSource, ImageData, load_dataset, to_unit_range
from aigc_studio.core.device import describe_device, resolve_device, use_training_threads
from aigc_studio.core.grid import save_png
from aigc_studio.core.memory import is_out_of_memory
from aigc_studio.engine import distributed, provenance, runlock, runs
from aigc_studio.engine.callbacks import (
    EndStatus,
    EpochResult,
    RunStarted,
    StepMetrics,
    TrainEnd,
    TrainingCallback,
    TrainingControl,
)
from aigc_studio.engine.checkpoint import (
    checkpoint_config,
    load_checkpoint,
    save_checkpoint,
    save_weights,
)
from aigc_studio.engine.config import ConfigError, TrainConfig
from aigc_studio.engine.fastpath import (
    Acceleration,
    StepRunner,
    load_optimizer_state,
    make_adam,
    plain_optimizer_state,
    plan_acceleration,
    set_learning_rate,
)
from aigc_studio.errors import AigcError, RunError, TrainingError
from aigc_studio.families.base import ModelFamily
from aigc_studio.families.step import HealthContext, StepContext, TrainStep

log = logging.getLogger(__name__)


@dataclass
class Models:
    """The networks and optimisers of one run."""

    nets: dict[str, nn.Module]
    optims: dict[str, torch.optim.Optimizer]

    def state(self) -> dict[str, Any]:
        return {"models": {k: m.state_dict() for k, m in self.nets.items()},
                "optimizers": {k: plain_optimizer_state(o) for k, o in self.optims.items()}}

    def load(self, state: dict[str, Any],
             legacy: Callable[[str, Mapping[str, Any]], Mapping[str, Any] | None]) -> None:
        """Restore every network and optimizer; ``legacy`` supplies a network an older
        checkpoint lacks (the family's ``legacy_state``)."""
        saved = state["models"]
        for key, net in self.nets.items():
            weights = saved[key] if key in saved else legacy(key, saved)
            if weights is None:
                raise KeyError(key)
            net.load_state_dict(weights)
        for key, opt in self.optims.items():
            load_optimizer_state(opt, state["optimizers"][key])


@dataclass
class _Progress:
    """Counters and host-side history (what a checkpoint stores besides the tensors)."""

    epoch: int = 0  # completed epochs
    step: int = 0  # global steps done
    epoch_step: int = 0  # steps done within the current epoch
    history: dict[str, list[float]] = field(default_factory=dict)
    elapsed: float = 0.0


class Trainer:
    """Train one run. Build with a config (new run) or with :meth:`resume` (existing run)."""

    def __init__(self, config: TrainConfig, *, runs_root: Path | None = None,
                 control: TrainingControl | None = None,
                 callbacks: Sequence[TrainingCallback] = (), save: bool = True) -> None:
        self.config = config.validate()
        self.runs_root = Path(runs_root) if runs_root is not None else runs.default_runs_root()
        self.control = control or TrainingControl()
        self.callbacks = list(callbacks)
        self.save = save and distributed.env_rank() == 0  # other ranks of a run write nothing
        if self.config.tensorboard and self.save:  # without the package: one sentence, nothing made
            from aigc_studio.engine.tensorboard import LiveWriter

            self.callbacks.append(LiveWriter())
        self.run_dir: Path | None = None
        self._resume_state: dict[str, Any] | None = None

    @classmethod
    def resume(cls, run_dir: Path, *, epochs: int | None = None,
               control: TrainingControl | None = None,
               callbacks: Sequence[TrainingCallback] = ()) -> Trainer:
        """Continue a run from ``checkpoints/last.pt``; never silently starts from scratch."""
        run_dir = Path(run_dir)
        if not run_dir.is_dir():
            raise RunError(f"The run folder {run_dir} does not exist.")
        if distributed.env_rank() == 0:  # rank 0 alone writes the run folder
            runs.prepare_resume(run_dir)  # refuses a run another process writes; cleans temps
        ckpt_path = runs.last_checkpoint(run_dir)
        if not ckpt_path.exists():
            raise RunError(f"{run_dir.name} has no checkpoint to resume from "
                           f"({ckpt_path} is missing); nothing was started.")
        state = load_checkpoint(ckpt_path)
        config = checkpoint_config(state, ckpt_path)
        runs.check_resume_checkpoint(run_dir, config)  # checksum, and that it is this run's
        if epochs is not None:
            config.epochs = epochs
        config.validate()
        done = int(state["epoch"])
        if done >= config.epochs and int(state["epoch_step"]) == 0:
            raise AigcError(f"{run_dir.name} has already trained all {done} epochs; "
                            f"ask for more (e.g. --epochs {done + 10}) to continue it.")
        trainer = cls(config, runs_root=run_dir.parent, control=control, callbacks=callbacks)
        trainer.run_dir = run_dir
        trainer._resume_state = state
        return trainer

    # ------------------------------------------------------------------ set-up
    def prepare(self) -> None:
        """Load the data and build the networks, optimizers and step without training.

        ``fit`` calls it first; tools and tests call it to inspect or drive one step by hand
        (``trainer.step_fn(images, labels)`` on a batch of ``trainer.source``).
        """
        cfg = self.config
        self.ranks, self.device = distributed.start(resolve_device(cfg.device))
        use_training_threads()  # per thread: the window trains in its own thread
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True
        self.data: ImageData = load_dataset(cfg.dataset, cfg.image_size, channels=cfg.channels,
                                            seed=cfg.seed, limit=cfg.limit,
                                            data_root=cfg.data_root)
        self.channels = self.data.channels
        self.num_classes = self._class_count()
        self.source = BatchSource(self.data, cfg.batch_size, self.device)
        self.ranks.fit_source(self.source, len(self.data))  # this rank's shard of each epoch
        self.accel: Acceleration = self.ranks.adjust(plan_acceleration(
            self.device, fast=cfg.fast, precision=cfg.precision))
        self.memory_format = self.accel.memory_format
        family = self.family.impl
        torch.manual_seed(cfg.seed)  # weight init is part of the run's reproducibility
        nets = {k: m.to(self.device, memory_format=self.memory_format)
                for k, m in family.build_networks(cfg, self.channels, self.num_classes).items()}

        def adam(params: Any, lr: float) -> torch.optim.Optimizer:
            return make_adam(params, lr, (cfg.beta1, cfg.beta2), self.accel)

        optims = family.build_optimizers(nets, cfg, adam)
        self.models = Models(nets, optims)
        self.data_gen = torch.Generator().manual_seed(cfg.seed)
        self.noise_gen = torch.Generator(device=self.device).manual_seed(
            cfg.seed + 1 + self.ranks.seed_offset)
        self.fixed = self._fixed_inputs()
        self._real_spread = self._data_spread()
        self.epoch_metrics = [m.create(cfg) for m in quality_metrics.for_config(cfg)
                              if self.ranks.is_main]
        self.order: torch.Tensor | None = None
        self.progress = _Progress(history={k: [] for k in ("epoch", "step", *self.metric_names)})
        if self._resume_state is not None:
            self._restore(self._resume_state)
        self._synced_stop = False  # several processes: a stop every rank agreed on
        self.step_fn: TrainStep = family.make_step(
            self.ranks.wrap_networks(family, nets, optims, self.device), optims,
            StepContext(self.accel, cfg.batch_size, self.noise_gen, cfg))
        if self._resume_state is not None and self._resume_state.get("scaler"):
            self.step_fn.load_scaler(self._resume_state["scaler"])
        self.runner = StepRunner(self.step_fn, len(self.metric_names), self.source, self.accel,
                                 on_fallback=self._warn)

    @property
    def family(self) -> ModelFamily:
        """The run's model family (builds, steps, grids and health checks)."""
        return self.config.family

    @property
    def metric_names(self) -> tuple[str, ...]:
        """The per-step metrics, in the order the family's step returns them (they may
        depend on the run's options, e.g. a GAN's loss)."""
        return self.family.step_metric_names(self.config)

    def _class_count(self) -> int:
        """Classes the networks are conditioned on: the data's, for a conditional run; else 0."""
        if not self.family.is_conditional(self.config.extras):
            return 0
        n = len(self.data.class_names)
        if n < 2 and "conditional" not in self.config.extras:
            return 0  # conditional by the family's default, not by request: where labels exist
        if n < 2:
            raise ConfigError(
                f"A conditional {self.family.title} needs a data set with classes (digits, "
                "MNIST, Fashion-MNIST, CIFAR-10, or a folder whose sub-folders are the "
                f"classes); {self.data.name} has {n}.")
        return n

    def _fixed_inputs(self) -> torch.Tensor:
        """What every epoch grid is drawn from (fixed noise or real images), drawn once."""
        return self.family.impl.fixed_inputs(self.config, self._first_images)

    def _first_images(self, n: int) -> torch.Tensor:
        """The first ``n`` images of the data set as uint8 (a copy)."""
        n = min(n, len(self.data))
        if self.data.images is not None:
            return self.data.images[:n].clone()
        return torch.stack([self.data.stream[i][0] for i in range(n)])

    def _data_spread(self) -> float:
        """How much real images differ from each other (per-pixel std, averaged)."""
        if self.data.images is not None:
            sample = self.data.images[:256]
        else:
            sample = torch.stack([self.data.stream[i][0] for i in range(min(64, len(self.data)))])
        return float(to_unit_range(sample).std(dim=0).mean())

    def _restore(self, state: dict[str, Any]) -> None:
        try:
            self.models.load(state, self.family.impl.legacy_state)
            self.data_gen.set_state(state["rng"]["data"])
            self.ranks.restore_rng(state["rng"], self.noise_gen)  # this rank's own streams
            self.fixed = state["fixed"]
            self.order = state["order"]
            history = {k: [float(x) for x in v.tolist()] for k, v in state["history"].items()}
            self.progress = _Progress(int(state["epoch"]), int(state["step"]),
                                      int(state["epoch_step"]), history,
                                      float(state.get("elapsed", 0.0)))
        except (KeyError, RuntimeError, ValueError, TypeError) as exc:
            raise RunError(f"The checkpoint of {self.run_dir} does not fit this run "
                           f"({str(exc).splitlines()[0][:160]}).") from None
        if self.order is not None and self.order.numel() != len(self.data):
            raise RunError(f"The data set {self.config.dataset} changed since the checkpoint "
                           f"({self.order.numel()} images then, {len(self.data)} now); "
                           "it cannot resume mid-epoch.")
        note = self.ranks.resume_note(state["rng"])
        if note:
            self._warn(note)

    def _open_run(self) -> None:
        extra = {"data": self.data.describe(), "device": describe_device(self.device),
                 "acceleration": self.accel.describe(), "status": "running",
                 **self.ranks.describe()}
        if self.run_dir is None:
            self.run_dir = runs.create_run_dir(self.runs_root, self.config, extra)
            self._lock = runlock.RunLock.acquire(self.run_dir)
        else:
            runs.truncate_metrics(self.run_dir, self.progress.step)
            runs.write_run_config(self.run_dir, self.config, extra)
        self._log_handler = logging.FileHandler(self.run_dir / runs.LOG, encoding="utf-8")
        self._log_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        logging.getLogger("aigc_studio").addHandler(self._log_handler)
        if logging.getLogger("aigc_studio").getEffectiveLevel() > logging.INFO:
            logging.getLogger("aigc_studio").setLevel(logging.INFO)
        for path, reason in self.data.skipped:
            log.warning("Skipped %s: %s", path, reason)

    def _close_run(self, status: str) -> None:
        if self.run_dir is not None and self.save:
            try:
                runs.write_run_config(self.run_dir, self.config, {"status": status})
            except OSError as exc:
                log.error("Could not record the run status: %s", exc)
        handler = getattr(self, "_log_handler", None)
        if handler is not None:
            logging.getLogger("aigc_studio").removeHandler(handler)
            handler.close()

    # ------------------------------------------------------------------ the loop
    def fit(self) -> TrainEnd:
        """Train until the configured epoch count, a stop request, or a fault (raised).

        The run's writer lock is held throughout (a second writer is refused)."""
        self._lock = runlock.RunLock.acquire(self.run_dir) if self.save and self.run_dir else None
        try:
            return self._fit()
        finally:
            if self._lock is not None:
                self._lock.release()

    def _fit(self) -> TrainEnd:
        self.prepare()
        if self.save:
            self._open_run()
        status = "failed"
        try:
            end = self._loop()
            status = end.status
            return end
        finally:
            self._close_run(status)

    def _warn(self, message: str) -> None:
        """A warning for the log, the run's metrics and the user (CLI line or window banner)."""
        log.warning(message)
        self._write_records([{"kind": "event", "event": "warning", "epoch": self.progress.epoch + 1,
                              "step": self.progress.step, "message": message}])
        self._emit("on_warning", message)

    @property
    def device_label(self) -> str:
        """Device and how it runs, e.g. 'cuda (NVIDIA H200) · bf16, channels_last, CUDA graph'."""
        return f"{describe_device(self.device)} · {self.accel.describe()}"

    def _emit(self, hook: str, *args: Any) -> None:
        for cb in self.callbacks:
            getattr(cb, hook)(*args)

    def _loop(self) -> TrainEnd:
        cfg, p = self.config, self.progress
        spe = self.source.steps_per_epoch
        notes = tuple([*self.data.notes] + ([f"{len(self.data.skipped)} files skipped"]
                                            if self.data.skipped else []))
        self._emit("on_start", RunStarted(
            run_dir=self.run_dir, device=self.device_label, model=cfg.model,
            dataset=self.data.name, num_images=len(self.data),
            skipped_images=len(self.data.skipped), steps_per_epoch=spe,
            total_steps=spe * cfg.epochs, start_epoch=p.epoch + 1, start_step=p.step,
            epochs=cfg.epochs, notes=notes))
        log.info("Training %s on %s (%d images) on %s, run %s", cfg.model, self.data.name,
                 len(self.data), self.device_label, self.run_dir)
        if self.accel.note:
            log.info("Acceleration: %s", self.accel.note)
        self._pending: list[torch.Tensor] = []
        self._pending_steps: list[tuple[int, int]] = []
        self._epoch_sums: dict[str, float] = {}
        self._epoch_count = 0
        if p.epoch_step:  # resuming mid-epoch: rebuild this epoch's sums from the history
            self._reseed_epoch_sums()
        self._start_epoch_metrics()
        self._mark = time.perf_counter()
        self._flushed_once = False
        while p.epoch < cfg.epochs:
            epoch = p.epoch + 1
            if self.order is None:
                self.order = torch.randperm(len(self.data), generator=self.data_gen)
            epoch_start = time.perf_counter()
            self._paused_s = 0.0
            first_step = p.epoch_step  # a resumed epoch runs only the rest of its steps
            self.runner.begin_epoch(self.ranks.shard(self.order), p.epoch_step)
            for _ in range(p.epoch_step, spe):
                if self._check_control():
                    return self._stopped()
                out_of_memory = False
                try:
                    metrics = self.runner.step()
                except (torch.OutOfMemoryError, MemoryError, RuntimeError) as exc:
                    if not is_out_of_memory(exc):  # CPU and GPU out of memory alike
                        raise
                    out_of_memory = True
                if out_of_memory:  # outside the except block: its frames no longer pin tensors
                    self._recover_from_oom()
                p.step += 1
                p.epoch_step += 1
                self._pending.append(metrics)
                self._pending_steps.append((epoch, p.step))
                if p.step % cfg.log_every == 0 or not self._flushed_once:
                    self._flush()  # the first step at once: a user sees the run move
                if cfg.checkpoint_every and p.step % cfg.checkpoint_every == 0:
                    self._flush()
                    self._checkpoint()
            self._flush()
            p.epoch, p.epoch_step, self.order = epoch, 0, None
            # paused time and a resumed epoch's earlier steps are not speed
            self._end_epoch(epoch, time.perf_counter() - epoch_start - self._paused_s,
                            steps_run=spe - first_step)
        return self._finish("finished")

    def _check_control(self) -> bool:
        """Apply pending LR changes, wait while paused; True when a stop was asked for."""
        ctl = self.control
        if self.ranks.active:  # a stop lands at a flush, on every rank at once; pause and
            return self._synced_stop  # learning-rate changes are one-process features
        if ctl.stop_requested:
            return True
        lrs = ctl.take_learning_rates()
        if lrs:
            self._apply_learning_rates(lrs)
        if ctl.paused:
            self._flush()
            paused_at = time.perf_counter()
            while ctl.paused and not ctl.stop_requested:
                ctl.wait_while_paused(0.25)
            self._mark = time.perf_counter()
            self._paused_s += self._mark - paused_at
        return ctl.stop_requested

    def _recover_from_oom(self) -> None:
        """Free what the failed step held, then stop with advice; the last checkpoint stays."""
        self._pending.clear()
        self._pending_steps.clear()
        for opt in self.models.optims.values():
            opt.zero_grad(set_to_none=True)
        if self.device.type == "cuda":
            torch.cuda.empty_cache()
        elif self.device.type == "mps":
            torch.mps.empty_cache()
        bs = self.config.batch_size
        message = (f"Out of memory on {self.device.type} at step {self.progress.step + 1} with "
                   f"batch size {bs}; try a smaller batch (e.g. --batch-size {max(bs // 2, 2)}) "
                   "or a smaller --width. "
                   "The last checkpoint is kept.")
        log.error(message)
        self._write_records([{"kind": "event", "event": "failed", "message": message,
                              "step": self.progress.step}])
        raise TrainingError(message)

    def _apply_learning_rates(self, lrs: dict[str, float]) -> None:
        for key, opt in (("lr_g", "g"), ("lr_d", "d")):
            if key in lrs and opt in self.models.optims:
                set_learning_rate(self.models.optims[opt], lrs[key])
                setattr(self.config, key, lrs[key])
        event = {"kind": "event", "event": "lr_change", "epoch": self.progress.epoch + 1,
                 "step": self.progress.step, **lrs}
        log.info("Learning rates changed at step %d: %s", self.progress.step, lrs)
        self._write_records([event])

    # ------------------------------------------------------------------ metrics
    def _flush(self) -> None:
        """Read pending step metrics back in one transfer; report and log them."""
        if not self._pending:
            return
        self._flushed_once = True
        rows, stop = self.ranks.average_rows(torch.stack(self._pending),
                                             self.control.stop_requested)
        self._synced_stop = self._synced_stop or stop
        values = rows.float().cpu().tolist()
        now = time.perf_counter()
        seen = len(values) * self.config.batch_size * self.ranks.world_size  # all ranks
        ips = seen / max(now - self._mark, 1e-9)
        self._mark = now
        names = self.metric_names
        steps: list[StepMetrics] = []
        bad: str | None = None
        for (epoch, step), row in zip(self._pending_steps, values, strict=True):
            if not all(math.isfinite(v) for v in row):
                name = names[next(i for i, v in enumerate(row) if not math.isfinite(v))]
                bad = (f"Training diverged: {name} became {row[names.index(name)]} at step {step} "
                       f"(epoch {epoch}); the last good checkpoint is kept. Try a lower "
                       "learning rate.")
                break
            steps.append(StepMetrics(epoch=epoch, step=step, images_per_s=ips,
                                     values=dict(zip(names, row, strict=True))))
        self._pending.clear()
        self._pending_steps.clear()
        h = self.progress.history
        for m in steps:
            h["epoch"].append(m.epoch)
            h["step"].append(m.step)
            for name in names:
                value = m.values[name]
                h[name].append(value)
                self._epoch_sums[name] = self._epoch_sums.get(name, 0.0) + value
        self._epoch_count += len(steps)
        self._write_records([{"kind": "step", **m.as_dict()} for m in steps])
        if steps:
            self._emit("on_steps", steps)
        if bad is not None:
            log.error(bad)
            self._write_records([{"kind": "event", "event": "failed", "message": bad,
                                  "step": self.progress.step}])
            raise TrainingError(bad)

    def _reseed_epoch_sums(self) -> None:
        h, epoch = self.progress.history, self.progress.epoch + 1
        rows = [i for i, e in enumerate(h["epoch"]) if int(e) == epoch]
        for name in self.metric_names:
            self._epoch_sums[name] = sum(h[name][i] for i in rows)
        self._epoch_count = len(rows)

    def _write_records(self, records: list[dict[str, Any]]) -> None:
        if self.save and self.run_dir is not None:
            try:
                runs.append_metrics(self.run_dir, records)
            except OSError as exc:
                raise RunError(f"Cannot write {self.run_dir / runs.METRICS} "
                               f"({exc.strerror}); training stopped, nothing in memory was "
                               "lost.") from None

    # ------------------------------------------------------------------ epoch end
    def render_grid(self) -> np.ndarray:
        """The epoch grid, as the family draws it from the fixed inputs."""
        return self.family.impl.epoch_grid(self.models.nets, self.fixed, self.device)

    def _end_epoch(self, epoch: int, seconds: float, *, steps_run: int) -> None:
        """``seconds``: the epoch's training time without pauses; ``steps_run``: the steps it
        took in this process (fewer than an epoch's when it was resumed mid-epoch)."""
        means = {k: v / max(self._epoch_count, 1) for k, v in self._epoch_sums.items()}
        self._epoch_sums, self._epoch_count = {}, 0
        imgs_per_s = (steps_run * self.config.batch_size
                      * self.ranks.world_size / max(seconds, 1e-9))
        grid = self.render_grid()
        sample = None
        if self.save and self.run_dir is not None:
            sample = runs.sample_path(self.run_dir, epoch)
            stamp = provenance.for_run(self.run_dir, self.config, kind="epoch-grid",
                                       epoch=epoch, seeds=(self.config.seed,), noise="fixed")
            self._guard_write(lambda: save_png(grid, sample, stamp), sample)
            weights = runs.epoch_weights_path(self.run_dir, epoch)
            key = self.family.inference_key
            net = self.models.nets[key]
            self._guard_write(lambda: save_weights(
                weights, net.state_dict(), self.config, **self.weights_meta(epoch)), weights)
        scores = self._epoch_scores(epoch)
        warnings = self._health_warnings(means, scores)
        record = {"kind": "epoch", "epoch": epoch, "step": self.progress.step, **means, **scores,
                  "seconds": round(seconds, 3), "images_per_s": round(imgs_per_s, 1)}
        self._write_records([record] + [{"kind": "event", "event": "warning", "epoch": epoch,
                                         "step": self.progress.step, "message": w}
                                        for w in warnings])
        self.progress.elapsed += seconds
        self._checkpoint()
        for w in warnings:
            log.warning(w)
            self._emit("on_warning", w)
        log.info("Epoch %d/%d done in %.1f s (%.0f images/s): %s", epoch, self.config.epochs,
                 seconds, imgs_per_s, {k: round(v, 4) for k, v in means.items()})
        self._emit("on_epoch_end", EpochResult(
            epoch=epoch, step=self.progress.step, grid=grid, means=means, seconds=seconds,
            images_per_s=imgs_per_s, sample_path=sample, warnings=tuple(warnings),
            scores=scores))
        self._mark = time.perf_counter()

    def weights_meta(self, epoch: int) -> dict[str, str]:
        """What a weights file records besides the config (all strings: safetensors metadata)."""
        return {"epoch": str(epoch), "kind": self.family.inference_key,
                "channels": str(self.channels), "num_classes": str(self.num_classes),
                "classes": json.dumps(self.data.class_names if self.num_classes else [])}

    def _epoch_scores(self, epoch: int) -> dict[str, float]:
        """Per-epoch metrics (quality scores); one that fails is logged, never fatal."""
        scores: dict[str, float] = {}
        for metric in list(self.epoch_metrics):
            try:
                scores.update(metric.compute(self, epoch))
            except Exception as exc:  # a metric must never stop training
                log.warning("The %s metric failed at epoch %d: %s", type(metric).__name__,
                            epoch, exc)
        return scores

    def _start_epoch_metrics(self) -> None:
        """Prepare each per-epoch metric once; one that cannot start is dropped with a note."""
        for metric in list(self.epoch_metrics):
            try:
                metric.start(self)
            except Exception as exc:  # a metric must never stop training
                self.epoch_metrics.remove(metric)
                self._warn(f"The quality metric {type(metric).__name__} is off for this run: "
                           f"{exc}")

    def _health_warnings(self, means: dict[str, float],
                         scores: dict[str, float]) -> list[str]:
        """The family's verdict on the epoch (a game one side wins, collapse...)."""
        return self.family.impl.health_warnings(HealthContext(
            means=means, epochs_done=self.progress.epoch, nets=self.models.nets,
            fixed=self.fixed, device=self.device, real_spread=self._real_spread,
            scores=scores, steps_done=self.progress.step))

    # ------------------------------------------------------------------ checkpoints
    def _noise_source(self) -> torch.Generator:
        """The generator the step draws noise from (the runner may replace it on a fallback)."""
        return self.step_fn.noise_gen or self.noise_gen

    def checkpoint_state(self) -> dict[str, Any]:
        """Everything needed to continue exactly where training is now."""
        p = self.progress
        return {
            "config": self.config.to_dict(),
            **self.models.state(),
            "epoch": p.epoch,
            "step": p.step,
            "epoch_step": p.epoch_step,
            "order": self.order,
            "rng": {"data": self.data_gen.get_state(),
                    "noise": self._noise_source().get_state(),
                    "torch": torch.get_rng_state(),
                    # several processes: every rank's states (a collective, on every rank)
                    **self.ranks.rng_states(self._noise_source())},
            "fixed": self.fixed.cpu(),
            "history": {k: torch.tensor(v, dtype=torch.float64) for k, v in p.history.items()},
            "elapsed": p.elapsed,
            "channels": self.channels,
            "num_classes": self.num_classes,
            "classes": list(self.data.class_names) if self.num_classes else [],
            "scaler": self.step_fn.scaler_state(),
        }

    def _checkpoint(self) -> Path | None:
        state = self.checkpoint_state() if self.save or self.ranks.active else None
        if state is None or self.run_dir is None or not self.save:
            return None
        path = runs.last_checkpoint(self.run_dir)
        self._guard_write(lambda: save_checkpoint(path, state), path)
        return path

    def _guard_write(self, write: Any, path: Path) -> None:
        try:
            write()
        except OSError as exc:
            raise RunError(f"Cannot write {path} ({exc.strerror or exc}); training stopped, "
                           f"{runs.kept_checkpoint_note(self.run_dir)}.") from None

    def _stopped(self) -> TrainEnd:
        self._flush()
        log.info("Stopped at step %d (epoch %d, %d steps into it)", self.progress.step,
                 self.progress.epoch + 1, self.progress.epoch_step)
        self._write_records([{"kind": "event", "event": "stopped", "step": self.progress.step,
                              "epoch": self.progress.epoch + 1}])
        return self._finish("stopped")

    def _finish(self, status: EndStatus) -> TrainEnd:
        path = self._checkpoint() if status == "stopped" else (
            runs.last_checkpoint(self.run_dir) if self.run_dir else None)
        end = TrainEnd(status=status, epoch=self.progress.epoch, step=self.progress.step,
                       run_dir=self.run_dir, checkpoint=path)
        self._emit("on_end", end)
        return end

