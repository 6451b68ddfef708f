"""The window with hostile run folders: it starts, lists every run off the GUI thread within
a time limit, marks damaged ones, and shows the same writer state as the command line."""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt

from aigc_studio.engine import runlock
from aigc_studio.engine import runs as run_store
from aigc_studio.gui.main_window import MainWindow
from aigc_studio.gui.panels.runs.browser import RunsBrowser
from tests.engine.crafted import (
    MUTATIONS,
    config_doc,
    damage_cases,
    mutate,
    write_checkpoint,
    write_run,
)

LIST_TIMEOUT_MS = 30_000


def _rows(browser: RunsBrowser) -> dict[str, object]:
    items = [browser.tree.topLevelItem(i) for i in range(browser.tree.topLevelItemCount())]
    return {Path(item.data(0, Qt.ItemDataRole.UserRole)).name: item for item in items}


def test_the_window_starts_and_lists_every_hostile_run(qtbot, make_window: Callable,
                                                       runs_root: Path) -> None:
    runs_root.mkdir(parents=True)
    write_run(runs_root, "good")
    cases = damage_cases(runs_root)  # FIFOs included: a blocking read would hang start-up
    window: MainWindow = make_window(wait_ready=False)
    qtbot.waitUntil(lambda: not window.runs.listing, timeout=LIST_TIMEOUT_MS)
    rows = _rows(window.runs)
    assert set(rows) == set(cases) | {"good"}
    for name in cases:
        assert rows[name].text(1) == "damaged", name  # type: ignore[attr-defined]
    assert rows["good"].text(1) == "DCGAN"  # type: ignore[attr-defined]


def test_fuzzed_runs_always_list_in_the_browser(qtbot, tmp_path: Path) -> None:
    rng = random.Random(5)
    base = write_run(tmp_path / "base", "run")
    write_checkpoint(base)
    root = tmp_path / "runs"
    browser = RunsBrowser(root)
    qtbot.addWidget(browser)
    for round_ in range(3):
        for i in range(8):
            run = write_run(root, f"r{round_}-{i}")
            (run / "checkpoints" / "last.pt").write_bytes(
                (base / "checkpoints" / "last.pt").read_bytes())
            mutate(run, rng, rng.choice(MUTATIONS))
        with qtbot.waitSignal(browser.listed, timeout=LIST_TIMEOUT_MS):
            browser.refresh()
        expected = {p.name for p in root.iterdir() if run_store.is_run_dir(p)}
        assert set(_rows(browser)) == expected


def test_running_and_interrupted_runs_match_the_cli(qtbot, make_window: Callable,
                                                   runs_root: Path) -> None:
    runs_root.mkdir(parents=True)
    run = write_run(runs_root, "live", doc=config_doc(status="running"))
    write_checkpoint(run)
    lock = runlock.RunLock.acquire(run)  # this process is the run's writer
    try:
        window: MainWindow = make_window(wait_ready=False)
        qtbot.waitUntil(lambda: not window.runs.listing, timeout=LIST_TIMEOUT_MS)
        item = _rows(window.runs)["live"]
        assert f"process {os.getpid()}" in item.toolTip(0)  # type: ignore[attr-defined]
        window.runs.select(run)
        assert not window.runs.resume_button.isEnabled()  # another writer holds it
        assert window.open_run(run)
        window.follower.poll()
        assert f"written by process {os.getpid()}" in window.state_label.text()
    finally:
        lock.release()  # the writer "dies": the OS lock is gone
    window.follower.poll()
    assert "interrupted" in window.state_label.text()
    with qtbot.waitSignal(window.runs.listed, timeout=LIST_TIMEOUT_MS):
        window.runs.refresh()
    item = _rows(window.runs)["live"]
    assert "interrupted" in item.toolTip(0)  # type: ignore[attr-defined]
    window.runs.select(run)
    assert window.runs.resume_button.isEnabled()


def test_a_sample_grid_that_is_a_fifo_never_blocks_opening_a_run(
        qtbot, make_window: Callable, runs_root: Path) -> None:
    if not hasattr(os, "mkfifo"):
        return
    runs_root.mkdir(parents=True)
    run = write_run(runs_root, "fifo-grid")
    os.mkfifo(run / "samples" / "epoch_0001.png")
    window: MainWindow = make_window(wait_ready=False)
    assert window.open_run(run, follow=False)  # returns: the FIFO is never opened
    assert window.samples.current_image().isNull()
