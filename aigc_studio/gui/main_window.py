"""The studio window: hosts the registered panels around the training page and drives training.

The window drives the engine and shows what it reports; it does no training maths and never
asks which model family it holds (titles, plots and capabilities come from the registry).
Its parts live in ``gui/window/``: following a run on disk (``follow``), the status bar
(``status``), drop routing (``drops``), settings and geometry (``settings``) and the
background PyTorch import (``torch_loader``). Panels come from ``gui/panels`` (each folder
registers itself); the window iterates them instead of knowing tab indices. PyTorch is
imported in the background after the window is painted.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QEvent, QObject, QSettings, Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from aigc_studio import families
from aigc_studio.core.text import format_duration
from aigc_studio.engine import runs as run_store
from aigc_studio.engine.callbacks import EpochResult, RunStarted, StepMetrics, TrainEnd
from aigc_studio.engine.config import ConfigError, TrainConfig
from aigc_studio.engine.runs import RunInfo
from aigc_studio.gui.panels import registry
from aigc_studio.gui.panels.registry import PanelSpec
from aigc_studio.gui.threading import Outcome, TaskRunner
from aigc_studio.gui.training_session import TrainingSession, TrainingWorker
from aigc_studio.gui.widgets.banner import Banner
from aigc_studio.gui.widgets.dialogs import LearnHelpDialog, about_html
from aigc_studio.gui.widgets.plots import TrainingPlots, lr_change_text
from aigc_studio.gui.widgets.progress import LongTask
from aigc_studio.gui.widgets.sample_view import SampleView
from aigc_studio.gui.window import drops
from aigc_studio.gui.window.external import STOPPED, ExternalRun
from aigc_studio.gui.window.follow import RunFollower
from aigc_studio.gui.window.settings import restore_geometry, save_geometry
from aigc_studio.gui.window.status import StatusBar
from aigc_studio.gui.window.torch_loader import gpu_count, load_torch, warm_imports

log = logging.getLogger(__name__)

NO_RUN_TEXT = "No run yet: choose a data set and a model, then press Start training."

__all__ = ["MainWindow", "format_duration"]

TRAINING_PAGE = "Training"


def family_title(name: str) -> str:
    """A family's title for headers (the raw name for a family no longer registered)."""
    try:
        return families.get(name).title
    except families.UnknownFamilyError:
        return name


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
        self.external: ExternalRun | None = None  # a run training in separate processes
        self.current_run: Path | None = None
        self.run_info: RunStarted | None = None
        self.is_ready = False
        self.devices: list[str] = ["auto"]
        self.torch_version: str | None = None
        self.device_note = ""
        self._close_pending = False
        self._failure = ""  # the last run's one-sentence failure (kept for the header)
        self._offer_text = ""  # the header's offer of the newest run, while it shows
        self._warming = False  # a run has started and no step has been reported yet
        # workspace panels showing a model the user chose (a dropped image's epoch, a run
        # viewed while another trains): they do not follow the current run's newest weights
        self._pinned: set[str] = set()
        self._notes = ""  # the running run's notes for the status text
        self._stopping = False
        self._paused = False
        self._last_step = 0
        self._loader = TaskRunner(self)
        self._loader.finished.connect(self._on_torch_outcome)
        self._warmer = TaskRunner(self)
        self._help: LearnHelpDialog | None = None
        self.last_end: TrainEnd | None = None

        self.setWindowTitle("AIGC Studio")
        self.setAcceptDrops(True)
        self._build_widgets()
        self._build_menus()
        self.status = StatusBar(self.statusBar())
        self._restore_settings()
        self.follower = RunFollower(self)
        self.follower.records.connect(self._on_followed_records)
        self.follower.grid.connect(self.samples.add_grid)
        self.follower.progress.connect(self._on_followed_progress)
        self.follower.status.connect(self._on_followed_status)
        self.runs.refresh()
        self._set_state_text("Loading PyTorch…" if load_torch else "Ready")
        if not load_torch:
            self.status.reset()

    # status bar widgets, for tests and scripts
    @property
    def state_label(self) -> QLabel:
        return self.status.state_label

    @property
    def progress(self) -> Any:
        return self.status.progress

    @property
    def step_label(self) -> QLabel:
        return self.status.step_label

    @property
    def device_label(self) -> QLabel:
        return self.status.device_label

    def event(self, event: QEvent) -> bool:
        """After the first paint: build the plots and start loading PyTorch."""
        handled = super().event(event)
        if not self._started_up and event.type() in (QEvent.Type.Paint,
                                                     QEvent.Type.UpdateRequest):
            self._started_up = True
            from PySide6.QtCore import QTimer

            QTimer.singleShot(0, self.finish_startup)
        return handled

    def finish_startup(self) -> None:
        """Create the pyqtgraph plots and start the background PyTorch import (idempotent)."""
        self._started_up = True
        if self.first_paint_s is None:
            self.first_paint_s = time.perf_counter()
            self.torch_at_first_paint = "torch" in sys.modules
        self.plots.build()
        if self._load_torch and not self._loader.is_running() and not self.is_ready:
            self._start_torch_loader()

    # ------------------------------------------------------------------ construction -----
    def _build_widgets(self) -> None:
        # Side panels (Train, Runs): tabs left of the plots, built now (no threads, no torch).
        self.tabs = QTabWidget()
        self.tabs.setMinimumWidth(350)
        self.side_panels: dict[str, Any] = {}
        self._side_pages: dict[str, QWidget] = {}
        for spec in registry.panels("side"):
            panel = spec.build(root=self.runs_root)
            scroll = QScrollArea()
            scroll.setWidget(panel)
            scroll.setWidgetResizable(True)
            scroll.setFrameShape(QFrame.Shape.NoFrame)
            scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
            index = self.tabs.addTab(scroll, spec.title)
            self.tabs.setTabToolTip(index, spec.tooltip)
            self.side_panels[spec.key] = panel
            self._side_pages[spec.key] = scroll
        self.panel = self.side_panels["train"]
        self.panel.start_clicked.connect(self.start_training)
        self.panel.pause_clicked.connect(self.toggle_pause)
        self.panel.stop_clicked.connect(self.stop_training)
        self.panel.apply_lr_clicked.connect(self.apply_learning_rates)
        self.panel.model.currentIndexChanged.connect(self._on_panel_model_changed)
        self.panel.options_changed.connect(self._on_panel_model_changed)
        self.panel.command_copied.connect(
            lambda text: self.show_message("Copied to the clipboard: " + text, "info"))
        self.panel.preset_applied.connect(
            lambda name: self.show_message(f"Preset {name!r} is in the form.", "info"))
        self.panel.preset_saved.connect(
            lambda path: self.show_message(f"Preset saved to {path}.", "info"))
        self.runs = self.side_panels["runs"]
        self.runs.open_requested.connect(self.open_run)
        self.runs.resume_requested.connect(self.resume_run)
        self.runs.view_requested.connect(self.show_panel)  # another run, viewed while training

        self.plots = TrainingPlots()
        self.samples = SampleView()
        self.samples.message.connect(lambda text: self.show_message(text, "info"))

        self.run_header = QLabel(NO_RUN_TEXT)
        self.run_header.setObjectName("runHeader")
        self.run_header.setWordWrap(True)
        self.run_header.linkActivated.connect(self._on_header_link)
        self.runs.listed.connect(self._offer_latest_run)
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

        # Workspace panels (Explore, Reconstruct, …) are built on first use: each owns a worker
        # thread and loads a model, which a window that only trains never needs.
        self.workspace_panels: dict[str, Any] = {}
        self._workspace_specs: dict[str, PanelSpec] = {}
        self._panel_sigs: dict[str, tuple[Path, int] | None] = {}
        self.workspace = QTabWidget()
        self.workspace.setDocumentMode(True)
        self.workspace.addTab(self.splitter, TRAINING_PAGE)
        self.workspace.setTabToolTip(0, "Train a model and watch its losses and samples.")
        for spec in registry.panels("workspace"):
            placeholder = QLabel(spec.placeholder)
            placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
            placeholder.setWordWrap(True)
            index = self.workspace.addTab(placeholder, spec.title)
            self.workspace.setTabToolTip(index, spec.tooltip)
            self._workspace_specs[spec.key] = spec
        self.workspace.currentChanged.connect(self._on_workspace_tab)

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(8, 6, 8, 4)
        layout.addWidget(self.workspace, 1)
        self.setCentralWidget(central)
        # The banner floats over the top of the page instead of pushing the layout down:
        # showing a message never moves a button from under the cursor.
        self.banner = Banner(central, dismissible=True)
        central.installEventFilter(self)
        self.banner.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Keep the floating banner placed when the window or the message changes size."""
        if event.type() in (QEvent.Type.Resize, QEvent.Type.Show, QEvent.Type.LayoutRequest) \
                and watched in (self.centralWidget(), self.banner):
            self._place_banner()
        return super().eventFilter(watched, event)

    def _place_banner(self) -> None:
        central = self.centralWidget()
        if central is None or self.banner.isHidden():
            return
        width = max(central.width() - 16, 200)
        layout = self.banner.layout()
        height = (layout.totalHeightForWidth(width) if layout.hasHeightForWidth()
                  else self.banner.sizeHint().height())
        top = self.workspace.geometry().top() + self.workspace.tabBar().height() + 2
        self.banner.setGeometry(8, top, width, max(height, self.banner.minimumSizeHint().height()))
        layout.setGeometry(self.banner.rect())  # outside any layout: its children follow now
        self.banner.raise_()

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
        self.act_save = self._action(file_menu, "&Save view as PNG…", self.save_view,
                                     QKeySequence.StandardKey.Save)
        self.act_save.setToolTip("Save what the tab in front shows (Ctrl+S).")
        self.act_gif = self._action(file_menu, "&Export training progress as GIF…",
                                    self.samples.export_gif_dialog)
        self.act_tensorboard = self._action(file_menu, "Export run for &TensorBoard…",
                                            self._export_tensorboard_dialog)
        file_menu.aboutToShow.connect(self.update_actions)
        self.samples.grids_changed.connect(self.update_actions)
        self.update_actions()
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", self.close, QKeySequence.StandardKey.Quit)

        train_menu = menu.addMenu("&Training")
        self.act_start = self._action(train_menu, "&Start", self.start_training, "Ctrl+Return")
        self.act_pause = self._action(train_menu, "&Pause / Resume", self.toggle_pause, "Space")
        self.act_stop = self._action(train_menu, "S&top", self.stop_training, "Ctrl+.")
        train_menu.addSeparator()
        self._action(train_menu, "&Resume selected run", self._resume_selected)

        view_menu = menu.addMenu("&View")
        for spec in registry.panels():
            text = spec.menu_text or spec.title
            if spec.area == "side":
                self._action(view_menu, text,
                             lambda key=spec.key: self.show_side_panel(key), spec.shortcut or None)
            else:
                self._action(view_menu, text,
                             lambda key=spec.key: self.show_panel(key), spec.shortcut or None)
        view_menu.addSeparator()
        self._action(view_menu, "&Latest epoch", self._show_latest_epoch, "End")
        self._action(view_menu, "Reset &layout", self.reset_layout)

        help_menu = menu.addMenu("&Help")
        self._action(help_menu, "&How this model learns", self.show_learn_help, "F1")
        self._action(help_menu, "&About AIGC Studio", self.show_about)

    def _action(self, menu: Any, text: str, slot: Any, shortcut: Any = None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(lambda *_: slot())
        menu.addAction(action)
        return action

    # ------------------------------------------------------------------ settings -----------
    def _restore_settings(self) -> None:
        s = self.settings
        restore_geometry(self, s)
        state = s.value("window/splitter")
        if isinstance(state, QByteArray) and not state.isEmpty():
            self.splitter.restoreState(state)
        plot_state = s.value("window/plot_splitter")
        if isinstance(plot_state, QByteArray) and not plot_state.isEmpty():
            self.plots.splitter.restoreState(plot_state)
        values = s.value("panel/values")
        if isinstance(values, dict):
            self.panel.restore_values(values)
        with contextlib.suppress(TypeError, ValueError):
            self.plots.set_smoothing(float(s.value("plots/smoothing", 0.0)))
        side = s.value("window/side")
        if isinstance(side, str) and side in self._side_pages:
            self.show_side_panel(side)
        self.plots.set_model(self.panel.model.currentData(), self.panel.options.values())

    def save_settings(self) -> None:
        """Persist geometry, splitters and the last choices."""
        s = self.settings
        save_geometry(self, s)
        s.setValue("window/splitter", self.splitter.saveState())
        s.setValue("window/plot_splitter", self.plots.splitter.saveState())
        s.setValue("window/side", self.side_panel_key())
        s.setValue("panel/values", self.panel.values())
        s.setValue("plots/smoothing", self.plots.smoothing())
        s.sync()

    def reset_layout(self) -> None:
        """Back to the default panel sizes."""
        total = max(self.splitter.width(), 900)
        self.splitter.setSizes([int(total * 0.27), int(total * 0.42), int(total * 0.31)])
        shown = len(self.plots.visible_plots()) or 1
        self.plots.splitter.setSizes([1] * max(shown, self.plots.splitter.count()))

    # ------------------------------------------------------------------ torch loading ------
    def _start_torch_loader(self) -> None:
        self.status.busy()
        self._loader.start(load_torch)

    def _on_torch_outcome(self, outcome: Outcome) -> None:
        if outcome.ok:
            devices, version = outcome.value
            self._on_torch_loaded(devices, version)
        elif outcome.error is not None:
            self._on_torch_failed(outcome.error)

    def _on_torch_loaded(self, devices: list[str], version: str) -> None:
        self.devices = devices
        self.torch_version = version
        self.panel.set_devices(devices)
        self.panel.set_process_limit(gpu_count())
        found = [d for d in devices if d not in ("auto", "cpu")]
        self.device_label.setText(f"Device: {found[0] if found else 'cpu'}")
        self.device_note = "GPU found: " + ", ".join(found) if found else "No GPU found: CPU."
        self.is_ready = True
        self.panel.set_ready(True)
        self.status.reset()
        self._set_state_text(f"Ready · PyTorch {version}")
        self._warmer.start(warm_imports)
        self.torch_ready.emit()

    def _on_torch_failed(self, message: str) -> None:
        self.panel.set_ready(False, "PyTorch unavailable")
        self.status.reset()
        self._set_state_text("PyTorch could not be loaded")
        self.show_message(message, "error")
        self.torch_failed.emit(message)

    # ------------------------------------------------------------------ messages -----------
    def show_message(self, text: str, level: str = "error") -> None:
        """Show a one-sentence message in the banner (and the status bar for info)."""
        self.banner.show_message(text, level)
        self.message_shown.emit(level, text)

    def _set_state_text(self, text: str) -> None:
        self.status.set_state(text)

    # ------------------------------------------------------------------ training -----------
    def is_training(self) -> bool:
        """True while a run trains: in this window's thread, or as separate processes."""
        return self._trains_here() or self.external is not None

    def _trains_here(self) -> bool:
        """True while a training thread of this window runs."""
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
        nproc = self.panel.processes_value()
        self.panel.set_config(cfg)  # the form shows exactly what trains
        if nproc > 1:
            return self._start_external(cfg, nproc)
        self.banner.hide()
        self.follower.stop()
        self.step_label.setText("")
        self.plots.clear()
        self.samples.clear()
        self.plots.set_model(cfg.model, cfg.extras)
        self.current_run = None
        self.run_header.setText(f"Starting {family_title(cfg.model)} on "
                                f"{Path(cfg.dataset).name or cfg.dataset}…")
        worker = TrainingWorker(cfg, runs_root=self.runs_root)
        self._launch(worker)
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
        self._launch(worker)  # the plots already show the run (open_run)
        return True

    def _launch(self, worker: TrainingWorker) -> None:
        self._pinned.clear()  # the panels follow the new run
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
        self.status.clear_rate()
        self.last_end = None
        self.run_info = None
        self._failure = ""
        self.panel.set_training(True)
        self.runs.set_busy(True)
        self.status.busy()
        self._set_state_text("Preparing data…")
        session.start()

    def _start_external(self, cfg: TrainConfig, nproc: int) -> bool:
        """Train ``cfg`` as ``nproc`` processes (``aigc-studio train --nproc N``) and follow
        the run folder the job writes."""
        self.banner.hide()
        self.follower.stop()
        self.plots.clear()
        self.samples.clear()
        self.plots.set_model(cfg.model, cfg.extras)
        self.current_run = None
        job = ExternalRun(cfg, nproc, self.runs_root, self)
        job.run_found.connect(self._on_external_run_found)
        job.finished.connect(self._on_external_done)
        self.external = job
        self._stopping = False
        self._paused = False
        self.last_end = None
        self.panel.external = True
        self.panel.set_training(True)
        self.runs.set_busy(True)
        self.status.busy()
        self.run_header.setText(f"Starting {nproc} training processes for "
                                f"{family_title(cfg.model)}…")
        self._set_state_text(f"Starting {nproc} processes (torch.distributed)…")
        job.start()
        return True

    def _on_external_run_found(self, run_dir: Path) -> None:
        if self.external is None:
            return
        self._show_run(run_dir, follow=True)
        self._set_state_text(f"Training in {self.external.nproc} processes · followed live")
        self.runs.refresh()

    def _on_external_done(self, code: int, text: str) -> None:
        job, self.external = self.external, None
        if job is None:
            return
        job.deleteLater()
        self._stopping = False
        self.panel.set_training(False)
        self.panel.external = False
        self.panel.set_ready(self.is_ready)
        self.runs.set_busy(False)
        self.status.reset()
        run_dir = job.run_dir
        if run_dir is not None:
            self.follower.poll()  # the last records and grid
        if code == 0:
            self._set_state_text("Finished: all processes done")
        elif code == STOPPED:
            self._set_state_text("Stopped: checkpoint saved, resume it from the Runs tab")
        else:
            self._set_state_text("Training stopped by an error")
            self.show_message(text, "error")
        self.runs.refresh()
        if run_dir is not None:
            self.runs.select(run_dir)
        self.training_done.emit(None)
        if self._close_pending:
            self.close()

    def toggle_pause(self) -> None:
        """Pause or resume the running run (Space)."""
        if not self._trains_here() or self._stopping or self.session is None:
            return
        if self._paused:
            self.session.resume()
            self._paused = False
            self.status.clear_rate()
            self._set_state_text("Training")
        else:
            self.session.pause()
            self._paused = True
            self._set_state_text("Paused: press Resume (or Space) to continue")
            self.status.eta_label.setText("paused")
        self.panel.set_training(True, paused=self._paused)

    def stop_training(self) -> None:
        """Stop after the current step; the engine writes a checkpoint."""
        if self.external is not None:
            if self._stopping:
                self.external.kill()  # a second Stop: the last complete checkpoint stays
                return
            self._stopping = True
            self.external.stop()
            self.panel.set_training(True, stopping=True)
            self.panel.stop_button.setEnabled(True)
            self.panel.stop_button.setText("Stop now")
            self._set_state_text("Stopping: every process finishes its step, then the "
                                 "checkpoint is saved…")
            return
        if not self._trains_here() or self.session is None:
            return
        self._stopping = True
        self._paused = False
        self.session.stop()
        self.panel.set_training(True, stopping=True)
        self._set_state_text("Stopping: finishing the step and saving a checkpoint…")

    def apply_learning_rates(self, lr_g: float, lr_d: float) -> None:
        """Send new learning rates to the running trainer."""
        if not self._trains_here() or self.session is None:
            return
        family = self.panel.family()
        two = family is not None and family.uses_lr_d
        self.session.control.set_learning_rates(lr_g=lr_g, lr_d=lr_d if two else None)
        rates = {"lr_g": lr_g, **({"lr_d": lr_d} if two else {})}
        self.plots.mark_step(self._last_step + 1, lr_change_text(rates))
        text = f"Learning rate G {lr_g:g}" + (f", D {lr_d:g}" if two else "")
        self.show_message(text + " from the next step on (this run only).", "info")

    def _on_run_started(self, info: RunStarted) -> None:
        self.run_info = info
        self.current_run = info.run_dir
        self._last_step = info.start_step
        if info.start_step:
            self.plots.truncate(info.start_step)
            self.plots.truncate_epochs(info.start_epoch - 1)
            self.samples.truncate(info.start_epoch - 1)
        self.device_label.setText(f"Device: {info.device}")
        self.status.start_steps(info.start_step, info.total_steps)
        skipped = f", {info.skipped_images} skipped" if info.skipped_images else ""
        data = Path(info.dataset).name or info.dataset
        self.run_header.setText(
            f"{family_title(info.model)} on {data} · {info.num_images:,} images{skipped}"
        )
        self._notes = f" · {'; '.join(info.notes)}" if info.notes else ""
        self._warming = True
        self._set_state_text("Preparing the model… warming up (the first step is the slowest)"
                             + self._notes)
        tip = f"Run folder: {info.run_dir}" if info.run_dir else ""
        self.run_header.setToolTip("\n".join([tip, *info.notes]).strip())
        self.runs.refresh()

    def _on_steps(self, steps: list[StepMetrics]) -> None:
        if not steps:
            return
        self.plots.add_steps(steps)
        if self._warming:
            self._warming = False
            if not self._paused and not self._stopping:
                self._set_state_text("Training" + self._notes)
        last = steps[-1]
        self._last_step = last.step
        info = self.run_info
        self.status.show_step(
            epoch=last.epoch, epochs=info.epochs if info else 0, step=last.step,
            per_epoch=info.steps_per_epoch if info else 0,
            total=info.total_steps if info else 0, images_per_s=last.images_per_s,
            paused=self._paused)
        if self._help is not None and self._help.isVisible():
            self._help.update_values(self.plots.last_values())

    def _on_epoch(self, result: EpochResult) -> None:
        # the run's file when there is one: saving it keeps its provenance
        self.samples.add_grid(result.epoch, result.sample_path or result.grid)
        self.plots.add_epoch_metrics(result.epoch, dict(result.scores))
        self._refresh_visible_panel()
        self.runs.refresh_running()  # the run's row counts this epoch now
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
        self._failure = message
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
            self.status.reset()
        self.status.eta_label.setText("")
        if end is None and self.run_info is not None:
            self._set_state_text("Training stopped by an error; the last checkpoint is kept")
        elif end is None:
            self._set_state_text("Training could not start")
            # the header says it all by itself: the banner may be dismissed
            reason = self._failure or "see the log for why."
            self.run_header.setText(f"Training could not start: {reason} Fix the settings "
                                    "and press Start training again.")
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
        self.follower.stop()
        self.current_run = None
        self.plots.clear()
        self.samples.clear()
        self.banner.hide()
        self.status.reset()
        self.step_label.setText("")
        self.run_header.setText("New run: choose a data set and a model, then press "
                                "Start training.")
        self.show_side_panel("train")

    def open_run(self, run_dir: Path, *, follow: bool = True) -> bool:
        """Show a run folder's plots (every step and epoch metric), grids and settings; follow
        it while another process writes it."""
        if self.is_training():
            self.show_message("Stop training before opening another run.", "warning")
            return False
        return self._show_run(Path(run_dir), follow=follow)

    def _show_run(self, run_dir: Path, *, follow: bool) -> bool:
        self._pinned.clear()
        if not run_dir.is_dir():
            self.show_message(f"{run_dir} is not a folder.", "error")
            return False
        if not run_store.is_run_dir(run_dir):
            self.show_message(f"{run_dir} is not an AIGC Studio run folder (it has no "
                              "config.json or metrics.jsonl).", "error")
            return False
        info = run_store.read_run(run_dir)
        self.follower.stop()
        self.current_run = run_dir
        self.banner.hide()
        try:
            cfg = run_store.load_run_config(run_dir)
        except Exception as exc:
            cfg = None
            self.show_message(f"This run is damaged and only partly shown: {exc}", "warning")
        if cfg is not None:
            self.panel.set_config(cfg)
            self.plots.set_model(cfg.model, cfg.extras)
        try:
            records = run_store.read_metrics(run_dir)
        except Exception as exc:
            records = []
            self.show_message(str(exc), "warning")
        self.plots.clear()
        self.plots.add_records(r for r in records if r.get("kind", "step") in ("step", "epoch"))
        self.samples.set_paths(run_store.sample_paths(run_dir))
        if info.damaged and cfg is not None:
            self.show_message(f"This run is damaged: {info.damaged}", "warning")
        steps = [r for r in records if r.get("kind", "step") == "step"]
        self._last_step = int(steps[-1].get("step", 0)) if steps else 0
        done, planned = info.epochs_done, info.epochs_planned
        self.run_header.setText(
            f"{family_title(info.model)} on {Path(info.dataset).name or '?'}"
            f" · {done}/{planned} epochs"
        )
        self.run_header.setToolTip(f"Run folder: {run_dir}")
        self.status.show_epochs(done, planned)
        self.status.eta_label.setText("")
        self.status.speed_label.setText("")
        self.step_label.setText(f"step {self._last_step:,}" if self._last_step else "")
        self._set_state_text(f"Opened run {run_dir.name}")
        self.runs.add_folder(run_dir)
        self._refresh_visible_panel()
        if follow:
            epochs = [int(r.get("epoch", 0)) for r in records if r.get("kind") == "epoch"]
            self.follower.follow(run_dir, last_step=self._last_step,
                                 last_epoch=max(epochs, default=0),
                                 known_epochs=set(self.samples.epochs()))
        return True

    def _on_followed_records(self, records: list[dict[str, Any]]) -> None:
        if self._trains_here() or self.current_run != self.follower.run_dir:
            self.follower.stop()
            return
        self.plots.add_records(records)
        self._last_step = self.follower.last_step
        self.step_label.setText(f"step {self._last_step:,}")

    def _on_followed_progress(self, info: RunInfo) -> None:
        if self._trains_here() or self.current_run != self.follower.run_dir:
            self.follower.stop()
            return
        self.status.show_epochs(info.epochs_done, info.epochs_planned)

    def _on_followed_status(self, text: str) -> None:
        """Following a run: who writes it, or that its writer died (interrupted)."""
        if self.external is None and not self._trains_here() and \
                self.current_run == self.follower.run_dir:
            self._set_state_text(text)

    def _resume_selected(self) -> None:
        path = self.runs.selected_path() or self.current_run
        if path is None:
            self.show_message("Select a run in the Runs tab to resume.", "warning")
            return
        self.resume_run(path)

    def _offer_latest_run(self) -> None:
        """With no run open, the header offers the newest run of the runs folder."""
        if self.current_run is not None or self.is_training() or \
                self.run_header.text() not in (NO_RUN_TEXT, self._offer_text):
            return
        infos = [i for i in self.runs.infos if not i.damaged]
        if not infos:
            self._offer_text = ""
            self.run_header.setText(NO_RUN_TEXT)
            return
        newest = max(infos, key=lambda i: (i.created or "", i.name))
        count = f"{len(infos)} run{'s' if len(infos) != 1 else ''}"
        self._offer_text = (f"No run open · {count} in the runs folder: "
                            f"<a href=\"latest\">open the latest ({newest.name})</a>, or "
                            "choose a data set and a model and press Start training.")
        self.run_header.setText(self._offer_text)

    def _on_header_link(self, link: str) -> None:
        if link == "latest":
            self.open_latest_run()

    def open_latest_run(self) -> None:
        """Open the newest run of the runs folder that is not damaged, once the runs browser
        has listed the folder again (run folders are read off the GUI thread)."""

        def open_newest() -> None:
            infos = [i for i in self.runs.infos if not i.damaged]
            if not infos:
                self.show_message(f"There are no runs in {self.runs_root} yet: train one "
                                  "first.", "info")
                return
            self.open_run(max(infos, key=lambda i: (i.created or "", i.name)).path)

        self.runs.listed.connect(open_newest, Qt.ConnectionType.SingleShotConnection)
        self.runs.refresh()

    def open_checkpoint(self, path: Path) -> bool:
        """Open the run a checkpoint belongs to (``RUN/checkpoints/last.pt``)."""
        path = Path(path)
        if not path.is_file():
            self.show_message(f"{path} does not exist.", "error")
            return False
        run_dir = path.parent.parent
        if path.parent.name != run_store.CHECKPOINTS or not run_store.is_run_dir(run_dir):
            # a loose checkpoint or exported weights: the first workspace panel opens it (a
            # model it cannot use offers the panel that can); the loader refuses anything
            # unsafe or foreign
            specs = registry.panels("workspace")
            if specs:
                self.show_panel(specs[0].key, path)
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
            self, "Open images", "",
            "Images (*.png *.jpg *.jpeg *.gif *.bmp *.tif *.tiff *.webp);;All files (*)")
        if files:
            self.handle_dropped_paths([Path(f) for f in files])

    def _train_folder_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose a folder of images to train on")
        if folder:
            self.use_image_folder(Path(folder))

    def use_image_folder(self, folder: Path) -> None:
        """Train on a folder of images: select it and preview a few."""
        self.deliver("train", [Path(folder)])

    # ------------------------------------------------------------------ misc UI -----------
    def _on_panel_model_changed(self, *_: object) -> None:
        if not self.is_training() and self.current_run is None:
            self.plots.set_model(self.panel.model.currentData(), self.panel.options.values())

    def _show_latest_epoch(self) -> None:
        epochs = self.samples.epochs()
        if epochs:
            self.samples.show_epoch(epochs[-1])

    def show_learn_help(self) -> LearnHelpDialog:
        """Help > How this model learns: the open run's (or the form's) model, with its
        options and live values; returns the dialog."""
        if self._help is None:
            self._help = LearnHelpDialog(self)
        family = self.plots.family or self.panel.family()
        if family is not None:
            self._help.set_family(family, self.plots.extras())
        self._help.update_values(self.plots.last_values())
        self._help.show()
        self._help.raise_()
        return self._help

    def show_about(self) -> None:
        """Help > About: versions and the device found."""
        QMessageBox.about(self, "About AIGC Studio",
                          about_html(self.torch_version, self.devices, self.device_note))

    def keyPressEvent(self, event: Any) -> None:
        """Escape hides the message banner."""
        if event.key() == Qt.Key.Key_Escape and self.banner.isVisible():
            self.banner.hide()
            return
        super().keyPressEvent(event)

    # ------------------------------------------------------------------ drops --------------
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
        """A run folder or checkpoint opens; other paths go to the panels that take them
        (asking which when several do, e.g. a folder of images: reconstruct or train)."""
        if not paths:
            return
        where = drops.route(paths, roots=[self.runs_root])
        if where.open is not None:
            if where.open.is_dir():
                self.open_run(where.open)
            else:
                self.open_checkpoint(where.open)
        elif where.source is not None:
            self.open_image_source(where.source)
        elif where.refused:
            self.show_message(where.refused, "warning")
        elif len(where.panels) == 1:
            self.deliver(where.panels[0].key, paths)
        else:
            choice = self.ask_folder_action(paths[0])
            if choice is not None:
                self.deliver(choice, paths)

    def handle_dropped_path(self, path: Path) -> None:
        """What a drop (or a command-line path) does with one path."""
        self.handle_dropped_paths([Path(path)])

    def ask_folder_action(self, folder: Path,
                          choices: tuple[PanelSpec, ...] | None = None) -> str | None:
        """Ask which panel a dropped folder of images is for: its key, or None."""
        if choices is None:
            choices = drops.route([folder]).panels
        box = QMessageBox(self)
        box.setWindowTitle("A folder of images")
        box.setText(f"What should AIGC Studio do with {folder.name}?")
        box.setInformativeText(" or ".join(spec.drop_text for spec in choices) + "?")
        buttons = {box.addButton(spec.drop_text or spec.title,
                                 QMessageBox.ButtonRole.AcceptRole): spec.key
                   for spec in choices}
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        return buttons.get(box.clickedButton())

    def deliver(self, key: str, paths: list[Path]) -> None:
        """Send dropped paths to the panel registered as ``key`` and bring it up."""
        spec = registry.get(key)
        if spec.area == "side":
            panel = self.side_panels[key]
            refusal = panel.accept_paths(paths, busy=self.is_training())
            if refusal:
                self.show_message(refusal, "warning")
                return
            self.show_side_panel(key)
            self.workspace.setCurrentIndex(0)
        else:
            panel = self.show_panel(key)
            panel.accept_paths(paths)

    def reconstruct_paths(self, paths: list[Path]) -> None:
        """Send images or folders to the panel that reconstructs them."""
        self.deliver("reconstruct", paths)

    def open_image_source(self, source: drops.ImageSource) -> None:
        """Reopen what made a generated image: its run in the explorer at the image's epoch,
        seed, grid size and class; for a run that is gone, show what the image records."""
        stamp, image = source.provenance, source.image
        if source.run is None or source.weights is None:
            from aigc_studio.gui.panels.runs.provenance_view import ProvenanceDialog

            self.provenance_view = ProvenanceDialog(
                image, stamp, [self.runs_root, image.absolute().parent], self)
            self.provenance_view.show()
            self.show_message(f"The run that made {image.name} is not here: what the image "
                              "records is shown.", "info")
            return
        if not self.is_training():
            self.open_run(source.run, follow=False)
        panel = self.show_panel("explore", source.weights)
        if self.current_run == source.run:  # switching tabs keeps the image's epoch
            self._panel_sigs["explore"] = self._model_signature()
        if source.seed is not None:
            panel.set_seed(source.seed)
        with contextlib.suppress(ValueError):  # the explorer draws square grids only
            panel.set_count(source.count)
        if hasattr(panel, "set_class_index"):
            panel.set_class_index(stamp.class_index)  # kept until the model has loaded
        if source.sampling and hasattr(panel, "set_sampling"):  # its choices come with it
            panel.model_loaded.connect(lambda *_: panel.set_sampling(**source.sampling),
                                       Qt.ConnectionType.SingleShotConnection)
        epoch = f"epoch {stamp.epoch}, " if stamp.epoch else ""
        self.show_message(f"Reopened {source.run.name} at {epoch}seed {source.seed} from "
                          f"{image.name}.", "info")

    # ------------------------------------------------------------------ hosted panels -------
    @property
    def explorer(self) -> Any:
        """The Explore panel (None until first shown)."""
        return self.workspace_panels.get("explore")

    @property
    def reconstruction(self) -> Any:
        """The Reconstruct panel (None until first shown)."""
        return self.workspace_panels.get("reconstruct")

    def show_side_panel(self, key: str) -> None:
        """Bring a side panel (Train, Runs) to the front, with the training page it sits on."""
        page = self._side_pages.get(key)
        if page is not None:
            self.workspace.setCurrentIndex(0)
            self.tabs.setCurrentWidget(page)

    def save_view(self) -> None:
        """Ctrl+S: save what the tab in front shows (its own dialog)."""
        if self.workspace.currentIndex() == 0:
            if not self.samples.epochs():
                self.show_message("There is no epoch grid to save yet: train or open a run "
                                  "first.", "info")
                return
            self.samples.save_dialog()
            return
        panel = self.workspace_panels.get(self._workspace_key(self.workspace.currentIndex()))
        dialog = getattr(panel, "save_view_dialog", None)
        if dialog is None:
            self.show_message("This tab has nothing to save.", "info")
            return
        dialog()

    def export_tensorboard(self, out_dir: Path) -> LongTask:
        """Write the open run's metrics, grids and settings as TensorBoard event files in the
        background, with progress and Cancel; returns the task (``finished`` says how)."""
        from aigc_studio.engine.tensorboard import iter_export_tensorboard

        run_dir = self.current_run
        task = LongTask(self, "Export for TensorBoard",
                        f"Writing {run_dir.name if run_dir else 'the run'} as event files…")

        def done(outcome: Outcome) -> None:
            if outcome.cancelled:
                self.show_message(f"TensorBoard export cancelled; {out_dir} may hold part of "
                                  "it.", "info")
            elif outcome.error is not None:
                self.show_message(outcome.error, "error")
            else:
                self.show_message(f"Wrote TensorBoard files to {out_dir} (open them with: "
                                  f"tensorboard --logdir {out_dir}).", "info")
            task.deleteLater()

        task.finished.connect(done)
        if run_dir is None:
            self.show_message("Open a run first: File > Open run…", "info")
        else:
            task.start(iter_export_tensorboard, run_dir, out_dir)
        return task

    def _export_tensorboard_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Write TensorBoard files into a folder")
        if folder:
            self.export_tensorboard(Path(folder))

    def update_actions(self) -> None:
        """Menu entries that need something to act on are enabled only when it is there."""
        has_grids = bool(self.samples.epochs())
        self.act_tensorboard.setEnabled(self.current_run is not None)
        self.act_gif.setEnabled(len(self.samples.epochs()) > 1)
        on_training = self.workspace.currentIndex() == 0
        self.act_save.setEnabled(has_grids or not on_training)

    def side_panel_key(self) -> str:
        """The key of the side panel in front."""
        current = self.tabs.currentWidget()
        return next((k for k, page in self._side_pages.items() if page is current), "")

    def _workspace_index(self, key: str) -> int:
        return 1 + list(self._workspace_specs).index(key)

    def _workspace_key(self, index: int) -> str:
        keys = list(self._workspace_specs)
        return keys[index - 1] if 1 <= index <= len(keys) else ""

    def _ensure_panel(self, key: str) -> Any:
        panel = self.workspace_panels.get(key)
        if panel is not None:
            return panel
        spec = self._workspace_specs[key]
        panel = spec.build()
        self.workspace_panels[key] = panel
        self._panel_sigs[key] = None
        for signal, slot in (
            ("message", lambda text: self.status.flash(text, 6000)),
            ("open_with", self._open_with),
            ("open_latest_run", self.open_latest_run),
            ("train_requested", self._train_requested),
        ):
            if hasattr(panel, signal):
                getattr(panel, signal).connect(slot)
        index = self._workspace_index(key)
        current = self.workspace.currentIndex()
        old = self.workspace.widget(index)
        self.workspace.blockSignals(True)
        self.workspace.removeTab(index)
        self.workspace.insertTab(index, panel, spec.title)
        self.workspace.setTabToolTip(index, spec.tooltip)
        self.workspace.setCurrentIndex(current)
        self.workspace.blockSignals(False)
        old.deleteLater()
        return panel

    def show_panel(self, key: str, path: Path | None = None) -> Any:
        """Bring up a workspace panel with ``path`` or the current run's newest weights."""
        panel = self._ensure_panel(key)
        self.workspace.setCurrentIndex(self._workspace_index(key))
        if path is not None:
            self._panel_sigs[key] = (Path(path), -1)
            self._pinned.add(key)  # stays on this model until another run is opened
            panel.set_model(Path(path))
            return panel
        if key in self._pinned:
            return panel
        sig = self._model_signature()
        if sig != self._panel_sigs.get(key):
            self._panel_sigs[key] = sig
            if sig is not None or panel.model_info() is None:
                panel.set_model(sig[0] if sig else None)
        return panel

    def show_explorer(self, path: Path | None = None) -> None:
        """Bring up the latent explorer with ``path`` or the current run's newest model."""
        self.show_panel("explore", path)

    def show_reconstruction(self) -> None:
        """Bring up reconstruction with the current run's newest model."""
        self.show_panel("reconstruct")

    def _open_with(self, key: str, path: Path) -> None:
        panel = self.show_panel(key)
        if panel.model_info() is None:
            self._panel_sigs[key] = (Path(path), -1)
            panel.set_model(Path(path))

    def _train_requested(self, family: str) -> None:
        if family:
            self.panel.select_model(family)
        self.show_side_panel("train")
        self.workspace.setCurrentIndex(0)

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
        """Keep the workspace panel in front on the newest weights of the run."""
        self._on_workspace_tab(self.workspace.currentIndex())

    def _on_workspace_tab(self, index: int) -> None:
        key = self._workspace_key(index)
        if key:
            self.show_panel(key)
        self.update_actions()

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
        self.follower.stop()
        self.panel.wait_for_preview()
        self._shutdown_panels()
        self._loader.join()
        if self._help is not None:
            self._help.close()
        self.save_settings()
        event.accept()

    def shutdown(self, timeout_ms: int = 120_000) -> None:
        """Synchronous stop for application exit paths: stop, join, never leave a thread."""
        if self.session is not None and self.session.is_running():
            self.session.stop()
            self.session.wait(timeout_ms)
        if self.external is not None:
            self.external.stop()  # the ranks save their checkpoint, then the launcher ends
            if not self.external.wait(timeout_ms):
                self.external.kill()
        self._loader.join(timeout_ms)
        self._warmer.join(timeout_ms)
        self.panel.wait_for_preview()
        self._shutdown_panels()

    def _shutdown_panels(self) -> None:
        """Join the workspace panels' worker threads and the runs browser's readers."""
        for panel in self.workspace_panels.values():
            panel.shutdown()
        self.runs.shutdown()
