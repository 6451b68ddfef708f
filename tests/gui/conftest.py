"""GUI fixtures: an isolated studio home, settings file and a ready main window."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings

from aigc_studio.engine.config import TrainConfig

TORCH_TIMEOUT_MS = 120_000  # the first test imports torch (seconds on a busy CPU)
TRAIN_TIMEOUT_MS = 180_000


def tiny_config(**overrides: object) -> TrainConfig:
    """A run that trains in seconds on a CPU."""
    values: dict[str, object] = dict(
        dataset="shapes", limit=128, batch_size=32, width=8, latent_dim=16, epochs=2,
        log_every=1, device="cpu",
    )
    values.update(overrides)
    return TrainConfig(**values).validate()  # type: ignore[arg-type]


@pytest.fixture
def studio_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """AIGC_STUDIO_HOME in tmp_path, so nothing is written into the real user folder."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("AIGC_STUDIO_HOME", str(home))
    return home


@pytest.fixture
def runs_root(studio_home: Path) -> Path:
    """The runs folder inside the isolated home."""
    return studio_home / "runs"


@pytest.fixture
def settings(tmp_path: Path) -> QSettings:
    """A QSettings file private to the test."""
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def make_window(qtbot, settings: QSettings, runs_root: Path) -> Iterator[Callable]:
    """Factory for shown main windows; every window is stopped and joined at teardown."""
    from aigc_studio.gui.main_window import MainWindow

    windows: list[MainWindow] = []

    def make(*, wait_ready: bool = True, **kwargs: object) -> MainWindow:
        kwargs.setdefault("settings", settings)
        kwargs.setdefault("runs_root", runs_root)
        window = MainWindow(**kwargs)  # type: ignore[arg-type]
        qtbot.addWidget(window)
        windows.append(window)
        if wait_ready:
            with qtbot.waitSignal(window.torch_ready, timeout=TORCH_TIMEOUT_MS):
                window.show()
        else:
            window.show()
        return window

    yield make
    for window in windows:
        if window.is_training():
            window.stop_training()
            qtbot.waitUntil(lambda w=window: not w.is_training(), timeout=TRAIN_TIMEOUT_MS)
        window.shutdown()


@pytest.fixture
def window(make_window: Callable):
    """A shown main window with PyTorch loaded."""
    return make_window()


TINY_LATENT = 16  # latent size of the tiny_runs models


@pytest.fixture(scope="session")
def tiny_runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """A tiny real DCGAN ("gan") and autoencoder ("ae"), two epochs each, trained once."""
    import torch

    from aigc_studio.engine.trainer import Trainer

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny models on a shared 2-core CPU: threads only contend
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("AIGC_STUDIO_HOME", str(tmp_path_factory.mktemp("home")))
            root = tmp_path_factory.mktemp("tiny-runs")
            common = dict(dataset="digits", limit=1024, batch_size=16, width=8,
                          latent_dim=TINY_LATENT, epochs=2, seed=1)
            yield {name: Trainer(TrainConfig(model=model, **common),  # type: ignore[arg-type]
                                 runs_root=root).fit().run_dir
                   for name, model in (("gan", "dcgan"), ("ae", "autoencoder"))}
    finally:
        torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def no_dangling_workers(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a test that leaves a background task running in the thread pool (the window's
    workers are superqt pool tasks, which the QThread check above cannot see)."""
    yield
    from PySide6.QtCore import QThreadPool

    pool = QThreadPool.globalInstance()
    if pool.activeThreadCount() and not pool.waitForDone(60_000):
        pytest.fail(f"{request.node.nodeid} left background tasks running", pytrace=False)


@contextlib.contextmanager
def shown_panel(qtbot, widget: Any) -> Iterator[Any]:
    """A panel with a background worker, shown at a laptop size; its worker is shut down on
    leaving, whatever the test did."""
    qtbot.addWidget(widget)
    widget.resize(1100, 700)
    widget.show()
    try:
        yield widget
    finally:
        widget.shutdown()


@pytest.fixture
def explorer_panel(qtbot) -> Iterator[Any]:
    """A shown ExplorerPanel, stopped and joined at teardown. PCA directions are asked for
    by the tests that use them (an SVD in the background would delay every other test's
    renders on a busy CPU)."""
    from aigc_studio.gui.panels.explore.panel import ExplorerPanel

    with shown_panel(qtbot, ExplorerPanel(auto_directions=False)) as widget:
        yield widget
    assert not widget.worker.is_running()
