"""GUI-thread responsiveness while the window trains at full speed.

A 5 ms QTimer on the GUI thread records how late each tick fires. The reference is the same
probe with the window idle, measured in the same run; then the window trains the seed model
(DCGAN 32x32, width 64, batch 64) on the bundled digits and the probe runs again.
Targets: stall p99 < 50 ms and max < 200 ms while training.

    python benchmarks/ui_latency.py [--seconds 20] [--platform offscreen|xcb]
                                    [--watchdog-ms 80 --watchdog-file stalls.txt]

``--watchdog-ms`` dumps every thread's Python stack whenever the GUI thread is late by more
than that (faulthandler needs no GIL to do it): where a stall comes from.

The last line is the headline figure alone: ``p99_ms X``.
"""

from __future__ import annotations

import argparse
import faulthandler
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _stats import percentile  # the benchmarks folder is the script's own


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--platform", default=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    parser.add_argument("--watchdog-ms", type=float, default=0.0)
    parser.add_argument("--watchdog-file", default="ui_stalls.txt")
    args = parser.parse_args()
    os.environ["QT_QPA_PLATFORM"] = args.platform
    home = tempfile.mkdtemp(prefix="aigc-ui-latency-")
    os.environ["AIGC_STUDIO_HOME"] = home

    from PySide6.QtCore import QElapsedTimer, QEventLoop, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from aigc_studio.engine.config import TrainConfig
    from aigc_studio.gui.main_window import MainWindow

    app = QApplication([])
    app.setApplicationName("AIGC Studio (ui latency benchmark)")
    window = MainWindow(settings=QSettings(str(Path(home) / "s.ini"),
                                           QSettings.Format.IniFormat))
    window.resize(1280, 800)
    window.show()

    def wait_for(signal: object, ms: int) -> None:
        loop = QEventLoop()
        signal.connect(loop.quit)  # type: ignore[attr-defined]
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    wait_for(window.torch_ready, 120_000)

    def probe(seconds: float) -> list[float]:
        """Lateness of each 5 ms tick, in ms."""
        lateness: list[float] = []
        clock = QElapsedTimer()
        clock.start()
        last = [clock.nsecsElapsed()]
        timer = QTimer()
        timer.setInterval(5)

        def tick() -> None:
            if watchdog is not None:
                faulthandler.dump_traceback_later(args.watchdog_ms / 1000, file=watchdog)
            now = clock.nsecsElapsed()
            lateness.append(max(0.0, (now - last[0]) / 1e6 - 5.0))
            last[0] = now

        timer.timeout.connect(tick)
        timer.start()
        loop = QEventLoop()
        QTimer.singleShot(int(seconds * 1000), loop.quit)
        loop.exec()
        timer.stop()
        if watchdog is not None:
            faulthandler.cancel_dump_traceback_later()
        return lateness

    watchdog = open(args.watchdog_file, "w") if args.watchdog_ms else None  # noqa: SIM115
    idle = probe(min(5.0, args.seconds))
    config = TrainConfig(dataset="digits", epochs=1000, batch_size=64)
    window.start_training(config)  # the probe covers start-up (data load) and full speed
    t0 = time.perf_counter()
    busy = probe(args.seconds)
    steps = window._last_step
    elapsed = time.perf_counter() - t0
    window.stop_training()
    wait_for(window.training_done, 120_000)
    window.shutdown()

    print(f"platform {args.platform}  probe 5 ms  idle {len(idle)} ticks, training "
          f"{len(busy)} ticks over {elapsed:.1f} s (step {steps})")
    for name, data in (("idle (reference)", idle), ("training", busy)):
        print(f"{name:>18}: stall p50 {statistics.median(data):6.2f} ms  p99 "
              f"{percentile(data, 99):7.2f} ms  max {max(data):7.2f} ms")
    ok = percentile(busy, 99) < 50 and max(busy) < 200
    print(f"ratio p99 training/idle {percentile(busy, 99) / max(percentile(idle, 99), 0.01):.1f}"
          f"  targets p99 < 50 ms and max < 200 ms: {'met' if ok else 'MISSED'}")
    print(f"p99_ms {percentile(busy, 99):.2f}")


if __name__ == "__main__":
    main()
