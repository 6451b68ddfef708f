"""The runs browser: past runs from the runs folder and any folder opened (torch-free).

Run folders are untrusted (a FIFO, a huge or deeply nested file, a folder that is slow to
read on a network disk): they are read in a background thread, never on the GUI thread, and
the list is filled when the reading is done; a newer refresh makes an older one's result
stale ("latest request wins").
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from PySide6.QtCore import Qt, Signal
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
from aigc_studio.gui.panels.runs.compare_view import CompareView
from aigc_studio.gui.threading import Outcome, TaskRunner

COLUMNS = ("Started", "Model", "Data", "Epochs", "Best")
BEST = COLUMNS.index("Best")
NO_SCORE = "—"


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


def list_infos(root: Path, extra: list[Path]) -> tuple[list[RunInfo], str]:
    """Runs in ``root`` plus opened folders, and a problem with the root (or ""); never
    raises (runs in a background thread)."""
    problem = ""
    try:
        infos = run_store.list_runs(root)
    except Exception as exc:  # the runs folder itself cannot be listed
        infos, problem = [], str(exc)
    known = {i.path for i in infos}
    infos += [run_store.read_run(p) for p in extra if p not in known]
    return infos, problem


class RunsBrowser(QWidget):
    """Lists runs newest first; damaged runs are shown greyed with the reason."""

    open_requested = Signal(object)  # Path
    resume_requested = Signal(object)  # Path
    listed = Signal()  # a listing reached the tree

    def __init__(self, root: Path | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.root = Path(root) if root is not None else run_store.default_runs_root()
        self.extra_folders: list[Path] = []
        self.infos: list[RunInfo] = []
        self.listing = False  # a background listing is under way
        self._pending_select: Path | None = None
        self._lister = TaskRunner(self)  # a newer listing cancels (drops) an older one
        self._lister.finished.connect(self._on_listed)
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

        row = QHBoxLayout()
        row.addWidget(self.refresh_button)
        row.addWidget(self.browse_button)
        row.addStretch(1)
        row2 = QHBoxLayout()
        row2.addWidget(self.compare_button)
        row2.addStretch(1)
        row2.addWidget(self.open_button)
        row2.addWidget(self.resume_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.location)
        layout.addLayout(row)
        layout.addWidget(self.tree, 1)
        layout.addLayout(row2)
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
            done = f"{info.epochs_done}/{info.epochs_planned}" if not info.damaged else ""
            best, best_tip = best_text(info)
            item = QTreeWidgetItem([_started_text(info), model_short(info.model),
                                    Path(info.dataset).name or info.dataset, done,
                                    best if not info.damaged else ""])
            item.setData(0, Qt.ItemDataRole.UserRole, str(info.path))
            tip = f"{info.name}\n{info.path}"
            if info.status == "running" and info.writer:
                tip += f"\nstatus: running, written by {info.writer}"
            elif info.status == "interrupted":
                tip += ("\nstatus: interrupted (its writer stopped without finishing; "
                        "resume it to continue)")
            elif info.status:
                tip += f"\nstatus: {info.status}"
            if _loss_text(info):
                tip += f"\nlast: {_loss_text(info)}"
            if info.has_checkpoint:
                tip += "\ncheckpoint: yes (can be resumed)"
            tip += f"\n{best_tip}"
            if info.damaged:
                tip = f"Damaged: {info.damaged}\n{info.path}"
                grey = QBrush(QColor("#8a8f98"))
                for col in range(len(COLUMNS)):
                    item.setForeground(col, grey)
                item.setText(1, "damaged")
            for col in range(len(COLUMNS)):
                item.setToolTip(col, tip)
            self.tree.addTopLevelItem(item)
        self.listing = False
        if selected is not None:
            self.select(selected)
        self._update_buttons()
        self.listed.emit()

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
        """Disable Resume while a run trains."""
        self._busy = busy
        self._update_buttons()

    def _update_buttons(self) -> None:
        info = self.selected_info()
        busy = getattr(self, "_busy", False)
        self.open_button.setEnabled(info is not None)
        self.compare_button.setEnabled(len(self.comparable_paths()) >= 2)
        self.resume_button.setEnabled(
            info is not None and not info.damaged and info.has_checkpoint and not busy
            and info.status != "running"  # another process writes it
        )

    def _open(self) -> None:
        path = self.selected_path()
        if path is not None:
            self.open_requested.emit(path)

    def _resume(self) -> None:
        path = self.selected_path()
        if path is not None:
            self.resume_requested.emit(path)

    def browse(self) -> None:
        """Pick a run folder with a dialog and open it."""
        folder = QFileDialog.getExistingDirectory(self, "Open a run folder", str(self.root))
        if folder:
            self.open_requested.emit(Path(folder))
