"""The explorer's *Explore* tab: a seed (or a grid of consecutive seeds) moved by sliders
along latent axes and principal directions, re-rendered live by the render worker.

For a model that is conditional for its run, a class picker sits beside the seed (same seed,
another class: the style stays, the class changes); for a family whose sampling takes
settings (a diffusion model), a sampler, steps and guidance box, with a progress bar fed by
the sampler's steps. The class and sampler settings are shared by every tab.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from aigc_studio.gui.panels.explore.export import settings_text
from aigc_studio.gui.panels.explore.sampling import SAMPLER_TITLES, SamplingInfo
from aigc_studio.gui.panels.explore.views import FillView
from aigc_studio.gui.widgets.views import seed_spin, side_column, view_page

if TYPE_CHECKING:  # pragma: no cover
    from aigc_studio.engine.explore import RenderRequest

RANDOM_SEED_MAX = 999_999  # random seeds stay short enough to read out and type back
SLIDER_STEPS = 100  # slider ticks per unit (one standard deviation)
LATENT_RANGE = 3.0  # latent axes: ±3 standard deviations covers almost all of N(0, 1)
PCA_RANGE = 5.0  # principal directions: a little wider, they move the image more gently
GRID_COUNTS = (1, 4, 9, 16, 25, 36, 64)
ANY_CLASS = -1  # the class combo's item for "no class" (the model's unconditional draw)
MAX_SAMPLE_STEPS = 250  # 10-50 is the useful range; more only costs time
MAX_GUIDANCE = 50.0


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


def progress_bar(tooltip: str) -> QProgressBar:
    """A slim bar for a sampler's steps, hidden until a run of several steps starts."""
    bar = QProgressBar()
    bar.setTextVisible(True)
    bar.setFormat("Sampling: step %v of %m")
    bar.setMaximumHeight(18)
    bar.setToolTip(tooltip)
    bar.hide()
    return bar


def below_view(*widgets: QWidget) -> QWidget:
    """What sits under a tab's large view (a caption, a strip, a progress bar), stacked."""
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(4)
    for widget in widgets:
        layout.addWidget(widget)
    return box


class ExploreTab:
    """The Explore tab's widgets and behaviour, mixed into :class:`ExplorerPanel`."""

    def _build_explore(self, latent_sliders: int, pca_sliders: int) -> QWidget:
        self.view = FillView("Rendering…")
        self.view.setToolTip("The generator's output for the seed and slider positions on the "
                             "right. Pixels are enlarged without smoothing.")
        self.render_label = QLabel("")
        self.render_label.setObjectName("hint")
        self.render_label.setAlignment(Qt.AlignmentFlag.AlignRight)

        self.seed_spin = seed_spin("The seed picks the noise vector z the generator starts "
                                    "from. The same seed always gives the same image.")
        self.seed_spin.valueChanged.connect(self._request_render)
        self.seed_spin.valueChanged.connect(self._request_trajectory)
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
        self.class_combo = QComboBox()
        self.class_combo.setToolTip("The class the model draws. Same seed, another class: the "
                                    "style (the noise) stays, the class changes.")
        self.class_combo.currentIndexChanged.connect(self._on_class_picked)
        seed_box = QGroupBox("Seed")
        self.seed_form = QFormLayout(seed_box)
        self.seed_form.addRow("Seed", seed_row)
        self.seed_form.addRow("Class", self.class_combo)
        self.seed_form.addRow("Show", self.count_combo)
        self.seed_form.setRowVisible(self.class_combo, False)
        self._wanted_class: int | None = None  # kept across models, like the seed
        sampling_box = self._build_sampling_box()

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
        self.save_button = QPushButton("Save image…")
        self.save_button.setToolTip("Save what the view shows as a PNG that records its seed, "
                                    "class and sampler settings (drop it on the window later "
                                    "to come back here).")
        self.save_button.clicked.connect(self._save_image_dialog)

        self.render_progress = progress_bar("The sampler's steps for the image on the left.")
        self._progress_bars["render"] = self.render_progress
        side = side_column(seed_box, sampling_box, self.latent_box, self.pca_box,
                           self.reset_button)
        # under the view, not at the foot of the scrolling column where it was cut off
        save_row = QWidget()
        row = QHBoxLayout(save_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.save_button)
        row.addWidget(self.render_label, 1)
        self.explore_page = view_page(self.view, below_view(self.render_progress, save_row),
                                      side)
        self.register_saver(self.explore_page, self.save_image)
        return self.explore_page

    def _build_sampling_box(self) -> QGroupBox:
        """Sampler, steps and guidance: shown for a family whose sampling takes them."""
        self.sampler_combo = QComboBox()
        self.sampler_combo.setToolTip("How the noise is removed step by step. DPM-Solver++ "
                                      "(a second-order solver) looks finished in fewer steps "
                                      "than DDIM; both are deterministic for a seed.")
        self.sample_steps_spin = QSpinBox()
        self.sample_steps_spin.setRange(1, MAX_SAMPLE_STEPS)
        self.sample_steps_spin.setKeyboardTracking(False)
        self.sample_steps_spin.setToolTip("Denoising steps per image: 10-50 is the useful "
                                          "range; every step is one pass of the network.")
        self.guidance_spin = QDoubleSpinBox()
        self.guidance_spin.setRange(0.0, MAX_GUIDANCE)
        self.guidance_spin.setSingleStep(0.5)
        self.guidance_spin.setDecimals(1)
        self.guidance_spin.setKeyboardTracking(False)
        self.guidance_spin.setToolTip("Classifier-free guidance: 1 draws the class as trained, "
                                      "above 1 pushes the image towards its class (clearer, "
                                      "less varied), 0 ignores the class.")
        for signal in (self.sampler_combo.currentIndexChanged,
                       self.sample_steps_spin.valueChanged, self.guidance_spin.valueChanged):
            signal.connect(self._on_sampling_changed)
        self.sampling_note = QLabel("")
        self.sampling_note.setObjectName("hint")
        self.sampling_note.setWordWrap(True)
        self.sampling_box = QGroupBox("Sampling")
        self.sampling_form = QFormLayout(self.sampling_box)
        self.sampling_form.addRow("Sampler", self.sampler_combo)
        self.sampling_form.addRow("Steps", self.sample_steps_spin)
        self.sampling_form.addRow("Guidance", self.guidance_spin)
        self.sampling_form.addRow(self.sampling_note)
        self.sampling_box.hide()
        return self.sampling_box

    # --- class and sampler settings (shared by every tab) ----------------------------------
    def class_index(self) -> int | None:
        """The class the model is asked to draw (None: unconditional, or "any")."""
        if not self._sampling.conditional:
            return None
        data = self.class_combo.currentData()
        return None if data is None or data == ANY_CLASS else int(data)

    def set_class_index(self, index: int | None) -> None:
        """Draw class ``index`` (None: "any", where the model can draw without a class).

        Kept when a model loads later (a dropped image reopens its class with its run)."""
        self._wanted_class = index
        combo = self.class_combo.findData(ANY_CLASS if index is None else int(index))
        if combo >= 0:
            self.class_combo.setCurrentIndex(combo)

    def set_sampling(self, sampler: str | None = None, steps: int | None = None,
                     guidance: float | None = None) -> None:
        """Set any of the sampler settings (renders once)."""
        widgets = (self.sampler_combo, self.sample_steps_spin, self.guidance_spin)
        for w in widgets:
            w.blockSignals(True)
        if sampler is not None and self.sampler_combo.findData(sampler) >= 0:
            self.sampler_combo.setCurrentIndex(self.sampler_combo.findData(sampler))
        if steps is not None:
            self.sample_steps_spin.setValue(int(steps))
        if guidance is not None:
            self.guidance_spin.setValue(float(guidance))
        for w in widgets:
            w.blockSignals(False)
        self._on_sampling_changed()

    def sampler_settings(self) -> tuple[tuple[str, Any], ...]:
        """The family's sampling options as the controls set them ((name, value) pairs).

        Guidance goes only with a class: without one the model draws unconditionally."""
        info, out = self._sampling, []
        if info.samplers:
            out.append(("sampler", str(self.sampler_combo.currentData())))
        if info.steps is not None:
            out.append(("steps", int(self.sample_steps_spin.value())))
        if info.guidance is not None and self.class_index() is not None:
            out.append(("guidance", float(self.guidance_spin.value())))
        return tuple(out)

    def settings_caption(self) -> str:
        """The class and sampler settings in words (for the tabs that reuse them)."""
        parts = []
        index = self.class_index()
        if self._sampling.conditional:
            parts.append("any class" if index is None else
                         f"class {self.class_combo.currentText()}")
        text = settings_text(self.sampler_settings())
        return " · ".join([*parts, text] if text else parts)

    def _on_sampling_info(self, info: SamplingInfo) -> None:
        """A model loaded: fill the class and sampler controls with its classes and defaults."""
        if self._path is None or info.path != self._path:
            return  # an older load
        self._sampling = info
        widgets = (self.class_combo, self.sampler_combo, self.sample_steps_spin,
                   self.guidance_spin)
        for w in widgets:
            w.blockSignals(True)
        self.class_combo.clear()
        if info.any_class:
            self.class_combo.addItem("any (no class)", ANY_CLASS)
        for i, name in enumerate(info.class_names):
            self.class_combo.addItem(name if name == str(i) else f"{i}: {name}", i)
        wanted = self.class_combo.findData(ANY_CLASS if self._wanted_class is None
                                           else self._wanted_class)
        self.class_combo.setCurrentIndex(max(0, wanted))
        self.seed_form.setRowVisible(self.class_combo, info.conditional)
        self.sampler_combo.clear()
        for name in info.samplers:
            self.sampler_combo.addItem(SAMPLER_TITLES.get(name, name), name)
        self.sampler_combo.setCurrentIndex(max(0, self.sampler_combo.findData(info.sampler)))
        if info.steps is not None:
            self.sample_steps_spin.setValue(info.steps)
        if info.guidance is not None:
            self.guidance_spin.setValue(info.guidance)
        for w in widgets:
            w.blockSignals(False)
        self.sampling_form.setRowVisible(self.sampler_combo, bool(info.samplers))
        self.sampling_form.setRowVisible(self.sample_steps_spin, info.steps is not None)
        self.sampling_form.setRowVisible(self.guidance_spin, info.guidance is not None)
        self.sampling_box.setVisible(info.has_options)
        self._update_sampling_note()
        self._on_denoising_info(info)

    def _on_class_picked(self, *_: object) -> None:
        data = self.class_combo.currentData()
        if data is not None:
            self._wanted_class = None if data == ANY_CLASS else int(data)
        self._on_sampling_changed()

    def _on_sampling_changed(self, *_: object) -> None:
        """Class or sampler changed: every view that samples draws again (lazily if hidden)."""
        self._update_sampling_note()
        self._request_render()
        self._request_frames()
        self._request_trajectory()

    def _update_sampling_note(self) -> None:
        guided = self._sampling.guidance is not None
        no_class = self.class_index() is None
        self.guidance_spin.setEnabled(guided and not no_class)
        self.sampling_note.setText(
            "Guidance needs a class: with \"any\" the model draws without one." if guided and
            no_class else "")
        self.sampling_note.setVisible(bool(self.sampling_note.text()))

    def _start_progress(self, kind: str) -> None:
        """Show a kind's bar at step 0 when its sampler runs several steps."""
        bar = self._progress_bars.get(kind)
        if bar is not None and self._sampling.has_options:
            bar.setRange(0, max(1, dict(self.sampler_settings()).get("steps", 1)))
            bar.setValue(0)
            bar.show()

    def _on_progress(self, kind: str, serial: int, step: int, steps: int) -> None:
        """A sampler step of the newest job of a kind: move its bar, tell listeners."""
        latest = {"render": self._serial, "frames": self._frames_serial,
                  "trajectory": self._trajectory_serial}.get(kind)
        if serial != latest:
            return  # a job that has been replaced
        bar = self._progress_bars.get(kind)
        if bar is not None:
            bar.setRange(0, steps)
            bar.setValue(step)
            bar.setVisible(step < steps)
        self.sampling_progress.emit(kind, step, steps)

    def save_image(self, path: Path) -> Path:
        """The image(s) on screen as a PNG stamped with the seed, class, sliders and sampler."""
        from aigc_studio.gui.panels.explore.export import write_png

        image = self.current_image()
        if image is None:
            from aigc_studio.errors import AigcError

            raise AigcError("There is no image to save yet.")
        request = self.render_request()
        moved = dict(latent_offsets=len(request.offsets), directions=len(request.pca)) \
            if request.offsets or request.pca else {}
        return write_png(image, path, self.stamp(
            "explorer", seeds=(request.seed,), class_index=request.class_index,
            n=request.count, **dict(request.sampler), **moved))

    def _save_image_dialog(self) -> None:
        self.save_dialog("Save the image", f"seed_{self.seed()}.png", "PNG images (*.png)",
                         self.save_image)

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
                             serial=serial, class_index=self.class_index(),
                             sampler=self.sampler_settings())

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
        self._start_progress("render")

    def _on_rendered(self, serial: int, image: np.ndarray) -> None:
        # Results come back in order from one thread, so anything older than what is shown
        # (or than the current model) is stale. Newer-but-not-newest results *are* shown:
        # while a slider is dragged they are the live preview.
        if serial < self._min_serial or serial <= self._shown_serial:
            self.stale_ignored += 1
            return
        self._shown_serial = serial
        self.view.set_image(image)
        if serial == self._serial:
            self.render_progress.hide()
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
