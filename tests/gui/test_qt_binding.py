"""The Qt binding itself must not leak references: PySide6 6.12.0 does, and crashes long runs.

On 6.12.0 every ``Signal.emit()`` from Python drops a reference to ``True`` and every Python
slot called from Qt drops one to ``None``; after some thousand signals the interpreter aborts
("Fatal Python error: bool_dealloc / none_dealloc"). 6.11.3 passes both checks. The studio
emits ~20 signals a second while training, so this is a release blocker, not a nicety.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

PROBE = textwrap.dedent(
    """
    import gc, sys
    gc.disable()
    from PySide6.QtCore import QCoreApplication, QObject, QTimer, Signal
    app = QCoreApplication([])

    class Source(QObject):
        fired = Signal(object)

    class Sink(QObject):
        def slot(self, *args):
            pass

    source, sink = Source(), Sink()
    source.fired.connect(sink.slot)
    timer = QTimer()
    timer.setInterval(0)
    timer.timeout.connect(sink.slot)
    timer.start()
    source.fired.emit(0)
    app.processEvents()
    before = sys.getrefcount(True), sys.getrefcount(None)
    for _ in range(20):
        source.fired.emit(1)
        app.processEvents()
    after = sys.getrefcount(True), sys.getrefcount(None)
    print(after[0] - before[0], after[1] - before[1])
    """
)


def test_signals_and_slots_do_not_leak_references() -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                            timeout=120, env=env)
    import PySide6

    advice = (f"PySide6 {PySide6.__version__} loses references on every signal / slot call; "
              "the app aborts in a long session. Use a release without this bug (6.11.3 is "
              "fine).")
    assert "_dealloc" not in result.stderr, f"{advice}\n{result.stderr[-500:]}"
    assert result.returncode == 0, result.stderr[-2000:]
    true_delta, none_delta = (int(v) for v in result.stdout.split())
    assert (true_delta, none_delta) == (0, 0), f"{advice} (True: {true_delta}, None: {none_delta})"
