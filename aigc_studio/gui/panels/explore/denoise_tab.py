"""The explorer's *Denoising* tab: watch one sample come out of the noise.

For a family with a denoising path (``capabilities.denoising_path``): the sample the Explore
tab's seed, class and sampler draw, kept at every sampler step (``engine.inference.trajectory``),
shown as a strip of 8 points from pure noise to the image and played step by step; exported
as a GIF that records what made it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGroupBox, QLabel, QPushButton, QVBoxLayout, QWidget

from aigc_studio.core.provenance import Provenance
from aigc_studio.gui.panels.explore.explore_tab import below_view, progress_bar
from aigc_studio.gui.panels.explore.export import export_box, write_gif, write_png
from aigc_studio.gui.panels.explore.player import FramePlayer
from aigc_studio.gui.panels.explore.sampling import STRIP_POINTS, SamplingInfo, TrajectoryRequest
from aigc_studio.gui.panels.explore.views import FillView
from aigc_studio.gui.widgets.views import ImageView, side_column, view_page


def step_caption(index: int, count: int) -> str:
    """'pure noise', 'step 5 / 20', 'step 20 / 20 (the image)'."""
    steps = count - 1
    if index == 0:
        return "pure noise"
    return f"step {index} / {steps}" + (" · image" if index == steps else "")


def strip_points(count: int, points: int = STRIP_POINTS) -> np.ndarray:
    """Indices of ``points`` states spread evenly from the first to the last of ``count``."""
    return np.unique(np.linspace(0, count - 1, min(points, count)).round().astype(int))


class DenoiseTab:
    """The Denoising tab's widgets and behaviour, mixed into :class:`ExplorerPanel`."""

    def _build_denoise(self) -> QWidget:
        self.denoise_view = FillView("Denoising…")
        self.denoise_view.setToolTip("The sample at the player's step: pure noise at the start, "
                                     "the finished image at the end.")
        self.denoise_strip = ImageView("")
        self.denoise_strip.setFixedHeight(96)
        self.denoise_strip.setToolTip(f"{STRIP_POINTS} points of the path, evenly spaced: pure "
                                      "noise (left) to the image (right).")
        self.denoise_progress = progress_bar("The sampler's steps for this path.")
        self._progress_bars["trajectory"] = self.denoise_progress
        self.denoise_caption = QLabel("")
        self.denoise_caption.setObjectName("hint")
        self.denoise_caption.setAlignment(Qt.AlignmentFlag.AlignRight)

        self.denoise_settings = QLabel("")
        self.denoise_settings.setWordWrap(True)
        hint = QLabel("The seed, class and sampler come from the Explore tab: change them "
                      "there and the path is drawn again.")
        hint.setObjectName("hint")
        hint.setWordWrap(True)
        sample = QGroupBox("Sample")
        box = QVBoxLayout(sample)
        box.addWidget(self.denoise_settings)
        box.addWidget(hint)

        self.denoise_player = FramePlayer(fps=8, caption=step_caption, scrub_tip=(
            "Scrub through every sampler step, from pure noise to the image."))
        self.denoise_player.index_changed.connect(self._show_denoise_step)
        playback = QGroupBox("Playback")
        QVBoxLayout(playback).addWidget(self.denoise_player)

        self.denoise_gif_button = QPushButton("Export GIF…")
        self.denoise_gif_button.setToolTip("Save the denoising as an animated GIF (every step, "
                                           "at the player's speed) that records its seed, class "
                                           "and sampler.")
        self.denoise_gif_button.clicked.connect(self._export_denoise_dialog)
        export, self.denoise_scale = export_box(self.denoise_gif_button)

        self._trajectory: np.ndarray | None = None
        self._trajectory_request: TrajectoryRequest | None = None
        self._trajectory_dirty = False
        self.denoise_page = view_page(
            self.denoise_view,
            below_view(self.denoise_strip, self.denoise_progress, self.denoise_caption),
            side_column(sample, playback, export))
        self.register_saver(self.denoise_page, self.save_denoising)
        self.tabs.currentChanged.connect(self._on_denoise_tab)
        return self.denoise_page

    def trajectory_frames(self) -> np.ndarray | None:
        """Every state of the path shown (steps + 1, H, W, 3), noise first; None before."""
        return self._trajectory

    def denoise_step(self) -> int:
        """The step the player shows (0: pure noise)."""
        return self.denoise_player.index()

    def _on_denoising_info(self, info: SamplingInfo) -> None:
        """A model loaded: offer the tab only when its family has a denoising path."""
        index = self.tabs.indexOf(self.denoise_page)
        if not info.denoising and self.tabs.currentIndex() == index:
            self.tabs.setCurrentIndex(0)
        self.tabs.setTabVisible(index, info.denoising)
        self._trajectory = None  # the previous model's path is not this one's
        self.denoise_view.set_image(None)
        self.denoise_strip.set_image(None)
        self._trajectory_dirty = info.denoising
        self._on_denoise_tab()

    def _request_trajectory(self, *_: object) -> None:
        """The path must be drawn again: now if the tab is in front, else when it comes."""
        if not self._sampling.denoising:
            return
        self._trajectory_dirty = True
        self._on_denoise_tab()

    def _on_denoise_tab(self, *_: object) -> None:
        if not self._trajectory_dirty or self.tabs.currentWidget() is not self.denoise_page:
            return
        self._trajectory_dirty = False
        settings = self.sampler_settings()
        self._trajectory_serial += 1
        request = TrajectoryRequest(
            seed=self.seed(), class_index=self.class_index(), sampler=settings,
            steps=int(dict(settings).get("steps", self._sampling.steps or 1)),
            serial=self._trajectory_serial)
        self._trajectory_request = request
        caption = self.settings_caption()
        self.denoise_settings.setText(f"Seed {request.seed}" + (f" · {caption}" if caption
                                                                  else ""))
        self.worker.submit_trajectory(request)
        self._start_progress("trajectory")

    def _on_trajectory(self, serial: int, frames: np.ndarray) -> None:
        if serial != self._trajectory_serial:
            return  # a newer path is on its way
        from aigc_studio.core.grid import make_grid

        self.denoise_progress.hide()
        self._trajectory = frames
        picks = strip_points(len(frames))
        self.denoise_strip.set_image(make_grid(frames[picks], ncols=len(picks)))
        self.denoise_caption.setText(f"{len(picks)} points of {len(frames) - 1} steps: pure "
                                     "noise (left) to the image (right)")
        self.denoise_player.set_count(len(frames))
        self.trajectory_shown.emit(len(frames))

    def _show_denoise_step(self, index: int) -> None:
        if self._trajectory is not None and 0 <= index < len(self._trajectory):
            self.denoise_view.set_image(self._trajectory[index])

    def _denoise_stamp(self, kind: str) -> Provenance:
        from aigc_studio.errors import AigcError

        request = self._trajectory_request
        if self._trajectory is None or request is None:
            raise AigcError("There is no denoising path to export yet.")
        return self.stamp(kind, seeds=(request.seed,), class_index=request.class_index,
                          **dict(request.sampler))

    def export_denoising_gif(self, path: Path) -> Path:
        """Every step of the path as a looping GIF, stamped with seed, class and sampler."""
        stamp = self._denoise_stamp("denoising")
        assert self._trajectory is not None
        out = write_gif(self._trajectory, Path(path), stamp, fps=self.denoise_player.fps(),
                        scale=int(self.denoise_scale.currentData()))
        self.message.emit(f"Saved the denoising as {out}.")
        return out

    def save_denoising(self, path: Path) -> Path:
        """The tab's save: a .gif path gets the animation, anything else the strip as a PNG."""
        if Path(path).suffix.lower() == ".gif":
            return self.export_denoising_gif(path)
        stamp = self._denoise_stamp("denoising-strip")
        strip = self.denoise_strip.image()
        assert strip is not None
        return write_png(strip, path, stamp.with_sampler(points=STRIP_POINTS))

    def _export_denoise_dialog(self) -> None:
        seed = self._trajectory_request.seed if self._trajectory_request else self.seed()
        self.save_dialog("Export the denoising as a GIF", f"denoising_{seed}.gif",
                         "GIF images (*.gif)", self.export_denoising_gif)
