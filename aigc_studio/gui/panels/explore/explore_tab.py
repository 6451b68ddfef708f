"""The explorer's *Explore* tab: a seed (or a grid of consecutive seeds) moved by sliders
along latent axes and principal directions, re-rendered live by the render worker."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from aigc_studio.gui.widgets.views import ImageView, seed_spin, side_column, view_page

if TYPE_CHECKING:  # pragma: no cover
    from aigc_studio.engine.explore import RenderRequest

RANDOM_SEED_MAX = 999_999  # random seeds stay short enough to read out and type back
SLIDER_STEPS = 100  # slider ticks per unit (one standard deviation)
LATENT_RANGE = 3.0  # latent axes: ±3 standard deviations covers almost all of N(0, 1)
PCA_RANGE = 5.0  # principal directions: a little wider, they move the image more gently
GRID_COUNTS = (1, 4, 9, 16, 25, 36, 64)


def random_seed() -> int:
    """A short random seed (easy to read out and type back)."""
    return random.randint(0, RANDOM_SEED_MAX)


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



class ExploreTab:
    """The Explore tab's widgets and behaviour, mixed into :class:`ExplorerPanel`."""

    def _build_explore(self, latent_sliders: int, pca_sliders: int) -> QWidget:
        self.view = ImageView("Rendering…")
        self.view.setToolTip("The generator's output for the seed and slider positions on the "
                             "right. Pixels are enlarged without smoothing.")
        self.render_label = QLabel("")
        self.render_label.setObjectName("hint")
        self.render_label.setAlignment(Qt.AlignmentFlag.AlignRight)

        self.seed_spin = seed_spin("The seed picks the noise vector z the generator starts "
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

        side = side_column(seed_box, self.latent_box, self.pca_box, self.reset_button)
        return view_page(self.view, self.render_label, side)

    def seed(self) -> int:
        """The seed of the (first) image."""
        return int(self.seed_spin.value())

    def set_seed(self, seed: int) -> None:
        """Show the image(s) of ``seed``."""
        self.seed_spin.setValue(int(seed))

    def randomize(self) -> None:
        """Draw a new random seed."""
        self.seed_spin.setValue(random_seed())

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
        if self._info is None or not self._info.capabilities.samples:
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
        if self._info is None or not self._info.capabilities.samples:
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
