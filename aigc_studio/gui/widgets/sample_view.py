"""The sample grid of every epoch, an epoch scrubber, zoom, PNG save and GIF export."""

from __future__ import annotations

import contextlib
import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QImage, QPixmap, QResizeEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from aigc_studio import families
from aigc_studio.core.atomic import atomic_write_bytes
from aigc_studio.gui.threading import Outcome
from aigc_studio.gui.widgets.progress import LongTask
from aigc_studio.gui.widgets.qimage import load_qimage

_EPOCH_RE = re.compile(r"epoch_(\d+)\.png$", re.IGNORECASE)
ZOOMS = (("Fit", 0.0), ("100%", 1.0), ("200%", 2.0), ("400%", 4.0))


def epoch_of(path: Path) -> int | None:
    """The epoch number in ``samples/epoch_0007.png`` (None for other names)."""
    match = _EPOCH_RE.search(path.name)
    return int(match.group(1)) if match else None


def gif_steps(entries: list[tuple[int, np.ndarray | Path]], path: Path, *,
              ms_per_frame: int = 400) -> Iterator[tuple[int, int]]:
    """Write every epoch's grid as a looping GIF (the last frame held longer), yielding
    ``(frames read, total)``; the GIF carries the run's provenance when the grids are its
    files. Runs off the GUI thread (the engine's GIF writer), stoppable between frames."""
    from PIL import Image

    from aigc_studio.core.provenance import ProvenanceError, read_provenance
    from aigc_studio.engine.explore import save_gif

    frames = []
    for done, (_, grid) in enumerate(entries, start=1):
        if isinstance(grid, Path):
            with Image.open(grid) as image:
                frames.append(np.asarray(image.convert("RGB")))
        else:
            frames.append(np.ascontiguousarray(grid[..., :3]))
        yield done, len(entries) + 1
    if not frames:
        raise ValueError("there are no sample grids to export yet")
    stamp = None
    last = entries[-1][1]
    if isinstance(last, Path):
        # an unstamped grid (an old run): the GIF says nothing rather than guess
        with contextlib.suppress(ProvenanceError):
            stamp = dataclasses.replace(read_provenance(last), kind="training-progress",
                                        epoch=entries[-1][0])
    save_gif(frames, path, fps=1000 / ms_per_frame, provenance=stamp,
             hold_last_ms=max(ms_per_frame * 4, 1500))
    yield len(entries) + 1, len(entries) + 1


class SampleView(QWidget):
    """Shows one epoch's grid; a slider scrubs over every epoch of the run."""

    epoch_shown = Signal(int)
    grids_changed = Signal()  # grids added or removed (what can be saved changed)
    gif_finished = Signal(object)  # Outcome of a training-progress GIF export
    message = Signal(str)  # a one-sentence status for the window (saved file, error)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._entries: list[tuple[int, np.ndarray | Path]] = []
        self._cache: dict[int, QImage] = {}
        self._follow = True
        self._zoom = 0.0
        self._gif_path = Path()
        self._gif_task = LongTask(self, "Export training progress as GIF",
                                  "Reading every epoch's grid…")
        self._gif_task.finished.connect(self._on_gif_done)

        self.title = QLabel("Samples")
        self.title.setObjectName("panelTitle")
        self.image = QLabel()
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.image.setObjectName("sampleImage")
        self.image.setToolTip(
            "The epoch grid: the same fixed inputs rendered after every epoch, so you can "
            "compare epochs directly. "
            + " ".join(f"{f.title}: {f.grid_caption}." for f in families.all_families()
                       if f.grid_caption)
        )
        self.scroll = QScrollArea()
        self.scroll.setWidget(self.image)
        self.scroll.setWidgetResizable(True)
        self.scroll.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.scroll.setMinimumSize(QSize(240, 240))

        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 0)
        self.slider.setEnabled(False)
        self.slider.setToolTip("Scrub through the sample grid of every epoch of this run.")
        self.slider.valueChanged.connect(self._on_slider)
        self.epoch_label = QLabel("No epochs yet")
        self.epoch_label.setMinimumWidth(110)
        self.epoch_label.setAlignment(
            Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        )

        self.zoom = QComboBox()
        for label, factor in ZOOMS:
            self.zoom.addItem(label, factor)
        self.zoom.setToolTip("Fit the grid to the panel, or show it at a fixed zoom.")
        self.zoom.currentIndexChanged.connect(self._on_zoom)
        self.save_button = QPushButton("Save PNG…")
        self.save_button.setToolTip("Save the grid shown here as a PNG file (Ctrl+S).")
        self.save_button.clicked.connect(self.save_dialog)
        self.gif_button = QPushButton("Export GIF…")
        self.gif_button.setToolTip(
            "Export every epoch's grid as an animated GIF: the whole training progress."
        )
        self.gif_button.clicked.connect(self.export_gif_dialog)

        top = QHBoxLayout()
        top.addWidget(self.title)
        top.addStretch(1)
        top.addWidget(QLabel("Zoom"))
        top.addWidget(self.zoom)
        scrub = QHBoxLayout()
        scrub.addWidget(self.slider, 1)
        scrub.addWidget(self.epoch_label)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.gif_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.scroll, 1)
        layout.addLayout(scrub)
        layout.addLayout(buttons)
        self._update_controls()
        self._show_empty()

    # --- data ------------------------------------------------------------------------------
    def clear(self) -> None:
        """Forget every grid."""
        self._entries.clear()
        self._cache.clear()
        self._follow = True
        self.slider.blockSignals(True)
        self.slider.setRange(0, 0)
        self.slider.blockSignals(False)
        self._update_controls()
        self._show_empty()

    def add_grid(self, epoch: int, grid: np.ndarray | Path) -> None:
        """Add (or replace) an epoch's grid; the view follows the newest while at the end."""
        for i, (known, _) in enumerate(self._entries):
            if known == epoch:
                self._entries[i] = (epoch, grid)
                self._cache.pop(i, None)
                if i == self.slider.value():
                    self._show(i)
                return
        at_end = self._follow or self.slider.value() >= len(self._entries) - 1
        self._entries.append((epoch, grid))
        self._entries.sort(key=lambda e: e[0])
        self._cache.clear()
        self.slider.blockSignals(True)
        self.slider.setRange(0, len(self._entries) - 1)
        self.slider.blockSignals(False)
        self._update_controls()
        if at_end:
            self.slider.setValue(len(self._entries) - 1)
            self._show(len(self._entries) - 1)
        else:
            self._show(self.slider.value())

    def truncate(self, epoch: int) -> None:
        """Drop grids after ``epoch`` (a resume redoes them)."""
        kept = [e for e in self._entries if e[0] <= epoch]
        if len(kept) != len(self._entries):
            self.clear()
            for known, grid in kept:
                self.add_grid(known, grid)

    def set_paths(self, paths: list[Path]) -> None:
        """Replace all grids by sample files (``epoch_NNNN.png``), showing the newest."""
        self.clear()
        for index, path in enumerate(paths, start=1):
            self.add_grid(epoch_of(path) or index, path)

    def epochs(self) -> list[int]:
        """Epoch numbers that have a grid."""
        return [e for e, _ in self._entries]

    def shown_epoch(self) -> int | None:
        """The epoch whose grid is on screen."""
        if not self._entries:
            return None
        return self._entries[self.slider.value()][0]

    def show_epoch(self, epoch: int) -> None:
        """Move the scrubber to an epoch."""
        for i, (known, _) in enumerate(self._entries):
            if known == epoch:
                self.slider.setValue(i)
                return

    def current_image(self) -> QImage | None:
        """The grid on screen as a QImage."""
        if not self._entries:
            return None
        return self._image(self.slider.value())

    def _image(self, index: int) -> QImage:
        if index not in self._cache:
            self._cache[index] = load_qimage(self._entries[index][1])
        return self._cache[index]

    # --- display ---------------------------------------------------------------------------
    def _on_slider(self, index: int) -> None:
        self._follow = index >= len(self._entries) - 1
        self._show(index)

    def _on_zoom(self, _index: int) -> None:
        self._zoom = float(self.zoom.currentData())
        self.scroll.setWidgetResizable(self._zoom == 0.0)
        if self._entries:
            self._show(self.slider.value())

    def _show_empty(self) -> None:
        self.image.setPixmap(QPixmap())
        self.image.setText("Sample grids appear here\nafter every epoch.")
        self.epoch_label.setText("No epochs yet")

    def _show(self, index: int) -> None:
        if not self._entries:
            self._show_empty()
            return
        index = min(max(index, 0), len(self._entries) - 1)
        epoch = self._entries[index][0]
        image = self._image(index)
        if image.isNull():
            self.image.setPixmap(QPixmap())
            self.image.setText(f"The grid of epoch {epoch} cannot be read.")
        else:
            self.image.setPixmap(self._scaled(QPixmap.fromImage(image)))
        last = self._entries[-1][0]
        self.epoch_label.setText(f"Epoch {epoch} of {last}")
        self.epoch_shown.emit(epoch)

    def _scaled(self, pixmap: QPixmap) -> QPixmap:
        if self._zoom == 0.0:
            area = self.scroll.viewport().size() - QSize(4, 4)
            if area.width() < 16 or area.height() < 16:
                return pixmap
            bigger = area.width() > pixmap.width() and area.height() > pixmap.height()
            mode = (
                Qt.TransformationMode.FastTransformation
                if bigger
                else Qt.TransformationMode.SmoothTransformation
            )
            return pixmap.scaled(area, Qt.AspectRatioMode.KeepAspectRatio, mode)
        size = pixmap.size() * self._zoom
        scaled = pixmap.scaled(
            size, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.FastTransformation
        )
        self.image.resize(scaled.size())
        return scaled

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Refit the grid to the new size."""
        super().resizeEvent(event)
        if self._entries and self._zoom == 0.0:
            self._show(self.slider.value())

    def _update_controls(self) -> None:
        has = bool(self._entries)
        self.slider.setEnabled(len(self._entries) > 1)
        self.save_button.setEnabled(has)
        self.gif_button.setEnabled(len(self._entries) > 1)
        self.grids_changed.emit()

    # --- saving ----------------------------------------------------------------------------
    def save_png(self, path: Path) -> bool:
        """Save the grid on screen at its native size; True on success. A grid that is a
        run's file is copied byte for byte, so its provenance chunk comes along."""
        image = self.current_image()
        if image is None or image.isNull():
            self.message.emit("There is no sample grid to save yet.")
            return False
        source = self._entries[self.slider.value()][1]
        try:
            if isinstance(source, Path):
                atomic_write_bytes(Path(path), source.read_bytes())
            elif not image.save(str(path), "PNG"):
                raise OSError("the image could not be encoded")
        except OSError as exc:
            self.message.emit(f"Could not write {path} ({exc}).")
            return False
        self.message.emit(f"Saved the grid of epoch {self.shown_epoch()} to {path}.")
        return True

    def export_gif(self, path: Path) -> None:
        """Save every epoch's grid as an animated GIF in the background (progress, Cancel);
        ``message`` says how it ended."""
        if len(self._entries) < 2:
            self.message.emit("A training-progress GIF needs at least two epochs.")
            return
        self._gif_path = Path(path)
        self._gif_task.start(gif_steps, list(self._entries), Path(path))

    def _on_gif_done(self, outcome: Outcome) -> None:
        path = self._gif_path
        if outcome.cancelled:
            self.message.emit(f"GIF export cancelled; {path} was not written.")
        elif outcome.error is not None:
            self.message.emit(f"Could not export the GIF to {path}: {outcome.error}")
        else:
            self.message.emit(f"Exported {len(self._entries)} epochs to {path}.")
        self.gif_finished.emit(outcome)

    def save_dialog(self) -> None:
        """Ask for a file name and save the grid on screen."""
        if not self._entries:
            self.message.emit("There is no sample grid to save yet.")
            return
        name = f"samples_epoch_{self.shown_epoch():04d}.png"
        path, _ = QFileDialog.getSaveFileName(self, "Save grid as PNG", name, "PNG (*.png)")
        if path:
            self.save_png(Path(path))

    def export_gif_dialog(self) -> None:
        """Ask for a file name and export the training progress as a GIF."""
        path, _ = QFileDialog.getSaveFileName(
            self, "Export training progress as GIF", "training_progress.gif", "GIF (*.gif)"
        )
        if path:
            self.export_gif(Path(path))
