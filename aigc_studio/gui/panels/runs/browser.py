"""The runs browser: past runs from the runs folder and any folder opened (torch-free).

Run folders are untrusted (a FIFO, a huge or deeply nested file, a folder that is slow to
read on a network disk): they are read in a background thread, never on the GUI thread, and
the list is filled when the reading is done; a newer refresh makes an older one's result
stale ("latest request wins"). Rows of runs being written are re-read every few seconds, so
their epoch count and losses keep up while they train.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from aigc_studio import families
from aigc_studio import metrics as quality_metrics
from aigc_studio.engine import runs as run_store
from aigc_studio.engine.runs import RunInfo
from aigc_studio.gui.panels import registry
from aigc_studio.gui.panels.runs.compare_view import CompareView
from aigc_studio.gui.threading import Outcome, TaskRunner

COLUMNS = ("Started", "Model", "Data", "Epochs", "Status", "Best")
EPOCHS = COLUMNS.index("Epochs")
STATUS = COLUMNS.index("Status")
BEST = COLUMNS.index("Best")
NO_SCORE = "—"
LIVE_REFRESH_MS = 5_000  # how often the rows of runs being written are re-read
# the word the Status column shows for what the run store reports, and the sentence under it
STATUS_WORDS = {"running": "training", "finished": "finished", "stopped": "stopped",
                "interrupted": "interrupted", "failed": "failed"}
STATUS_SENTENCES = {
    "training": "Training now{writer}: its epochs and losses update as it goes.",
    "finished": "Finished: it trained every planned epoch.",
    "stopped": "Stopped by request; its checkpoint is saved, so it can be resumed.",
    "interrupted": "Interrupted: its training stopped without finishing (the program was "
                   "closed or crashed); resume it to continue from its last checkpoint.",
    "failed": "Training failed; the epochs before the failure are kept.",
}


def _started_text(info: RunInfo) -> str:
    """'Nov 28 15:12' from the run's creation time (the folder name when unknown)."""
    try:
        return datetime.fromisoformat(info.created).strftime("%b %d %H:%M")
    except (TypeError, ValueError):
        return info.name


def model_short(name: str) -> str:
    """The family's column-width name (the raw name for a family no longer registered)."""
    try:
        return families.get(name).short
    except families.UnknownFamilyError:
        return name


def _loss_text(info: RunInfo) -> str:
    """The last recorded metrics, labelled by their specs ("D loss 0.71 · G loss 1.2")."""
    parts = []
    for name, value in info.last_metrics.items():
        if name in ("epoch", "step", "images_per_s", "kind") or not isinstance(
                value, (int, float)):
            continue
        spec = families.metric_spec(name)
        parts.append(f"{spec.label if spec else name} {value:.4g}")
    return " · ".join(parts)


def best_text(info: RunInfo) -> tuple[str, str]:
    """The run's best sample-quality score @ its epoch ("FLD 12.3 @4"), and a tooltip
    that says what the number means; "—" where no quality metric was recorded."""
    if info.best is None:
        return NO_SCORE, ("No sample-quality score was recorded for this run (it was off, "
                          "or the model does not draw samples).")
    key, value, epoch = info.best
    spec = quality_metrics.spec(key)
    label = spec.label if spec else key
    short = key.upper() if len(key) <= 4 else label.split(" (")[0]
    better = "" if spec is None or spec.higher_is_better is None else (
        " (higher is better)" if spec.higher_is_better else " (lower is better)")
    return (f"{short} {value:.3g} @{epoch}",
            f"Best {label}: {value:.4g} at epoch {epoch}{better}.")


def status_word(info: RunInfo) -> str:
    """The Status column: training / finished / stopped / interrupted / failed / damaged."""
    if info.damaged:
        return "damaged"
    return STATUS_WORDS.get(info.status, info.status)


def weights_epoch(path: Path) -> int:
    """The last epoch whose weights the run wrote (0: none); never raises."""
    try:
        last = run_store.epoch_weights(path)[-1:]
        return int(last[0].stem.split("_")[1]) if last else 0
    except (OSError, ValueError, IndexError):
        return 0


def completed(info: RunInfo) -> RunInfo:
    """``info`` with the epochs the run really completed: a killed writer may have written an
    epoch's weights but not its metrics record (an interrupted run is not "0/5")."""
    if not info.damaged:
        info.epochs_done = max(info.epochs_done, weights_epoch(info.path))
    return info


def read_runs(paths: list[Path]) -> list[RunInfo]:
    """Read some run folders again (the rows of runs being written); never raises."""
    return [completed(run_store.read_run(p)) for p in paths]


def list_infos(root: Path, extra: list[Path]) -> tuple[list[RunInfo], str]:
    """Runs in ``root`` plus opened folders, and a problem with the root (or ""); never
    raises (runs in a background thread)."""
    problem = ""
    try:
        infos = [completed(i) for i in run_store.list_runs(root)]
    except Exception as exc:  # the runs folder itself cannot be listed
        infos, problem = [], str(exc)
    known = {i.path for i in infos}
    infos += read_runs([p for p in extra if p not in known])
    return infos, problem


def details_text(info: RunInfo) -> str:
    """What the pane under the list says about the selected run: status, epochs, the last
    losses and its best score, one line each."""
    if info.damaged:
        return f"Damaged: {info.damaged}"
    word = status_word(info)
    sentence = STATUS_SENTENCES.get(word, f"Status: {word}." if word else "")
    lines = [sentence.format(writer=f" ({info.writer})" if info.writer else "")]
    lines.append(f"Epochs {info.epochs_done} of {info.epochs_planned}"
                 + (" · checkpoint saved" if info.has_checkpoint else ""))
    if _loss_text(info):
        lines.append(f"Last: {_loss_text(info)}")
    if info.best is not None:
        lines.append(best_text(info)[1])
    return "\n".join(line for line in lines if line)


def viewing_panels(info: RunInfo) -> list[registry.PanelSpec]:
    """The workspace panels (Explore, Reconstruct…) that can show this run's model."""
    if info.damaged or not (info.epochs_done or info.has_checkpoint):
        return []
    try:
        caps = families.get(info.model).capabilities
    except families.UnknownFamilyError:
        return []
    return [spec for spec in registry.panels("workspace")
            if spec.accepts_run is None or spec.accepts_run(caps)]


class RunsBrowser(QWidget):
    """Lists runs newest first; damaged runs are shown greyed with the reason."""

    open_requested = Signal(object)  # Path
    resume_requested = Signal(object)  # Path
    view_requested = Signal(str, object)  # workspace panel key, run folder: view, not train
    listed = Signal()  # a listing reached the tree
    rows_updated = Signal()  # the rows of runs being written were re-read

    def __init__(self, root: Path | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.root = Path(root) if root is not None else run_store.default_runs_root()
        self.extra_folders: list[Path] = []
        self.infos: list[RunInfo] = []
        self.listing = False  # a background listing is under way
        self._pending_select: Path | None = None
        self._busy = False  # this window trains a run
        self._lister = TaskRunner(self)  # a newer listing cancels (drops) an older one
        self._lister.finished.connect(self._on_listed)
        self._reader = TaskRunner(self)  # re-reads the rows of runs being written
        self._reader.finished.connect(self._on_rows_read)
        self._live = QTimer(self)
        self._live.setInterval(LIVE_REFRESH_MS)
        self._live.timeout.connect(self.refresh_running)
        self.tree = QTreeWidget()
        self.tree.setColumnCount(len(COLUMNS))
        self.tree.setHeaderLabels(list(COLUMNS))
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        self.tree.setUniformRowHeights(True)
        header = self.tree.header()
        header.setStretchLastSection(False)
        for col in range(len(COLUMNS)):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        # the data set's name gives way first (a long folder name; its tooltip has it all)
        header.setSectionResizeMode(COLUMNS.index("Data"), QHeaderView.ResizeMode.Stretch)
        self.tree.setToolTip("Past runs, newest first. Double-click one to open its plots, "
                             "grids and checkpoint; select two or more (Ctrl or Shift) to "
                             "compare them.")
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.tree.headerItem().setToolTip(
            BEST, "The best sample-quality score of the run @ the epoch it came at "
                  "(hover a row for what the number measures).")
        self.tree.itemDoubleClicked.connect(lambda *_: self._open())
        self.tree.itemSelectionChanged.connect(self._update_buttons)
        self.details = QLabel()  # the selected run, in words: status, epochs, last losses
        self.details.setObjectName("hint")
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.busy_note = QLabel()
        self.busy_note.setWordWrap(True)
        self.busy_note.setVisible(False)

        self.location = QLabel()
        self.location.setObjectName("hint")
        self.location.setWordWrap(True)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setToolTip("Read the runs folder again.")
        self.refresh_button.clicked.connect(self.refresh)
        self.browse_button = QPushButton("Open folder…")
        self.browse_button.setToolTip("Open a run folder from anywhere, e.g. one written by "
                                      "the command line on another disk.")
        self.browse_button.clicked.connect(self.browse)
        self.open_button = QPushButton("Open")
        self.open_button.setToolTip("Show this run's plots, sample grids and settings.")
        self.open_button.clicked.connect(self._open)
        self.resume_button = QPushButton("Resume training")
        self.resume_button.setToolTip("Continue this run exactly where its last checkpoint "
                                      "stopped (same noise, optimiser state and history).")
        self.resume_button.clicked.connect(self._resume)
        self.compare_button = QPushButton("Compare")
        self.compare_button.setToolTip("Select two or more runs: their curves on the same "
                                       "axes, the settings that differ, their best scores and "
                                       "the grids of one epoch side by side.")
        self.compare_button.clicked.connect(self.compare_selected)
        self.compare_view: CompareView | None = None
        self.view_buttons: dict[str, QPushButton] = {}
        for spec in registry.panels("workspace"):
            button = QPushButton(f"Open in {spec.title}")
            button.setToolTip(f"Look at this run's model in {spec.title}; this works while "
                              "another run trains (the training page keeps that run).")
            button.clicked.connect(lambda _=False, key=spec.key: self.view_selected(key))
            self.view_buttons[spec.key] = button

        row = QHBoxLayout()
        row.addWidget(self.refresh_button)
        row.addWidget(self.browse_button)
        row.addStretch(1)
        row2 = QHBoxLayout()
        row2.addWidget(self.compare_button)
        row2.addStretch(1)
        row2.addWidget(self.open_button)
        row2.addWidget(self.resume_button)
        row3 = QHBoxLayout()
        row3.addStretch(1)
        for button in self.view_buttons.values():
            row3.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.location)
        layout.addLayout(row)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.details)
        layout.addWidget(self.busy_note)
        layout.addLayout(row2)
        layout.addLayout(row3)
        self._update_buttons()

    def set_root(self, root: Path) -> None:
        """List runs from another runs folder."""
        self.root = root
        self.refresh()

    def add_folder(self, path: Path) -> None:
        """Remember a run folder opened from elsewhere (listed too)."""
        path = Path(path)
        if path not in self.extra_folders and path.parent != self.root:
            self.extra_folders.append(path)
        self.refresh()
        self.select(path)

    def shutdown(self) -> None:
        """Cancel and join the background listing and row re-reads (the window closes)."""
        self._lister.wait()
        self._reader.wait()

    def refresh(self) -> None:
        """Read the runs folder (and opened folders) again, in a background thread; the
        list is filled when it is done (``listed``)."""
        if self._pending_select is None:
            self._pending_select = self.selected_path()
        self.location.setText(f"Runs folder: {self.root}")
        self.listing = True
        self._lister.start(list_infos, self.root, list(self.extra_folders))

    def _on_listed(self, outcome: Outcome) -> None:
        if outcome.cancelled:
            return  # a newer refresh is under way
        infos, problem = outcome.value if outcome.ok else ([], outcome.error or "")
        if problem:
            self.location.setText(f"Runs folder: {self.root}\n{problem}")
        selected, self._pending_select = self._pending_select, None
        self.infos = infos
        self.tree.clear()
        for info in infos:
            item = QTreeWidgetItem()
            item.setData(0, Qt.ItemDataRole.UserRole, str(info.path))
            self._fill_item(item, info)
            self.tree.addTopLevelItem(item)
        self.listing = False
        if selected is not None:
            self.select(selected)
        self._update_buttons()
        self._update_live()
        self.listed.emit()

    def _fill_item(self, item: QTreeWidgetItem, info: RunInfo) -> None:
        """Write one run's cells and tooltip (a listing, or a live re-read of its row)."""
        done = f"{info.epochs_done}/{info.epochs_planned}" if not info.damaged else ""
        best, best_tip = best_text(info)
        texts = [_started_text(info), model_short(info.model),
                 Path(info.dataset).name or info.dataset, done, status_word(info),
                 best if not info.damaged else ""]
        for col, text in enumerate(texts):
            item.setText(col, text)
        tip = f"{info.name}\n{info.path}\n{details_text(info)}"
        if info.damaged:
            tip = f"Damaged: {info.damaged}\n{info.path}"
            grey = QBrush(QColor("#8a8f98"))
            for col in range(len(COLUMNS)):
                item.setForeground(col, grey)
            item.setText(1, "damaged")
        for col in range(len(COLUMNS)):
            item.setToolTip(col, tip)
        item.setToolTip(BEST, f"{tip}\n{best_tip}" if not info.damaged else tip)

    def running_paths(self) -> list[Path]:
        """The listed runs being written now (by this window or another process)."""
        return [i.path for i in self.infos if i.status == "running"]

    def refresh_running(self) -> None:
        """Re-read only the rows of runs being written (their epochs and last losses), in
        the background; cheap enough to run every few seconds or after each epoch."""
        paths = self.running_paths()
        if paths and not self.listing and not self._reader.is_running():
            self._reader.start(read_runs, paths)

    def _on_rows_read(self, outcome: Outcome) -> None:
        if outcome.cancelled or not outcome.ok or self.listing:
            return  # a full listing is under way: it has newer rows
        fresh = {i.path: i for i in outcome.value}
        self.infos = [fresh.get(i.path, i) for i in self.infos]
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            info = fresh.get(Path(item.data(0, Qt.ItemDataRole.UserRole)))
            if info is not None:
                self._fill_item(item, info)
        self._update_buttons()
        self._update_live()
        self.rows_updated.emit()

    def _update_live(self) -> None:
        """Re-read running rows periodically while there are any (or this window trains)."""
        if self.running_paths() or self._busy:
            if not self._live.isActive():
                self._live.start()
        else:
            self._live.stop()

    def select(self, path: Path) -> None:
        """Select the row of a run folder (once listed, if a listing is under way)."""
        if self.listing:
            self._pending_select = Path(path)
            return
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            if Path(item.data(0, Qt.ItemDataRole.UserRole)) == Path(path):
                self.tree.setCurrentItem(item)
                return

    def selected_path(self) -> Path | None:
        """The run folder selected in the list."""
        item = self.tree.currentItem()
        if item is None:
            return None
        return Path(item.data(0, Qt.ItemDataRole.UserRole))

    def selected_paths(self) -> list[Path]:
        """Every selected run folder, in list order."""
        rows = sorted(self.tree.selectedItems(), key=self.tree.indexOfTopLevelItem)
        return [Path(item.data(0, Qt.ItemDataRole.UserRole)) for item in rows]

    def comparable_paths(self) -> list[Path]:
        """The selected runs that can be compared (damaged ones cannot)."""
        ok = {i.path for i in self.infos if not i.damaged}
        return [p for p in self.selected_paths() if p in ok]

    def compare_selected(self) -> CompareView | None:
        """Open the compare view on the selected runs (two or more)."""
        paths = self.comparable_paths()
        if len(paths) < 2:
            return None
        return self.compare(paths)

    def compare(self, paths: list[Path]) -> CompareView:
        """Show ``paths`` side by side in the compare window (one, reused)."""
        if self.compare_view is None:
            self.compare_view = CompareView(self.window())
        self.compare_view.set_runs(paths)
        self.compare_view.show()
        self.compare_view.raise_()
        return self.compare_view

    def selected_info(self) -> RunInfo | None:
        """The RunInfo of the selected row."""
        path = self.selected_path()
        return next((i for i in self.infos if i.path == path), None)

    def set_busy(self, busy: bool) -> None:
        """While this window trains, the training page keeps its run: Open and Resume give
        way to viewing runs in the workspace panels, and the running row is re-read."""
        self._busy = busy
        self._update_buttons()
        self._update_live()

    def _update_buttons(self) -> None:
        info = self.selected_info()
        busy = self._busy
        self.open_button.setEnabled(info is not None and not busy)
        self.compare_button.setEnabled(len(self.comparable_paths()) >= 2)
        self.resume_button.setEnabled(
            info is not None and not info.damaged and info.has_checkpoint and not busy
            and info.status != "running"  # another process writes it
        )
        viewers = viewing_panels(info) if info else []
        for key, button in self.view_buttons.items():
            button.setEnabled(any(spec.key == key for spec in viewers))
        self.details.setText(details_text(info) if info else "Select a run to see its "
                             "status, epochs and last losses.")
        self.busy_note.setVisible(busy and info is not None)
        if busy:
            titles = " or ".join(spec.title for spec in viewers)
            self.busy_note.setText(
                "A run is training, so the training page stays on it; "
                + (f"you can still look at this run's model in {titles}, or open it fully "
                   "once training ends." if titles else
                   "this run has no trained model to look at yet: open it once training "
                   "ends."))

    def view_selected(self, key: str) -> None:
        """Show the selected run's model in the workspace panel ``key`` (works while
        training: it does not touch the training page)."""
        info = self.selected_info()
        if info is not None and key in {s.key for s in viewing_panels(info)}:
            self.view_requested.emit(key, info.path)

    def _open(self) -> None:
        path = self.selected_path()
        if path is None:
            return
        if not self._busy:
            self.open_requested.emit(path)
            return
        info = self.selected_info()  # training: a double-click views the run instead
        viewers = viewing_panels(info) if info is not None else []
        if viewers:
            self.view_selected(viewers[0].key)

    def _resume(self) -> None:
        path = self.selected_path()
        if path is not None:
            self.resume_requested.emit(path)

    def browse(self) -> None:
        """Pick a run folder with a dialog and open it."""
        folder = QFileDialog.getExistingDirectory(self, "Open a run folder", str(self.root))
        if folder:
            self.open_requested.emit(Path(folder))
