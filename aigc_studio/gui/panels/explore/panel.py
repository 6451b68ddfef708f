"""The latent explorer: play with a trained GAN's latent space.

Three views on one model: *Explore* (a seed, sliders along latent axes and along principal
directions, re-rendered live), *Interpolate* (a walk between two seeds, played or exported as
a GIF / PNG frames) and *Compare epochs* (the same latents through every saved epoch).

All model work happens in a :class:`~aigc_studio.gui.render_worker.RenderWorker` thread where
the latest request wins; this module never imports torch at import time and never touches a
tensor. Results arrive as numpy arrays and are shown with :class:`ImageView`.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QRect, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QCloseEvent,
    QColor,
    QHideEvent,
    QImage,
    QPainter,
    QPaintEvent,
    QResizeEvent,
)
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from aigc_studio.gui.qimage import array_to_qimage
from aigc_studio.gui.render_worker import (
    CompareRequest,
    FramesRequest,
    ModelInfo,
    RenderWorker,
)
from aigc_studio.gui.style import ACCENT
from aigc_studio.gui.widgets import Banner

if TYPE_CHECKING:  # pragma: no cover
    from aigc_studio.engine.explore import RenderRequest

SEED_MAX = 2_147_483_647
RANDOM_SEED_MAX = 999_999  # random seeds stay short enough to read out and type back
SLIDER_STEPS = 100  # slider ticks per unit (one standard deviation)
LATENT_RANGE = 3.0  # latent axes: ±3 standard deviations covers almost all of N(0, 1)
PCA_RANGE = 5.0  # principal directions: a little wider, they move the image more gently
GRID_COUNTS = (1, 4, 9, 16, 25, 36, 64)
EXPORT_SCALES = (1, 2, 4, 8)
BACKGROUND = QColor("#101318")

# The app style sheet gives buttons padding and rounded corners, which makes Fusion drop their
# frame: plain buttons then read as text. Panels of this module draw them as buttons again
# (primary buttons are restated because a panel's sheet wins over the application's).
PANEL_STYLE = f"""
QPushButton {{ background: #21262d; border: 1px solid #3a3f47; border-radius: 4px;
    padding: 5px 12px; }}
QPushButton:hover {{ background: #2a313a; border-color: #4b525c; }}
QPushButton:pressed, QPushButton:checked {{ background: #30363d; }}
QPushButton:disabled {{ color: #6e7681; border-color: #30363d; }}
QPushButton#primary {{ background: {ACCENT}; color: #0d1117; font-weight: 700; border: none;
    padding: 6px 14px; }}
QPushButton#primary:hover {{ background: #6cb4fa; }}
QPushButton#primary:checked {{ background: #a5d2ff; }}
QPushButton#primary:disabled {{ background: #2c3b4d; color: #8a8f98; }}
"""


# --------------------------------------------------------------------------------------------
# Small building blocks (also used by the reconstruction panel)
# --------------------------------------------------------------------------------------------


class ImageView(QWidget):
    """Shows a uint8 image as large as fits, pixel-sharp (whole-number zoom when it can).

    Model outputs are 32 or 64 pixels; smoothing them when enlarged would blur exactly the
    detail a learner wants to see, so scaling is nearest-neighbour.
    """

    def __init__(self, placeholder: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._array: np.ndarray | None = None
        self._image: QImage | None = None
        self.placeholder = placeholder
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(QSize(64, 64))

    def set_image(self, image: np.ndarray | None) -> None:
        """Show ``image`` (H, W[, 3]) or the placeholder when None."""
        self._array = None if image is None else np.asarray(image)
        self._image = None if image is None else array_to_qimage(self._array)
        self.update()

    def image(self) -> np.ndarray | None:
        """The array on screen (None when empty)."""
        return self._array

    def target_rect(self) -> QRect:
        """Where the image is drawn inside the widget."""
        if self._image is None:
            return QRect()
        area = self.contentsRect().adjusted(4, 4, -4, -4)
        w, h = self._image.width(), self._image.height()
        scale = min(area.width() / w, area.height() / h)
        if scale >= 1:
            scale = float(int(scale))  # whole-number zoom keeps every pixel the same size
        tw, th = max(1, int(w * scale)), max(1, int(h * scale))
        return QRect(area.x() + (area.width() - tw) // 2, area.y() + (area.height() - th) // 2,
                     tw, th)

    def paintEvent(self, event: QPaintEvent) -> None:
        """Dark backdrop, then the image (or the placeholder text)."""
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(BACKGROUND)
        painter.drawRoundedRect(self.rect(), 6, 6)
        if self._image is None:
            if self.placeholder:
                painter.setPen(QColor("#7d8590"))
                painter.drawText(self.rect().adjusted(12, 12, -12, -12),
                                 int(Qt.AlignmentFlag.AlignCenter) | int(Qt.TextFlag.TextWordWrap),
                                 self.placeholder)
            painter.end()
            return
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        painter.drawImage(self.target_rect(), self._image)
        painter.end()


class OffsetSlider(QWidget):
    """A labelled horizontal slider for a signed offset in standard deviations."""

    moved = Signal(int, float)  # index, value

    def __init__(self, index: int, name: str, span: float, tooltip: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.index = index
        self.name = QLabel(name)
        self.name.setMinimumWidth(44)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        steps = round(span * SLIDER_STEPS)
        self.slider.setRange(-steps, steps)
        self.slider.setPageStep(SLIDER_STEPS // 2)
        self.slider.setToolTip(tooltip)
        self.value_label = QLabel("0.00")
        self.value_label.setMinimumWidth(42)
        self.value_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.name.setToolTip(tooltip)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.name)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.value_label)
        self.slider.valueChanged.connect(self._on_value)

    def value(self) -> float:
        """The offset in standard deviations."""
        return self.slider.value() / SLIDER_STEPS

    def set_value(self, value: float) -> None:
        """Move the slider (emits ``moved`` if the value changes)."""
        self.slider.setValue(round(value * SLIDER_STEPS))

    def _on_value(self, raw: int) -> None:
        self.value_label.setText(f"{raw / SLIDER_STEPS:+.2f}" if raw else "0.00")
        self.moved.emit(self.index, raw / SLIDER_STEPS)


class WrappedLabel(QLabel):
    """A fixed-width, word-wrapped label that always asks for the height its text needs.

    (A wrapped QLabel placed with an alignment flag is laid out by its one-line size hint and
    cuts the text off.)
    """

    def __init__(self, text: str = "", width: int = 560, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.setFixedWidth(width)
        self.setText(text)

    def setText(self, text: str) -> None:
        """Set the text and grow to fit it."""
        super().setText(text)
        self.setMinimumHeight(self.heightForWidth(self.width()) if text else 0)


def _seed_spin(tooltip: str) -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(0, SEED_MAX)
    spin.setAccelerated(True)
    spin.setKeyboardTracking(False)  # typing 1234 renders once, not for 1, 12, 123, 1234
    spin.setToolTip(tooltip)
    spin.setMinimumWidth(110)
    return spin


def _view_page(view: QWidget, below: QWidget, side: QWidget) -> QWidget:
    """A page with a large view (and a strip below it) left of a column of controls."""
    left = QVBoxLayout()
    left.addWidget(view, 1)
    left.addWidget(below)
    page = QWidget()
    layout = QHBoxLayout(page)
    layout.addLayout(left, 1)
    layout.addWidget(side)
    return page


def _page(title: str, text: str) -> tuple[QWidget, QLabel, QLabel]:
    """A centred message page (empty state, loading, errors)."""
    page = QWidget()
    heading = QLabel(title)
    heading.setObjectName("panelTitle")
    heading.setAlignment(Qt.AlignmentFlag.AlignCenter)
    heading.setStyleSheet("font-size: 15pt;")
    body = WrappedLabel(text)
    body.setObjectName("hint")
    body.setAlignment(Qt.AlignmentFlag.AlignCenter)
    body.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    layout = QVBoxLayout(page)
    layout.addStretch(1)
    layout.addWidget(heading)
    layout.addSpacing(8)
    layout.addWidget(body, 0, Qt.AlignmentFlag.AlignHCenter)
    layout.addStretch(2)
    return page, heading, body


# --------------------------------------------------------------------------------------------
# The panel
# --------------------------------------------------------------------------------------------


class ExplorerPanel(QWidget):
    """Walk a GAN's latent space: seeds, sliders, interpolation and an epoch comparison.

    Public API: :meth:`set_model`, :meth:`reload`, :meth:`shutdown`; the controls can be
    driven in code (``set_seed``, ``set_count``, ``set_latent_offset``, ``set_pca_offset``,
    ``set_interpolation``, ``set_position``, ``play``/``pause``, ``refresh_compare``) and the
    exports run without dialogs (``export_gif``, ``export_frames``).
    """

    model_loaded = Signal(object)  # ModelInfo
    load_failed = Signal(str)
    image_shown = Signal(int)  # serial of the render now on screen
    frames_changed = Signal(int)  # frames in the interpolation walk now shown
    directions_found = Signal(int)  # principal directions now usable
    compare_row_added = Signal(int)  # epoch
    compare_done = Signal(int)  # rows shown
    open_reconstruction = Signal(Path)  # the user wants to reconstruct with this autoencoder
    message = Signal(str)  # one sentence for the window's status bar

    PAGE_EMPTY, PAGE_LOADING, PAGE_NOTE, PAGE_MAIN = range(4)
    TAB_EXPLORE, TAB_INTERPOLATE, TAB_COMPARE = range(3)

    def __init__(self, parent: QWidget | None = None, *, latent_sliders: int = 8,
                 pca_sliders: int = 8, auto_directions: bool = True) -> None:
        super().__init__(parent)
        self.auto_directions = auto_directions  # find PCA directions as soon as a GAN loads
        self._directions: np.ndarray | None = None
        self._info: ModelInfo | None = None
        self._path: Path | None = None
        self._serial = 0
        self._min_serial = 1  # results older than this belong to a previous model
        self._shown_serial = 0
        self._frames_serial = 0
        self._compare_serial = 0
        self._compare_dirty = True
        self._frames: np.ndarray | None = None
        self._compare_rows: list[tuple[int, np.ndarray]] = []
        self._play_direction = 1
        self.stale_ignored = 0
        self._shut = False

        self.worker = RenderWorker()
        self.worker.model_loaded.connect(self._on_model_loaded)
        self.worker.load_failed.connect(self._on_load_failed)
        self.worker.rendered.connect(self._on_rendered)
        self.worker.render_failed.connect(self._on_render_failed)
        self.worker.frames_ready.connect(self._on_frames)
        self.worker.directions_ready.connect(self._on_directions)
        self.worker.compare_row.connect(self._on_compare_row)
        self.worker.compare_finished.connect(self._on_compare_finished)
        self.worker.start()
        # Embedded panels get no closeEvent when the window closes: stop on quit as well.
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)
        self.destroyed.connect(partial(_stop_worker, self.worker))

        self._timer = QTimer(self)
        self._timer.timeout.connect(self._advance_frame)

        self.setStyleSheet(PANEL_STYLE)
        self._build(latent_sliders, pca_sliders)
        self._show_empty()

    # ---------------------------------------------------------------- building the widgets
    def _build(self, latent_sliders: int, pca_sliders: int) -> None:
        title = QLabel("Latent explorer")
        title.setObjectName("panelTitle")
        self.model_label = QLabel("")
        self.model_label.setObjectName("hint")
        header = QHBoxLayout()
        header.addWidget(title)
        header.addSpacing(12)
        header.addWidget(self.model_label, 1)

        self.banner = Banner()
        self.banner.action.clicked.connect(self._on_banner_action)

        self.stack = QStackedWidget()
        empty, _, _ = _page(
            "No model open",
            "Train a DCGAN, or open a run folder or checkpoint, to walk its latent space: draw "
            "images from seeds, move along latent axes and principal directions, morph one seed "
            "into another and see how the same noise looked at every epoch.")
        loading, self.loading_title, self.loading_text = _page("Loading model…", "")
        note, self.note_title, self.note_text = _page("", "")
        self.note_button = QPushButton("Reconstruct images with this autoencoder")
        self.note_button.setObjectName("primary")
        self.note_button.setToolTip("Switch to the reconstruction panel with this model, where "
                                    "you can drop your own images on it.")
        self.note_button.clicked.connect(self._on_note_button)
        note_layout = note.layout()
        assert isinstance(note_layout, QVBoxLayout)
        note_layout.insertSpacing(4, 12)
        note_layout.insertWidget(5, self.note_button, 0, Qt.AlignmentFlag.AlignHCenter)
        self.stack.addWidget(empty)
        self.stack.addWidget(loading)
        self.stack.addWidget(note)

        self.tabs = QTabWidget()
        self.tabs.addTab(self._build_explore(latent_sliders, pca_sliders), "Explore")
        self.tabs.addTab(self._build_interpolate(), "Interpolate")
        self.tabs.addTab(self._build_compare(), "Compare epochs")
        self.tabs.setTabToolTip(self.TAB_EXPLORE, "Images from a seed, moved with sliders.")
        self.tabs.setTabToolTip(self.TAB_INTERPOLATE, "Morph one seed's image into another's.")
        self.tabs.setTabToolTip(self.TAB_COMPARE,
                                "The same noise through every saved epoch of the run.")
        self.tabs.currentChanged.connect(self._on_tab)
        self.stack.addWidget(self.tabs)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addLayout(header)
        layout.addWidget(self.banner)
        layout.addWidget(self.stack, 1)

    def _side(self, *widgets: QWidget) -> QScrollArea:
        """A fixed-width scrollable column of control groups."""
        column = QWidget()
        box = QVBoxLayout(column)
        box.setContentsMargins(0, 0, 6, 0)
        for widget in widgets:
            box.addWidget(widget)
        box.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(column)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setFixedWidth(360)
        return scroll

    def _build_explore(self, latent_sliders: int, pca_sliders: int) -> QWidget:
        self.view = ImageView("Rendering…")
        self.view.setToolTip("The generator's output for the seed and slider positions on the "
                             "right. Pixels are enlarged without smoothing.")
        self.render_label = QLabel("")
        self.render_label.setObjectName("hint")
        self.render_label.setAlignment(Qt.AlignmentFlag.AlignRight)

        self.seed_spin = _seed_spin("The seed picks the noise vector z the generator starts "
                                    "from. The same seed always gives the same image.")
        self.seed_spin.valueChanged.connect(self._request_render)
        self.random_button = QPushButton("Random")
        self.random_button.setToolTip("Draw a new random seed (a new noise vector).")
        self.random_button.clicked.connect(self.randomize)
        self.count_combo = QComboBox()
        for n in GRID_COUNTS:
            self.count_combo.addItem("1 large image" if n == 1 else f"{n} images", n)
        self.count_combo.setToolTip("One large image, or a grid of images from consecutive "
                                    "seeds, all moved by the same sliders.")
        self.count_combo.currentIndexChanged.connect(self._request_render)
        seed_row = QHBoxLayout()
        seed_row.addWidget(self.seed_spin, 1)
        seed_row.addWidget(self.random_button)
        seed_box = QGroupBox("Seed")
        seed_form = QFormLayout(seed_box)
        seed_form.addRow("Seed", seed_row)
        seed_form.addRow("Show", self.count_combo)

        self.latent_box = QGroupBox("Latent dimensions")
        self.latent_box.setToolTip("Move along single coordinates of z, in standard deviations. "
                                   "Single axes are often tangled; principal directions below "
                                   "usually change one thing at a time.")
        latent_layout = QVBoxLayout(self.latent_box)
        self.latent_sliders: list[OffsetSlider] = []
        for i in range(latent_sliders):
            row = OffsetSlider(i, f"z[{i}]", LATENT_RANGE,
                               f"Add to coordinate {i} of the noise vector z (in standard "
                               "deviations; 0 is the seed's own value).")
            row.moved.connect(self._request_render)
            latent_layout.addWidget(row)
            self.latent_sliders.append(row)

        self.pca_box = QGroupBox("Principal directions")
        self.pca_box.setToolTip("Directions in z along which the generator's early features "
                                "vary most (GANSpace PCA), strongest first.")
        pca_layout = QVBoxLayout(self.pca_box)
        self.pca_status = QLabel("Found after the model loads.")
        self.pca_status.setObjectName("hint")
        self.pca_status.setWordWrap(True)
        self.pca_button = QPushButton("Find directions")
        self.pca_button.setToolTip("Run 600 noise vectors through the generator's first layer and "
                                   "find the directions along which its output varies most.")
        self.pca_button.clicked.connect(self.find_directions)
        pca_layout.addWidget(self.pca_status)
        pca_layout.addWidget(self.pca_button)
        self.pca_sliders: list[OffsetSlider] = []
        for i in range(pca_sliders):
            row = OffsetSlider(i, f"PC {i + 1}", PCA_RANGE,
                               f"Move along principal direction {i + 1} (GANSpace): a direction "
                               "in z that changes the image a lot, found from 600 samples.")
            row.moved.connect(self._request_render)
            row.setEnabled(False)
            pca_layout.addWidget(row)
            self.pca_sliders.append(row)

        self.reset_button = QPushButton("Reset sliders")
        self.reset_button.setToolTip("Put every slider back to 0: the seed's own image.")
        self.reset_button.clicked.connect(self.reset_offsets)

        side = self._side(seed_box, self.latent_box, self.pca_box, self.reset_button)
        return _view_page(self.view, self.render_label, side)

    def _build_interpolate(self) -> QWidget:
        self.walk_view = ImageView("Rendering the walk…")
        self.walk_view.setToolTip("The frame at the position slider's place on the walk.")
        self.strip_view = ImageView("")
        self.strip_view.setFixedHeight(96)
        self.strip_view.setToolTip("The whole walk at a glance, from seed A (left) to seed B.")

        self.seed_a = _seed_spin("Where the walk starts: the noise vector of this seed.")
        self.seed_a.setValue(1)
        self.seed_b = _seed_spin("Where the walk ends: the noise vector of this seed.")
        self.seed_b.setValue(2)
        self.dice_a = QPushButton("Random")
        self.dice_a.setToolTip("Pick a new random seed for the start of the walk.")
        self.dice_b = QPushButton("Random")
        self.dice_b.setToolTip("Pick a new random seed for the end of the walk.")
        self.dice_a.clicked.connect(lambda: self.seed_a.setValue(_random_seed()))
        self.dice_b.clicked.connect(lambda: self.seed_b.setValue(_random_seed()))
        self.path_combo = QComboBox()
        self.path_combo.addItem("Spherical (slerp)", True)
        self.path_combo.addItem("Linear (lerp)", False)
        self.path_combo.setToolTip("Slerp follows the sphere where Gaussian noise lives; a "
                                   "straight line dips through low-norm points and can look "
                                   "washed out halfway.")
        self.steps_spin = QSpinBox()
        self.steps_spin.setRange(2, 240)
        self.steps_spin.setValue(24)
        self.steps_spin.setKeyboardTracking(False)
        self.steps_spin.setToolTip("How many frames the walk has, both ends included.")
        for signal in (self.seed_a.valueChanged, self.seed_b.valueChanged,
                       self.path_combo.currentIndexChanged, self.steps_spin.valueChanged):
            signal.connect(self._request_frames)
        row_a, row_b = QHBoxLayout(), QHBoxLayout()
        row_a.addWidget(self.seed_a, 1)
        row_a.addWidget(self.dice_a)
        row_b.addWidget(self.seed_b, 1)
        row_b.addWidget(self.dice_b)
        ends = QGroupBox("Walk")
        form = QFormLayout(ends)
        form.addRow("Seed A", row_a)
        form.addRow("Seed B", row_b)
        form.addRow("Path", self.path_combo)
        form.addRow("Frames", self.steps_spin)

        self.position = QSlider(Qt.Orientation.Horizontal)
        self.position.setRange(0, 0)
        self.position.setToolTip("Scrub along the walk: left is seed A, right is seed B.")
        self.position.valueChanged.connect(self._show_frame)
        self.position_label = QLabel("–")
        self.position_label.setMinimumWidth(70)
        self.position_label.setAlignment(Qt.AlignmentFlag.AlignRight |
                                         Qt.AlignmentFlag.AlignVCenter)
        self.play_button = QPushButton("Play")
        self.play_button.setObjectName("primary")
        self.play_button.setCheckable(True)
        self.play_button.setToolTip("Play the walk as an animation; press again to pause.")
        self.play_button.toggled.connect(self._on_play_toggled)
        self.fps_spin = QSpinBox()
        self.fps_spin.setRange(1, 60)
        self.fps_spin.setValue(12)
        self.fps_spin.setSuffix(" fps")
        self.fps_spin.setToolTip("Animation speed in frames per second (also used for the GIF).")
        self.fps_spin.valueChanged.connect(self._on_fps)
        self.bounce_check = QCheckBox("Bounce")
        self.bounce_check.setChecked(True)
        self.bounce_check.setToolTip("Play forwards then backwards instead of jumping back to "
                                     "the start (also applies to the GIF).")
        pos_row = QHBoxLayout()
        pos_row.addWidget(self.position, 1)
        pos_row.addWidget(self.position_label)
        play_row = QHBoxLayout()
        play_row.addWidget(self.play_button)
        play_row.addWidget(self.fps_spin)
        play_row.addWidget(self.bounce_check)
        playback = QGroupBox("Playback")
        pb = QVBoxLayout(playback)
        pb.addLayout(pos_row)
        pb.addLayout(play_row)

        self.scale_combo = QComboBox()
        for s in EXPORT_SCALES:
            self.scale_combo.addItem(f"{s}×", s)
        self.scale_combo.setCurrentIndex(EXPORT_SCALES.index(4))
        self.scale_combo.setToolTip("Enlarge each exported frame by this factor (pixel-sharp), "
                                    "so a 32-pixel model gives a visible GIF.")
        self.gif_button = QPushButton("Export GIF…")
        self.gif_button.setToolTip("Save the walk as a looping animated GIF at the chosen speed.")
        self.gif_button.clicked.connect(self._export_gif_dialog)
        self.frames_button = QPushButton("Export PNG frames…")
        self.frames_button.setToolTip("Save every frame of the walk as a numbered PNG file in a "
                                      "folder (frame_0000.png, …).")
        self.frames_button.clicked.connect(self._export_frames_dialog)
        export = QGroupBox("Export")
        ex = QGridLayout(export)
        ex.addWidget(QLabel("Scale"), 0, 0)
        ex.addWidget(self.scale_combo, 0, 1)
        ex.addWidget(self.gif_button, 1, 0, 1, 2)
        ex.addWidget(self.frames_button, 2, 0, 1, 2)

        return _view_page(self.walk_view, self.strip_view, self._side(ends, playback, export))

    def _build_compare(self) -> QWidget:
        self.compare_seed = _seed_spin("The first of the seeds whose images are compared.")
        self.compare_count = QSpinBox()
        self.compare_count.setRange(1, 16)
        self.compare_count.setValue(8)
        self.compare_count.setToolTip("How many images (consecutive seeds) each epoch shows.")
        self.compare_button = QPushButton("Compare")
        self.compare_button.setObjectName("primary")
        self.compare_button.setToolTip("Render the same noise with the weights saved after "
                                       "every epoch, one row per epoch.")
        self.compare_button.clicked.connect(self.refresh_compare)
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

        self.compare_list = _CompareList()
        scroll = QScrollArea()
        scroll.setWidget(self.compare_list)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.addLayout(bar)
        layout.addWidget(scroll, 1)
        return page

    # ---------------------------------------------------------------- model
    def set_model(self, path: Path | None) -> None:
        """Open a run folder, ``.pt`` or ``.safetensors`` (loaded in the background).

        None shows the empty state. Slider and seed positions are kept across models.
        """
        self.pause()
        if path is None:
            self._path, self._info = None, None
            self._show_empty()
            return
        self._path = Path(path)
        self._min_serial = self._serial + 1
        self._compare_dirty = True
        self.banner.hide()
        self.loading_title.setText("Loading model…")
        self.loading_text.setText(f"Reading {self._path.name}.")
        self.stack.setCurrentIndex(self.PAGE_LOADING)
        self.model_label.setText(self._path.name)
        self.worker.load(self._path)

    def reload(self) -> None:
        """Load the same path again (a run that is still training has a newer epoch)."""
        if self._path is not None:
            self.set_model(self._path)

    def model_info(self) -> ModelInfo | None:
        """The loaded model's summary (None while nothing usable is loaded)."""
        return self._info

    def shutdown(self) -> None:
        """Stop the animation and join the render thread (safe to call more than once)."""
        if self._shut:
            return
        self._shut = True
        self._timer.stop()
        self.worker.stop()

    def closeEvent(self, event: QCloseEvent) -> None:
        """Closing the panel joins its thread."""
        self.shutdown()
        super().closeEvent(event)

    def hideEvent(self, event: QHideEvent) -> None:
        """A hidden panel (another tab in front) does not keep animating."""
        self.pause()
        super().hideEvent(event)

    def _show_empty(self) -> None:
        self.banner.hide()
        self.model_label.setText("")
        self.stack.setCurrentIndex(self.PAGE_EMPTY)

    def _on_model_loaded(self, info: ModelInfo) -> None:
        if self._path is None or info.path != self._path:
            return  # an older load finished after the user opened something else
        self._info = info
        self.model_label.setText(f"{info.title}  ·  {info.summary}")
        self.model_loaded.emit(info)
        if not info.is_gan:
            self.note_button.show()
            self.note_title.setText("This is an autoencoder")
            self.note_text.setText(
                "The explorer walks a GAN's latent space, where every seed is a plausible "
                "image. An autoencoder's latent space has no such prior, so random seeds give "
                "noise. Use the reconstruction panel instead: drop your own images on it and see "
                "how this model rebuilds them.")
            self.stack.setCurrentIndex(self.PAGE_NOTE)
            return
        for row in self.latent_sliders:
            row.setVisible(row.index < info.latent_dim)
        self._directions = None
        for row in self.pca_sliders:
            row.setEnabled(False)
        self.pca_status.setText("Principal directions are found from samples of this model.")
        self.pca_status.show()
        self.pca_button.show()
        self.pca_button.setEnabled(True)
        self.stack.setCurrentIndex(self.PAGE_MAIN)
        self._request_render()
        self._request_frames()
        if self.auto_directions:
            self.find_directions()
        if self.tabs.currentIndex() == self.TAB_COMPARE:
            self.refresh_compare()

    def _on_load_failed(self, text: str) -> None:
        self._info = None
        self.note_title.setText("Could not open this model")
        self.note_text.setText(text)
        self.note_button.hide()
        self.stack.setCurrentIndex(self.PAGE_NOTE)
        self.load_failed.emit(text)
        self.message.emit(text)

    def _on_note_button(self) -> None:
        if self._info is not None and not self._info.is_gan and self._path is not None:
            self.open_reconstruction.emit(self._path)

    def _on_banner_action(self) -> None:
        self.banner.hide()

    # ---------------------------------------------------------------- explore
    def seed(self) -> int:
        """The seed of the (first) image."""
        return int(self.seed_spin.value())

    def set_seed(self, seed: int) -> None:
        """Show the image(s) of ``seed``."""
        self.seed_spin.setValue(int(seed))

    def randomize(self) -> None:
        """Draw a new random seed."""
        self.seed_spin.setValue(_random_seed())

    def count(self) -> int:
        """How many images are shown (1 or a grid)."""
        return int(self.count_combo.currentData())

    def set_count(self, n: int) -> None:
        """Show one image or a grid of ``n`` (one of 1, 4, 9, 16, 25, 36, 64)."""
        self.count_combo.setCurrentIndex(GRID_COUNTS.index(n))

    def set_latent_offset(self, index: int, value: float) -> None:
        """Move latent axis ``index`` by ``value`` standard deviations."""
        self.latent_sliders[index].set_value(value)

    def set_pca_offset(self, index: int, value: float) -> None:
        """Move along principal direction ``index`` by ``value``."""
        self.pca_sliders[index].set_value(value)

    def reset_offsets(self) -> None:
        """All sliders back to 0 (renders once)."""
        for row in (*self.latent_sliders, *self.pca_sliders):
            row.slider.blockSignals(True)
            row.set_value(0.0)
            row.value_label.setText("0.00")
            row.slider.blockSignals(False)
        self._request_render()

    def render_request(self, serial: int = 0) -> RenderRequest:
        """The request the controls describe now (what the image shows once rendered)."""
        from aigc_studio.engine.explore import RenderRequest  # torch is loaded by now

        dim = self._info.latent_dim if self._info is not None else len(self.latent_sliders)
        offsets = tuple((r.index, r.value()) for r in self.latent_sliders
                        if r.value() != 0.0 and r.index < dim)
        pca = tuple((r.index, r.value()) for r in self.pca_sliders
                    if r.value() != 0.0 and r.isEnabled())
        return RenderRequest(seed=self.seed(), count=self.count(), offsets=offsets, pca=pca,
                             serial=serial)

    def current_image(self) -> np.ndarray | None:
        """The rendered image on screen (uint8 (H, W, 3)), None before the first render."""
        return self.view.image()

    def latest_serial(self) -> int:
        """Serial of the newest render request sent."""
        return self._serial

    def shown_serial(self) -> int:
        """Serial of the render on screen."""
        return self._shown_serial

    def _request_render(self, *_: object) -> None:
        if self._info is None or not self._info.is_gan:
            return
        self._serial += 1
        self.worker.submit(self.render_request(self._serial))

    def _on_rendered(self, serial: int, image: np.ndarray) -> None:
        # Results come back in order from one thread, so anything older than what is shown
        # (or than the current model) is stale. Newer-but-not-newest results *are* shown:
        # while a slider is dragged they are the live preview.
        if serial < self._min_serial or serial <= self._shown_serial:
            self.stale_ignored += 1
            return
        self._shown_serial = serial
        self.view.set_image(image)
        ms = self.worker.last_render_ms
        h, w = image.shape[:2]
        self.render_label.setText(f"{w}×{h} px · rendered in {ms:.1f} ms")
        self.image_shown.emit(serial)

    def _on_render_failed(self, serial: int, text: str) -> None:
        if serial >= self._min_serial:
            self.banner.show_message(text, "error", "Dismiss")
            self.message.emit(text)

    def find_directions(self) -> None:
        """Compute the principal directions in the background (once per model)."""
        if self._info is None or not self._info.is_gan:
            return
        self.pca_status.setText("Finding principal directions…")
        self.pca_button.setEnabled(False)
        self.worker.request_directions()

    def principal_directions(self) -> np.ndarray | None:
        """Unit latent directions (k, latent_dim) behind the PCA sliders, once found."""
        return self._directions

    def _on_directions(self, directions: np.ndarray, scales: np.ndarray) -> None:
        if self._info is None:
            return
        self._directions = directions
        self.pca_button.hide()
        n = len(scales)
        for row in self.pca_sliders:
            row.setEnabled(row.index < n)
            row.setVisible(row.index < n)
        self.pca_status.hide()
        if any(r.value() != 0.0 for r in self.pca_sliders):
            self._request_render()
        self.directions_found.emit(n)

    # ---------------------------------------------------------------- interpolate
    def set_interpolation(self, seed_a: int, seed_b: int, steps: int | None = None,
                          spherical: bool | None = None) -> None:
        """Set the walk's ends, frame count and path (renders once)."""
        widgets = (self.seed_a, self.seed_b, self.steps_spin, self.path_combo)
        for w in widgets:
            w.blockSignals(True)
        self.seed_a.setValue(int(seed_a))
        self.seed_b.setValue(int(seed_b))
        if steps is not None:
            self.steps_spin.setValue(int(steps))
        if spherical is not None:
            self.path_combo.setCurrentIndex(0 if spherical else 1)
        for w in widgets:
            w.blockSignals(False)
        self._request_frames()

    def set_spherical(self, spherical: bool) -> None:
        """Slerp (True) or a straight line (False)."""
        self.path_combo.setCurrentIndex(0 if spherical else 1)

    def frames_request(self, serial: int = 0) -> FramesRequest:
        """The walk the controls describe now."""
        return FramesRequest(self.seed_a.value(), self.seed_b.value(), self.steps_spin.value(),
                             bool(self.path_combo.currentData()), serial)

    def frames(self) -> np.ndarray | None:
        """The walk's frames (N, H, W, 3) uint8, None before they are rendered."""
        return self._frames

    def position_index(self) -> int:
        """The frame on screen."""
        return int(self.position.value())

    def set_position(self, index: int) -> None:
        """Show frame ``index`` of the walk."""
        self.position.setValue(int(index))

    def _request_frames(self, *_: object) -> None:
        if self._info is None or not self._info.is_gan:
            return
        self._frames_serial += 1
        self.worker.submit_frames(self.frames_request(self._frames_serial))

    def _on_frames(self, serial: int, frames: np.ndarray) -> None:
        if serial < self._frames_serial:
            return  # a newer walk is on its way
        self._frames = frames
        n = len(frames)
        keep = min(self.position.value(), n - 1)
        self.position.blockSignals(True)
        self.position.setRange(0, n - 1)
        self.position.setValue(keep)
        self.position.blockSignals(False)
        self._show_frame(keep)
        picks = np.unique(np.linspace(0, n - 1, min(n, 12)).round().astype(int))
        from aigc_studio.core.grid import make_grid

        self.strip_view.set_image(make_grid(frames[picks], ncols=len(picks)))
        self.frames_changed.emit(n)

    def _show_frame(self, index: int) -> None:
        if self._frames is None or not len(self._frames):
            return
        index = max(0, min(int(index), len(self._frames) - 1))
        self.walk_view.set_image(self._frames[index])
        self.position_label.setText(f"{index + 1} / {len(self._frames)}")

    def play(self) -> None:
        """Start the animation at the chosen fps."""
        self.play_button.setChecked(True)

    def pause(self) -> None:
        """Stop the animation where it is."""
        self.play_button.setChecked(False)

    def is_playing(self) -> bool:
        """True while the walk animates."""
        return self._timer.isActive()

    def _on_play_toggled(self, on: bool) -> None:
        self.play_button.setText("Pause" if on else "Play")
        if on:
            self._timer.start(round(1000 / self.fps_spin.value()))
        else:
            self._timer.stop()

    def _on_fps(self, fps: int) -> None:
        if self._timer.isActive():
            self._timer.setInterval(round(1000 / fps))

    def _advance_frame(self) -> None:
        if self._frames is None or len(self._frames) < 2:
            return
        last = len(self._frames) - 1
        index = self.position.value() + self._play_direction
        if index > last or index < 0:
            if self.bounce_check.isChecked():
                self._play_direction = -self._play_direction
                index = self.position.value() + self._play_direction
            else:
                index = 0
        self.position.setValue(index)

    def _export_frames_scaled(self) -> np.ndarray:
        from aigc_studio.errors import AigcError

        if self._frames is None:
            raise AigcError("There is no walk to export yet.")
        from aigc_studio.engine.explore import upscale

        return upscale(self._frames, int(self.scale_combo.currentData()))

    def export_gif(self, path: Path) -> Path:
        """Write the walk as a looping GIF (speed, bounce and scale as set in the panel)."""
        from aigc_studio.engine.explore import save_gif

        out = save_gif(self._export_frames_scaled(), Path(path), fps=self.fps_spin.value(),
                       bounce=self.bounce_check.isChecked())
        self.message.emit(f"Saved the walk as {out}.")
        return out

    def export_frames(self, folder: Path) -> list[Path]:
        """Write every frame of the walk as a PNG in ``folder``."""
        from aigc_studio.engine.explore import save_frames

        written = save_frames(self._export_frames_scaled(), Path(folder))
        self.message.emit(f"Saved {len(written)} frames in {folder}.")
        return written

    def _export_gif_dialog(self) -> None:
        name = f"walk_{self.seed_a.value()}_{self.seed_b.value()}.gif"
        path, _ = QFileDialog.getSaveFileName(self, "Export the walk as a GIF", name,
                                              "GIF images (*.gif)")
        if path:
            self._run_export(lambda: self.export_gif(Path(path)))

    def _export_frames_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export the walk's frames into a folder")
        if folder:
            self._run_export(lambda: self.export_frames(Path(folder)))

    def _run_export(self, action: Callable[[], object]) -> None:
        try:
            action()
        except Exception as exc:
            from aigc_studio.gui.render_worker import user_message

            text = f"Export failed: {user_message(exc)}"
            self.banner.show_message(text, "error", "Dismiss")
            self.message.emit(text)

    # ---------------------------------------------------------------- compare epochs
    def compare_rows(self) -> list[tuple[int, np.ndarray]]:
        """[(epoch, strip image)] shown in the comparison, in epoch order."""
        return list(self._compare_rows)

    def refresh_compare(self) -> None:
        """Render the chosen seeds with every saved epoch (in the background, row by row)."""
        if self._info is None or not self._info.is_gan:
            return
        self._compare_dirty = False
        self._compare_serial += 1
        self._compare_rows = []
        self.compare_list.clear()
        saved = self._info.epochs_saved
        self.compare_status.setText(f"Loading {saved} saved epochs…" if saved else "Loading…")
        self.worker.submit_compare(CompareRequest(self.compare_seed.value(),
                                                  self.compare_count.value(),
                                                  self._compare_serial))

    def _on_tab(self, index: int) -> None:
        if index == self.TAB_COMPARE and self._compare_dirty:
            self.refresh_compare()
        if index != self.TAB_INTERPOLATE:
            self.pause()

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


def _random_seed() -> int:
    return random.randint(0, RANDOM_SEED_MAX)


def _stop_worker(worker: RenderWorker, *_: object) -> None:
    """Join a panel's render thread when the panel is destroyed without being closed."""
    with contextlib.suppress(RuntimeError):  # already deleted
        worker.stop()
