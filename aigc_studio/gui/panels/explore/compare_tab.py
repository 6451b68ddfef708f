"""The explorer's *Compare epochs* tab: the same latents through the saved epochs the user
picks (all, the last K, every Nth), newest at the top, one row per epoch sized to the view's
width (each row is ``engine.epoch_compare.epoch_strip``), saved as one stamped PNG."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from aigc_studio.gui.panels.explore.epochs import (
    PICK_ALL,
    PICK_LAST,
    PICKS,
    pick_caption,
    pick_epochs,
    saved_epochs,
)
from aigc_studio.gui.panels.explore.export import write_png
from aigc_studio.gui.panels.explore.views import FillView
from aigc_studio.gui.panels.explore.worker import CompareRequest
from aigc_studio.gui.widgets.views import seed_spin

DEFAULT_LAST = 10  # rows shown by default: the newest ten epochs

class CompareTab:
    """The Compare epochs tab's widgets and behaviour, mixed into :class:`ExplorerPanel`."""

    def _build_compare(self) -> QWidget:
        self.compare_seed = seed_spin("The first of the seeds whose images are compared.")
        self.compare_count = QSpinBox()
        self.compare_count.setRange(1, 16)
        self.compare_count.setValue(8)
        self.compare_count.setKeyboardTracking(False)
        self.compare_count.setToolTip("How many images (consecutive seeds) each epoch shows.")
        self.compare_pick = QComboBox()
        for mode, text in PICKS:
            self.compare_pick.addItem(text, mode)
        self.compare_pick.setToolTip("Which saved epochs get a row: the newest few, every Nth "
                                     "counted back from the newest, or all of them.")
        self.compare_every = QSpinBox()
        self.compare_every.setRange(1, 9999)
        self.compare_every.setValue(DEFAULT_LAST)
        self.compare_every.setKeyboardTracking(False)
        self.compare_every.setToolTip("N: how many of the newest epochs, or the step between "
                                      "the epochs shown.")
        for signal in (self.compare_seed.valueChanged, self.compare_count.valueChanged,
                       self.compare_pick.currentIndexChanged, self.compare_every.valueChanged):
            signal.connect(self._on_compare_settings)
        self.compare_button = QPushButton("Compare")
        self.compare_button.setObjectName("primary")
        self.compare_button.setToolTip("Render the same noise with the weights saved after "
                                       "each picked epoch, one row per epoch, newest first.")
        self.compare_button.clicked.connect(self.refresh_compare)
        self.compare_save_button = QPushButton("Save image…")
        self.compare_save_button.setToolTip("Save the rows as one PNG (newest epoch at the top) "
                                            "that records the run, seeds and epochs.")
        self.compare_save_button.clicked.connect(self._save_compare_dialog)
        self.compare_status = QLabel("")
        self.compare_status.setObjectName("hint")
        self.compare_status.setWordWrap(True)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Seed"))
        bar.addWidget(self.compare_seed)
        bar.addSpacing(8)
        bar.addWidget(QLabel("Images"))
        bar.addWidget(self.compare_count)
        bar.addSpacing(8)
        bar.addWidget(QLabel("Epochs"))
        bar.addWidget(self.compare_pick)
        bar.addWidget(self.compare_every)
        bar.addWidget(self.compare_button)
        bar.addStretch(1)
        bar.addWidget(self.compare_save_button)

        self._compare_request_seed = self._compare_request_count = 0  # what the rows show
        self._compare_request_pick = pick_caption(PICK_LAST, DEFAULT_LAST)
        self.compare_list = _CompareList()
        scroll = QScrollArea()
        scroll.setWidget(self.compare_list)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.addLayout(bar)
        layout.addWidget(self.compare_status)
        layout.addWidget(scroll, 1)
        self.compare_page = page
        self.register_saver(page, self.save_compare)
        return page

    def compare_rows(self) -> list[tuple[int, np.ndarray]]:
        """[(epoch, strip image)] shown in the comparison, top row (newest epoch) first."""
        return list(self._compare_rows)

    def set_compare_epochs(self, mode: str, n: int | None = None) -> None:
        """Pick the epochs: ``"last"`` n, ``"every"`` nth or ``"all"`` (renders once)."""
        widgets = (self.compare_pick, self.compare_every)
        for w in widgets:
            w.blockSignals(True)
        self.compare_pick.setCurrentIndex(self.compare_pick.findData(mode))
        if n is not None:
            self.compare_every.setValue(int(n))
        for w in widgets:
            w.blockSignals(False)
        self._on_compare_settings()

    def compare_epochs_picked(self) -> list[int]:
        """The saved epochs the picker selects, newest first."""
        run_dir = self._info.run_dir if self._info is not None else None
        available = saved_epochs(run_dir) if run_dir is not None else {}
        mode = str(self.compare_pick.currentData())
        return pick_epochs(set(available), mode, self.compare_every.value())

    def refresh_compare(self) -> None:
        """Render the chosen seeds with the picked epochs (in the background, row by row)."""
        if self._info is None or not self._info.capabilities.samples:
            return
        self._compare_dirty = False
        self._compare_serial += 1
        self._compare_rows = []
        self.compare_list.clear()
        epochs = self.compare_epochs_picked()
        self.compare_status.setText(f"Loading {len(epochs)} saved epochs…" if epochs
                                    else "Loading…")
        self._compare_request_seed = self.compare_seed.value()
        self._compare_request_count = self.compare_count.value()
        self._compare_request_pick = pick_caption(str(self.compare_pick.currentData()),
                                                  self.compare_every.value())
        self.worker.submit_compare(CompareRequest(self._compare_request_seed,
                                                  self._compare_request_count,
                                                  self._compare_serial, tuple(epochs)))

    def _on_compare_settings(self, *_: object) -> None:
        """A changed seed, count or pick redraws now when the tab is in front (else later)."""
        self.compare_every.setEnabled(self.compare_pick.currentData() != PICK_ALL)
        self.compare_every.setPrefix("" if self.compare_pick.currentData() == PICK_LAST
                                     else "N = ")
        if self.tabs.currentWidget() is self.compare_page:
            self.refresh_compare()
        else:
            self._compare_dirty = True

    def _on_compare_row(self, serial: int, epoch: int, image: np.ndarray) -> None:
        if serial != self._compare_serial:
            return
        self._compare_rows.append((epoch, image))
        self.compare_list.add_row(epoch, image)
        self.compare_status.setText(f"{len(self._compare_rows)} epochs loaded…")
        self.compare_row_added.emit(epoch)

    def _on_compare_finished(self, serial: int, rows: int, text: str) -> None:
        if serial != self._compare_serial:
            return
        if rows:
            saved = self._info.epochs_saved if self._info is not None else rows
            done = (f"{rows} of {saved} saved epoch{'s' if saved != 1 else ''}, newest at "
                    "the top.")
            self.compare_status.setText(f"{done} {text}".strip())
        else:
            self.compare_status.setText(text or "No saved epochs.")
        self.compare_done.emit(rows)

    def save_compare(self, path: Path) -> Path:
        """Every row shown, newest epoch at the top, as one PNG stamped with the run, the
        seeds and the epochs (the sampler is each epoch's default)."""
        from aigc_studio.core.grid import make_grid
        from aigc_studio.errors import AigcError

        rows = self.compare_rows()
        if not rows:
            raise AigcError("There are no epochs to save yet; press Compare first.")
        epochs = [epoch for epoch, _ in rows]
        image = make_grid(np.stack([strip for _, strip in rows]), ncols=1)
        return write_png(image, path, self.stamp(
            "epoch-compare", seeds=(self._compare_request_seed,),
            n=self._compare_request_count, first_epoch=min(epochs), last_epoch=max(epochs),
            rows=len(rows), epochs=self._compare_request_pick, order="newest first"))

    def _save_compare_dialog(self) -> None:
        self.save_dialog("Save the epoch comparison", "epochs.png", "PNG images (*.png)",
                         self.save_compare)


class _CompareList(QWidget):
    """Rows of "Epoch N | strip", every strip as wide as the view (so a 16-image strip is
    not a thin line and an 8-image one fills the width)."""

    LABEL_WIDTH = 90
    MAX_ZOOM = 8  # one image of a 1-image strip would otherwise be taller than the screen

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rows: list[tuple[QWidget, FillView, np.ndarray]] = []
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(4, 4, 4, 4)
        self._layout.setSpacing(6)
        self._empty = QLabel("Press Compare to render the same noise with every saved epoch.")
        self._empty.setObjectName("hint")
        self._empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._layout.addWidget(self._empty)
        self._layout.addStretch(1)

    def clear(self) -> None:
        """Remove every row."""
        for row, _, _ in self._rows:
            self._layout.removeWidget(row)
            row.deleteLater()
        self._rows = []
        self._empty.show()

    def add_row(self, epoch: int, image: np.ndarray) -> None:
        """Append one epoch's strip."""
        self._empty.hide()
        row = QWidget()
        label = QLabel(f"Epoch {epoch}")
        label.setFixedWidth(self.LABEL_WIDTH)
        label.setStyleSheet("font-weight: 600;")
        view = FillView()
        view.set_image(image)
        view.setToolTip(f"The same latent vectors rendered with the weights saved after epoch "
                        f"{epoch}.")
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(label)
        layout.addWidget(view, 1)
        self._layout.insertWidget(self._layout.count() - 1, row)
        self._rows.append((row, view, image))
        self._fit(view, image)

    def _fit(self, view: FillView, image: np.ndarray) -> None:
        h, w = image.shape[:2]
        avail = max(self.LABEL_WIDTH, self.width() - self.LABEL_WIDTH - 24)
        view.setFixedHeight(round(h * min(self.MAX_ZOOM, avail / w)) + 8)

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Keep every strip as wide as the view."""
        super().resizeEvent(event)
        for _, view, image in self._rows:
            self._fit(view, image)

