"""Following a run on disk that another process writes (the CLI, a second window)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from aigc_studio.engine import runlock
from aigc_studio.engine import runs as run_store
from aigc_studio.engine.runs import RunInfo
from aigc_studio.gui.widgets.sample_view import epoch_of


def follow_text(run_dir: Path) -> str:
    """The status line of a followed run: the same writer state the list shows."""
    state = runlock.probe(run_dir)
    name = run_dir.name
    if state.running:
        return f"Following run {name} (written by {state.describe()})"
    try:
        recorded = run_store.read_run_doc(run_dir).get("status", "")
    except Exception:  # a damaged config: the list says why
        recorded = ""
    status = run_store.run_status(recorded, state)
    if status == "interrupted":
        return (f"Run {name} was interrupted: its writer stopped without finishing "
                "(resume it to continue)")
    return f"Run {name}: {status or 'not being written'}"



class RunFollower(QObject):
    """Polls a run folder once a second and reports what is new.

    ``records`` carries the new step and epoch records of ``metrics.jsonl``; ``grid`` one new
    epoch grid (epoch, path); ``progress`` the run's ``RunInfo`` after each change.
    """

    records = Signal(list)  # new metrics.jsonl records (step and epoch kinds)
    grid = Signal(int, object)  # epoch, Path of its sample grid
    progress = Signal(object)  # RunInfo
    status = Signal(str)  # follow_text() at every poll: the writer may die without writing

    def __init__(self, parent: QObject | None = None, interval_ms: int = 1000) -> None:
        super().__init__(parent)
        self.run_dir: Path | None = None
        self._sig: tuple[int, int] = (-1, -1)
        self._last_step = 0
        self._last_epoch = 0
        self._known_epochs: set[int] = set()
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.poll)

    def follow(self, run_dir: Path, *, last_step: int, last_epoch: int,
               known_epochs: set[int]) -> None:
        """Start following ``run_dir`` from what is already shown."""
        self.run_dir = Path(run_dir)
        self._sig = self.signature(self.run_dir)
        self._last_step = last_step
        self._last_epoch = last_epoch
        self._known_epochs = set(known_epochs)
        self._timer.start()

    def stop(self) -> None:
        """Stop polling."""
        self._timer.stop()

    def is_following(self) -> bool:
        return self._timer.isActive()

    @staticmethod
    def signature(run_dir: Path) -> tuple[int, int]:
        """(metrics.jsonl size, number of sample grids): changes when the run moves on."""
        try:
            size = (run_dir / run_store.METRICS).stat().st_size
        except OSError:
            size = 0
        return size, len(run_store.sample_paths(run_dir))

    def poll(self) -> bool:
        """Look once; True when something changed (the timer calls this)."""
        run_dir = self.run_dir
        if run_dir is None or not run_dir.is_dir():
            self.stop()
            return False
        self.status.emit(follow_text(run_dir))
        sig = self.signature(run_dir)
        if sig == self._sig:
            return False
        self._sig = sig
        records = run_store.read_metrics_or_empty(run_dir)  # a damaged file: nothing new
        fresh = [r for r in records
                 if (r.get("kind", "step") == "step" and int(r.get("step", 0)) > self._last_step)
                 or (r.get("kind") == "epoch" and int(r.get("epoch", 0)) > self._last_epoch)]
        if fresh:
            steps = [int(r.get("step", 0)) for r in fresh if r.get("kind", "step") == "step"]
            epochs = [int(r.get("epoch", 0)) for r in fresh if r.get("kind") == "epoch"]
            self._last_step = max([self._last_step, *steps])
            self._last_epoch = max([self._last_epoch, *epochs])
            self.records.emit(fresh)
        for index, path in enumerate(run_store.sample_paths(run_dir), start=1):
            epoch = epoch_of(path) or index
            if epoch not in self._known_epochs:
                self._known_epochs.add(epoch)
                self.grid.emit(epoch, path)
        info: RunInfo = run_store.read_run(run_dir)
        self.progress.emit(info)
        return True

    @property
    def last_step(self) -> int:
        return self._last_step
