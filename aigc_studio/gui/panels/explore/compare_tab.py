"""The explorer's *Compare epochs* tab: the same latents through every saved epoch of the
run, one row per epoch (each row is ``engine.epoch_compare.epoch_strip``), saved as one
stamped PNG."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from aigc_studio.gui.panels.explore.export import write_png
from aigc_studio.gui.panels.explore.worker import CompareRequest
from aigc_studio.gui.widgets.views import ImageView, seed_spin


class CompareTab:
    """The Compare epochs tab's widgets and behaviour, mixed into :class:`ExplorerPanel`."""

    def _build_compare(self) -> QWidget:
        self.compare_seed = seed_spin("The first of the seeds whose images are compared.")
        self.compare_count = QSpinBox()
        self.compare_count.setRange(1, 16)
        self.compare_count.setValue(8)
        self.compare_count.setToolTip("How many images (consecutive seeds) each epoch shows.")
        self.compare_button = QPushButton("Compare")
        self.compare_button.setObjectName("primary")
        self.compare_button.setToolTip("Render the same noise with the weights saved after "
                                       "every epoch, one row per epoch.")
        self.compare_button.clicked.connect(self.refresh_compare)
        self.compare_save_button = QPushButton("Save image…")
        self.compare_save_button.setToolTip("Save the rows as one PNG (oldest epoch at the top) "
                                            "that records the run, seeds and epochs.")
        self.compare_save_button.clicked.connect(self._save_compare_dialog)
        self.compare_status = QLabel("")
        self.compare_status.setObjectName("hint")
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Seed"))
        bar.addWidget(self.compare_seed)
        bar.addSpacing(8)
        bar.addWidget(QLabel("Images"))
        bar.addWidget(self.compare_count)
        bar.addWidget(self.compare_button)
        bar.addSpacing(12)
        bar.addWidget(self.compare_status, 1)
        bar.addWidget(self.compare_save_button)

        self._compare_request_seed = self._compare_request_count = 0  # what the rows show
        self.compare_list = _CompareList()
        scroll = QScrollArea()
        scroll.setWidget(self.compare_list)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.addLayout(bar)
        layout.addWidget(scroll, 1)
        self.compare_page = page
        self.register_saver(page, self.save_compare)
        return page

    def compare_rows(self) -> list[tuple[int, np.ndarray]]:
        """[(epoch, strip image)] shown in the comparison, in epoch order."""
        return list(self._compare_rows)

    def refresh_compare(self) -> None:
        """Render the chosen seeds with every saved epoch (in the background, row by row)."""
        if self._info is None or not self._info.capabilities.samples:
            return
        self._compare_dirty = False
        self._compare_serial += 1
        self._compare_rows = []
        self.compare_list.clear()
        saved = self._info.epochs_saved
        self.compare_status.setText(f"Loading {saved} saved epochs…" if saved else "Loading…")
        self._compare_request_seed = self.compare_seed.value()
        self._compare_request_count = self.compare_count.value()
        self.worker.submit_compare(CompareRequest(self._compare_request_seed,
                                                  self._compare_request_count,
                                                  self._compare_serial))

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
            done = f"{rows} saved epoch{'s' if rows != 1 else ''}, oldest at the top."
            self.compare_status.setText(f"{done} {text}".strip())
        else:
            self.compare_status.setText(text or "No saved epochs.")
        self.compare_done.emit(rows)


    def save_compare(self, path: Path) -> Path:
        """Every row shown, oldest epoch at the top, as one PNG stamped with the run, the
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
            n=self._compare_request_count, first_epoch=epochs[0], last_epoch=epochs[-1],
            rows=len(rows)))

    def _save_compare_dialog(self) -> None:
        self.save_dialog("Save the epoch comparison", "epochs.png", "PNG images (*.png)",
                         self.save_compare)


class _CompareList(QWidget):
    """Rows of "Epoch N | strip", every strip at the same whole-number zoom."""

    LABEL_WIDTH = 90

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rows: list[tuple[QWidget, ImageView, np.ndarray]] = []
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
        view = ImageView()
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

    def _fit(self, view: ImageView, image: np.ndarray) -> None:
        h, w = image.shape[:2]
        avail = max(w, self.width() - self.LABEL_WIDTH - 24)
        scale = max(1, min(6, avail // w))
        view.setFixedHeight(h * scale + 8)

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Keep every strip as large as the width allows."""
        super().resizeEvent(event)
        for _, view, image in self._rows:
            self._fit(view, image)

