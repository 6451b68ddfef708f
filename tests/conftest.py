"""Shared test set-up: Qt runs offscreen, and no test may leave a QThread running."""

from __future__ import annotations

import os
import weakref
from collections.abc import Iterator

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def no_dangling_qthreads(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a test that leaves a started QThread running (napari's ``dangling_qthreads``)."""
    try:
        from PySide6.QtCore import QThread
    except ImportError:  # pragma: no cover - Qt missing: nothing to watch
        yield
        return
    started: list[weakref.ref] = []
    original_start = QThread.start

    def tracking_start(self: QThread, *args: object, **kwargs: object) -> None:
        started.append(weakref.ref(self))
        original_start(self, *args, **kwargs)

    QThread.start = tracking_start  # type: ignore[method-assign]
    try:
        yield
    finally:
        QThread.start = original_start  # type: ignore[method-assign]
    running = []
    for ref in started:
        thread = ref()
        try:
            if thread is not None and thread.isRunning():
                running.append(thread.objectName() or type(thread).__name__)
        except RuntimeError:  # the C++ object is already gone: it is not running
            continue
    if running:
        # Join them so one leak does not cascade into the next test, then fail this one.
        for ref in started:
            thread = ref()
            try:
                if thread is not None and thread.isRunning():
                    thread.wait(60_000)
            except RuntimeError:
                continue
        pytest.fail(f"{request.node.nodeid} left QThreads running: {', '.join(running)}",
                    pytrace=False)
