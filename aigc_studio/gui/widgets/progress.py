"""A long operation in the background, with a progress dialog and Cancel.

Exports that read every epoch of a run (a GIF of the training, TensorBoard event files) take
seconds to minutes; the window must keep painting, show how far they are and let the user
stop them. The operation is a generator that yields ``(done, total)`` and returns its result:
it runs as a :class:`~aigc_studio.gui.threading.TaskRunner` task, which stops it between
yields on Cancel. One helper serves every such export.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QProgressDialog, QWidget

from aigc_studio.gui.threading import Outcome, TaskRunner

Progress = Iterator[tuple[int, int]]


class LongTask(QObject):
    """Runs one generator task with a progress dialog; ``finished(Outcome)`` when it ends
    (``Outcome.cancelled`` after Cancel)."""

    finished = Signal(object)  # Outcome

    def __init__(self, parent: QWidget, title: str, text: str) -> None:
        super().__init__(parent)
        self.runner = TaskRunner(self)
        self.runner.yielded.connect(self._on_progress)
        self.runner.finished.connect(self._on_finished)
        self.dialog = QProgressDialog(text, "Cancel", 0, 0, parent)
        self.dialog.setWindowTitle(title)
        self.dialog.setWindowModality(Qt.WindowModality.WindowModal)
        self.dialog.setMinimumDuration(400)  # a quick export never flashes a dialog
        self.dialog.setAutoClose(False)
        self.dialog.setAutoReset(False)
        self.dialog.canceled.connect(self.cancel)
        self.dialog.reset()  # hidden until started

    def start(self, fn: Callable[..., Progress], *args: Any, **kwargs: Any) -> None:
        """Run ``fn(*args, **kwargs)``, a generator of ``(done, total)`` returning the result."""
        self.dialog.setRange(0, 0)
        self.dialog.setValue(0)
        self.runner.start(fn, *args, **kwargs)

    def is_running(self) -> bool:
        return self.runner.is_running()

    def cancel(self) -> None:
        """Stop at the operation's next step; ``finished`` says it was cancelled."""
        self.runner.cancel()

    def wait(self) -> bool:
        """Cancel and join (shutdown)."""
        return self.runner.wait()

    def _on_progress(self, value: object) -> None:
        if isinstance(value, tuple) and len(value) == 2:
            done, total = value
            self.dialog.setMaximum(max(int(total), 1))
            self.dialog.setValue(min(int(done), max(int(total), 1)))

    def _on_finished(self, outcome: Outcome) -> None:
        self.dialog.reset()
        self.finished.emit(outcome)
