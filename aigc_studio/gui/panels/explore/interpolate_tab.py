"""The explorer's *Interpolate* tab: a walk from seed A to seed B, scrubbed, played and
exported as a GIF or PNG frames."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from aigc_studio.gui.panels.explore.explore_tab import random_seed
from aigc_studio.gui.panels.explore.worker import FramesRequest
from aigc_studio.gui.widgets.views import ImageView, seed_spin, side_column, view_page

EXPORT_SCALES = (1, 2, 4, 8)


class InterpolateTab:
    """The Interpolate tab's widgets and behaviour, mixed into :class:`ExplorerPanel`."""

    def _build_interpolate(self) -> QWidget:
        self.walk_view = ImageView("Rendering the walk…")
        self.walk_view.setToolTip("The frame at the position slider's place on the walk.")
        self.strip_view = ImageView("")
        self.strip_view.setFixedHeight(96)
        self.strip_view.setToolTip("The whole walk at a glance, from seed A (left) to seed B.")

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

        return view_page(self.walk_view, self.strip_view, side_column(ends, playback, export))

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
        if self._info is None or not self._info.capabilities.samples:
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
