"""The studio window: training panel and runs browser, live plots, sample grid, status bar.

The window drives the engine and shows what it reports; it does no training maths. PyTorch is
imported in a background thread after the window is painted (see :class:`TorchLoader`).
"""

from __future__ import annotations

import logging
import sys
import time
from collections import deque
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QEvent, QSettings, Qt, QThread, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from aigc_studio.core.images import IMAGE_EXTENSIONS
from aigc_studio.engine import runs as run_store
from aigc_studio.engine.callbacks import EpochResult, RunStarted, StepMetrics, TrainEnd
from aigc_studio.engine.config import ConfigError, TrainConfig
from aigc_studio.gui.dialogs import GanHelpDialog, about_html
from aigc_studio.gui.plots import TrainingPlots
from aigc_studio.gui.runs_browser import RunsBrowser, follow_text
from aigc_studio.gui.sample_view import SampleView, epoch_of
from aigc_studio.gui.training_panel import TrainingPanel
from aigc_studio.gui.widgets import Banner
from aigc_studio.gui.worker import ImportWarmer, TorchLoader, TrainingSession, TrainingWorker

log = logging.getLogger(__name__)

MODEL_NAMES = {"dcgan": "DCGAN", "autoencoder": "Autoencoder"}


def format_duration(seconds: float) -> str:
    """'1 h 02 min', '3 min 05 s', '12 s'."""
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


class MainWindow(QMainWindow):
    """The AIGC Studio main window."""

    torch_ready = Signal()
    torch_failed = Signal(str)  # the message shown
    training_done = Signal(object)  # TrainEnd | None
    message_shown = Signal(str, str)  # level, text

    def __init__(
        self,
        *,
        settings: QSettings | None = None,
        runs_root: Path | None = None,
        load_torch: bool = True,
    ) -> None:
        self._started_up = False
        self._load_torch = load_torch
        self.first_paint_s: float | None = None
        self.torch_at_first_paint: bool | None = None
        super().__init__()
        self.settings = settings if settings is not None else QSettings()
        self.runs_root = Path(runs_root) if runs_root else run_store.default_runs_root()
        self.session: TrainingSession | None = None
        self.current_run: Path | None = None
        self.run_info: RunStarted | None = None
        self.is_ready = False
        self.devices: list[str] = ["auto"]
        self.torch_version: str | None = None
        self.device_note = ""
        self._close_pending = False
        self._stopping = False
        self._paused = False
        self._rate_samples: deque[tuple[float, int]] = deque(maxlen=200)
        self._last_step = 0
        self._follow_sig: tuple[int, int] = (-1, -1)
        self._loader: TorchLoader | None = None
        self._warmer: ImportWarmer | None = None
        self._help: GanHelpDialog | None = None
        self.last_end: TrainEnd | None = None

        self.setWindowTitle("AIGC Studio")
        self.setAcceptDrops(True)
        self._build_widgets()
        self._build_menus()
        self._build_status_bar()
        self._restore_settings()
        self._follow_timer = QTimer(self)
        self._follow_timer.setInterval(1000)
        self._follow_timer.timeout.connect(self._poll_followed_run)
        self.runs.refresh()
        self._set_state_text("Loading PyTorch…" if load_torch else "Ready")
        if not load_torch:
            self._reset_progress()

    def event(self, event: QEvent) -> bool:
        """After the first paint: build the plots and start loading PyTorch."""
        handled = super().event(event)
        if not self._started_up and event.type() in (QEvent.Type.Paint,
                                                     QEvent.Type.UpdateRequest):
            self._started_up = True
            QTimer.singleShot(0, self.finish_startup)
        return handled

    def finish_startup(self) -> None:
        """Create the pyqtgraph plots and start the background PyTorch import (idempotent)."""
        self._started_up = True
        if self.first_paint_s is None:
            self.first_paint_s = time.perf_counter()
            self.torch_at_first_paint = "torch" in sys.modules
        self.plots.build()
        if self._load_torch and self._loader is None and not self.is_ready:
            self._start_torch_loader()

    # ------------------------------------------------------------------ construction -----
    def _build_widgets(self) -> None:
        self.panel = TrainingPanel()
        self.panel.start_clicked.connect(self.start_training)
        self.panel.pause_clicked.connect(self.toggle_pause)
        self.panel.stop_clicked.connect(self.stop_training)
        self.panel.apply_lr_clicked.connect(self.apply_learning_rates)
        self.panel.model.currentIndexChanged.connect(self._on_panel_model_changed)
        panel_scroll = QScrollArea()
        panel_scroll.setWidget(self.panel)
        panel_scroll.setWidgetResizable(True)
        panel_scroll.setFrameShape(QFrame.Shape.NoFrame)
        panel_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

        self.runs = RunsBrowser(self.runs_root)
        self.runs.open_requested.connect(self.open_run)
        self.runs.resume_requested.connect(self.resume_run)

        self.tabs = QTabWidget()
        self.tabs.addTab(panel_scroll, "Train")
        self.tabs.addTab(self.runs, "Runs")
        self.tabs.setMinimumWidth(350)

        self.plots = TrainingPlots()
        self.samples = SampleView()
        self.samples.message.connect(lambda text: self.show_message(text, "info"))

        self.run_header = QLabel("No run yet: choose a data set and a model, then press "
                                 "Start training.")
        self.run_header.setObjectName("runHeader")
        self.run_header.setWordWrap(True)
        middle = QWidget()
        mid_layout = QVBoxLayout(middle)
        mid_layout.setContentsMargins(4, 0, 4, 0)
        mid_layout.addWidget(self.run_header)
        mid_layout.addWidget(self.plots, 1)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.tabs)
        self.splitter.addWidget(middle)
        self.splitter.addWidget(self.samples)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setStretchFactor(2, 2)
        self.splitter.setSizes([360, 520, 400])
        self.splitter.setChildrenCollapsible(False)

        # Explore / Reconstruct are built on first use: each owns a worker thread and loads
        # a model, which a window that only trains never needs.
        self.explorer: Any = None
        self.reconstruction: Any = None
        self._explorer_sig: tuple[Path, int] | None = None
        self._recon_sig: tuple[Path, int] | None = None
        self.workspace = QTabWidget()
        self.workspace.setDocumentMode(True)
        self.workspace.addTab(self.splitter, "Training")
        self.workspace.addTab(self._placeholder("The latent explorer opens a trained DCGAN."),
                              "Explore")
        self.workspace.addTab(self._placeholder("Reconstruction opens a trained autoencoder."),
                              "Reconstruct")
        self.workspace.setTabToolTip(0, "Train a model and watch its losses and samples.")
        self.workspace.setTabToolTip(1, "Walk the latent space of the current DCGAN run: seeds, "
                                        "sliders, interpolations and epoch comparisons.")
        self.workspace.setTabToolTip(2, "Drop images to see how the current autoencoder "
                                        "reconstructs them, with MSE, PSNR and SSIM.")
        self.workspace.currentChanged.connect(self._on_workspace_tab)

        self.banner = Banner(dismissible=True)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(8, 6, 8, 4)
        layout.addWidget(self.banner)
        layout.addWidget(self.workspace, 1)
        self.setCentralWidget(central)

    @staticmethod
    def _placeholder(text: str) -> QWidget:
        label = QLabel(text)
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        return label

    def _build_menus(self) -> None:
        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        self.act_new = self._action(file_menu, "&New training", self.new_training,
                                    QKeySequence.StandardKey.New)
        self._action(file_menu, "&Open run…", self._open_run_dialog, QKeySequence.StandardKey.Open)
        self._action(file_menu, "Open &checkpoint…", self._open_checkpoint_dialog)
        self._action(file_menu, "Open &images…", self._open_images_dialog, "Ctrl+I")
        self._action(file_menu, "&Train on an image folder…", self._train_folder_dialog)
        file_menu.addSeparator()
        self.act_save = self._action(file_menu, "&Save grid as PNG…", self.samples.save_dialog,
                                     QKeySequence.StandardKey.Save)
        self._action(file_menu, "&Export training progress as GIF…",
                     self.samples.export_gif_dialog)
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", self.close, QKeySequence.StandardKey.Quit)

        train_menu = menu.addMenu("&Training")
        self.act_start = self._action(train_menu, "&Start", self.start_training, "Ctrl+Return")
        self.act_pause = self._action(train_menu, "&Pause / Resume", self.toggle_pause, "Space")
        self.act_stop = self._action(train_menu, "S&top", self.stop_training, "Ctrl+.")
        train_menu.addSeparator()
        self._action(train_menu, "&Resume selected run", self._resume_selected)

        view_menu = menu.addMenu("&View")
        self._action(view_menu, "&Training panel", lambda: self.tabs.setCurrentIndex(0), "Ctrl+1")
        self._action(view_menu, "&Runs browser", lambda: self.tabs.setCurrentIndex(1), "Ctrl+2")
        self._action(view_menu, "&Explore the latent space", self.show_explorer, "Ctrl+3")
        self._action(view_menu, "Re&construct images", self.show_reconstruction, "Ctrl+4")
        view_menu.addSeparator()
        self._action(view_menu, "&Latest epoch", self._show_latest_epoch, "End")
        self._action(view_menu, "Reset &layout", self.reset_layout)

        help_menu = menu.addMenu("&Help")
        self._action(help_menu, "&How a GAN learns", self.show_gan_help, "F1")
        self._action(help_menu, "&About AIGC Studio", self.show_about)

    def _action(self, menu: Any, text: str, slot: Any, shortcut: Any = None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(lambda *_: slot())
        menu.addAction(action)
        return action

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.device_label = QLabel("Device: …")
        self.device_label.setToolTip("Where the model trains.")
        self.step_label = QLabel("")
        self.step_label.setToolTip("Current epoch and global optimisation step.")
        self.progress = QProgressBar()
        self.progress.setFixedWidth(220)
        self.progress.setTextVisible(True)
        self.progress.setToolTip("Progress over all planned steps of the run.")
        self.eta_label = QLabel("")
        self.eta_label.setToolTip("Estimated time left, from the recent speed.")
        self.speed_label = QLabel("")
        self.speed_label.setToolTip("Training images processed per second.")
        self.state_label = QLabel("")
        bar.addWidget(self.state_label, 1)
        for widget in (self.step_label, self.progress, self.eta_label, self.speed_label,
                       self.device_label):
            bar.addPermanentWidget(widget)
        self.progress.setRange(0, 0)

    # ------------------------------------------------------------------ settings -----------
    def _restore_settings(self) -> None:
        s = self.settings
        geometry = s.value("window/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            self.resize(1280, 800)
        state = s.value("window/splitter")
        if isinstance(state, QByteArray) and not state.isEmpty():
            self.splitter.restoreState(state)
        plot_state = s.value("window/plot_splitter")
        if isinstance(plot_state, QByteArray) and not plot_state.isEmpty():
            self.plots.splitter.restoreState(plot_state)
        values = s.value("panel/values")
        if isinstance(values, dict):
            self.panel.restore_values(values)
        try:
            self.plots.set_smoothing(float(s.value("plots/smoothing", 0.0)))
            self.tabs.setCurrentIndex(int(s.value("window/tab", 0)))
        except (TypeError, ValueError):
            pass
        self.plots.set_model(self.panel.model.currentData())

    def save_settings(self) -> None:
        """Persist geometry, splitters and the last choices."""
        s = self.settings
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/splitter", self.splitter.saveState())
        s.setValue("window/plot_splitter", self.plots.splitter.saveState())
        s.setValue("window/tab", self.tabs.currentIndex())
        s.setValue("panel/values", self.panel.values())
        s.setValue("plots/smoothing", self.plots.smoothing())
        s.sync()

    def reset_layout(self) -> None:
        """Back to the default panel sizes."""
        total = max(self.splitter.width(), 900)
        self.splitter.setSizes([int(total * 0.27), int(total * 0.42), int(total * 0.31)])
        self.plots.splitter.setSizes([1, 1])

    # ------------------------------------------------------------------ torch loading ------
    def _start_torch_loader(self) -> None:
        self.progress.setVisible(True)
        self.progress.setRange(0, 0)
        self._loader = TorchLoader(self)
        self._loader.loaded.connect(self._on_torch_loaded)
        self._loader.failed.connect(self._on_torch_failed)
        self._loader.start()

    def _on_torch_loaded(self, devices: list[str], version: str) -> None:
        self._join_loader()
        self.devices = devices
        self.torch_version = version
        self.panel.set_devices(devices)
        found = [d for d in devices if d not in ("auto", "cpu")]
        self.device_label.setText(f"Device: {found[0] if found else 'cpu'}")
        self.device_note = "GPU found: " + ", ".join(found) if found else "No GPU found: CPU."
        self.is_ready = True
        self.panel.set_ready(True)
        self._reset_progress()
        self._set_state_text(f"Ready · PyTorch {version}")
        self._warmer = ImportWarmer(self)
        self._warmer.start(QThread.Priority.LowPriority)
        self.torch_ready.emit()

    def _on_torch_failed(self, message: str) -> None:
        self._join_loader()
        self.panel.set_ready(False, "PyTorch unavailable")
        self._reset_progress()
        self._set_state_text("PyTorch could not be loaded")
        self.show_message(message, "error")
        self.torch_failed.emit(message)

    def _join_loader(self) -> None:
        if self._loader is not None:
            self._loader.wait()
            self._loader = None

    # ------------------------------------------------------------------ messages -----------
    def show_message(self, text: str, level: str = "error") -> None:
        """Show a one-sentence message in the banner (and the status bar for info)."""
        self.banner.show_message(text, level)
        self.message_shown.emit(level, text)

    def _set_state_text(self, text: str) -> None:
        self.state_label.setText(text)

    def _reset_progress(self) -> None:
        self.progress.setVisible(False)
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("")
        self.eta_label.setText("")
        self.speed_label.setText("")

    # ------------------------------------------------------------------ training -----------
    def is_training(self) -> bool:
        """True while a training thread runs."""
        return self.session is not None and self.session.is_running()

    def start_training(self, config: TrainConfig | None = None) -> bool:
        """Validate the form (or use ``config``) and start a new run; False if refused."""
        if self.is_training():
            self.show_message("A run is already training; stop it first.", "warning")
            return False
        if not self.is_ready:
            self.show_message("PyTorch is still loading; training can start in a moment.",
                              "warning")
            return False
        try:
            cfg = (config or self.panel.config()).validate()
        except ConfigError as exc:
            self.panel.show_error(str(exc))
            self.show_message(str(exc), "error")
            return False
        self.panel.show_error("")
        self.panel.set_config(cfg)  # the form shows exactly what trains
        self.banner.hide()
        self._stop_following()
        self.step_label.setText("")
        self.plots.clear()
        self.samples.clear()
        self.plots.set_model(cfg.model)
        self.current_run = None
        self.run_header.setText(f"Starting {MODEL_NAMES.get(cfg.model, cfg.model)} on "
                                f"{Path(cfg.dataset).name or cfg.dataset}…")
        worker = TrainingWorker(cfg, runs_root=self.runs_root)
        self._launch(worker, cfg.model)
        return True

    def resume_run(self, run_dir: Path, epochs: int | None = None) -> bool:
        """Continue a run from its last checkpoint; False if refused."""
        run_dir = Path(run_dir)
        if self.is_training():
            self.show_message("A run is already training; stop it first.", "warning")
            return False
        if not self.is_ready:
            self.show_message("PyTorch is still loading; try again in a moment.", "warning")
            return False
        if not run_store.last_checkpoint(run_dir).exists():
            self.show_message(f"{run_dir.name} has no checkpoint to resume from "
                              f"({run_store.last_checkpoint(run_dir)} is missing).", "error")
            return False
        info = run_store.read_run(run_dir)
        if not self.open_run(run_dir, follow=False):
            return False
        if epochs is None and self.panel.epochs.value() > info.epochs_planned:
            epochs = self.panel.epochs.value()
        if epochs is None and info.epochs_done >= info.epochs_planned > 0:
            more, ok = QInputDialog.getInt(
                self, "Continue training",
                f"{run_dir.name} has trained all {info.epochs_done} epochs.\n"
                "Train it up to how many epochs in total?",
                info.epochs_done + 10, info.epochs_done + 1, 100_000)
            if not ok:
                return False
            epochs = more
            self.panel.epochs.setValue(more)
        self.banner.hide()
        worker = TrainingWorker(resume_dir=run_dir, resume_epochs=epochs,
                                runs_root=self.runs_root)
        model = self.panel.model.currentData()
        self._launch(worker, model)
        return True

    def _launch(self, worker: TrainingWorker, model: str) -> None:
        worker.run_started.connect(self._on_run_started)
        worker.steps_ready.connect(self._on_steps)
        worker.epoch_finished.connect(self._on_epoch)
        worker.warning.connect(self._on_warning)  # a bound slot: queued to the GUI thread
        worker.failed.connect(self._on_failed)
        session = TrainingSession(worker, self)
        session.done.connect(self._on_done)
        self.session = session
        self._stopping = False
        self._paused = False
        self._rate_samples.clear()
        self.last_end = None
        self.run_info = None
        self.panel.set_training(True)
        self.runs.set_busy(True)
        self.progress.setVisible(True)
        self.progress.setRange(0, 0)
        self.progress.setFormat("")
        self._set_state_text("Preparing data…")
        self.plots.set_model(model)
        session.start()

    def toggle_pause(self) -> None:
        """Pause or resume the running run (Space)."""
        if not self.is_training() or self._stopping or self.session is None:
            return
        if self._paused:
            self.session.resume()
            self._paused = False
            self._rate_samples.clear()
            self._set_state_text("Training")
        else:
            self.session.pause()
            self._paused = True
            self._set_state_text("Paused: press Resume (or Space) to continue")
            self.eta_label.setText("paused")
        self.panel.set_training(True, paused=self._paused)

    def stop_training(self) -> None:
        """Stop after the current step; the engine writes a checkpoint."""
        if not self.is_training() or self.session is None:
            return
        self._stopping = True
        self._paused = False
        self.session.stop()
        self.panel.set_training(True, stopping=True)
        self._set_state_text("Stopping: finishing the step and saving a checkpoint…")

    def apply_learning_rates(self, lr_g: float, lr_d: float) -> None:
        """Send new learning rates to the running trainer."""
        if not self.is_training() or self.session is None:
            return
        gan = self.panel.model.currentData() == "dcgan"
        self.session.control.set_learning_rates(lr_g=lr_g, lr_d=lr_d if gan else None)
        text = f"Learning rate G {lr_g:g}" + (f", D {lr_d:g}" if gan else "")
        self.show_message(text + " from the next step on.", "info")

    def _on_run_started(self, info: RunStarted) -> None:
        self.run_info = info
        self.current_run = info.run_dir
        self._last_step = info.start_step
        if info.start_step:
            self.plots.truncate(info.start_step)
            self.samples.truncate(info.start_epoch - 1)
        self.device_label.setText(f"Device: {info.device}")
        self.progress.setRange(0, max(info.total_steps, 1))
        self.progress.setValue(info.start_step)
        self.progress.setFormat("%p%")
        self._rate_samples.clear()
        self._rate_samples.append((time.monotonic(), info.start_step))
        skipped = f", {info.skipped_images} skipped" if info.skipped_images else ""
        data = Path(info.dataset).name or info.dataset
        self.run_header.setText(
            f"{MODEL_NAMES.get(info.model, info.model)} on {data} · "
            f"{info.num_images:,} images{skipped}"
        )
        self._set_state_text("Training" + (f" · {'; '.join(info.notes)}" if info.notes else ""))
        tip = f"Run folder: {info.run_dir}" if info.run_dir else ""
        self.run_header.setToolTip("\n".join([tip, *info.notes]).strip())
        self.runs.refresh()

    def _on_steps(self, steps: list[StepMetrics]) -> None:
        if not steps:
            return
        self.plots.add_steps(steps)
        last = steps[-1]
        self._last_step = last.step
        now = time.monotonic()
        self._rate_samples.append((now, last.step))
        info = self.run_info
        total = info.total_steps if info else 0
        per_epoch = info.steps_per_epoch if info else 0
        epochs = info.epochs if info else 0
        in_epoch = (last.step - 1) % per_epoch + 1 if per_epoch else last.step
        self.step_label.setText(f"Epoch {last.epoch}/{epochs} · step {in_epoch}/{per_epoch}"
                                if per_epoch else f"Epoch {last.epoch} · step {last.step}")
        if total:
            self.progress.setValue(min(last.step, total))
        self.speed_label.setText(f"{last.images_per_s:,.0f} img/s")
        if not self._paused:
            self.eta_label.setText(self._eta_text(total, last.step))
        if self._help is not None and self._help.isVisible():
            self._help.update_values(self.plots.last_values())

    def _eta_text(self, total: int, step: int) -> str:
        samples = [s for s in self._rate_samples if s[0] >= time.monotonic() - 30.0]
        if not total or len(samples) < 2:
            return "ETA …"
        (t0, s0), (t1, s1) = samples[0], samples[-1]
        if t1 <= t0 or s1 <= s0:
            return "ETA …"
        rate = (s1 - s0) / (t1 - t0)
        return f"ETA {format_duration((total - step) / rate)}"

    def _on_epoch(self, result: EpochResult) -> None:
        self.samples.add_grid(result.epoch, result.grid)
        self._refresh_visible_panel()
        epochs = self.run_info.epochs if self.run_info else result.epoch
        if not self._paused and not self._stopping:
            self._set_state_text(
                f"Training · epoch {result.epoch}/{epochs} took "
                f"{format_duration(result.seconds)}"
            )
        # result.warnings repeat what on_warning already delivered: not shown twice.

    def _on_warning(self, message: str) -> None:
        self.show_message(message, "warning")

    def _on_failed(self, message: str) -> None:
        self.show_message(message, "error")

    def _on_done(self, end: TrainEnd | None) -> None:
        session = self.session
        self.session = None
        if session is not None:
            session.deleteLater()
        self.last_end = end
        self._stopping = False
        self._paused = False
        self.panel.set_training(False)
        self.panel.set_ready(self.is_ready)
        self.runs.set_busy(False)
        if self.progress.maximum() == 0:
            self._reset_progress()
        self.eta_label.setText("")
        if end is None and self.run_info is not None:
            self._set_state_text("Training stopped by an error; the last checkpoint is kept")
        elif end is None:
            self._set_state_text("Training could not start")
            self.run_header.setText("Training could not start: see the message above, fix "
                                    "the settings and press Start training again.")
        elif end.status == "failed":
            self._set_state_text("Training failed")
        elif end.status == "finished":
            self.progress.setValue(self.progress.maximum())
            self._set_state_text(f"Finished: {end.epoch} epochs, {end.step:,} steps")
        elif end.status == "stopped":
            self._set_state_text(f"Stopped after epoch {end.epoch}, step {end.step:,}: "
                                 "checkpoint saved, resume it from the Runs tab")
        else:
            self._set_state_text("Training failed")
        if end is not None and end.run_dir is not None:
            self.current_run = end.run_dir
        self.runs.refresh()
        if self.current_run is not None:
            self.runs.select(self.current_run)
        self.training_done.emit(end)
        if self._close_pending:
            self.close()

    # ------------------------------------------------------------------ runs ---------------
    def new_training(self) -> None:
        """Clear the view for a fresh run (File > New training)."""
        if self.is_training():
            self.show_message("Stop the current run before starting a new one.", "warning")
            return
        self._stop_following()
        self.current_run = None
        self.plots.clear()
        self.samples.clear()
        self.banner.hide()
        self._reset_progress()
        self.step_label.setText("")
        self.run_header.setText("New run: choose a data set and a model, then press "
                                "Start training.")
        self.tabs.setCurrentIndex(0)

    def open_run(self, run_dir: Path, *, follow: bool = True) -> bool:
        """Show a run folder's plots, grids and settings; follow it if it is still written."""
        run_dir = Path(run_dir)
        if self.is_training():
            self.show_message("Stop training before opening another run.", "warning")
            return False
        if not run_dir.is_dir():
            self.show_message(f"{run_dir} is not a folder.", "error")
            return False
        if not run_store.is_run_dir(run_dir):
            self.show_message(f"{run_dir} is not an AIGC Studio run folder (it has no "
                              "config.json or metrics.jsonl).", "error")
            return False
        info = run_store.read_run(run_dir)
        self._stop_following()
        self.current_run = run_dir
        self.banner.hide()
        try:
            cfg = run_store.load_run_config(run_dir)
        except Exception as exc:
            cfg = None
            self.show_message(f"This run is damaged and only partly shown: {exc}", "warning")
        if cfg is not None:
            self.panel.set_config(cfg)
            self.plots.set_model(cfg.model)
        try:
            records = run_store.read_metrics(run_dir)
        except Exception as exc:
            records = []
            self.show_message(str(exc), "warning")
        self.plots.clear()
        self.plots.add_records(r for r in records if r.get("kind", "step") == "step")
        paths = run_store.sample_paths(run_dir)
        self.samples.set_paths(paths)
        if info.damaged and cfg is not None:
            self.show_message(f"This run is damaged: {info.damaged}", "warning")
        self._last_step = int(records[-1].get("step", 0)) if records else 0
        done = info.epochs_done
        planned = info.epochs_planned
        self.run_header.setText(
            f"{MODEL_NAMES.get(info.model, info.model)} on {Path(info.dataset).name or '?'}"
            f" · {done}/{planned} epochs"
        )
        self.run_header.setToolTip(f"Run folder: {run_dir}")
        self.progress.setVisible(True)
        self.progress.setRange(0, max(planned, 1))
        self.progress.setValue(min(done, max(planned, 1)))
        self.progress.setFormat(f"{done}/{planned} epochs")
        self.eta_label.setText("")
        self.speed_label.setText("")
        self.step_label.setText(f"step {self._last_step:,}" if self._last_step else "")
        self._set_state_text(f"Opened run {run_dir.name}")
        self.runs.add_folder(run_dir)
        self._refresh_visible_panel()
        if follow:
            self._follow_sig = self._run_signature(run_dir)
            self._follow_timer.start()
        return True

    def _stop_following(self) -> None:
        self._follow_timer.stop()

    @staticmethod
    def _run_signature(run_dir: Path) -> tuple[int, int]:
        metrics = run_dir / run_store.METRICS
        size = metrics.stat().st_size if metrics.exists() else 0
        return size, len(run_store.sample_paths(run_dir))

    def _poll_followed_run(self) -> None:
        """Pick up new steps and epochs of an opened run that another process writes."""
        run_dir = self.current_run
        if run_dir is None or self.is_training() or not run_dir.is_dir():
            self._stop_following()
            return
        sig = self._run_signature(run_dir)
        if sig == self._follow_sig:
            self._set_state_text(follow_text(run_dir))  # the writer may have died meanwhile
            return
        self._follow_sig = sig
        records = run_store.read_metrics_or_empty(run_dir)  # a damaged file: nothing new
        fresh = [r for r in records if r.get("kind", "step") == "step"
                 and int(r.get("step", 0)) > self._last_step]
        if fresh:
            self.plots.add_records(fresh)
            self._last_step = int(fresh[-1].get("step", self._last_step))
            self.step_label.setText(f"step {self._last_step:,}")
        known = set(self.samples.epochs())
        for index, path in enumerate(run_store.sample_paths(run_dir), start=1):
            epoch = epoch_of(path) or index
            if epoch not in known:
                self.samples.add_grid(epoch, path)
        info = run_store.read_run(run_dir)
        planned = max(info.epochs_planned, 1)
        self.progress.setRange(0, planned)
        self.progress.setValue(min(info.epochs_done, planned))
        self.progress.setFormat(f"{info.epochs_done}/{info.epochs_planned} epochs")
        self._set_state_text(follow_text(run_dir))

    def _resume_selected(self) -> None:
        path = self.runs.selected_path() or self.current_run
        if path is None:
            self.show_message("Select a run in the Runs tab to resume.", "warning")
            return
        self.resume_run(path)

    def open_checkpoint(self, path: Path) -> bool:
        """Open the run a checkpoint belongs to (``RUN/checkpoints/last.pt``)."""
        path = Path(path)
        if not path.is_file():
            self.show_message(f"{path} does not exist.", "error")
            return False
        run_dir = path.parent.parent
        if path.parent.name != run_store.CHECKPOINTS or not run_store.is_run_dir(run_dir):
            # a loose checkpoint or exported weights: explore it (an autoencoder's page
            # offers reconstruction); the loader refuses anything unsafe or foreign
            self.show_explorer(path)
            return True
        return self.open_run(run_dir)

    def _open_run_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a run folder", str(self.runs_root))
        if folder:
            self.open_run(Path(folder))

    def _open_checkpoint_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a checkpoint", str(self.runs_root),
                                              "Checkpoints (*.pt *.safetensors)")
        if path:
            self.open_checkpoint(Path(path))

    def _open_images_dialog(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(
            self, "Open images to reconstruct", "",
            "Images (*.png *.jpg *.jpeg *.gif *.bmp *.tif *.tiff *.webp);;All files (*)")
        if files:
            self.reconstruct_paths([Path(f) for f in files])

    def _train_folder_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose a folder of images to train on")
        if folder:
            self.use_image_folder(Path(folder))

    def use_image_folder(self, folder: Path) -> None:
        """Train on a folder of images: select it and preview a few."""
        if self.is_training():
            self.show_message("Stop training before changing the data set.", "warning")
            return
        self.tabs.setCurrentIndex(0)
        self.panel.set_dataset(folder)

    # ------------------------------------------------------------------ misc UI -----------
    def _on_panel_model_changed(self, *_: object) -> None:
        if not self.is_training() and self.current_run is None:
            self.plots.set_model(self.panel.model.currentData())

    def _show_latest_epoch(self) -> None:
        epochs = self.samples.epochs()
        if epochs:
            self.samples.show_epoch(epochs[-1])

    def show_gan_help(self) -> None:
        """Help > How a GAN learns, with live values."""
        if self._help is None:
            self._help = GanHelpDialog(self)
        self._help.update_values(self.plots.last_values())
        self._help.show()
        self._help.raise_()

    def show_about(self) -> None:
        """Help > About: versions and the device found."""
        QMessageBox.about(self, "About AIGC Studio",
                          about_html(self.torch_version, self.devices, self.device_note))

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        """Accept local folders and checkpoints."""
        urls = event.mimeData().urls()
        if urls and all(u.isLocalFile() for u in urls):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        """Route a drop the way a user expects (see :meth:`handle_dropped_paths`)."""
        urls = event.mimeData().urls()
        if not urls:
            return
        event.acceptProposedAction()
        self.handle_dropped_paths([Path(u.toLocalFile()) for u in urls if u.isLocalFile()])

    def handle_dropped_paths(self, paths: list[Path]) -> None:
        """Image files go to reconstruction; one run folder or checkpoint opens; a folder of
        images asks whether to reconstruct it or train on it."""
        if not paths:
            return
        if len(paths) == 1:
            self.handle_dropped_path(paths[0])
            return
        if all(p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS for p in paths) or \
                all(p.is_dir() and not run_store.is_run_dir(p) for p in paths):
            self.reconstruct_paths(paths)
        else:
            self.show_message("Drop image files or image folders together, or one run folder "
                              "or checkpoint on its own.", "warning")

    def handle_dropped_path(self, path: Path) -> None:
        """What a drop (or a command-line path) does with one path."""
        if path.is_dir() and run_store.is_run_dir(path):
            self.open_run(path)
        elif path.is_dir():
            choice = self.ask_folder_action(path)
            if choice == "train":
                self.use_image_folder(path)
            elif choice == "reconstruct":
                self.reconstruct_paths([path])
        elif path.suffix in (".pt", ".safetensors"):
            self.open_checkpoint(path)
        elif path.suffix.lower() in IMAGE_EXTENSIONS:
            self.reconstruct_paths([path])
        else:
            self.show_message(f"{path.name} is not something AIGC Studio opens: drop images, a "
                              "folder of images, a run folder or a checkpoint.", "warning")

    def ask_folder_action(self, folder: Path) -> str | None:
        """Ask what a dropped folder of images is for: "reconstruct", "train" or None."""
        box = QMessageBox(self)
        box.setWindowTitle("A folder of images")
        box.setText(f"What should AIGC Studio do with {folder.name}?")
        box.setInformativeText("Reconstruct its images with the current autoencoder, or use "
                               "it as the data set of a new training run.")
        recon = box.addButton("Reconstruct images", QMessageBox.ButtonRole.AcceptRole)
        train = box.addButton("Train on this folder", QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        clicked = box.clickedButton()
        return "reconstruct" if clicked is recon else "train" if clicked is train else None

    # ------------------------------------------------------------------ explore / reconstruct
    def _ensure_explorer(self) -> Any:
        if self.explorer is None:
            from aigc_studio.gui.explorer import ExplorerPanel

            self.explorer = ExplorerPanel()
            self.explorer.message.connect(lambda text: self.statusBar().showMessage(text, 6000))
            self.explorer.open_reconstruction.connect(self._reconstruct_with)
            self._replace_tab(1, self.explorer, "Explore")
        return self.explorer

    def _ensure_reconstruction(self) -> Any:
        if self.reconstruction is None:
            from aigc_studio.gui.reconstruction import ReconstructionPanel

            self.reconstruction = ReconstructionPanel()
            self.reconstruction.message.connect(
                lambda text: self.statusBar().showMessage(text, 6000))
            self._replace_tab(2, self.reconstruction, "Reconstruct")
        return self.reconstruction

    def _replace_tab(self, index: int, widget: QWidget, title: str) -> None:
        tip = self.workspace.tabToolTip(index)
        current = self.workspace.currentIndex()
        old = self.workspace.widget(index)
        self.workspace.blockSignals(True)
        self.workspace.removeTab(index)
        self.workspace.insertTab(index, widget, title)
        self.workspace.setTabToolTip(index, tip)
        self.workspace.setCurrentIndex(current)
        self.workspace.blockSignals(False)
        old.deleteLater()

    def _model_signature(self) -> tuple[Path, int] | None:
        """The current run and how many epochs of weights it has (None: nothing to load)."""
        run = self.current_run
        if run is None or not run.is_dir():
            return None
        count = len(run_store.epoch_weights(run))
        if count == 0 and not run_store.last_checkpoint(run).exists():
            return None
        return run, count

    def _refresh_visible_panel(self) -> None:
        """Keep the explorer / reconstruction in front on the newest weights of the run."""
        if self.workspace.currentIndex() == 1:
            self.show_explorer()
        elif self.workspace.currentIndex() == 2:
            self.show_reconstruction()

    def _on_workspace_tab(self, index: int) -> None:
        if index == 1:
            self.show_explorer()
        elif index == 2:
            self.show_reconstruction()

    def show_explorer(self, path: Path | None = None) -> None:
        """Bring up the latent explorer with ``path`` or the current run's newest generator."""
        panel = self._ensure_explorer()
        self.workspace.setCurrentIndex(1)
        if path is not None:
            self._explorer_sig = (Path(path), -1)
            panel.set_model(Path(path))
            return
        sig = self._model_signature()
        if sig != self._explorer_sig:
            self._explorer_sig = sig
            panel.set_model(sig[0] if sig else None)

    def show_reconstruction(self) -> None:
        """Bring up reconstruction with the current run's newest autoencoder."""
        panel = self._ensure_reconstruction()
        self.workspace.setCurrentIndex(2)
        sig = self._model_signature()
        if sig != self._recon_sig and sig is not None:
            self._recon_sig = sig
            panel.set_model(sig[0])

    def reconstruct_paths(self, paths: list[Path]) -> None:
        """Send images or folders to the reconstruction panel (it says when a GAN is open)."""
        self.show_reconstruction()
        if self.reconstruction.model_info() is None and self._recon_sig is None:
            self.statusBar().showMessage("Open or train an autoencoder run: the images wait "
                                         "for it.", 8000)
        self.reconstruction.add_paths(paths)

    def _reconstruct_with(self, path: Path) -> None:
        self.show_reconstruction()
        if self.reconstruction.model_info() is None:
            self.reconstruction.set_model(path)

    def keyPressEvent(self, event: Any) -> None:
        """Escape hides the message banner."""
        if event.key() == Qt.Key.Key_Escape and self.banner.isVisible():
            self.banner.hide()
            return
        super().keyPressEvent(event)

    # ------------------------------------------------------------------ closing ------------
    def closeEvent(self, event: QCloseEvent) -> None:
        """Closing while training: stop, let the engine write its checkpoint, then close."""
        if self.is_training():
            self._close_pending = True
            if not self._stopping:
                self.stop_training()
            self._set_state_text("Closing: saving a checkpoint first…")
            event.ignore()
            return
        self._stop_following()
        self.panel.wait_for_preview()
        self._shutdown_panels()
        if self._loader is not None:
            self._loader.wait()
        if self._help is not None:
            self._help.close()
        self.save_settings()
        event.accept()

    def shutdown(self, timeout_ms: int = 120_000) -> None:
        """Synchronous stop for application exit paths: stop, join, never leave a thread."""
        if self.session is not None and self.session.is_running():
            self.session.stop()
            self.session.wait(timeout_ms)
        for thread in (self._loader, self._warmer):
            if thread is not None:
                thread.wait(timeout_ms)
        self.panel.wait_for_preview()
        self._shutdown_panels()

    def _shutdown_panels(self) -> None:
        """Join the explorer's and the reconstruction panel's worker threads."""
        for panel in (self.explorer, self.reconstruction):
            if panel is not None:
                panel.shutdown()
