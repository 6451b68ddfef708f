"""What the window costs training: the same run driven through the window vs headless.

Both train the same config (the seed DCGAN, 32x32, width 64, batch 64, on the bundled
digits), each run in a fresh process, alternating headless and window runs (A B A B) so drift
on a shared machine shows as spread. The window runs offscreen with everything live: loss plots, the
sample grid after each epoch, the status line. Each run's speed is the median of its epoch
times (from the run's own ``metrics.jsonl``), the first epoch left out as warm-up.
Target: window / headless throughput >= 0.95.

    python benchmarks/gui_overhead.py [--epochs 4] [--limit 2560] [--repeats 2]

The last line is the headline figure alone: ``ratio X.XX`` (window / headless).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def epoch_seconds(run_dir: Path) -> float:
    """Median seconds per epoch of a finished run, without its first epoch."""
    from aigc_studio.engine import runs

    seconds = [float(r["seconds"]) for r in runs.read_metrics(run_dir) if r["kind"] == "epoch"]
    return statistics.median(seconds[1:])


def run_window(config: object, home: Path) -> float:
    """Train ``config`` through an offscreen window (in this process); its s/epoch."""
    from PySide6.QtCore import QEventLoop, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from aigc_studio.engine.callbacks import TrainEnd
    from aigc_studio.gui.app import dispose
    from aigc_studio.gui.main_window import MainWindow

    app = QApplication([])
    app.setApplicationName("AIGC Studio (gui overhead benchmark)")
    window = MainWindow(settings=QSettings(str(home / "s.ini"), QSettings.Format.IniFormat))
    window.resize(1280, 800)
    window.show()

    def wait_for(signal: object, ms: int) -> list[object]:
        got: list[object] = []
        loop = QEventLoop()
        signal.connect(lambda *a: (got.extend(a), loop.quit()))  # type: ignore[attr-defined]
        QTimer.singleShot(ms, loop.quit)
        loop.exec()
        return got

    wait_for(window.torch_ready, 120_000)
    window.start_training(config)
    got = wait_for(window.training_done, 900_000)
    dispose(window)
    if not got or not isinstance(got[0], TrainEnd) or got[0].status != "finished":
        sys.exit(f"the window's run did not finish: {got}")
    return epoch_seconds(got[0].run_dir)


def run_headless(config: object, home: Path) -> float:
    """Train ``config`` as the CLI does (``Trainer.fit`` on the main thread); its s/epoch."""
    from aigc_studio.engine.trainer import Trainer

    trainer = Trainer(config, runs_root=home / "headless")  # type: ignore[arg-type]
    print(f"device {trainer.config.device}", file=sys.stderr)
    return epoch_seconds(trainer.fit().run_dir)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--limit", type=int, default=2560, help="images per epoch")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--child", choices=("window", "headless"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:  # one measurement, in a fresh process: print s/epoch
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        home = Path(tempfile.mkdtemp(prefix="aigc-gui-overhead-"))
        os.environ["AIGC_STUDIO_HOME"] = str(home)
        from aigc_studio.engine.config import TrainConfig

        config = TrainConfig(dataset="digits", epochs=args.epochs, limit=args.limit,
                             batch_size=64, device=args.device)
        run = run_window if args.child == "window" else run_headless
        print(f"{run(config, home):.4f}")
        return
    # Each run gets its own process: a thread that has run OpenMP work keeps its thread pool,
    # which slows torch in any other thread by 15-25% (measured), so one process must not
    # train both ways.
    seconds: dict[str, list[float]] = {"headless": [], "window": []}
    for _ in range(args.repeats):
        for kind in seconds:
            done = subprocess.run(
                [sys.executable, __file__, "--child", kind, "--epochs", str(args.epochs),
                 "--limit", str(args.limit), "--device", args.device],
                capture_output=True, text=True, check=False)
            if done.returncode != 0:
                sys.exit(f"the {kind} run failed (exit code {done.returncode}):\n"
                         f"{done.stderr[-2000:]}")
            seconds[kind].append(float(done.stdout.strip().splitlines()[-1]))
        h, w = seconds["headless"][-1], seconds["window"][-1]
        print(f"  headless {h:6.2f} s/epoch   window {w:6.2f} s/epoch   ratio {h / w:.3f}",
              flush=True)
    images = args.limit // 64 * 64
    h, w = statistics.median(seconds["headless"]), statistics.median(seconds["window"])
    print(f"device {args.device}  {images} images/epoch, {args.epochs} epochs, batch 64")
    print(f"median headless {images / h:.1f} img/s ({min(seconds['headless']):.2f}-"
          f"{max(seconds['headless']):.2f} s/epoch), window {images / w:.1f} img/s "
          f"({min(seconds['window']):.2f}-{max(seconds['window']):.2f} s/epoch); "
          "target >= 0.95")
    print(f"ratio {h / w:.3f}")


if __name__ == "__main__":
    main()
