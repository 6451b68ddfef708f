"""The ``aigc-studio`` command: no arguments opens the window, subcommands run headless.

Every user-facing error is one sentence on stderr and a non-zero exit; ``--debug`` shows the
traceback instead. Heavy modules (torch) are imported inside the commands, so ``--help`` and
the window's first paint stay fast.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import math
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from aigc_studio import __version__
from aigc_studio.core.safe_read import display
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
    MODELS,
    PRECISIONS,
    ConfigError,
    TrainConfig,
)
from aigc_studio.errors import AigcError
from aigc_studio.logs import log_path, log_user_error, setup_logging
from aigc_studio.paths import expand_user

if TYPE_CHECKING:
    from aigc_studio.engine.trainer import Trainer

COMMANDS = ("train", "resume", "sample", "reconstruct", "runs", "export", "interpolate")
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
def format_duration(seconds: float) -> str:
    """``75`` -> ``1:15``, ``3725`` -> ``1:02:05``."""
    if not math.isfinite(seconds) or seconds < 0:
        return "--:--"
    s = round(seconds)
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


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
    previous: dict[int, Any] = {}

    def handler(signum: int, frame: object) -> None:
        if control.stop_requested:
            raise KeyboardInterrupt
        err("\nStopping after this step (press Ctrl+C again to abort)...")
        control.stop()

    sigs = [signal.SIGINT] + ([signal.SIGTERM] if hasattr(signal, "SIGTERM") else [])
    for sig in sigs:
        with contextlib.suppress(ValueError):  # not the main thread
            previous[sig] = signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


# --------------------------------------------------------------------------- commands
def _config_from_args(args: argparse.Namespace) -> TrainConfig:
    cfg = TrainConfig(model=args.model, dataset=args.dataset, epochs=args.epochs,
                      batch_size=args.batch_size, image_size=args.image_size,
                      channels=args.channels, device=args.device, seed=args.seed,
                      limit=args.limit, checkpoint_every=args.checkpoint_every,
                      data_root=args.data_root, log_every=args.log_every,
                      fast=not args.no_fast, precision=args.precision)
    for name in ("latent_dim", "width", "lr_g", "lr_d", "beta1", "beta2"):
        value = getattr(args, name)
        if value is not None:
            setattr(cfg, name, value)
    if args.lr is not None:
        cfg.lr_g = cfg.lr_d = args.lr
    return cfg.validate()


def _run_trainer(make: Callable[[TrainingControl, list[TrainingCallback]], Trainer]) -> int:
    control = TrainingControl()
    trainer = make(control, [TerminalProgress()])
    with stop_on_signals(control):
        end = trainer.fit()
    out(str(end.run_dir))
    return 0 if end.status == "finished" else 130


def cmd_train(args: argparse.Namespace) -> int:
    """Train a new run."""
    from aigc_studio.engine.trainer import Trainer

    config = _config_from_args(args)
    if config.data_root is not None:
        config.data_root = str(expand_user(config.data_root, "--data-root"))
    root = expand_user(args.out, "--out") if args.out else None
    return _run_trainer(lambda ctl, cbs: Trainer(config, runs_root=root, control=ctl,
                                                 callbacks=cbs))


def cmd_resume(args: argparse.Namespace) -> int:
    """Continue a run exactly where its last checkpoint left it."""
    from aigc_studio.engine.trainer import Trainer

    return _run_trainer(lambda ctl, cbs: Trainer.resume(Path(args.run), epochs=args.epochs,
                                                        control=ctl, callbacks=cbs))


def cmd_sample(args: argparse.Namespace) -> int:
    """Generate images from a GAN (or decode random latents of an autoencoder)."""
    from aigc_studio.core.grid import make_grid, save_png
    from aigc_studio.engine.inference import load_model, sample

    target = expand_user(args.out, "--out")
    model = load_model(expand_user(args.model_path, "RUN_OR_CHECKPOINT"))
    images = sample(model, args.n, args.seed)
    if target.suffix.lower() == ".png":
        _ensure_parent(target)
        save_png(make_grid(images), target)
        out(f"Wrote a grid of {args.n} samples to {target}")
    else:
        _make_dir(target)
        for i, image in enumerate(images):
            save_png(image, target / f"sample_{i:04d}.png")
        out(f"Wrote {args.n} samples to {target}")
    return 0


def cmd_reconstruct(args: argparse.Namespace) -> int:
    """Reconstruct images with an autoencoder; report MSE and PSNR per image."""
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
        mean = lambda key: sum(getattr(r, key) for r in results) / len(results)  # noqa: E731
        out(f"{'mean':<{width}}  {mean('mse'):9.5f}  {mean('psnr'):8.2f}  {mean('ssim'):6.3f}"
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
        if r.status == "running" and r.writer:
            status = f"  [running: {r.writer}]"
        out(f"{r.name:<44} {r.model:<12} {Path(r.dataset).name[:14]:<14} "
            f"{r.epochs_done:>3}/{r.epochs_planned:<3}  {losses}{status}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Export the generator / autoencoder as safetensors or ONNX."""
    from aigc_studio.engine.export import export_model, onnx_max_difference
    from aigc_studio.engine.inference import load_model

    target = expand_user(args.out, "--out")
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
    from aigc_studio.engine.inference import load_model

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
                                   spherical=args.slerp)
    if as_gif:
        _ensure_parent(target)
        save_gif(upscale(small, args.scale), target, fps=args.fps)
        out(f"Wrote {len(small)} frames ({'slerp' if args.slerp else 'linear'}) to {target}")
    else:  # one enlarged frame in memory at a time
        save_frames((upscale(frame[None], args.scale)[0] for frame in small), target)
        out(f"Wrote {len(small)} PNG frames to {target}")
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
    train.add_argument("--model", choices=MODELS, default="dcgan")
    train.add_argument("--dataset", default="digits",
                       help=f"{', '.join(BUILTIN_DATASETS)}, or a folder of images")
    train.add_argument("--epochs", type=int, default=20)
    train.add_argument("--batch-size", type=int, default=64)
    train.add_argument("--image-size", type=int, choices=(32, 64), default=32)
    train.add_argument("--channels", type=int, choices=(1, 3), default=None,
                       help="force greyscale (1) or colour (3); default follows the data")
    train.add_argument("--latent-dim", type=int, default=None)
    train.add_argument("--width", type=int, default=None, help="feature maps (ngf/ndf)")
    train.add_argument("--lr", type=_finite, default=None, help="both learning rates")
    train.add_argument("--lr-g", type=_finite, default=None)
    train.add_argument("--lr-d", type=_finite, default=None)
    train.add_argument("--beta1", type=_finite, default=None)
    train.add_argument("--beta2", type=_finite, default=None)
    train.add_argument("--device", choices=DEVICES, default="auto")
    train.add_argument("--precision", choices=PRECISIONS, default="auto",
                       help="auto: bf16 where the CPU/GPU runs it natively (fp16 on older "
                            "GPUs), else fp32")
    train.add_argument("--no-fast", action="store_true",
                       help="plain eager fp32: no mixed precision, channels_last or CUDA graph")
    train.add_argument("--seed", type=_int_range(0, SEED_MAX), default=0)
    train.add_argument("--limit", type=int, default=0, help="use at most N images")
    train.add_argument("--log-every", type=int, default=10,
                       help="steps between metric read-backs")
    train.add_argument("--checkpoint-every", type=int, default=0,
                       help="also checkpoint every N steps (default: every epoch)")
    train.add_argument("--data-root", default=None, help="folder for torchvision data sets")
    train.add_argument("--out", default=None, help="runs folder (default: your data folder)")
    train.set_defaults(func=cmd_train)

    resume = sub.add_parser("resume", help="continue a run from its last checkpoint")
    resume.add_argument("run", help="run folder")
    resume.add_argument("--epochs", type=int, default=None, help="new total epoch count")
    resume.set_defaults(func=cmd_resume)

    samp = sub.add_parser("sample", help="generate images from a trained model")
    samp.add_argument("model_path", metavar="RUN_OR_CHECKPOINT")
    samp.add_argument("--n", type=_int_range(1, 10_000), default=64)
    samp.add_argument("--seed", type=_int_range(0, SEED_MAX), default=0)
    samp.add_argument("--out", required=True, help="grid.png, or a folder for one PNG each")
    samp.set_defaults(func=cmd_sample)

    rec = sub.add_parser("reconstruct", help="reconstruct images with an autoencoder")
    rec.add_argument("model_path", metavar="RUN_OR_CHECKPOINT")
    rec.add_argument("images", nargs="+", metavar="IMAGE_OR_DIR")
    rec.add_argument("--out", required=True, help="folder for the original|reconstruction pairs")
    rec.set_defaults(func=cmd_reconstruct)

    lst = sub.add_parser("runs", help="list runs")
    lst.add_argument("--root", default=None, help="runs folder (default: your data folder)")
    lst.set_defaults(func=cmd_runs)

    exp = sub.add_parser("export", help="export a model as safetensors or ONNX")
    exp.add_argument("run", metavar="RUN_OR_CHECKPOINT")
    exp.add_argument("--format", choices=("safetensors", "onnx"), default="safetensors")
    exp.add_argument("--out", required=True)
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
    walk.add_argument("--out", required=True, help="walk.gif, or a folder for PNG frames")
    walk.set_defaults(func=cmd_interpolate)
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
