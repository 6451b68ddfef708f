"""The ``aigc-studio`` command: no arguments opens the window, subcommands run headless.

Every user-facing error is one sentence on stderr and a non-zero exit; ``--debug`` shows the
traceback instead. Heavy modules (torch) are imported inside the commands, so ``--help`` and
the window's first paint stay fast.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import logging
import math
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from aigc_studio import __version__, families
from aigc_studio.core.quality import mean_metrics
from aigc_studio.core.safe_read import display
from aigc_studio.core.signals import handling_stop_signals
from aigc_studio.core.text import format_duration
from aigc_studio.engine.callbacks import (
    EpochResult,
    RunStarted,
    StepMetrics,
    TrainEnd,
    TrainingCallback,
    TrainingControl,
)
from aigc_studio.engine.config import (
    BUILTIN_DATASETS,
    DEVICES,
    IMAGE_SIZES,
    PRECISIONS,
    ConfigError,
    TrainConfig,
)
from aigc_studio.errors import AigcError
from aigc_studio.families.base import ModelFamily, OptionSpec
from aigc_studio.logs import log_path, log_user_error, setup_logging
from aigc_studio.paths import expand_user

if TYPE_CHECKING:
    from aigc_studio.engine.trainer import Trainer

COMMANDS = ("train", "resume", "sample", "reconstruct", "runs", "export", "interpolate",
            "map", "evaluate", "info", "presets")
EXIT_ERROR, EXIT_USAGE = 1, 2


_stdout_failure: list[str] = []  # why a result line could not be written (exit non-zero)


def _write(stream: TextIO | None, text: str, end: str = "\n") -> None:
    """Print that survives a windowed frozen app, where stdout/stderr are None, and names
    with undecodable bytes; a failed write to stdout (closed, full) is remembered so the
    command exits non-zero instead of reporting success with its output lost."""
    if stream is None:
        return
    try:
        stream.write(display(text) + end)
        stream.flush()
    except (OSError, ValueError) as exc:
        if stream is sys.stdout and not _stdout_failure:
            _stdout_failure.append(getattr(exc, "strerror", None) or str(exc) or "closed")


def out(text: str) -> None:
    """A result line on stdout."""
    _write(sys.stdout, text)


def err(text: str) -> None:
    """A message line on stderr."""
    _write(sys.stderr, text)


class UsageError(AigcError):
    """A bad command-line option (exit code 2)."""


# --------------------------------------------------------------------------- progress
class TerminalProgress(TrainingCallback):
    """A one-line progress bar with ETA and images/s on a terminal; epoch lines otherwise."""

    def __init__(self, stream: TextIO | None = None, width: int = 24) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(self.stream is not None and getattr(self.stream, "isatty", lambda: 0)())
        self.width = width
        self.total = self.start_step = self.epochs = 0
        self.t0 = time.perf_counter()
        self._last_draw = 0.0

    def on_start(self, info: RunStarted) -> None:
        self.total, self.start_step, self.epochs = info.total_steps, info.start_step, info.epochs
        self.t0 = time.perf_counter()
        what = f"{info.model} on {info.dataset} ({info.num_images} images"
        what += f", {info.skipped_images} files skipped)" if info.skipped_images else ")"
        _write(self.stream, f"Training {what} on {info.device}")
        if info.run_dir is not None:
            _write(self.stream, f"Run folder: {info.run_dir}")
        if info.start_step:
            _write(self.stream, f"Resuming at step {info.start_step} (epoch {info.start_epoch})")

    def on_steps(self, steps: list[StepMetrics]) -> None:
        if not self.tty or not steps:
            return
        now = time.perf_counter()
        if now - self._last_draw < 0.1 and steps[-1].step < self.total:
            return
        self._last_draw = now
        m = steps[-1]
        done = m.step / max(self.total, 1)
        rate = (m.step - self.start_step) / max(now - self.t0, 1e-9)
        eta = (self.total - m.step) / rate if rate > 0 else math.inf
        bar = "#" * int(done * self.width)
        losses = "  ".join(f"{k} {v:.3f}" for k, v in m.as_dict().items()
                           if k in ("loss_d", "loss_g", "loss_recon"))
        line = (f"\r[{bar:<{self.width}}] {done:4.0%} epoch {m.epoch}/{self.epochs} "
                f"step {m.step}/{self.total}  {m.images_per_s:,.0f} img/s  "
                f"ETA {format_duration(eta)}  {losses}")
        _write(self.stream, line.ljust(110), end="")

    def on_epoch_end(self, result: EpochResult) -> None:
        means = "  ".join(f"{k} {v:.4f}" for k, v in result.means.items())
        prefix = "\r" if self.tty else ""
        _write(self.stream, f"{prefix}epoch {result.epoch}/{self.epochs} done in "
                            f"{format_duration(result.seconds)} "
                            f"({result.images_per_s:,.0f} img/s)  {means}".ljust(110))

    def on_warning(self, message: str) -> None:
        _write(self.stream, ("\n" if self.tty else "") + f"warning: {message}")

    def on_end(self, end: TrainEnd) -> None:
        if end.status == "stopped":
            _write(self.stream, ("\n" if self.tty else "") +
                   f"Stopped at step {end.step}; checkpoint written to {end.checkpoint}. "
                   f"Continue with: aigc-studio resume {end.run_dir}")


@contextlib.contextmanager
def stop_on_signals(control: TrainingControl) -> Iterator[None]:
    """First Ctrl+C (or SIGTERM) asks for a clean stop with a checkpoint; a second one aborts."""

    def handler(signum: int, frame: object) -> None:
        if control.stop_requested:
            raise KeyboardInterrupt
        err("\nStopping after this step (press Ctrl+C again to abort)...")
        control.stop()

    with handling_stop_signals(handler):
        yield


# --------------------------------------------------------------------------- commands
# TrainConfig fields a train flag sets directly (flag = --field-with-dashes)
_TRAIN_FIELDS = ("dataset", "epochs", "batch_size", "image_size", "channels", "latent_dim",
                 "width", "lr_g", "lr_d", "beta1", "beta2", "device", "precision", "seed",
                 "limit", "log_every", "checkpoint_every", "data_root", "eval_samples")


def _config_from_args(args: argparse.Namespace) -> TrainConfig:
    """Defaults, then the family's preferred values (or a preset), then what the user typed."""
    if args.preset is not None:
        from aigc_studio.engine.presets import load_preset

        cfg = load_preset(args.preset)
        if args.model is not None and args.model != cfg.model:
            raise UsageError(f"--model {args.model} contradicts the preset {args.preset!r}, "
                             f"which trains {cfg.model}; leave one of them out.")
        typed = _typed_options(args, cfg.family)
    else:  # the options first: a loss prefers its own optimiser settings
        family = TrainConfig(model=args.model or TrainConfig.model).family
        typed = _typed_options(args, family)
        cfg = TrainConfig.defaults_for(family.name, typed)
    cfg.extras.update(typed)
    if args.lr is not None:
        cfg.lr_g = cfg.lr_d = args.lr
    for name in _TRAIN_FIELDS:
        value = getattr(args, name)
        if value is not None:
            setattr(cfg, name, value)
    cfg.fast = cfg.fast and not args.no_fast
    cfg.tensorboard = cfg.tensorboard or args.tensorboard
    return cfg.validate()


def _typed_options(args: argparse.Namespace, family: ModelFamily) -> dict[str, Any]:
    """The family-only options typed on the command line; one that the model does not take
    is a UsageError."""
    typed: dict[str, Any] = {}
    for spec in _all_options():
        value = getattr(args, spec.name, None)
        if value is None:
            continue
        if family.option(spec.name) is None:
            raise UsageError(f"{spec.flag} does not apply to a {family.title} model.")
        typed[spec.name] = value
    return typed


def _all_options() -> list[OptionSpec]:
    """Every family-only option once (the first family to declare a name describes it)."""
    seen: dict[str, OptionSpec] = {}
    for family in families.all_families():
        for spec in family.options:
            seen.setdefault(spec.name, spec)
    return list(seen.values())


def _add_option_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per family-only option; which families take it is in its help."""
    for spec in _all_options():
        owners = ", ".join(f.name for f in families.all_families() if f.option(spec.name))
        help_text = f"{spec.help} ({owners}; default {spec.default})"
        if spec.kind is bool:
            parser.add_argument(spec.flag, action="store_const", const=True, default=None,
                                help=help_text)
            parser.add_argument("--no-" + spec.flag[2:], dest=spec.name, action="store_const",
                                const=False, default=None,
                                help=f"turn {spec.flag} off where a family has it on")
        else:
            parser.add_argument(spec.flag, type=spec.kind, default=None,
                                choices=spec.choices or None, help=help_text)


def _run_trainer(make: Callable[[TrainingControl, list[TrainingCallback]], Trainer]) -> int:
    from aigc_studio.engine import distributed

    control = TrainingControl()
    main_rank = distributed.env_rank() == 0  # other ranks of a run stay quiet
    callbacks = [TerminalProgress()] if main_rank else []
    trainer = make(control, [*callbacks, *distributed.rank_callbacks()])
    with stop_on_signals(control):
        end = trainer.fit()
    if main_rank:
        out(str(end.run_dir))
    return 0 if end.status == "finished" else 130


def _launched(args: argparse.Namespace) -> int | None:
    """With ``--nproc N`` (N > 1): the exit status of the same command run as N ranks of one
    run on this machine (what torchrun --nproc_per_node N does); None: train here."""
    from aigc_studio.engine import distributed

    if args.nproc < 1:
        raise UsageError(f"--nproc must be at least 1, not {args.nproc}.")
    if args.nproc == 1 or distributed.env_world_size() > 1:
        return None
    return distributed.launch(_without_launch_flags(args.argv), args.nproc,
                              port=args.master_port)


def _without_launch_flags(argv: Sequence[str]) -> list[str]:
    """``argv`` without --nproc / --master-port (each rank is one process)."""
    kept: list[str] = []
    skip = False
    for arg in argv:
        name = arg.split("=", 1)[0]
        if skip:
            skip = False
        elif name in ("--nproc", "--master-port"):
            skip = "=" not in arg
        else:
            kept.append(arg)
    return kept


def cmd_train(args: argparse.Namespace) -> int:
    """Train a new run."""
    from aigc_studio.engine.trainer import Trainer

    config = _config_from_args(args)
    launched = _launched(args)
    if launched is not None:
        return launched
    if config.data_root is not None:
        config.data_root = str(expand_user(config.data_root, "--data-root"))
    root = expand_user(args.out, "--out") if args.out else None
    return _run_trainer(lambda ctl, cbs: Trainer(config, runs_root=root, control=ctl,
                                                 callbacks=cbs))


def cmd_resume(args: argparse.Namespace) -> int:
    """Continue a run exactly where its last checkpoint left it."""
    from aigc_studio.engine.trainer import Trainer

    launched = _launched(args)
    if launched is not None:
        return launched
    return _run_trainer(lambda ctl, cbs: Trainer.resume(Path(args.run), epochs=args.epochs,
                                                        control=ctl, callbacks=cbs))


def cmd_sample(args: argparse.Namespace) -> int:
    """Generate images by decoding latents for a seed (any family with a decoder)."""
    from aigc_studio.core.grid import make_grid, save_png
    from aigc_studio.engine.inference import load_model, resolve_class, sample, wrong_kind
    from aigc_studio.engine.provenance import for_model

    target = expand_user(args.out, "--out")
    model = load_model(expand_user(args.model_path, "RUN_OR_CHECKPOINT"))
    caps = model.capabilities
    if not (caps.samples or caps.encodes):
        raise AigcError(wrong_kind(model, "samples", "sampling"))
    options = _sampling_options(args)
    images = sample(model, args.n, args.seed, args.class_index, **options)
    stamp = for_model(model, kind="sample", seeds=(args.seed,),
                      class_index=resolve_class(model, args.class_index), n=args.n,
                      **{k: v for k, v in options.items() if v is not None})
    if target.suffix.lower() == ".png":
        _ensure_parent(target)
        save_png(make_grid(images), target, stamp)
        out(f"Wrote a grid of {args.n} samples to {target}")
    else:
        _make_dir(target)
        for i, image in enumerate(images):
            one = dataclasses.replace(stamp, seeds=(args.seed + i,), sampler={"n": 1})
            save_png(image, target / f"sample_{i:04d}.png", one)
        out(f"Wrote {args.n} samples to {target}")
    return 0


def cmd_reconstruct(args: argparse.Namespace) -> int:
    """Reconstruct images with a model that encodes; report MSE, PSNR and SSIM per image."""
    import numpy as np

    from aigc_studio.core.grid import save_png
    from aigc_studio.core.images import find_images
    from aigc_studio.engine.inference import load_model, reconstruct

    target = expand_user(args.out, "--out")
    model = load_model(expand_user(args.model_path, "RUN_OR_CHECKPOINT"))
    files, rejected = find_images([expand_user(p, "IMAGE_OR_DIR") for p in args.images])
    _make_dir(target)
    results, failed = reconstruct(model, files)
    failed = rejected + failed
    width = max([len(r.path.name) for r in results] + [5])
    if results:
        out(f"{'image':<{width}}  {'MSE':>9}  {'PSNR dB':>8}  {'SSIM':>6}")
    used: set[str] = set()
    for r in results:
        name = _unique_name(r.path.stem, used)
        pair = np.concatenate([r.original, np.full((r.original.shape[0], 2, 3), 255, np.uint8),
                               r.reconstruction], axis=1)
        save_png(pair, target / f"{name}_pair.png")
        out(f"{r.path.name:<{width}}  {r.mse:9.5f}  {r.psnr:8.2f}  {r.ssim:6.3f}")
    if results:
        mean = mean_metrics(results) or {}
        out(f"{'mean':<{width}}  {mean['mse']:9.5f}  {mean['psnr']:8.2f}  {mean['ssim']:6.3f}"
            f"  ({len(results)} images)")
    for path, reason in failed:
        err(f"skipped {path}: {reason}")
    if not results:
        raise AigcError("No image could be reconstructed" +
                        (f" ({len(failed)} files skipped)." if failed else
                         ": no image files were given."))
    out(f"Wrote original|reconstruction pairs to {target}")
    return 0


def _unique_name(stem: str, used: set[str]) -> str:
    name, i = stem, 2
    while name in used:
        name, i = f"{stem}_{i}", i + 1
    used.add(name)
    return name


def cmd_runs(args: argparse.Namespace) -> int:
    """List runs with their model, data set, progress and last losses."""
    from aigc_studio.engine.runs import default_runs_root, list_runs

    if args.compare:
        return _compare(args.compare, as_json=args.json)
    root = expand_user(args.root, "--root") if args.root else default_runs_root()
    found = list_runs(root)
    if not found:
        out(f"No runs in {root} yet. Start one with: aigc-studio train")
        return 0
    out(f"Runs in {root}:")
    out(f"{'run':<44} {'model':<12} {'data set':<14} {'epochs':>7}  last losses")
    for r in found:
        if r.damaged:
            out(f"{r.name:<44} DAMAGED: {r.damaged}")
            continue
        losses = "  ".join(f"{k} {v:.3f}" for k, v in r.last_metrics.items()
                           if k.startswith("loss"))
        status = f"  [{r.status}]" if r.status and r.status != "finished" else ""
        best = f"  best {r.best[0]} {r.best[1]:.2f} at epoch {r.best[2]}" if r.best else ""
        if r.status == "running" and r.writer:
            status = f"  [running: {r.writer}]"
        out(f"{r.name:<44} {r.model:<12} {Path(r.dataset).name[:14]:<14} "
            f"{r.epochs_done:>3}/{r.epochs_planned:<3}  {losses}{best}{status}")
    return 0


def _compare(paths: list[str], *, as_json: bool) -> int:
    """``runs --compare``: the settings that differ, then each run's last and best metrics."""
    import json

    from aigc_studio.engine.compare import compare_runs

    if len(paths) < 2:
        raise UsageError("--compare needs at least two run folders.")
    comparison = compare_runs(paths)
    if as_json:
        out(json.dumps(comparison.to_dict(), indent=2))
        return 0
    letters = [chr(ord("A") + i) if i < 26 else f"R{i + 1}" for i in range(len(paths))]
    for letter, run in zip(letters, comparison.runs, strict=True):
        plural = "" if run.epochs_done == 1 else "s"
        out(f"{letter}: {run.name} ({run.config.model}, {run.epochs_done} epoch{plural})")
    table: list[list[str]] = [["setting", *letters]]
    table += [[name, *("-" if v is None else str(v) for v in values)]
              for name, values in comparison.settings.items()]
    out("")
    if len(table) > 1:
        out("Settings that differ:")
        _print_table(table)
    else:
        out("The runs have the same settings.")
    table = [["metric (last / best @epoch)", *letters]]
    for name in comparison.metrics:
        cells = []
        for run in comparison.runs:
            last, best = run.last.get(name), run.best.get(name)
            cell = "-" if last is None else f"{last:.4g}"
            if best is not None:
                cell += f" / {best.value:.4g} @{best.epoch}"
            cells.append(cell)
        table.append([name, *cells])
    out("")
    _print_table(table)
    return 0


def _print_table(rows: list[list[str]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        out("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def _epoch_list(text: str) -> list[int] | None:
    """``--epochs``: "all" (None) or a comma-separated list of epoch numbers."""
    if text.strip().lower() == "all":
        return None
    try:
        epochs = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        epochs = []
    if not epochs or min(epochs) < 1:
        raise UsageError(f"--epochs must be 'all' or epoch numbers like 1,5,10, not {text!r}.")
    return epochs


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Sample-quality scores of a run's per-epoch weights (or one file), with baselines."""
    import json

    from aigc_studio.metrics.sample_quality import (
        evaluate_weights,
        evaluation_report,
        weights_to_evaluate,
    )

    if args.n is not None and not 20 <= args.n <= 100_000:
        raise UsageError(f"--n must be from 20 to 100000, not {args.n}.")
    files = weights_to_evaluate(Path(args.run), _epoch_list(args.epochs))
    report = evaluation_report(*evaluate_weights(files, args.n))
    if args.json:
        out(json.dumps(report, indent=2))
        return 0
    keys = [report["features"]["key"], "precision", "recall", "density", "coverage"]
    out(f"{report['features']['label']}: {report['features']['description']}.")
    out(f"{report['n']} images per set; precision/recall/density/coverage in the same features "
        "(k = 5).")
    if report["note"]:
        out(f"Note: {report['note']}.")
    out(f"{'':<14}" + "".join(f"{k:>11}" for k in keys))
    rows = [(f"epoch {e['epoch']}", e) for e in report["epochs"]]
    rows += [("real vs real", report["baselines"]["real"]), ("noise", report["baselines"]["noise"])]
    for label, values in rows:
        out(f"{label:<14}" + "".join(f"{values[k]:>11.3f}" for k in keys))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Export the model's inference network as safetensors or ONNX, or the run for
    TensorBoard."""
    from aigc_studio.engine.export import export_model, onnx_max_difference
    from aigc_studio.engine.inference import load_model

    target = expand_user(args.out, "--out")
    if args.format == "tensorboard":
        from aigc_studio.engine.tensorboard import export_tensorboard

        folder = export_tensorboard(expand_user(args.run, "RUN"), target)
        out(f"Wrote TensorBoard event files to {folder} (view: tensorboard --logdir {folder})")
        return 0
    model = load_model(expand_user(args.run, "RUN_OR_CHECKPOINT"))
    path = export_model(model, args.format, target)
    out(f"Wrote {args.format} to {path}")
    if args.format == "onnx":
        try:
            diff = onnx_max_difference(model, path)
        except ImportError:
            out("The check against PyTorch was skipped: onnxruntime is not installed "
                "(pip install 'aigc-studio[onnx]').")
        else:
            out(f"Checked against PyTorch: largest difference {diff:.2e}")
    return 0


def cmd_interpolate(args: argparse.Namespace) -> int:
    """Walk the latent space from seed A to seed B: a GIF, or PNG frames in a folder."""
    from aigc_studio.core.memory import fits, human
    from aigc_studio.engine.explore import Explorer, save_frames, save_gif, upscale
    from aigc_studio.engine.inference import load_model, resolve_class
    from aigc_studio.engine.provenance import for_model

    target = expand_user(args.out, "--out")
    model = load_model(expand_user(args.model_path, "RUN_OR_CHECKPOINT"))
    as_gif = target.suffix.lower() == ".gif"
    side = model.config.image_size * args.scale
    # a GIF holds every frame twice (the array and Pillow's RGBX copy); PNG frames stream
    needed = (args.steps if as_gif else 1) * side * side * (3 + 4 if as_gif else 3 + 3)
    ok, free = fits(needed)
    if not ok:
        raise AigcError(f"This walk needs about {human(needed)} of memory ({args.steps} frames "
                        f"of {side}x{side}) but only {human(free or 0)} is available; use "
                        "fewer --steps, a smaller --scale, or a folder of PNG frames.")
    explorer = Explorer(model)
    small = explorer.interpolation(args.seeds[0], args.seeds[1], args.steps,
                                   spherical=args.slerp, class_index=args.class_index)
    stamp = for_model(model, kind="interpolation", seeds=tuple(args.seeds),
                      class_index=resolve_class(model, args.class_index), steps=args.steps,
                      path="slerp" if args.slerp else "linear", scale=args.scale)
    if as_gif:
        _ensure_parent(target)
        save_gif(upscale(small, args.scale), target, fps=args.fps,
                 provenance=stamp.with_sampler(fps=args.fps))
        out(f"Wrote {len(small)} frames ({'slerp' if args.slerp else 'linear'}) to {target}")
    else:  # one enlarged frame in memory at a time
        save_frames((upscale(frame[None], args.scale)[0] for frame in small), target, stamp,
                    count=len(small))
        out(f"Wrote {len(small)} PNG frames to {target}")
    return 0


def cmd_map(args: argparse.Namespace) -> int:
    """The latent map: the run's images encoded as points beside the decoder's grid."""
    from aigc_studio.engine.inference import load_model
    from aigc_studio.engine.latent_map import build_latent_map, render_map_png
    from aigc_studio.engine.provenance import for_model

    if args.grid < 2 or args.grid > 64:
        raise UsageError(f"--grid must be from 2 to 64, not {args.grid}.")
    if args.limit < 2 or args.limit > 100_000:
        raise UsageError(f"--limit must be from 2 to 100000, not {args.limit}.")
    target = Path(args.out).expanduser()
    _ensure_parent(target)
    model = load_model(args.model_path)
    latent_map = build_latent_map(model, limit=args.limit)
    render_map_png(latent_map, target, grid=args.grid,
                   provenance=for_model(model, kind="latent-map", grid=args.grid,
                                        limit=args.limit))
    if latent_map.note:
        out(latent_map.note)
    out(f"Wrote the latent map of {len(latent_map.coords)} images and a {args.grid} x "
        f"{args.grid} decoded grid to {target}")
    return 0


def cmd_presets(args: argparse.Namespace) -> int:
    """List the shipped presets and yours, each with its command or why it cannot be used."""
    from aigc_studio.engine.command import train_command
    from aigc_studio.engine.presets import list_presets, presets_dir

    for preset in list_presets():
        where = "shipped" if preset.shipped else "yours"
        out(f"{preset.name} ({where})" + (f": {preset.description}" if preset.description
                                          else ""))
        out(f"    {train_command(preset.config)}" if preset.config is not None else
            f"    skipped: {preset.problem}")
    out(f"Your presets are saved in {presets_dir()}")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    """Where an image came from (its provenance) and whether its run is still here."""
    import json

    from aigc_studio.core.provenance import locate_run, read_provenance
    from aigc_studio.paths import default_runs_root

    image = Path(args.image).expanduser()
    stamp = read_provenance(image)  # ProvenanceError (an AigcError): one sentence
    roots = [Path(r).expanduser() for r in args.root] or [default_runs_root()]
    run = locate_run(stamp, image, roots)
    if args.json:
        out(json.dumps({"image": str(image), "provenance": stamp.to_dict(),
                        "run_path": str(run) if run else None}, indent=2))
        return 0
    rows = stamp.lines()
    if stamp.run_folder:
        rows.append(("Run folder", str(run) if run else
                     "not found here; the image's own record is shown above"))
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        out(f"{label:<{width}}  {value}")
    return 0


def _make_dir(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise AigcError(f"Cannot create the folder {path} ({exc.strerror}).") from None


def _ensure_parent(path: Path) -> None:
    if not path.parent.exists():
        raise AigcError(f"The folder {path.parent} does not exist.")


# --------------------------------------------------------------------------- parser
SEED_MAX = 2**63 - 1  # torch.Generator.manual_seed takes 64 bits; a run's seed + 2 must fit


def _int_range(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: a whole number from ``low`` to ``high``, refused at the parser."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text} is not from {low} to {high}")
        return value

    parse.__name__ = "whole number"
    return parse


def _float_range(low: float, high: float) -> Callable[[str], float]:
    """An argparse type: a finite number from ``low`` to ``high`` (no nan, no inf)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not math.isfinite(value) or not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text} is not a number from {low:g} to {high:g}")
        return value

    parse.__name__ = "number"
    return parse


def _finite(text: str) -> float:
    """An argparse type: a finite number (the config checks its range)."""
    return _float_range(-math.inf, math.inf)(text)


def _add_class_flag(parser: argparse.ArgumentParser) -> None:
    """``--class``: the class a conditional model draws, by index or by name."""
    parser.add_argument("--class", dest="class_index", default=None, metavar="CLASS",
                        help="draw this class (an index or a class name; class-conditional "
                             "models only)")


def _add_sampling_flags(parser: argparse.ArgumentParser) -> None:
    """A sampler's settings (models that sample in steps, e.g. diffusion); unset: the run's."""
    parser.add_argument("--sampler", default=None, help="dpm++ or ddim (default: the run's)")
    parser.add_argument("--steps", type=int, default=None,
                        help="denoising steps, 1-1000 (default: the run's, e.g. 20)")
    parser.add_argument("--guidance", type=float, default=None,
                        help="classifier-free guidance scale (1: none; class-conditional "
                             "diffusion models only; default: the run's)")


def _sampling_options(args: argparse.Namespace) -> dict[str, Any]:
    """The sampler settings given on the command line, passed to the model's family as they
    are (None: the model's default); a family that takes none refuses them in one sentence."""
    return {"sampler": args.sampler, "steps": args.steps, "guidance": args.guidance}


def _add_launch_flags(parser: argparse.ArgumentParser) -> None:
    """Several processes on this machine (torchrun's job, for those who do not use it)."""
    parser.add_argument("--nproc", type=int, default=1,
                        help="train with N processes on this machine, one run (NCCL, one GPU "
                             "each, on GPUs; gloo on CPUs); --batch-size is per process. For "
                             "several machines use torchrun -m aigc_studio ...")
    parser.add_argument("--master-port", type=int, default=0,
                        help="TCP port the processes meet on (default: a free one)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(
        prog="aigc-studio",
        description="Train and explore generative image models. With no command, opens the "
                    "window.")
    parser.add_argument("--version", action="version", version=f"aigc-studio {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    train = sub.add_parser("train", help="train a new model headless")
    d = TrainConfig()  # the defaults live in one place: the config
    train.add_argument("--model", choices=families.names(), default=None,
                       help=", ".join(f"{f.name}: {f.description}"
                                      for f in families.all_families()) +
                       f" (default {d.model})")
    train.add_argument("--preset", default=None, metavar="NAME",
                       help="start from a saved or shipped preset (aigc-studio presets lists "
                            "them); other flags change it")
    train.add_argument("--dataset", default=None,
                       help=f"{', '.join(BUILTIN_DATASETS)}, or a folder of images "
                            f"(default {d.dataset})")
    train.add_argument("--epochs", type=int, default=None,
                       help=f"default {d.epochs}")
    train.add_argument("--batch-size", type=int, default=None,
                       help=f"images per step and per process (default {d.batch_size}); "
                            "with --nproc N one step sees N times as many")
    train.add_argument("--image-size", type=int, choices=IMAGE_SIZES, default=None,
                       help=f"default {d.image_size}")
    train.add_argument("--channels", type=int, choices=(1, 3), default=None,
                       help="force greyscale (1) or colour (3); default follows the data")
    train.add_argument("--latent-dim", type=int, default=None,
                       help=f"latent vector size (default {d.latent_dim})")
    train.add_argument("--width", type=int, default=None,
                       help=f"feature maps (ngf/ndf, default {d.width})")
    train.add_argument("--lr", type=_finite, default=None, help="both learning rates")
    train.add_argument("--lr-g", type=_finite, default=None, help=f"default {d.lr_g}")
    train.add_argument("--lr-d", type=_finite, default=None, help=f"default {d.lr_d}")
    train.add_argument("--beta1", type=_finite, default=None, help=f"default {d.beta1}")
    train.add_argument("--beta2", type=_finite, default=None, help=f"default {d.beta2}")
    train.add_argument("--device", choices=DEVICES, default=None,
                       help=f"default {d.device}")
    train.add_argument("--precision", choices=PRECISIONS, default=None,
                       help="auto (default): bf16 where the CPU/GPU runs it natively (fp16 on "
                            "older GPUs), else fp32")
    train.add_argument("--no-fast", action="store_true",
                       help="plain eager fp32: no mixed precision, channels_last or CUDA graph")
    train.add_argument("--seed", type=_int_range(0, SEED_MAX), default=None,
                       help=f"default {d.seed}")
    train.add_argument("--limit", type=int, default=None, help="use at most N images (0: all)")
    train.add_argument("--log-every", type=int, default=None,
                       help=f"steps between metric read-backs (default {d.log_every})")
    train.add_argument("--checkpoint-every", type=int, default=None,
                       help="also checkpoint every N steps (default: every epoch)")
    train.add_argument("--data-root", default=None,
                       help="folder for torchvision data sets (default: the app's data folder)")
    train.add_argument("--eval-samples", type=int, default=None,
                       help="images per set for the sample-quality scores after each epoch "
                            f"(0: off; default {d.eval_samples})")
    train.add_argument("--tensorboard", action="store_true",
                       help="also write TensorBoard event files to RUN/tensorboard/ (needs: "
                            "pip install tensorboard)")
    train.add_argument("--out", default=None, help="runs folder (default: your data folder)")
    _add_option_flags(train)
    _add_launch_flags(train)
    train.set_defaults(func=cmd_train)

    resume = sub.add_parser("resume", help="continue a run from its last checkpoint")
    resume.add_argument("run", help="run folder")
    resume.add_argument("--epochs", type=int, default=None, help="new total epoch count")
    _add_launch_flags(resume)
    resume.set_defaults(func=cmd_resume)

    samp = sub.add_parser("sample", help="generate images from a trained model")
    samp.add_argument("model_path", metavar="RUN_OR_CHECKPOINT")
    samp.add_argument("--n", type=_int_range(1, 10_000), default=64)
    samp.add_argument("--seed", type=_int_range(0, SEED_MAX), default=0)
    _add_class_flag(samp)
    _add_sampling_flags(samp)
    samp.add_argument("--out", required=True, help="grid.png, or a folder for one PNG each")
    samp.set_defaults(func=cmd_sample)

    rec = sub.add_parser("reconstruct", help="reconstruct images with an autoencoder")
    rec.add_argument("model_path", metavar="RUN_OR_CHECKPOINT")
    rec.add_argument("images", nargs="+", metavar="IMAGE_OR_DIR")
    rec.add_argument("--out", required=True, help="folder for the original|reconstruction pairs")
    rec.set_defaults(func=cmd_reconstruct)

    lst = sub.add_parser("runs", help="list runs")
    lst.add_argument("--root", default=None, help="runs folder (default: your data folder)")
    lst.add_argument("--compare", nargs="+", metavar="RUN", default=None,
                     help="compare these runs: the settings that differ, last and best metrics")
    lst.add_argument("--json", action="store_true", help="with --compare: print JSON")
    lst.set_defaults(func=cmd_runs)

    ev = sub.add_parser("evaluate", help="sample-quality scores of a run's epochs, with baselines")
    ev.add_argument("run", metavar="RUN_OR_CHECKPOINT")
    ev.add_argument("--epochs", default="all", help="'all' (default) or a list such as 1,5,10")
    ev.add_argument("--n", type=int, default=None,
                    help="images per set (default: the run's --eval-samples)")
    ev.add_argument("--json", action="store_true", help="print JSON instead of a table")
    ev.set_defaults(func=cmd_evaluate)

    exp = sub.add_parser("export", help="export a model as safetensors or ONNX, or a run's "
                                        "metrics, grids and settings for TensorBoard")
    exp.add_argument("run", metavar="RUN_OR_CHECKPOINT")
    exp.add_argument("--format", choices=("safetensors", "onnx", "tensorboard"),
                     default="safetensors")
    exp.add_argument("--out", required=True, help="a file, or a folder for tensorboard")
    exp.set_defaults(func=cmd_export)

    walk = sub.add_parser("interpolate", help="walk the latent space between two seeds")
    walk.add_argument("model_path", metavar="RUN_OR_CHECKPOINT")
    walk.add_argument("--seeds", type=_int_range(0, SEED_MAX), nargs=2, required=True,
                      metavar=("A", "B"))
    walk.add_argument("--steps", type=_int_range(2, 2000), default=32,
                      help="frames from A to B (inclusive)")
    walk.add_argument("--slerp", action="store_true", help="spherical instead of linear")
    walk.add_argument("--fps", type=_float_range(0.1, 100.0), default=12.0)
    walk.add_argument("--scale", type=_int_range(1, 32), default=4,
                      help="enlarge each frame N times")
    _add_class_flag(walk)
    walk.add_argument("--out", required=True, help="walk.gif, or a folder for PNG frames")
    walk.set_defaults(func=cmd_interpolate)

    lmap = sub.add_parser("map", help="draw the latent map of a model that encodes")
    lmap.add_argument("model_path", metavar="RUN_OR_CHECKPOINT")
    lmap.add_argument("--out", required=True, help="map.png")
    lmap.add_argument("--grid", type=int, default=20, help="decoded images per side (default 20)")
    lmap.add_argument("--limit", type=int, default=2000,
                      help="data-set images drawn as points (default 2000)")
    lmap.set_defaults(func=cmd_map)

    pre = sub.add_parser("presets", help="list the training presets (use: train --preset NAME)")
    pre.set_defaults(func=cmd_presets)

    info = sub.add_parser("info", help="where an image came from (its provenance)")
    info.add_argument("image", metavar="IMAGE", help="a PNG or GIF the studio wrote")
    info.add_argument("--root", action="append", default=[],
                      help="runs folder to look for its run in (repeatable; default: yours)")
    info.add_argument("--json", action="store_true", help="print JSON")
    info.set_defaults(func=cmd_info)
    return parser


def _wants_gui(argv: Sequence[str]) -> bool:
    if not argv:
        return True
    if any(a in ("-h", "--help", "--version") for a in argv[:1]):
        return False
    first = next((a for a in argv if a != "--debug"), None)
    return first is None or first not in COMMANDS


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``aigc-studio`` and ``python -m aigc_studio``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    setup_logging()
    if _wants_gui(argv):
        from aigc_studio.gui.app import run_app

        return run_app([a for a in argv if a != "--debug"])
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = argv  # the command as typed: a launcher runs it again in every rank
    if args.command is None:  # pragma: no cover - handled by _wants_gui
        parser.print_help()
        return EXIT_USAGE
    try:
        code = int(args.func(args))
    except (UsageError, ConfigError) as exc:
        if debug:
            raise
        err(f"error: {exc}")
        return EXIT_USAGE
    except AigcError as exc:
        if debug:
            raise
        log_user_error(str(exc))
        err(f"error: {exc}")
        return EXIT_ERROR
    except KeyboardInterrupt:
        err("Aborted.")
        return 130
    except Exception as exc:  # a fault or a bug: one sentence; the traceback goes to the log
        if debug:
            raise
        logging.getLogger("aigc_studio").error("%s", describe_error(exc), exc_info=exc,
                                               extra={"file_only": True})
        where = log_path()
        details = f"the details are in {where}" if where else "there is no log file"
        err(f"error: {describe_error(exc)} ({details}; run with --debug to see them here).")
        return EXIT_ERROR
    return _check_stdout(code)


def describe_error(exc: BaseException) -> str:
    """One sentence for an exception that is not an AigcError, naming the file when known."""
    if isinstance(exc, MemoryError) or "not enough memory" in str(exc):
        return ("The computer ran out of memory; try a smaller batch size, width, image size, "
                "--steps or --scale")
    if isinstance(exc, OSError):
        name = exc.filename2 if exc.filename2 is not None else exc.filename
        reason = exc.strerror or str(exc) or type(exc).__name__
        if name is not None:
            return f"{display(os.fsdecode(name))} cannot be used: {reason}"
        return f"A file operation failed: {reason}"
    text = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
    return f"unexpected {type(exc).__name__}" + (f": {display(text)}" if text else "")


def _check_stdout(code: int) -> int:
    """Exit non-zero when result lines could not be written (a closed or full stdout)."""
    if not _stdout_failure:
        return code
    err(f"error: the output could not be written to standard output ({_stdout_failure[0]}).")
    with contextlib.suppress(OSError, AttributeError, ValueError):  # let the exit flush succeed
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    return EXIT_ERROR if code == 0 else code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
