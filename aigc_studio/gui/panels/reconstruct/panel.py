"""The reconstruction panel: drop images on a model that encodes them and see what it keeps.

Each usable image becomes a row: original | reconstruction | absolute-error heatmap, MSE, PSNR,
SSIM and what was done to the file to fit the model (the shared loader's notes). Files that
cannot be used get a row of their own with the loader's reason; the rest still run. Folder
expansion, loading and the model run in the worker (``worker.py``) in chunks, so a folder of
thousands of files shows progress and can be cancelled while the window stays responsive; the
table lives in ``table.py``; heatmaps, means and saving are core/engine functions.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterable, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import (
    QCloseEvent,
    QDesktopServices,
    QDragEnterEvent,
    QDragLeaveEvent,
    QDragMoveEvent,
    QDropEvent,
    QPixmap,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from aigc_studio import families
from aigc_studio.core.quality import ERROR_FULL_SCALE, INFERNO_LUT, format_psnr
from aigc_studio.gui.model_info import ModelInfo, family_titles, with_article
from aigc_studio.gui.panels.reconstruct.labels import SHRINK_TO, ElidedLabel, wrapping_label
from aigc_studio.gui.panels.reconstruct.table import ResultsModel
from aigc_studio.gui.panels.reconstruct.worker import CHUNK, ReconstructionWorker, ResultRow
from aigc_studio.gui.widgets.banner import Banner
from aigc_studio.gui.widgets.qimage import array_to_qimage
from aigc_studio.gui.widgets.style import PANEL_STYLE

if TYPE_CHECKING:  # pragma: no cover - typing only; torch stays unloaded at import time
    from aigc_studio.engine.inference import Reconstruction

THUMB_TARGET = 96  # thumbnails are enlarged by a whole factor to about this size
FILE_COLUMN_WIDTH = 170  # names are elided; the full path is the cell's tooltip
DROP_HINT_WIDTH = 560  # the empty page's hint reads as a paragraph, not one long line
LEGEND_BAR = (112, 10)  # the |error| colour bar, width x height in pixels


RECON_STYLE = PANEL_STYLE + """
QFrame#dropZone { border: 2px dashed #3a3f47; border-radius: 10px; background: #12161c; }
QFrame#dropZone[active="true"] { border-color: #4fa3f7; background: #15212e; }
QLabel#dropTitle { font-size: 15pt; font-weight: 700; }
QTableView { gridline-color: #262c34; }
"""


class ReconstructionPanel(QWidget):
    """Drop images or folders on a model that encodes images; see, measure and save its
    reconstructions.

    Public API: :meth:`set_model`, :meth:`add_paths`, :meth:`clear`, :meth:`cancel`,
    :meth:`save_results`, :meth:`shutdown`; results as data via :meth:`results`,
    :meth:`failures` and :meth:`mean_metrics`. Drops of files and folders are handled by the
    panel itself.
    """

    model_loaded = Signal(object)  # ModelInfo
    load_failed = Signal(str)
    batch_finished = Signal(int)  # job id; all its files are in the table (or it was cancelled)
    results_changed = Signal(int)  # number of result rows
    message = Signal(str)  # one sentence for the window's status bar
    open_latest_run = Signal()  # the empty state's "Open the latest run"
    train_requested = Signal(str)  # the empty state's "Train a … now" (a family name)

    PAGE_DROP, PAGE_RESULTS = range(2)

    def __init__(self, parent: QWidget | None = None, *, chunk: int = CHUNK) -> None:
        super().__init__(parent)
        self._path: Path | None = None
        self._info: ModelInfo | None = None
        self._inputs: list[Path] = []  # what the user added, to run again with a new model
        self._failures: list[tuple[Path, str]] = []
        self._seen: set[Path] = set()
        self._rows_info: ModelInfo | None = None  # the model that made the rows shown
        self._jobs = itertools.count(1)
        self._active: set[int] = set()
        self._progress: dict[int, tuple[int, int]] = {}
        self._shut = False

        self.worker = ReconstructionWorker(chunk)
        self.worker.model_loaded.connect(self._on_model_loaded)
        self.worker.load_failed.connect(self._on_load_failed)
        self.worker.scanned.connect(self._on_scanned)
        self.worker.results_ready.connect(self._on_results)
        self.worker.progress.connect(self._on_progress)
        self.worker.batch_finished.connect(self._on_batch_finished)
        self.worker.batch_failed.connect(self._on_batch_failed)
        self.worker.start()
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)
        self.destroyed.connect(partial(_stop_worker, self.worker))

        self.setAcceptDrops(True)
        self.setStyleSheet(RECON_STYLE)
        self._build()
        self._update_state()

    # ---------------------------------------------------------------- widgets
    def _build(self) -> None:
        title = QLabel("Reconstruction")
        title.setObjectName("panelTitle")
        # a long run name must not widen the window past the screen: the label gives way
        self.model_label = ElidedLabel()
        self.model_label.setObjectName("hint")
        self.open_button = QPushButton("Open images…")
        self.open_button.setToolTip("Choose image files to reconstruct (you can also drop them "
                                    "on this panel).")
        self.open_button.clicked.connect(self.open_images_dialog)
        self.folder_button = QPushButton("Open folder…")
        self.folder_button.setToolTip("Reconstruct every image in a folder and its subfolders; "
                                      "large folders load in the background.")
        self.folder_button.clicked.connect(self.open_folder_dialog)
        self.save_button = QPushButton("Save results…")
        self.save_button.setObjectName("primary")
        self.save_button.setToolTip("Write original, reconstruction and error PNGs for every "
                                    "image, plus a CSV of the metrics, into a folder.")
        self.save_button.clicked.connect(self.save_results_dialog)
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip("Remove every result and skipped file from the list.")
        self.clear_button.clicked.connect(self.clear)
        header = QHBoxLayout()
        header.addWidget(title)
        header.addSpacing(12)
        header.addWidget(self.model_label, 1)
        header.addWidget(self.open_button)
        header.addWidget(self.folder_button)
        header.addWidget(self.clear_button)
        header.addWidget(self.save_button)

        self.banner = Banner()
        self.banner.action.clicked.connect(self.banner.hide)
        self.banner.label.setMinimumWidth(SHRINK_TO)  # a long path in a message wraps or is cut

        self.progress_bar = QProgressBar()
        self.progress_bar.setTextVisible(False)
        self.progress_bar.setFixedHeight(8)
        self.progress_label = QLabel("")
        self.progress_label.setObjectName("hint")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop after the images being processed now; results so "
                                      "far are kept.")
        self.cancel_button.clicked.connect(self.cancel)
        self.progress_row = QWidget()
        pr = QHBoxLayout(self.progress_row)
        pr.setContentsMargins(0, 0, 0, 0)
        pr.addWidget(self.progress_label)
        pr.addWidget(self.progress_bar, 1)
        pr.addWidget(self.cancel_button)
        self.progress_row.hide()

        # empty state: a drop zone
        self.drop_zone = QFrame()
        self.drop_zone.setObjectName("dropZone")
        drop_title = QLabel("Drop images or folders here")
        drop_title.setObjectName("dropTitle")
        drop_title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        drop_title.setWordWrap(True)
        self.drop_hint = wrapping_label("", "hint")
        self.drop_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.drop_hint.setMaximumWidth(DROP_HINT_WIDTH)
        hint_row = QHBoxLayout()  # centred by stretches: it still narrows with the window
        hint_row.addStretch(1)
        hint_row.addWidget(self.drop_hint, 100)
        hint_row.addStretch(1)
        dz = QVBoxLayout(self.drop_zone)
        dz.addStretch(1)
        dz.addWidget(drop_title)
        dz.addSpacing(8)
        dz.addLayout(hint_row)
        # with no model open, the next step as buttons
        self.open_latest_button = QPushButton("Open the latest run")
        self.open_latest_button.setObjectName("primary")
        self.open_latest_button.setToolTip("Open the newest run of the runs folder.")
        self.open_latest_button.clicked.connect(self.open_latest_run.emit)
        encoder = next((f for f in families.all_families() if f.capabilities.encodes), None)
        self.train_button = QPushButton(f"Train {with_article(encoder.title)} now" if encoder else
                                        "Train a model now")
        self.train_button.setToolTip("Go to the Train panel with this model chosen.")
        self.train_button.clicked.connect(
            lambda: self.train_requested.emit(encoder.name if encoder else ""))
        self.next_steps = QWidget()
        steps = QHBoxLayout(self.next_steps)
        steps.addStretch(1)
        steps.addWidget(self.open_latest_button)
        steps.addWidget(self.train_button)
        steps.addStretch(1)
        dz.addSpacing(12)
        dz.addWidget(self.next_steps)
        dz.addStretch(1)

        # results
        self.table_model = ResultsModel(self)
        self.table = QTableView()
        self.table.setModel(self.table_model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(True)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.verticalHeader().setDefaultSectionSize(THUMB_TARGET + 10)
        self.table.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.table.setToolTip("One row per image; the first row is the mean over the batch.")
        head = self.table.horizontalHeader()
        head.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        head.setSectionResizeMode(ResultsModel.FILE, QHeaderView.ResizeMode.Interactive)
        head.setSectionResizeMode(ResultsModel.NOTES, QHeaderView.ResizeMode.Stretch)
        head.setMinimumSectionSize(48)
        self.table.setColumnWidth(ResultsModel.FILE, FILE_COLUMN_WIDTH)

        self.skipped_label = wrapping_label()
        self.skipped_label.setStyleSheet("font-weight: 600; color: #ffb4a9;")
        self.skipped = QTableWidget(0, 2)
        self.skipped.setHorizontalHeaderLabels(["File", "Why it could not be used"])
        self.skipped.verticalHeader().hide()
        self.skipped.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.skipped.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.skipped.horizontalHeader().setSectionResizeMode(
            0, QHeaderView.ResizeMode.Interactive)
        self.skipped.setColumnWidth(0, FILE_COLUMN_WIDTH)
        self.skipped.horizontalHeader().setStretchLastSection(True)
        self.skipped.setToolTip("Files that were not reconstructed, with the reason; every other "
                                "file still ran.")
        skipped_box = QWidget()
        sb = QVBoxLayout(skipped_box)
        sb.setContentsMargins(0, 4, 0, 0)
        sb.addWidget(self.skipped_label)
        sb.addWidget(self.skipped, 1)
        self.skipped_box = skipped_box

        self.summary_label = wrapping_label("", "hint")
        legend = QHBoxLayout()
        legend.setContentsMargins(2, 2, 2, 4)
        legend.addWidget(self.summary_label, 1)
        legend.addWidget(self._error_legend())
        top = QWidget()
        tl = QVBoxLayout(top)
        tl.setContentsMargins(0, 0, 0, 0)
        tl.setSpacing(2)
        tl.addWidget(self.table, 1)
        tl.addLayout(legend)

        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(top)
        self.splitter.addWidget(skipped_box)
        self.splitter.setStretchFactor(0, 4)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setChildrenCollapsible(False)

        self.stack = QStackedWidget()
        self.stack.addWidget(self.drop_zone)
        self.stack.addWidget(self.splitter)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addLayout(header)
        layout.addWidget(self.banner)
        layout.addWidget(self.progress_row)
        layout.addWidget(self.stack, 1)
        layout.addWidget(self._build_saved_row())

    def _error_legend(self) -> QWidget:
        """The |error| colour scale, compact: the explanation is in its tooltip."""
        width, height = LEGEND_BAR
        lut = INFERNO_LUT[np.linspace(0, 255, width).round().astype(int)]
        bar = QLabel()
        bar.setPixmap(QPixmap.fromImage(array_to_qimage(
            np.ascontiguousarray(np.repeat(lut[None, :, :], height, axis=0)))))
        low = QLabel("|Error|  0")
        high = QLabel(f"≥ {ERROR_FULL_SCALE / 255:.0%}")
        box = QWidget()
        box.setToolTip(f"{self.table_model.TOOLTIPS[ResultsModel.ERROR]} Black is no error, "
                       f"yellow an error of {ERROR_FULL_SCALE / 255:.0%} of the intensity "
                       "range or more.")
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        for widget in (low, bar, high):
            widget.setObjectName("hint")
            row.addWidget(widget)
        return box

    def _build_saved_row(self) -> QWidget:
        """Where the last save went: it stays on the page (the status bar's copy is soon
        overwritten) until the results are cleared."""
        self.saved_label = ElidedLabel(mode=Qt.TextElideMode.ElideMiddle)
        self.saved_label.setObjectName("hint")
        self.saved_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.show_saved_button = QPushButton("Show folder")
        self.show_saved_button.setToolTip("Open the folder the results were saved in.")
        self.show_saved_button.clicked.connect(self._show_saved_folder)
        self.saved_row = QWidget()
        row = QHBoxLayout(self.saved_row)
        row.setContentsMargins(0, 4, 0, 0)
        row.addWidget(self.saved_label, 1)
        row.addWidget(self.show_saved_button)
        self.saved_row.hide()
        self._saved_folder: Path | None = None
        return self.saved_row

    def _show_saved_folder(self) -> None:
        if self._saved_folder is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self._saved_folder)))

    # ---------------------------------------------------------------- model
    def set_model(self, path: Path | None) -> None:
        """Open a model (run folder, ``.pt`` or ``.safetensors``) in the background.

        Images already added are reconstructed again with the new model once it loads. A model
        that does not encode images is refused with a note (reconstruction needs an encoder).
        """
        self._path = None if path is None else Path(path)
        self._info = None
        self.worker.cancel()
        self._active.clear()
        self._progress.clear()
        if self._path is None:
            self.model_label.setText("")
            self._update_state()
            return
        self.model_label.setText(f"Loading {self._path.name}…")
        self.banner.hide()
        self.worker.load(self._path)
        self._update_state()

    def model_info(self) -> ModelInfo | None:
        """The loaded model's summary (None while none is loaded)."""
        return self._info

    def is_ready(self) -> bool:
        """True when a model that encodes images is loaded."""
        return self._info is not None and self._info.capabilities.encodes

    def _on_model_loaded(self, info: ModelInfo) -> None:
        if self._path is None or info.path != self._path:
            return
        self._info = info
        # what the model is first: when the header is narrow the run name is cut, not the epoch
        self.model_label.setText(f"{info.summary}  ·  {info.title}")
        self.model_loaded.emit(info)
        if not info.capabilities.encodes:
            needed = family_titles("encodes")
            kind = with_article(info.family.title)
            self.banner.show_message(
                f"{info.title} is {kind}, which has no encoder to turn an image into a latent "
                f"code: reconstruction needs a model that encodes images ({needed}). Open or "
                "train one; images you drop here are kept until then.", "warning")
        else:
            self.banner.hide()
            scale = max(1, THUMB_TARGET // info.image_size)
            self.table_model.scale = scale
            self.table.verticalHeader().setDefaultSectionSize(info.image_size * scale + 10)
            if self._inputs:
                self._reset_results()
                self._submit(list(self._inputs))
        self._update_state()

    def _on_load_failed(self, text: str) -> None:
        self._info = None
        self.model_label.setText("")
        self.banner.show_message(text, "error", "Dismiss")
        self.load_failed.emit(text)
        self.message.emit(text)
        self._update_state()

    # ---------------------------------------------------------------- adding images
    def add_paths(self, paths: Iterable[Path]) -> int:
        """Reconstruct image files and folders (folders are searched in the background).

        Returns the batch id (0 when no model that encodes is loaded yet: the paths wait for one).
        """
        new = [Path(p) for p in paths if Path(p) not in self._inputs]
        if not new:
            return 0
        self._inputs.extend(new)
        if not self.is_ready():
            self._update_state()
            n = len(self._inputs)
            self.message.emit(f"{n} item{'s' if n != 1 else ''} waiting for a model that "
                              "encodes images.")
            return 0
        return self._submit(new)

    def accept_paths(self, paths: list[Path]) -> int:
        """Dropped paths (the window's drop routing): same as :meth:`add_paths`."""
        return self.add_paths(paths)

    def _submit(self, paths: list[Path]) -> int:
        job = next(self._jobs)
        self._active.add(job)
        self._progress[job] = (0, 0)
        folders = sum(p.is_dir() for p in paths)
        self.progress_label.setText(
            f"Looking for images in {folders} folder{'s' if folders != 1 else ''}…" if folders
            else f"Reading {len(paths)} file{'s' if len(paths) != 1 else ''}…")
        self.progress_bar.setRange(0, 0)  # busy until the files are counted
        self.worker.enqueue(job, paths)
        self._update_state()
        return job

    def is_busy(self) -> bool:
        """True while a batch is being searched or reconstructed."""
        return bool(self._active)

    def cancel(self) -> None:
        """Stop the work under way; rows already shown stay."""
        self.worker.cancel()

    def clear(self) -> None:
        """Forget every input, result and skipped file."""
        self.worker.cancel()
        self._inputs = []
        self._active.clear()
        self._progress.clear()
        self._reset_results()
        self.saved_row.hide()
        self._saved_folder = None
        self._update_state()

    def _reset_results(self) -> None:
        self.table_model.clear()
        self._rows_info = None
        self._failures = []
        self._seen = set()
        self.skipped.setRowCount(0)
        self._update_skipped_label()
        self._update_summary()
        self.results_changed.emit(0)

    # ---------------------------------------------------------------- worker results
    def _on_scanned(self, job: int, total: int, skipped: list[tuple[Path, str]]) -> None:
        if job not in self._active:
            return
        self._add_failures(skipped)
        self._progress[job] = (0, total)
        self._show_progress()

    def _on_results(self, job: int, rows: list[ResultRow],
                    failed: list[tuple[Path, str]]) -> None:
        if job not in self._active:
            return
        fresh = [r for r in rows if r.result.path not in self._seen]
        self._seen.update(r.result.path for r in fresh)
        if fresh:
            first = not self.table_model.rows
            if first:
                self._rows_info = self._info
            self.table_model.append(fresh)
            if first:
                self.table.setRowHeight(0, 36)  # the mean row has no thumbnails
        self._add_failures(failed)
        self._update_state()
        self._update_summary()
        self.results_changed.emit(len(self.table_model.rows))

    def _on_progress(self, job: int, done: int, total: int) -> None:
        if job in self._active:
            self._progress[job] = (done, total)
            self._show_progress()

    def _on_batch_finished(self, job: int, cancelled: bool) -> None:
        if job not in self._active:
            return
        self._active.discard(job)
        self._progress.pop(job, None)
        if not self._active:
            n, f = len(self.table_model.rows), len(self._failures)
            verb = "Stopped" if cancelled else "Done"
            self.message.emit(f"{verb}: {n} image{'s' if n != 1 else ''} reconstructed"
                              + (f", {f} skipped." if f else "."))
        self._update_state()
        self.batch_finished.emit(job)

    def _on_batch_failed(self, job: int, text: str) -> None:
        if job in self._active:
            self.banner.show_message(text, "error", "Dismiss")
            self.message.emit(text)

    def _add_failures(self, failed: Sequence[tuple[Path, str]]) -> None:
        for path, reason in failed:
            path = Path(path)
            if path in self._seen:
                continue
            self._seen.add(path)
            self._failures.append((path, reason))
            row = self.skipped.rowCount()
            self.skipped.insertRow(row)
            name = QTableWidgetItem(path.name)
            name.setToolTip(str(path))
            why = QTableWidgetItem(reason)
            why.setToolTip(reason)
            self.skipped.setItem(row, 0, name)
            self.skipped.setItem(row, 1, why)
        if failed:
            self._update_skipped_label()
            self._update_state()

    def _update_summary(self) -> None:
        mean = self.table_model.mean()
        if mean is None:
            self.summary_label.setText("")
            return
        n = len(self.table_model.rows)
        made_by = f" · epoch {self._rows_info.epoch}" if self._rows_info is not None else ""
        self.summary_label.setText(
            f"{n} image{'s' if n != 1 else ''}{made_by} · mean PSNR "
            f"{format_psnr(mean['psnr'])} · mean SSIM {mean['ssim']:.3f}  —  hover a column "
            "title for what it means")

    def _update_skipped_label(self) -> None:
        n = len(self._failures)
        self.skipped_label.setText(
            f"{n} file{'s' if n != 1 else ''} could not be used (the others were reconstructed)")
        self.skipped_box.setVisible(n > 0)
        rows = min(max(n, 1), 6)  # the list grows with the failures, then scrolls
        height = self.skipped.horizontalHeader().height() + rows * 30 + 34
        self.skipped_box.setMaximumHeight(height)

    def _show_progress(self) -> None:
        done = sum(d for d, _ in self._progress.values())
        total = sum(t for _, t in self._progress.values())
        if total:
            self.progress_bar.setRange(0, total)
            self.progress_bar.setValue(done)
            self.progress_label.setText(f"Reconstructing {done} / {total} images…")

    def _update_state(self) -> None:
        has_rows = bool(self.table_model.rows) or bool(self._failures)
        self.stack.setCurrentIndex(self.PAGE_RESULTS if has_rows else self.PAGE_DROP)
        self.progress_row.setVisible(bool(self._active))
        self.save_button.setEnabled(bool(self.table_model.rows) and not self._active)
        self.clear_button.setEnabled(has_rows or bool(self._inputs))
        waiting = len(self._inputs) if not self.is_ready() else 0
        self.next_steps.setVisible((not self.is_ready() and self._path is None) or (
            self._info is not None and not self._info.capabilities.encodes))
        if self._info is None and self._path is None:
            hint = (f"Open a run of a model that encodes images ({family_titles('encodes')}) "
                    "first (train one, or open a run folder or checkpoint); then drop images "
                    "here to see how it rebuilds them.")
        elif self._info is None:
            hint = "Loading the model…"
        elif not self._info.capabilities.encodes:
            hint = (f"Reconstruction needs a model that encodes images "
                    f"({family_titles('encodes')}); this run is "
                    f"{with_article(self._info.family.title)}.")
        else:
            hint = (f"Images of any size and mode are fitted to the model's "
                    f"{self._info.image_size}×{self._info.image_size} "
                    f"{'colour' if self._info.channels == 3 else 'greyscale'} input the same "
                    "way training data is. PNG, JPEG, GIF, BMP, TIFF and WEBP.")
        if waiting:
            hint += f"\n\n{waiting} dropped item{'s' if waiting != 1 else ''} waiting."
        self.drop_hint.setText(hint)

    # ---------------------------------------------------------------- results as data
    def results(self) -> list[Reconstruction]:
        """The reconstructions in the table, in the order they were made."""
        return [row.result for row in self.table_model.rows]

    def result_rows(self) -> list[ResultRow]:
        """Reconstructions with their error heatmaps."""
        return list(self.table_model.rows)

    def failures(self) -> list[tuple[Path, str]]:
        """Files that could not be used, with the reason."""
        return list(self._failures)

    def mean_metrics(self) -> dict[str, float] | None:
        """Mean MSE, PSNR and SSIM over the batch (None when empty)."""
        return self.table_model.mean()

    # ---------------------------------------------------------------- saving
    def results_source(self) -> ModelInfo | None:
        """The model (epoch and checkpoint) that made the rows shown; rows are re-run when a
        newer epoch is opened, so a saved table names it."""
        return self._rows_info

    def save_results(self, folder: Path) -> list[Path]:
        """Write ``NNNN_name_{original,reconstruction,error}.png`` per image and
        ``results.csv`` (file, epoch, checkpoint, mse, psnr, ssim, notes); ``skipped.csv``
        lists unusable files (``engine.reconstruction_report``: every file is written
        atomically). Where they went stays on the page until the next save or Clear."""
        from aigc_studio.engine.reconstruction_report import save_reconstructions

        folder = Path(folder)
        source = self._rows_info
        written = save_reconstructions(
            self.results(), folder, self._failures,
            epoch=None if source is None else source.epoch,
            checkpoint=None if source is None else source.source)
        n = len(self.table_model.rows)
        made_by = f" (epoch {source.epoch}, {source.source.name})" if source is not None else ""
        text = f"Saved {n} result{'s' if n != 1 else ''}{made_by} to {folder}"
        self._saved_folder = folder
        self.saved_label.setText(f"✓ {text}")
        self.saved_row.show()
        self.message.emit(f"{text}.")
        return written

    def save_results_dialog(self) -> None:
        """Ask for a folder, then :meth:`save_results`."""
        folder = QFileDialog.getExistingDirectory(self, "Save the reconstructions into a folder")
        if not folder:
            return
        try:
            self.save_results(Path(folder))
        except OSError as exc:
            text = f"Could not save the results in {folder} ({exc.strerror or exc})."
            self.banner.show_message(text, "error", "Dismiss")
            self.message.emit(text)

    def save_view_dialog(self) -> None:
        """Ctrl+S in the window: what this page shows is its results."""
        self.save_results_dialog()

    def open_images_dialog(self) -> None:
        """Ask for image files, then :meth:`add_paths`."""
        files, _ = QFileDialog.getOpenFileNames(
            self, "Choose images to reconstruct", "",
            "Images (*.png *.jpg *.jpeg *.gif *.bmp *.tif *.tiff *.webp);;All files (*)")
        if files:
            self.add_paths([Path(f) for f in files])

    def open_folder_dialog(self) -> None:
        """Ask for a folder, then :meth:`add_paths`."""
        folder = QFileDialog.getExistingDirectory(self, "Choose a folder of images")
        if folder:
            self.add_paths([Path(folder)])

    # ---------------------------------------------------------------- drag and drop
    @staticmethod
    def dropped_paths(event: QDragEnterEvent | QDragMoveEvent | QDropEvent) -> list[Path]:
        """Local files and folders carried by a drag."""
        mime = event.mimeData()
        if mime is None or not mime.hasUrls():
            return []
        return [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()]

    def _set_drop_highlight(self, on: bool) -> None:
        self.drop_zone.setProperty("active", "true" if on else "false")
        self.drop_zone.style().unpolish(self.drop_zone)
        self.drop_zone.style().polish(self.drop_zone)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        """Accept drags of local files and folders."""
        if self.dropped_paths(event):
            event.acceptProposedAction()
            self._set_drop_highlight(True)
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        """Keep accepting while the drag moves over the panel."""
        if self.dropped_paths(event):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragLeaveEvent(self, event: QDragLeaveEvent) -> None:
        """Drop the highlight."""
        self._set_drop_highlight(False)
        super().dragLeaveEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:
        """Reconstruct what was dropped (work happens in the background)."""
        self._set_drop_highlight(False)
        paths = self.dropped_paths(event)
        if not paths:
            event.ignore()
            return
        event.acceptProposedAction()
        self.add_paths(paths)

    # ---------------------------------------------------------------- shutdown
    def shutdown(self) -> None:
        """Cancel the work and join the worker thread (safe to call more than once)."""
        if self._shut:
            return
        self._shut = True
        self.worker.cancel()
        self.worker.stop()

    def closeEvent(self, event: QCloseEvent) -> None:
        """Closing the panel joins its thread."""
        self.shutdown()
        super().closeEvent(event)


def _stop_worker(worker: ReconstructionWorker, *_: object) -> None:
    with contextlib.suppress(RuntimeError):  # already deleted
        worker.cancel()
        worker.stop()
