"""The latent explorer: play with the latent space of a trained model that samples.

Three tabs on one model, one file each: *Explore* (``explore_tab``: a seed, sliders along
latent axes and principal directions, re-rendered live), *Interpolate* (``interpolate_tab``: a
walk between two seeds, played or exported as a GIF / PNG frames) and *Compare epochs*
(``compare_tab``: the same latents through every saved epoch), and *Denoising*
(``denoise_tab``: one sample from noise to image, for families with a denoising path). The
class and sampler controls (``explore_tab``) serve every tab; every export carries provenance
(``export``). This file holds what they share: the model, the pages (empty, loading, note,
tabs) and the render worker.

All model work happens in a :class:`~aigc_studio.gui.panels.explore.worker.RenderWorker`
where the latest request wins; nothing here imports torch at import time or touches a tensor.
What the model can do comes from its family's capabilities, never from its name.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtGui import QCloseEvent, QHideEvent
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QSizePolicy,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from aigc_studio import families
from aigc_studio.gui.model_info import ModelInfo, with_article
from aigc_studio.gui.panels.explore.compare_tab import CompareTab
from aigc_studio.gui.panels.explore.denoise_tab import DenoiseTab
from aigc_studio.gui.panels.explore.explore_tab import ExploreTab
from aigc_studio.gui.panels.explore.export import Exports
from aigc_studio.gui.panels.explore.interpolate_tab import InterpolateTab
from aigc_studio.gui.panels.explore.map_tab import MapTab
from aigc_studio.gui.panels.explore.sampling import SamplingInfo
from aigc_studio.gui.panels.explore.worker import RenderWorker
from aigc_studio.gui.widgets.banner import Banner
from aigc_studio.gui.widgets.style import PANEL_STYLE
from aigc_studio.gui.widgets.views import MessagePage


class ExplorerPanel(ExploreTab, InterpolateTab, CompareTab, MapTab, DenoiseTab, Exports,
                    QWidget):
    """Walk the latent space of a model that samples: seeds, sliders, interpolation and an
    epoch comparison.

    Public API: :meth:`set_model`, :meth:`reload`, :meth:`shutdown`; the controls can be
    driven in code (``set_seed``, ``set_count``, ``set_latent_offset``, ``set_pca_offset``,
    ``set_interpolation``, ``set_position``, ``play``/``pause``, ``refresh_compare``,
    ``set_class_index``/``class_index``, ``set_sampling``) and the exports run without dialogs
    (``export_gif``, ``export_frames``, ``export_denoising_gif``, ``save_current``: what the
    visible tab shows, stamped with provenance).
    """

    model_loaded = Signal(object)  # ModelInfo
    load_failed = Signal(str)
    image_shown = Signal(int)  # serial of the render now on screen
    frames_changed = Signal(int)  # frames in the interpolation walk now shown
    directions_found = Signal(int)  # principal directions now usable
    compare_row_added = Signal(int)  # epoch
    compare_done = Signal(int)  # rows shown
    open_reconstruction = Signal(Path)  # the user wants to reconstruct with this model
    open_latest_run = Signal()  # the empty state's "Open the latest run"
    open_with = Signal(str, object)  # panel key, Path: open this model in another panel
    train_requested = Signal(str)  # the empty state's "Train a … now" (a family name)
    message = Signal(str)  # one sentence for the window's status bar
    sampling_progress = Signal(str, int, int)  # job kind, sampler step, steps (newest job)
    trajectory_shown = Signal(int)  # states in the denoising path now shown

    PAGE_EMPTY, PAGE_LOADING, PAGE_NOTE, PAGE_MAIN = range(4)
    TAB_EXPLORE, TAB_INTERPOLATE, TAB_COMPARE = range(3)

    def __init__(self, parent: QWidget | None = None, *, latent_sliders: int = 8,
                 pca_sliders: int = 8, auto_directions: bool = True) -> None:
        super().__init__(parent)
        self.auto_directions = auto_directions  # find PCA directions as soon as a model loads
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
        self._sampling = SamplingInfo()  # how the loaded model samples (classes, sampler)
        self._savers: dict[QWidget, Callable[[Path], Path]] = {}  # tab page -> its save
        self._progress_bars: dict[str, QProgressBar] = {}  # worker job kind -> its bar
        self._trajectory_serial = 0
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
        self.worker.sampling_ready.connect(self._on_sampling_info)
        self.worker.progress.connect(self._on_progress)
        self.worker.trajectory_ready.connect(self._on_trajectory)
        self.worker.start()
        # Embedded panels get no closeEvent when the window closes: stop on quit as well.
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)
        self.destroyed.connect(partial(_stop_worker, self.worker))

        self.setStyleSheet(PANEL_STYLE)
        self._build(latent_sliders, pca_sliders)
        self._show_empty()

    def _build(self, latent_sliders: int, pca_sliders: int) -> None:
        title = QLabel("Latent explorer")
        title.setObjectName("panelTitle")
        self.model_label = QLabel("")
        self.model_label.setObjectName("hint")
        # a long run name must not widen the window past the screen: the label gives way
        self.model_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        header = QHBoxLayout()
        header.addWidget(title)
        header.addSpacing(12)
        header.addWidget(self.model_label, 1)

        self.banner = Banner()
        self.banner.action.clicked.connect(self._on_banner_action)

        self.stack = QStackedWidget()
        self.empty_page = MessagePage(
            "No model open",
            "Train a model that draws images from noise, or open a run folder or checkpoint, to "
            "walk its latent space: draw images from seeds, move along latent axes and "
            "principal directions, morph one seed into another and see how the same noise "
            "looked at every epoch.")
        self.open_latest_button = self.empty_page.add_action(
            "Open the latest run", "Open the newest run of the runs folder here.")
        self.open_latest_button.clicked.connect(self.open_latest_run.emit)
        sampler = next((f for f in families.all_families() if f.capabilities.samples), None)
        self.train_button = self.empty_page.add_action(
            f"Train {with_article(sampler.title)} now" if sampler else "Train a model now",
            "Go to the Train panel with this model chosen.", primary=False)
        self.train_button.clicked.connect(
            lambda: self.train_requested.emit(sampler.name if sampler else ""))
        empty = self.empty_page
        loading = MessagePage("Loading model…", "")
        self.loading_title, self.loading_text = loading.heading, loading.body
        note = MessagePage("", "")
        self.note_title, self.note_text = note.heading, note.body
        self.note_button = note.add_action("Reconstruct images with this model",
                                           "Switch to the reconstruction panel with this model, "
                                           "where you can drop your own images on it.")
        self.note_button.clicked.connect(self._on_note_button)
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
        self.tabs.setTabToolTip(self.tabs.addTab(self._build_denoise(), "Denoising"),
                                "One sample from pure noise to the image, step by step "
                                "(diffusion models).")
        self.tabs.setTabToolTip(self.tabs.addTab(self._build_map(), "Latent map"),
                                "The data set encoded as points beside the decoder's grid "
                                "(models that encode).")
        self.tabs.currentChanged.connect(self._on_tab)
        self.stack.addWidget(self.tabs)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addLayout(header)
        layout.addWidget(self.banner)
        layout.addWidget(self.stack, 1)

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
        self.pause()
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
        caps = info.capabilities
        self._map_loaded(info)  # a model that encodes but does not sample opens on its map
        if not caps.samples and caps.encodes:
            self.stack.setCurrentIndex(self.PAGE_MAIN)
            return
        if not caps.samples:
            self.note_button.setVisible(caps.encodes)
            self.note_title.setText(
                f"This is {with_article(info.family.title)}: it does not sample")
            self.note_text.setText(
                "The explorer walks the latent space of a model that draws images from noise, "
                "where every seed is a plausible image. This model's latent space has no such "
                "prior, so random seeds give noise."
                + (" Use the reconstruction panel instead: drop your own images on it and see "
                   "how this model rebuilds them." if caps.encodes else ""))
            self.stack.setCurrentIndex(self.PAGE_NOTE)
            return
        for row in self.latent_sliders:
            row.setVisible(row.index < info.latent_dim)
        self._directions = None
        for row in self.pca_sliders:
            row.setEnabled(False)
        self.pca_box.setVisible(caps.principal_directions)
        self.pca_status.setText("Principal directions are found from samples of this model.")
        self.pca_status.show()
        self.pca_button.show()
        self.pca_button.setEnabled(caps.principal_directions)
        self.stack.setCurrentIndex(self.PAGE_MAIN)
        self._request_render()
        self._request_frames()
        if self.auto_directions and caps.principal_directions:
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
        if self._info is not None and self._info.capabilities.encodes and self._path is not None:
            self.open_reconstruction.emit(self._path)
            self.open_with.emit("reconstruct", self._path)

    def _on_banner_action(self) -> None:
        self.banner.hide()

    def _on_tab(self, index: int) -> None:
        if index == self.TAB_COMPARE and self._compare_dirty:
            self.refresh_compare()
        if index != self.TAB_INTERPOLATE:
            self.pause()


def _stop_worker(worker: RenderWorker, *_: object) -> None:
    """Join a panel's render thread when the panel is destroyed without being closed."""
    with contextlib.suppress(RuntimeError):  # already deleted
        worker.stop()
