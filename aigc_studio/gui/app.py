"""Start the studio window: ``aigc-studio`` (no subcommand) and ``python -m aigc_studio.gui``.

Import cost matters here: nothing on this path imports torch, so the window paints in well
under a second and PyTorch loads afterwards in the background.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import shiboken6
from PySide6.QtCore import QObject, QSettings
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QWidget

from aigc_studio import families
from aigc_studio.engine.callbacks import TrainEnd
from aigc_studio.logs import setup_logging

_T0 = time.perf_counter()
log = logging.getLogger(__name__)
ORG = "AIGC Studio"
APP = "AIGC Studio"
DEMO_EPOCHS = 5


def _say(message: str) -> None:
    """One line on stderr (a frozen windowed app has no stderr at all)."""
    if sys.stderr is not None:
        print(f"aigc-studio: {message}", file=sys.stderr)


def build_parser() -> argparse.ArgumentParser:
    """The window's own command-line flags."""
    parser = argparse.ArgumentParser(
        prog="aigc-studio",
        description="Open the AIGC Studio window (train and explore generative image models).",
    )
    parser.add_argument("path", nargs="?", type=Path,
                        help="a run folder, checkpoint or image folder to open")
    parser.add_argument("--demo", action="store_true",
                        help="start training on the bundled digits at once (the first model "
                             "that draws images)")
    parser.add_argument("--epochs", type=int, default=None, metavar="N",
                        help=f"epochs to train (the demo's default is {DEMO_EPOCHS})")
    parser.add_argument("--limit", type=int, default=None, metavar="N",
                        help="use at most N images (a quicker demo)")
    parser.add_argument("--quit-when-done", action="store_true",
                        help="exit when training ends (0 when it finished)")
    parser.add_argument("--screenshot", type=Path, metavar="PATH",
                        help="save a PNG of the window when training ends (or once ready)")
    parser.add_argument("--exit-after-paint", action="store_true", help=argparse.SUPPRESS)
    return parser


class Automation(QObject):
    """Drives the window for --demo / --quit-when-done / --screenshot."""

    def __init__(self, window: object, args: argparse.Namespace, app: QApplication) -> None:
        super().__init__()
        from aigc_studio.gui.main_window import MainWindow

        assert isinstance(window, MainWindow)
        self.window = window
        self.args = args
        self.app = app
        self.exit_code: int | None = None
        window.torch_ready.connect(self._on_ready)
        window.training_done.connect(self._on_done)
        window.torch_failed.connect(self._on_torch_failed)

    def _on_ready(self) -> None:
        args, panel = self.args, self.window.panel
        if args.epochs is not None:
            panel.epochs.setValue(max(1, args.epochs))
        if args.limit is not None:
            panel.limit.setValue(max(0, args.limit))
        if args.demo:
            panel.set_dataset("digits")
            sampler = next((f for f in families.all_families() if f.capabilities.samples),
                           None)
            if sampler is not None:  # the demo trains the first model that draws images
                panel.select_model(sampler.name)
            panel.select_device("auto")
            if args.epochs is None:
                panel.epochs.setValue(DEMO_EPOCHS)
            if not self.window.start_training():
                self._finish(2)
        elif (args.quit_when_done or args.screenshot) and not self.window.is_training():
            self._finish(0)

    def _on_torch_failed(self, message: str) -> None:
        """No PyTorch, no training: with --quit-when-done/--screenshot exit 1, never hang."""
        if self.args.demo or self.args.quit_when_done or self.args.screenshot:
            _say(message)
            self._finish(1)

    def _on_done(self, end: TrainEnd | None) -> None:
        if not (self.args.quit_when_done or self.args.screenshot):
            return
        ok = end is not None and end.status == "finished"
        if not ok:
            message = self.window.banner.text() or (end.message if end else "training failed")
            _say(message)
        if self.args.quit_when_done:
            self._finish(0 if ok else 1)
        else:
            self._screenshot()

    def _screenshot(self) -> bool:
        path = self.args.screenshot
        if path is None:
            return True
        self.app.processEvents()
        path.parent.mkdir(parents=True, exist_ok=True)
        if not self.window.grab().save(str(path), "PNG"):
            _say(f"could not write the screenshot {path}.")
            return False
        return True

    def _finish(self, code: int) -> None:
        if not self._screenshot() and code == 0:
            code = 1
        self.exit_code = code
        if self.args.quit_when_done or self.args.screenshot:
            self.window.close()
            self.app.exit(code)


def _process_age() -> float:
    """Seconds since this process started (Linux; falls back to time since import)."""
    try:
        import os

        ticks = os.sysconf("SC_CLK_TCK")
        start = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19]) / ticks
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return uptime - start
    except (OSError, ValueError, IndexError, AttributeError):
        return time.perf_counter() - _T0


def _warn_about_binding() -> None:
    """PySide6 6.12.0 drops a reference on every signal: long sessions abort (see tests)."""
    import PySide6

    if PySide6.__version__ == "6.12.0":
        log.warning("PySide6 6.12.0 has a reference-counting bug in signals that can abort "
                    "long sessions; install another release (e.g. 6.11.3).")


def dispose(window: QWidget) -> None:
    """Stop a window's work and delete its widgets now, while Qt is fully alive.

    Left to interpreter exit, wrappers die in no set order and pyqtgraph's Python event
    overrides can run on half-deleted items: a segfault on quit (seen in about 1 exit in 5).
    """
    shutdown = getattr(window, "shutdown", None)
    if shutdown is not None:
        shutdown()
    window.close()
    shiboken6.delete(window)


def run_app(argv: list[str] | None = None) -> int:
    """Open the window; returns the process exit code."""
    args = build_parser().parse_args(argv)
    if args.epochs is not None and args.epochs < 1:
        _say("--epochs must be at least 1.")
        return 2
    setup_logging()
    _warn_about_binding()
    app = QApplication.instance()
    if app is None:
        app = QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setOrganizationName(ORG)
    app.setApplicationName(APP)
    app.setApplicationDisplayName(APP)

    from aigc_studio.gui.main_window import MainWindow
    from aigc_studio.gui.widgets.style import apply_style

    apply_style(app)
    from aigc_studio.paths import resource_path

    icon = resource_path("icons", "aigc-studio-256.png")
    if icon.is_file():  # the .exe/.app icons come from the bundle; this is the window's
        app.setWindowIcon(QIcon(str(icon)))
    window = MainWindow(settings=QSettings(ORG, APP))
    automation = Automation(window, args, app)
    window.show()
    if args.path is not None:
        window.handle_dropped_path(args.path.expanduser())
    if args.exit_after_paint:
        def report() -> None:
            painted = (window.first_paint_s or time.perf_counter()) - _T0
            since_start = _process_age() - (time.perf_counter() - (window.first_paint_s or 0))
            print(f"painted_s={painted:.3f} painted_since_process_start_s={since_start:.3f} "
                  f"ready_since_process_start_s={_process_age():.3f} "
                  f"torch_at_paint={window.torch_at_first_paint}", flush=True)
            window.shutdown()
            window.close()
            app.exit(0)

        window.torch_ready.connect(report)
    code = app.exec()
    dispose(window)
    if automation.exit_code is not None:
        return automation.exit_code
    return int(code)


def main() -> None:
    """``python -m aigc_studio.gui``."""
    sys.exit(run_app(sys.argv[1:]))
