"""The window's status bar: state, epoch and step, progress, time left, speed, device."""

from __future__ import annotations

import time
from collections import deque

from PySide6.QtCore import Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QLabel, QProgressBar, QSizePolicy, QStatusBar

from aigc_studio.core.text import format_duration

RATE_WINDOW_S = 30.0  # the speed behind the time left: the last 30 seconds


class ElidedLabel(QLabel):
    """A one-line label that ends in '…' when the bar is too narrow, with the whole sentence
    in its tooltip: the status bar never cuts a sentence off mid-word without a way to read
    it. ``text()`` stays the whole sentence."""

    def __init__(self, text: str = "") -> None:
        super().__init__()
        self._full = ""
        self.setMinimumWidth(80)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setText(text)

    def setText(self, text: str) -> None:
        self._full = text
        self.setToolTip(text)
        self._elide()

    def text(self) -> str:
        return self._full

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        shown = self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight,
                                              max(self.width(), 40))
        super().setText(shown)

    def shown_text(self) -> str:
        """What is on screen (the sentence, or its start and '…')."""
        return super().text()


class StatusBar:
    """Builds the status bar's widgets and keeps the speed samples for the time left."""

    def __init__(self, bar: QStatusBar) -> None:
        self.bar = bar
        self.device_label = QLabel("Device: …")
        self.device_label.setToolTip("Where the model trains.")
        self.step_label = QLabel("")
        self.step_label.setToolTip("Current epoch and global optimisation step.")
        self.progress = QProgressBar()
        self.progress.setFixedWidth(220)
        self.progress.setTextVisible(True)
        self.progress.setToolTip("Progress over all planned steps of the run.")
        self.eta_label = QLabel("")
        self.eta_label.setToolTip("Estimated time left, from the recent speed.")
        self.speed_label = QLabel("")
        self.speed_label.setToolTip("Training images processed per second.")
        self.state_label = ElidedLabel()
        bar.addWidget(self.state_label, 1)
        for widget in (self.step_label, self.progress, self.eta_label, self.speed_label,
                       self.device_label):
            bar.addPermanentWidget(widget)
        self.progress.setRange(0, 0)
        self._rate: deque[tuple[float, int]] = deque(maxlen=200)

    def set_state(self, text: str) -> None:
        """The left-hand sentence: what the window is doing."""
        self.state_label.setText(text)

    def flash(self, text: str, ms: int = 6000) -> None:
        """A passing message over the state sentence."""
        self.bar.showMessage(text, ms)

    def busy(self) -> None:
        """An indeterminate progress bar (loading, preparing data)."""
        self.progress.setVisible(True)
        self.progress.setRange(0, 0)
        self.progress.setFormat("")

    def reset(self) -> None:
        """No progress to show."""
        self.progress.setVisible(False)
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("")
        self.eta_label.setText("")
        self.speed_label.setText("")

    def show_epochs(self, done: int, planned: int) -> None:
        """Progress as epochs done of planned (an opened or followed run)."""
        self.progress.setVisible(True)
        self.progress.setRange(0, max(planned, 1))
        self.progress.setValue(min(done, max(planned, 1)))
        self.progress.setFormat(f"{done}/{planned} epochs")

    def start_steps(self, start_step: int, total_steps: int) -> None:
        """Progress over the steps of a run that trains now."""
        self.progress.setRange(0, max(total_steps, 1))
        self.progress.setValue(start_step)
        self.progress.setFormat("%p%")
        self.clear_rate()
        self._rate.append((time.monotonic(), start_step))

    def clear_rate(self) -> None:
        """Forget the speed samples (after a pause the old speed says nothing)."""
        self._rate.clear()

    def show_step(self, *, epoch: int, epochs: int, step: int, per_epoch: int, total: int,
                  images_per_s: float, paused: bool) -> None:
        """A step report: epoch and step, progress, speed and time left."""
        self._rate.append((time.monotonic(), step))
        in_epoch = (step - 1) % per_epoch + 1 if per_epoch else step
        self.step_label.setText(f"Epoch {epoch}/{epochs} · step {in_epoch}/{per_epoch}"
                                if per_epoch else f"Epoch {epoch} · step {step}")
        if total:
            self.progress.setValue(min(step, total))
        self.speed_label.setText(f"{images_per_s:,.0f} img/s")
        if not paused:
            self.eta_label.setText(self.eta_text(total, step))

    def eta_text(self, total: int, step: int) -> str:
        """'ETA 3 min 05 s' from the speed of the last 30 seconds ('ETA …' when unknown)."""
        now = time.monotonic()
        samples = [s for s in self._rate if s[0] >= now - RATE_WINDOW_S]
        if not total or len(samples) < 2:
            return "ETA …"
        (t0, s0), (t1, s1) = samples[0], samples[-1]
        if t1 <= t0 or s1 <= s0:
            return "ETA …"
        rate = (s1 - s0) / (t1 - t0)
        return f"ETA {format_duration((total - step) / rate)}"
