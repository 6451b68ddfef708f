"""The explorer's *Interpolate* tab: a walk from seed A to seed B (of the class and with the
sampler settings chosen on the Explore tab), scrubbed, played and exported as a GIF or PNG
frames that carry provenance."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from aigc_studio.core.provenance import Provenance
from aigc_studio.gui.panels.explore.explore_tab import below_view, progress_bar, random_seed
from aigc_studio.gui.panels.explore.export import (
    export_box,
    write_frames,
    write_gif,
    write_png,
)
from aigc_studio.gui.panels.explore.player import FramePlayer
from aigc_studio.gui.panels.explore.views import FillView, FilmStrip
from aigc_studio.gui.panels.explore.worker import FramesRequest
from aigc_studio.gui.widgets.views import seed_spin, side_column, view_page


class InterpolateTab:
    """The Interpolate tab's widgets and behaviour, mixed into :class:`ExplorerPanel`."""

    def _build_interpolate(self) -> QWidget:
        self.walk_view = FillView("Rendering the walk…")
        self.walk_view.setToolTip("The frame at the position slider's place on the walk.")
        self.strip_view = FilmStrip("Every frame of the walk, from seed A (left) to seed B; "
                                    "the outlined one is on screen. Click or drag to pick a "
                                    "frame.")
        self.strip_view.picked.connect(self.set_position)

        self.seed_a = seed_spin("Where the walk starts: the noise vector of this seed.")
        self.seed_a.setValue(1)
        self.seed_b = seed_spin("Where the walk ends: the noise vector of this seed.")
        self.seed_b.setValue(2)
        self.dice_a = QPushButton("Random")
        self.dice_a.setToolTip("Pick a new random seed for the start of the walk.")
        self.dice_b = QPushButton("Random")
        self.dice_b.setToolTip("Pick a new random seed for the end of the walk.")
        self.dice_a.clicked.connect(lambda: self.seed_a.setValue(random_seed()))
        self.dice_b.clicked.connect(lambda: self.seed_b.setValue(random_seed()))
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
            signal.connect(self._submit_frames)
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

        self.walk_caption = QLabel("")
        self.walk_caption.setObjectName("hint")
        self.walk_caption.setWordWrap(True)
        self.walk_caption.setToolTip("The class and sampler settings come from the Explore tab.")
        form.addRow(self.walk_caption)

        self.walk_player = FramePlayer(fps=12, bounce=True, scrub_tip=(
            "Scrub along the walk: left is seed A, right is seed B."))
        self.walk_player.index_changed.connect(self._show_frame)
        # the player's parts, by the names the panel's API and tests use
        self.position, self.position_label = self.walk_player.slider, self.walk_player.label
        self.play_button, self.fps_spin = self.walk_player.play_button, self.walk_player.fps_spin
        self.bounce_check = self.walk_player.bounce_check
        playback = QGroupBox("Playback")
        QVBoxLayout(playback).addWidget(self.walk_player)

        self.gif_button = QPushButton("Export GIF…")
        self.gif_button.setToolTip("Save the walk as a looping animated GIF at the chosen speed.")
        self.gif_button.clicked.connect(self._export_gif_dialog)
        self.frames_button = QPushButton("Export PNG frames…")
        self.frames_button.setToolTip("Save every frame of the walk as a numbered PNG file in a "
                                      "folder (frame_0000.png, …).")
        self.frames_button.clicked.connect(self._export_frames_dialog)
        export, self.scale_combo = export_box(self.gif_button, self.frames_button)

        self.walk_progress = progress_bar("The sampler's steps for the whole walk (every frame "
                                          "is denoised at once).")
        self._progress_bars["frames"] = self.walk_progress
        self._frames_dirty = False
        self.walk_page = view_page(self.walk_view,
                                   below_view(self.strip_view, self.walk_progress),
                                   side_column(ends, playback, export))
        self.register_saver(self.walk_page, self.save_walk)
        self.tabs.currentChanged.connect(self._on_walk_tab)
        return self.walk_page

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
        self._submit_frames()

    def set_spherical(self, spherical: bool) -> None:
        """Slerp (True) or a straight line (False)."""
        self.path_combo.setCurrentIndex(0 if spherical else 1)

    def frames_request(self, serial: int = 0) -> FramesRequest:
        """The walk the controls describe now."""
        return FramesRequest(self.seed_a.value(), self.seed_b.value(), self.steps_spin.value(),
                             bool(self.path_combo.currentData()), serial,
                             class_index=self.class_index(), sampler=self.sampler_settings())

    def frames(self) -> np.ndarray | None:
        """The walk's frames (N, H, W, 3) uint8, None before they are rendered."""
        return self._frames

    def position_index(self) -> int:
        """The frame on screen."""
        return self.walk_player.index()

    def set_position(self, index: int) -> None:
        """Show frame ``index`` of the walk."""
        self.walk_player.set_index(index)

    def _request_frames(self, *_: object) -> None:
        """The walk must be drawn again: now if its tab is in front, else when it comes there
        (a diffusion walk costs a sampler run per frame)."""
        if self.tabs.currentWidget() is self.walk_page:
            self._submit_frames()
        else:
            self._frames_dirty = True

    def _submit_frames(self, *_: object) -> None:
        if self._info is None or not self._info.capabilities.samples:
            return
        self._frames_dirty = False
        self._frames_serial += 1
        self.walk_caption.setText(self.settings_caption())
        self.walk_caption.setVisible(bool(self.walk_caption.text()))
        self.worker.submit_frames(self.frames_request(self._frames_serial))
        self._start_progress("frames")

    def _on_walk_tab(self, _: int) -> None:
        if self._frames_dirty and self.tabs.currentWidget() is self.walk_page:
            self._submit_frames()

    def _on_frames(self, serial: int, frames: np.ndarray) -> None:
        if serial < self._frames_serial:
            return  # a newer walk is on its way
        self.walk_progress.hide()
        self._frames = frames
        n = len(frames)
        self.strip_view.set_frames(frames)
        self.walk_player.set_count(n)
        self.frames_changed.emit(n)

    def _show_frame(self, index: int) -> None:
        if self._frames is None or not len(self._frames):
            return
        index = max(0, min(int(index), len(self._frames) - 1))
        self.walk_view.set_image(self._frames[index])
        self.strip_view.set_current(index)

    def play(self) -> None:
        """Start the animation at the chosen fps."""
        self.walk_player.play()

    def pause(self) -> None:
        """Stop every animation of the panel where it is."""
        self.walk_player.pause()
        self.denoise_player.pause()

    def is_playing(self) -> bool:
        """True while the walk animates."""
        return self.walk_player.is_playing()

    def _walk(self) -> np.ndarray:
        from aigc_studio.errors import AigcError

        if self._frames is None:
            raise AigcError("There is no walk to export yet.")
        return self._frames

    def _walk_stamp(self) -> Provenance:
        request = self.frames_request()
        return self.stamp("interpolation", seeds=(request.seed_a, request.seed_b),
                          class_index=request.class_index, frames=request.steps,
                          path="slerp" if request.spherical else "linear",
                          **dict(request.sampler))

    def export_gif(self, path: Path) -> Path:
        """Write the walk as a looping GIF (speed, bounce and scale as set in the panel), its
        comment stamped with the seeds, class and sampler settings."""
        out = write_gif(self._walk(), Path(path), self._walk_stamp(),
                        fps=self.walk_player.fps(), scale=int(self.scale_combo.currentData()),
                        bounce=self.walk_player.bounce())
        self.message.emit(f"Saved the walk as {out}.")
        return out

    def export_frames(self, folder: Path) -> list[Path]:
        """Write every frame of the walk as a stamped PNG in ``folder``."""
        written = write_frames(self._walk(), Path(folder), self._walk_stamp(),
                               scale=int(self.scale_combo.currentData()))
        self.message.emit(f"Saved {len(written)} frames in {folder}.")
        return written

    def save_walk(self, path: Path) -> Path:
        """The tab's save: a .gif path gets the animation, anything else the frame on screen
        as a stamped PNG."""
        if Path(path).suffix.lower() == ".gif":
            return self.export_gif(path)
        index = self.position_index()
        return write_png(self._walk()[index], path,
                         self._walk_stamp().with_sampler(frame=index))

    def _export_gif_dialog(self) -> None:
        name = f"walk_{self.seed_a.value()}_{self.seed_b.value()}.gif"
        self.save_dialog("Export the walk as a GIF", name, "GIF images (*.gif)",
                         self.export_gif)

    def _export_frames_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export the walk's frames into a folder")
        if folder:
            self.run_export(lambda: self.export_frames(Path(folder)))
