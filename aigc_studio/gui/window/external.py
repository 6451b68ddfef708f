"""A run trained by separate processes (``aigc-studio train --nproc N``), started and watched.

Several training processes cannot live in the window's own process (each rank is a process
of torch.distributed), so the window starts the same launcher a user would type and follows
the run folder it writes, like any run a headless job writes. This object owns the launcher
process: it finds the new run folder, asks for a clean stop (SIGTERM, which the launcher
forwards to every rank: each stops at the next step and rank 0 writes the checkpoint) and
reports how the job ended in one sentence.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from PySide6.QtCore import QObject, QProcess, QTimer, Signal

from aigc_studio.engine import runs as run_store
from aigc_studio.engine.command import self_program, train_args
from aigc_studio.engine.config import TrainConfig

POLL_MS = 250  # how often the runs folder is looked at until the job's run folder appears
STOPPED = 130  # the launcher's status when the run stopped on request


def _run_dirs(root: Path) -> set[Path]:
    with contextlib.suppress(OSError):
        return {p for p in root.iterdir() if p.is_dir()}
    return set()


class ExternalRun(QObject):
    """One ``train --nproc N`` job: :meth:`start`, :meth:`stop`, and its signals."""

    run_found = Signal(object)  # Path of the run folder the job writes
    finished = Signal(int, str)  # exit status (0 done, 130 stopped, else failed), one sentence

    def __init__(self, config: TrainConfig, nproc: int, runs_root: Path,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.config = config
        self.nproc = nproc
        self.runs_root = Path(runs_root)
        self.run_dir: Path | None = None
        self.stopping = False
        self._before: set[Path] = set()
        self._last_error = ""
        self.process = QProcess(self)
        self.process.readyReadStandardError.connect(self._read_stderr)
        self.process.readyReadStandardOutput.connect(self._drain_stdout)
        self.process.finished.connect(self._on_finished)
        self.process.errorOccurred.connect(self._on_error)
        self._poll = QTimer(self)
        self._poll.setInterval(POLL_MS)
        self._poll.timeout.connect(self._look_for_run)

    def arguments(self) -> list[str]:
        """The whole command line (program first) this job runs."""
        args = train_args(self.config, out=self.runs_root)
        return [*self_program(), *args, "--nproc", str(self.nproc)]

    def start(self) -> None:
        """Start the launcher; ``run_found`` follows once rank 0 has made the run folder."""
        self.runs_root.mkdir(parents=True, exist_ok=True)
        self._before = _run_dirs(self.runs_root)
        program, *args = self.arguments()
        self.process.start(program, args)
        self._poll.start()

    def is_running(self) -> bool:
        return self.process.state() != QProcess.ProcessState.NotRunning

    def stop(self) -> None:
        """Ask every rank to stop at the next step and save a checkpoint (SIGTERM)."""
        if self.is_running():
            self.stopping = True
            self.process.terminate()

    def kill(self) -> None:
        """End the job now (a second Stop, or the window closing for good)."""
        if self.is_running():
            self.process.kill()

    def wait(self, ms: int = 30_000) -> bool:
        """Block until the job has ended (shutdown only)."""
        return self.process.waitForFinished(ms) if self.is_running() else True

    def _look_for_run(self) -> None:
        for path in sorted(_run_dirs(self.runs_root) - self._before):
            if run_store.is_run_dir(path):
                self._poll.stop()
                self.run_dir = path
                self.run_found.emit(path)
                return

    def _read_stderr(self) -> None:
        text = bytes(self.process.readAllStandardError().data()).decode("utf-8", "replace")
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        if lines:
            self._last_error = lines[-1]

    def _drain_stdout(self) -> None:
        self.process.readAllStandardOutput()  # progress lines: the run folder says the same

    def _on_error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self._poll.stop()
            self.finished.emit(1, f"The training processes could not be started "
                                  f"({self.process.errorString()}).")

    def _on_finished(self, code: int, status: QProcess.ExitStatus) -> None:
        self._poll.stop()
        self._read_stderr()
        if self.run_dir is None:
            self._look_for_run()
        if status == QProcess.ExitStatus.CrashExit:
            code, text = ((STOPPED, "") if self.stopping
                          else (1, "The training job ended unexpectedly."))
        elif code in (0, STOPPED):
            text = ""
        else:
            text = self._last_error or f"The training job failed (exit status {code})."
        self.finished.emit(code, text)
