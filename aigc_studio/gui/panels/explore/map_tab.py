"""The explorer's *Latent map* tab, for any model whose family encodes (autoencoder, VAE).

Left, the run's data-set images encoded and drawn as points (coloured by class where the data
has labels); right, the decoder's grid over the same range, cell for cell (the manifold plot
of Kingma & Welling). Click or drag anywhere on either to decode that point live; drop an image
file on the tab to see where it lands and how the model rebuilds it. "Save map…" writes the
PNG ``aigc-studio map`` writes.

Every model call is a :class:`~aigc_studio.gui.panels.explore.worker.RenderWorker` job built
on ``engine.latent_map``; this file only draws the arrays it gets back (no torch at import).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from pyqtgraph.GraphicsScene.mouseEvents import MouseClickEvent, MouseDragEvent
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from aigc_studio.gui.model_info import ModelInfo, with_article
from aigc_studio.gui.panels.explore.worker import MapPointRequest, MapRequest, MapResult
from aigc_studio.gui.widgets.views import ImageView, MessagePage, side_column

if TYPE_CHECKING:  # pragma: no cover - typing only; torch stays unloaded at import time
    from aigc_studio.engine.inference import Reconstruction

CURSOR_PEN = pg.mkPen("#ffffff", width=2)
LANDED_BRUSH = pg.mkBrush("#ffd54f")


class _PickBox(pg.ViewBox):
    """A view box whose left button picks map points (a click, or every step of a drag)
    instead of panning; the wheel and the right button still zoom."""

    picked = Signal(float, float)

    def mouseClickEvent(self, ev: MouseClickEvent) -> None:
        """A left click picks the point under the mouse."""
        if ev.button() == Qt.MouseButton.LeftButton:
            ev.accept()
            self._pick(ev.scenePos())
        else:
            super().mouseClickEvent(ev)

    def mouseDragEvent(self, ev: MouseDragEvent, axis: int | None = None) -> None:
        """A left drag decodes live along its path (the worker keeps only the newest)."""
        if ev.button() == Qt.MouseButton.LeftButton:
            ev.accept()
            self._pick(ev.scenePos())
        else:
            super().mouseDragEvent(ev, axis)

    def _pick(self, scene_pos: QPointF) -> None:
        point = self.mapSceneToView(scene_pos)
        self.picked.emit(point.x(), point.y())


class _DropArea(QWidget):
    """The tab's page: takes dropped image files before the window's own drop routing does."""

    files_dropped = Signal(list)  # [Path]

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAcceptDrops(True)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        """Accept local files only."""
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        """Hand the dropped files on."""
        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.files_dropped.emit(paths)


def _marker(symbol: str, size: int, brush: object = None) -> pg.ScatterPlotItem:
    item = pg.ScatterPlotItem(size=size, symbol=symbol, pen=CURSOR_PEN, brush=brush)
    item.setZValue(10)
    return item


def _hex(rgb: Sequence[int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


class MapTab:
    """The Latent map tab's widgets and behaviour, mixed into :class:`ExplorerPanel`."""

    map_built = Signal(int)  # points on the map
    map_point_shown = Signal(float, float)  # the decoded point now on screen
    map_landed = Signal(float, float)  # where a dropped image landed
    map_saved = Signal(object)  # Path of the PNG written
    map_error = Signal(str)  # a build, point, drop or save failed (one sentence)

    def _build_map(self) -> QWidget:
        self._map_serial = 0  # newest build asked for
        self._map_point_serial = 0  # newest point asked for
        self._map_shown_point = 0  # serial of the point on screen
        self._map_drop_serial = 0
        self._map_result: MapResult | None = None
        self._map_dirty = True
        self._map_at: tuple[float, float] | None = None  # the newest point asked for
        self._map_shown_at: tuple[float, float] | None = None  # the point on screen
        self._map_landed_at: tuple[float, float] | None = None
        self._map_defaults_set = False
        self._map_disabled: dict[QWidget, str] = {}  # sampling tabs switched off: their tips
        self._map_action_kind = ""
        for signal, slot in ((self.worker.map_progress, self._on_map_progress),
                             (self.worker.map_ready, self._on_map_ready),
                             (self.worker.map_failed, self._on_map_failed),
                             (self.worker.map_point_ready, self._on_map_point),
                             (self.worker.map_located, self._on_map_located),
                             (self.worker.map_job_failed, self._on_map_job_failed),
                             (self.worker.map_saved, self._on_map_saved)):
            signal.connect(slot)
        self.tabs.currentChanged.connect(self._on_map_tab)

        self.map_limit_spin = QSpinBox()
        self.map_limit_spin.setRange(2, 100_000)
        self.map_limit_spin.setSingleStep(500)
        self.map_limit_spin.setToolTip("How many of the run's data-set images are encoded and "
                                       "drawn as points.")
        self.map_grid_spin = QSpinBox()
        self.map_grid_spin.setRange(2, 64)
        self.map_grid_spin.setToolTip("Decoded images per side of the grid on the right.")
        self.map_build_button = QPushButton("Rebuild")
        self.map_build_button.setToolTip("Encode the images and decode the grid again with "
                                         "these numbers.")
        self.map_build_button.clicked.connect(self.build_map)
        self.map_busy = QProgressBar()
        self.map_busy.setRange(0, 0)  # busy: the engine reports phases, not fractions
        self.map_busy.setFixedWidth(90)
        self.map_busy.setTextVisible(False)
        self.map_status = QLabel("")
        self.map_status.setObjectName("hint")
        self.map_cancel_button = QPushButton("Cancel")
        self.map_cancel_button.setToolTip("Stop building the map.")
        self.map_cancel_button.clicked.connect(self.cancel_map)
        self.map_save_button = QPushButton("Save map…")
        self.map_save_button.setToolTip("Save the scatter and the decoded grid side by side as "
                                        "a PNG (the one `aigc-studio map` writes), with where "
                                        "it came from written inside.")
        self.map_save_button.clicked.connect(self._save_map_dialog)
        self.map_reconstruct_button = QPushButton("Reconstruct images…")
        self.map_reconstruct_button.setToolTip("Open this model in the reconstruction panel: "
                                               "error maps, PSNR and SSIM for your own images.")
        self.map_reconstruct_button.clicked.connect(self._on_note_button)
        bar = QHBoxLayout()
        for text, widget in (("Images", self.map_limit_spin), ("Grid", self.map_grid_spin)):
            bar.addWidget(QLabel(text))
            bar.addWidget(widget)
            bar.addSpacing(6)
        bar.addWidget(self.map_build_button)
        bar.addSpacing(10)
        bar.addWidget(self.map_busy)
        bar.addWidget(self.map_status, 1)
        bar.addWidget(self.map_cancel_button)
        bar.addWidget(self.map_save_button)
        bar.addWidget(self.map_reconstruct_button)
        self.map_caption = QLabel("")
        self.map_caption.setWordWrap(True)
        self.map_caption.setStyleSheet("font-weight: 600;")
        self.map_hint = QLabel("")
        self.map_hint.setObjectName("hint")
        self.map_hint.setWordWrap(True)

        self.map_message = MessagePage("", "")
        self.map_action = self.map_message.add_action("")
        self.map_action.clicked.connect(self._on_map_action)

        self.map_plot = pg.PlotWidget(viewBox=_PickBox())
        self.map_grid_plot = pg.PlotWidget(viewBox=_PickBox())
        self.map_grid_image = pg.ImageItem(axisOrder="row-major")
        self.map_grid_plot.addItem(self.map_grid_image)
        self.map_grid_plot.setXLink(self.map_plot)
        self.map_grid_plot.setYLink(self.map_plot)
        self._map_points: list[pg.ScatterPlotItem] = []
        self._map_cursors = [_marker("o", 16), _marker("o", 16)]
        self._map_landed_marks = [_marker("star", 22, LANDED_BRUSH),
                                  _marker("star", 22, LANDED_BRUSH)]
        for plot, cursor, landed in zip((self.map_plot, self.map_grid_plot), self._map_cursors,
                                        self._map_landed_marks, strict=True):
            plot.addItem(cursor)
            plot.addItem(landed)
            plot.showGrid(x=True, y=True, alpha=0.12)
            plot.getViewBox().picked.connect(self.decode_map_point)
            plot.setToolTip("Click or drag anywhere to decode that point; the wheel zooms.")
        self.map_legend = QLabel("")
        self.map_legend.setTextFormat(Qt.TextFormat.RichText)
        self.map_legend.setWordWrap(True)
        plots = QHBoxLayout()
        plots.addWidget(self.map_plot, 1)
        plots.addWidget(self.map_grid_plot, 1)
        left = QVBoxLayout()
        left.addLayout(plots, 1)
        left.addWidget(self.map_legend)

        self.map_point_view = ImageView("Click or drag anywhere on the map to decode that "
                                        "point.")
        self.map_point_view.setMinimumHeight(250)
        self.map_point_label = QLabel("")
        self.map_point_label.setWordWrap(True)
        decoded = QGroupBox("Decoded point")
        box = QVBoxLayout(decoded)
        box.addWidget(self.map_point_view, 1)
        box.addWidget(self.map_point_label)
        self.map_dropped_view = ImageView("Drop an image file here")
        self.map_rebuilt_view = ImageView("")
        for view in (self.map_dropped_view, self.map_rebuilt_view):
            view.setMinimumHeight(120)
        self.map_dropped_view.setToolTip("The dropped image, as the model sees it.")
        self.map_rebuilt_view.setToolTip("How the model rebuilds the dropped image.")
        self.map_landed_label = QLabel("Drop an image file on this tab to see where it lands "
                                       "on the map and how the model rebuilds it.")
        self.map_landed_label.setObjectName("hint")
        self.map_landed_label.setWordWrap(True)
        dropped = QGroupBox("Dropped image")
        pair = QHBoxLayout()
        pair.addWidget(self.map_dropped_view)
        pair.addWidget(self.map_rebuilt_view)
        box = QVBoxLayout(dropped)
        box.addLayout(pair)
        box.addWidget(self.map_landed_label)

        content = QWidget()
        row = QHBoxLayout(content)
        row.setContentsMargins(0, 0, 0, 0)
        row.addLayout(left, 1)
        row.addWidget(side_column(decoded, dropped, width=300))
        self.map_stack = QStackedWidget()
        self.map_stack.addWidget(self.map_message)
        self.map_stack.addWidget(content)

        self.map_page = _DropArea()
        self.map_page.files_dropped.connect(lambda paths: self.locate_image(paths[0]))
        layout = QVBoxLayout(self.map_page)
        layout.addLayout(bar)
        layout.addWidget(self.map_caption)
        layout.addWidget(self.map_hint)
        layout.addWidget(self.map_stack, 1)
        self._map_set_busy("")
        return self.map_page

    # --- public API ----------------------------------------------------------------------
    def build_map(self) -> None:
        """Encode the data set and decode the grid (in the background; a newer build wins)."""
        if self._info is None or not self._info.capabilities.encodes:
            return
        self._map_dirty = False
        self._map_serial += 1
        limit, grid = self.map_limit_spin.value(), self.map_grid_spin.value()
        self.worker.submit_map(MapRequest(limit, grid, self._map_serial))
        self._map_set_busy("Starting…")
        if self._map_result is None:
            self._map_show_message("Building the latent map…",
                                   f"Encoding up to {limit} images of the run's data set.",
                                   "cancel")

    def cancel_map(self) -> None:
        """Stop the build under way; the map on screen (if any) stays."""
        self._map_serial += 1  # whatever the running build still sends is stale
        self.worker.cancel_map()
        self._map_set_busy("")
        if self._map_result is None:
            self._map_dirty = True
            self._map_show_message("The map was not built",
                                   "Building was cancelled; press Build the map to start "
                                   "again.", "build")

    def decode_map_point(self, x: float, y: float) -> None:
        """Decode map point (x, y) and show it (latest wins while dragging)."""
        if self._map_result is None:
            return
        self._map_point_serial += 1
        self._map_at = (float(x), float(y))
        for cursor in self._map_cursors:
            cursor.setData([x], [y])
        self.worker.submit_map_point(MapPointRequest(float(x), float(y),
                                                     serial=self._map_point_serial))

    def locate_image(self, path: Path) -> None:
        """Encode an image file and mark where it lands on the map, beside its reconstruction."""
        if self._info is None or not self._info.capabilities.encodes:
            return
        self._map_drop_serial += 1
        self.map_landed_label.setText(f"Encoding {Path(path).name}…")
        self.worker.submit_map_point(MapPointRequest(path=Path(path),
                                                     serial=self._map_drop_serial))

    def save_map(self, path: Path) -> None:
        """Write the map PNG (in the background); ``map_saved`` says where when it is done."""
        result = self._map_result
        if result is None:
            self._on_map_job_failed("There is no map to save yet.")
            return
        marks = (self._map_landed_at,) if self._map_landed_at is not None else ()
        self.worker.save_map(Path(path), result.grid, marks)

    def map_result(self) -> MapResult | None:
        """The map on screen (None before one is built)."""
        return self._map_result

    def map_point_count(self) -> int:
        """Points drawn on the map."""
        return sum(len(item.data) for item in self._map_points)

    def map_point(self) -> tuple[float, float] | None:
        """The map point whose decoded image is on screen."""
        return self._map_shown_at

    def map_image(self) -> np.ndarray | None:
        """The decoded image on screen."""
        return self.map_point_view.image()

    def landed_point(self) -> tuple[float, float] | None:
        """Where the last dropped image landed."""
        return self._map_landed_at

    def map_tab_index(self) -> int:
        """The Latent map tab's index in the explorer's tabs."""
        return self.tabs.indexOf(self.map_page)

    # --- model changes ---------------------------------------------------------------------
    def _map_loaded(self, info: ModelInfo) -> None:
        """A model loaded: the map tab is there for models that encode; a model that does not
        sample opens on it, with the sampling tabs switched off (their tooltip says why)."""
        caps = info.capabilities
        index = self.map_tab_index()
        self.tabs.setTabVisible(index, caps.encodes)
        self._map_sampling_tabs(info)
        self._map_result, self._map_at, self._map_landed_at = None, None, None
        self._map_shown_at = None
        self._map_serial += 1
        self._map_shown_point = 0
        self._map_dirty = True
        self._map_set_busy("")
        for item in (*self._map_cursors, *self._map_landed_marks):
            item.setData([], [])
        for view in (self.map_point_view, self.map_dropped_view, self.map_rebuilt_view):
            view.set_image(None)
        self.map_point_label.setText("")
        self.map_caption.setText("")
        self.map_hint.setText("")
        if not caps.encodes:
            return
        if not self._map_defaults_set:  # the engine's defaults (torch is loaded by now)
            from aigc_studio.engine.latent_map import DEFAULT_GRID, DEFAULT_LIMIT

            self.map_limit_spin.setValue(DEFAULT_LIMIT)
            self.map_grid_spin.setValue(DEFAULT_GRID)
            self._map_defaults_set = True
        self._map_show_message("No map yet", "Build the map to encode the run's data set.",
                               "build")
        if not caps.samples:
            self.tabs.setCurrentIndex(index)
        if self.tabs.currentIndex() == index:
            self.build_map()

    def _map_sampling_tabs(self, info: ModelInfo) -> None:
        """Every other tab draws images from noise: off (with the reason) for a model that
        does not sample, back on for one that does."""
        why = (f"{with_article(info.family.title).capitalize()} does not draw images from noise,"
               " so there are no seeds to explore; use the Latent map or the reconstruction "
               "panel.")
        for i in range(self.tabs.count()):
            page = self.tabs.widget(i)
            if page is self.map_page:
                continue
            if not info.capabilities.samples and self.tabs.isTabEnabled(i):
                self._map_disabled[page] = self.tabs.tabToolTip(i)
                self.tabs.setTabEnabled(i, False)
                self.tabs.setTabToolTip(i, why)
            elif info.capabilities.samples and page in self._map_disabled:
                self.tabs.setTabEnabled(i, True)
                self.tabs.setTabToolTip(i, self._map_disabled.pop(page))

    def _on_map_tab(self, index: int) -> None:
        if index == self.map_tab_index() and self._map_dirty:
            self.build_map()

    # --- worker results --------------------------------------------------------------------
    def _on_map_progress(self, serial: int, text: str) -> None:
        if serial != self._map_serial:
            return
        self._map_set_busy(text)
        if self._map_result is None:
            self.map_message.body.setText(text)

    def _on_map_ready(self, serial: int, result: MapResult) -> None:
        if serial != self._map_serial:
            return  # a newer build, a cancel or another model came since
        self._map_result = result
        self._map_set_busy("")
        self._draw_map(result)
        self.map_stack.setCurrentIndex(1)
        if self._map_at is not None:
            self.decode_map_point(*self._map_at)
        self.map_built.emit(len(result.coords))

    def _on_map_failed(self, serial: int, text: str) -> None:
        if serial != self._map_serial or not text:
            return
        self._map_set_busy("")
        self._map_dirty = True
        if self._map_result is None:
            self._map_show_message("Could not build the latent map", text, "retry")
        else:
            self.banner.show_message(text, "error", "Dismiss")
        self.map_error.emit(text)

    def _on_map_point(self, serial: int, x: float, y: float, image: np.ndarray) -> None:
        if serial < self._map_shown_point or self._map_result is None:
            return  # an older point finished after a newer one was shown
        self._map_shown_point, self._map_shown_at = serial, (x, y)
        self.map_point_view.set_image(image)
        ax, ay = self._map_result.axis_names
        self.map_point_label.setText(f"{ax} = {x:+.3f}    {ay} = {y:+.3f}")
        self.map_point_shown.emit(x, y)

    def _on_map_located(self, serial: int, x: float, y: float, rec: Reconstruction) -> None:
        if serial != self._map_drop_serial or self._map_result is None:
            return
        self._map_landed_at = (x, y)
        for mark in self._map_landed_marks:
            mark.setData([x], [y])
        self.map_dropped_view.set_image(rec.original)
        self.map_rebuilt_view.set_image(rec.reconstruction)
        ax, ay = self._map_result.axis_names
        self.map_landed_label.setText(
            f"{rec.path.name} lands at {ax} = {x:+.3f}, {ay} = {y:+.3f} (the yellow star); "
            f"left as the model sees it, right rebuilt: PSNR {rec.psnr:.1f} dB.")
        self.map_landed.emit(x, y)

    def _on_map_job_failed(self, text: str) -> None:
        self.banner.show_message(text, "error", "Dismiss")
        self.message.emit(text)
        self.map_error.emit(text)

    def _on_map_saved(self, path: Path) -> None:
        self.message.emit(f"Saved the latent map as {path}.")
        self.map_saved.emit(path)

    # --- drawing ---------------------------------------------------------------------------
    def _draw_map(self, result: MapResult) -> None:
        """Points by class on the left, the decoded grid over the same rectangle on the right."""
        from aigc_studio.engine.latent_map import UNLABELLED, class_color

        for item in self._map_points:
            self.map_plot.removeItem(item)
        self._map_points = []
        index = np.arange(len(result.coords))
        classes = (range(len(result.class_names)) if result.class_names else (None,))
        keys = []
        for k in classes:
            mask = (result.labels == k) if k is not None else np.ones(len(index), bool)
            color = class_color(k) if k is not None else UNLABELLED
            item = pg.ScatterPlotItem(result.coords[mask, 0], result.coords[mask, 1],
                                      data=index[mask], size=5, pen=None,
                                      brush=pg.mkBrush(*color, 210))
            item.sigClicked.connect(self._on_map_spot)
            self.map_plot.addItem(item)
            self._map_points.append(item)
            if k is not None:
                keys.append(f"<span style='color:{_hex(color)}'>&#9679;</span>&nbsp;"
                            f"{result.class_names[k]}")
        self.map_legend.setText("Classes:&nbsp;&nbsp;" + "&nbsp;&nbsp;&nbsp;".join(keys)
                                if keys else "")
        self.map_legend.setVisible(bool(keys))
        x0, x1, y0, y1 = result.extent
        self.map_grid_image.setImage(np.flipud(result.manifold))  # row 0 is the top (y1)
        self.map_grid_image.setRect(QRectF(x0, y0, x1 - x0, y1 - y0))
        ax, ay = result.axis_names
        for plot in (self.map_plot, self.map_grid_plot):
            plot.setLabel("bottom", ax)
            plot.setLabel("left", ay)
        count = len(result.coords)
        self.map_plot.setTitle(f"{count} encoded images of {result.dataset}", size="10pt")
        self.map_grid_plot.setTitle(f"Decoded {result.grid} × {result.grid} grid over the "
                                    "same range", size="10pt")
        self.map_plot.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0)
        self.map_caption.setText(result.note or "Latent size 2: the map is the latent space "
                                 "itself.")
        coloured = ", coloured by class" if keys else ""
        self.map_hint.setText(f"Each point is one of {count} images{coloured}. Click or drag "
                              "anywhere to decode that point; drop an image file here to see "
                              "where it lands.")

    def _on_map_spot(self, _item: pg.ScatterPlotItem, points: Sequence[pg.SpotItem],
                     _ev: MouseClickEvent) -> None:
        """A click on a data point decodes exactly that point (and names the image)."""
        result = self._map_result
        if result is None or not len(points):
            return
        index = int(points[0].data())
        x, y = (float(v) for v in result.coords[index])
        self.decode_map_point(x, y)
        label = (f", class {result.class_names[result.labels[index]]}"
                 if result.class_names else "")
        self.message.emit(f"Data-set image {index}{label}.")

    # --- states ----------------------------------------------------------------------------
    def _map_set_busy(self, text: str) -> None:
        """Busy bar, phase text and Cancel while a build runs; Save only with a map shown."""
        busy = bool(text)
        self.map_busy.setVisible(busy)
        self.map_cancel_button.setVisible(busy)
        self.map_status.setText(text)
        self.map_build_button.setEnabled(not busy)
        self.map_save_button.setEnabled(not busy and self._map_result is not None)

    def _map_show_message(self, title: str, text: str, action: str) -> None:
        """The tab's one-sentence page (building, cancelled, failed), with its next step."""
        self.map_message.heading.setText(title)
        self.map_message.body.setText(text)
        self._map_action_kind = action
        self.map_action.setText({"cancel": "Cancel", "retry": "Try again"}.get(action,
                                                                              "Build the map"))
        self.map_stack.setCurrentIndex(0)

    def _on_map_action(self) -> None:
        if self._map_action_kind == "cancel":
            self.cancel_map()
        else:
            self.build_map()

    def _save_map_dialog(self) -> None:
        name = f"{self._info.title}-latent-map.png" if self._info is not None else "map.png"
        path, _ = QFileDialog.getSaveFileName(self, "Save the latent map", name,
                                              "PNG images (*.png)")
        if path:
            self.save_map(Path(path))
