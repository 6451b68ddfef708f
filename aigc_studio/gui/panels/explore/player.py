"""One frame player for the explorer's animations (an interpolation walk, a denoising path):
a scrubber, play/pause and a speed, driven by its own timer. A hidden player stops, so a tab
in the background never animates."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QHideEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)


def frame_caption(index: int, count: int) -> str:
    """'3 / 24': the frame on screen, counted from 1."""
    return f"{index + 1} / {count}"


class FramePlayer(QWidget):
    """Scrub, play and pause a sequence of ``count`` frames; says which frame to show."""

    index_changed = Signal(int)

    def __init__(self, *, fps: int = 12, bounce: bool | None = None, scrub_tip: str = "",
                 caption: Callable[[int, int], str] = frame_caption,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._caption = caption
        self._bounces = bounce is not None  # the player offers bouncing at all
        self._count = 0
        self._direction = 1
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._advance)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 0)
        self.slider.setToolTip(scrub_tip)
        self.slider.valueChanged.connect(self._on_index)
        self.label = QLabel("–")
        self.label.setMinimumWidth(70)
        self.label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.play_button = QPushButton("Play")
        self.play_button.setObjectName("primary")
        self.play_button.setCheckable(True)
        self.play_button.setToolTip("Play as an animation; press again to pause.")
        self.play_button.toggled.connect(self._on_play_toggled)
        self.fps_spin = QSpinBox()
        self.fps_spin.setRange(1, 60)
        self.fps_spin.setValue(fps)
        self.fps_spin.setSuffix(" fps")
        self.fps_spin.setToolTip("Animation speed in frames per second (also used for the GIF).")
        self.fps_spin.valueChanged.connect(self._on_fps)
        self.bounce_check = QCheckBox("Bounce")
        self.bounce_check.setChecked(bool(bounce))
        self.bounce_check.setVisible(bounce is not None)
        self.bounce_check.setToolTip("Play forwards then backwards instead of jumping back to "
                                     "the start (also applies to the GIF).")
        scrub = QHBoxLayout()
        scrub.addWidget(self.slider, 1)
        scrub.addWidget(self.label)
        buttons = QHBoxLayout()
        buttons.addWidget(self.play_button)
        buttons.addWidget(self.fps_spin)
        buttons.addWidget(self.bounce_check)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(scrub)
        layout.addLayout(buttons)

    def count(self) -> int:
        """Frames the player runs over."""
        return self._count

    def set_count(self, count: int) -> None:
        """A new sequence of ``count`` frames: keep the place where possible, show it."""
        self._count = count
        keep = max(0, min(self.slider.value(), count - 1))
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(0, count - 1))
        self.slider.setValue(keep)
        self.slider.blockSignals(False)
        self._on_index(keep)

    def index(self) -> int:
        """The frame on screen."""
        return int(self.slider.value())

    def set_index(self, index: int) -> None:
        """Show frame ``index``."""
        self.slider.setValue(int(index))

    def play(self) -> None:
        """Start the animation at the chosen speed."""
        self.play_button.setChecked(True)

    def pause(self) -> None:
        """Stop the animation where it is."""
        self.play_button.setChecked(False)

    def is_playing(self) -> bool:
        """True while the frames animate."""
        return self._timer.isActive()

    def fps(self) -> int:
        """Frames per second (of the animation and an exported GIF)."""
        return int(self.fps_spin.value())

    def bounce(self) -> bool:
        """Whether the animation plays back and forth."""
        return self._bounces and self.bounce_check.isChecked()

    def hideEvent(self, event: QHideEvent) -> None:
        """A player out of sight stops (its tab went to the background)."""
        self.pause()
        super().hideEvent(event)

    def _on_index(self, index: int) -> None:
        self.label.setText(self._caption(index, self.slider.maximum() + 1))
        self.index_changed.emit(index)

    def _on_play_toggled(self, on: bool) -> None:
        self.play_button.setText("Pause" if on else "Play")
        if on:
            self._timer.start(round(1000 / self.fps_spin.value()))
        else:
            self._timer.stop()

    def _on_fps(self, fps: int) -> None:
        if self._timer.isActive():
            self._timer.setInterval(round(1000 / fps))

    def _advance(self) -> None:
        last = self.slider.maximum()
        if last < 1:
            return
        index = self.slider.value() + self._direction
        if index > last or index < 0:
            if self.bounce():
                self._direction = -self._direction
                index = self.slider.value() + self._direction
            else:
                self._direction, index = 1, 0
        self.slider.setValue(index)
