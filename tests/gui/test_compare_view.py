"""Issue 18 and 16 in the runs browser: two real runs compared side by side (the settings
that differ, a curve per run, the grids of one epoch) and each run's best quality score."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

from aigc_studio.core.grid import make_grid
from aigc_studio.engine import runs as run_store
from aigc_studio.engine.compare import compare_runs
from aigc_studio.engine.inference import load_model, sample
from aigc_studio.engine.trainer import Trainer
from aigc_studio.gui.panels.runs.browser import BEST, NO_SCORE, RunsBrowser
from aigc_studio.gui.panels.runs.compare_view import CompareView
from tests.gui.conftest import tiny_config

TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Two tiny real DCGAN runs that differ only in the learning rate and the seed."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AIGC_STUDIO_HOME", str(tmp_path_factory.mktemp("home")))
        root = tmp_path_factory.mktemp("compare-runs")
        paths = []
        for lr, seed in ((1e-3, 1), (5e-4, 2)):
            end = Trainer(tiny_config(lr_g=lr, seed=seed, eval_samples=0),
                          runs_root=root).fit()
            assert end.run_dir is not None
            paths.append(end.run_dir)
    return paths


@pytest.fixture
def browser(qtbot, two_runs: list[Path]) -> RunsBrowser:
    widget = RunsBrowser(two_runs[0].parent)
    qtbot.addWidget(widget)
    widget.resize(420, 500)
    widget.show()
    with qtbot.waitSignal(widget.listed, timeout=TIMEOUT_MS):
        widget.refresh()
    yield widget
    if widget.compare_view is not None:
        widget.compare_view.shutdown()
        widget.compare_view.close()


def open_compare(qtbot, browser: RunsBrowser) -> CompareView:
    """Select every run and press Compare; wait until the view shows them."""
    assert not browser.compare_button.isEnabled()  # nothing (one run at most) selected yet
    browser.tree.selectAll()
    assert browser.compare_button.isEnabled()
    view = browser.compare_selected()
    assert view is not None
    # the reading is in the background: results arrive through the event loop only
    with qtbot.waitSignals([view.loaded, view.grids_shown], timeout=TIMEOUT_MS):
        pass
    return view


def table_rows(table) -> dict[str, list[str]]:
    return {table.verticalHeaderItem(r).text(): [table.item(r, c).text()
                                                 for c in range(table.columnCount())]
            for r in range(table.rowCount())}


def test_compare_shows_exactly_the_differing_settings_curves_and_grids(
        qtbot, browser: RunsBrowser, two_runs: list[Path]) -> None:
    view = open_compare(qtbot, browser)
    assert view.isVisible() and view.isWindow()
    order = [r.path for r in view.data.comparison.runs]
    assert sorted(order) == sorted(two_runs)
    settings = table_rows(view.settings_table)
    assert set(settings) == {"lr_g", "seed"}
    configs = [run_store.load_run_config(p) for p in order]
    assert settings["lr_g"] == [f"{c.lr_g:.4g}" for c in configs]
    assert settings["seed"] == [str(c.seed) for c in configs]
    assert set(settings) == set(compare_runs(order).settings)  # what the CLI prints

    # curves: one per run on the step axis and on the epoch axis, each run's own numbers
    assert view.axis() == "step" and view.plotted_metric() == "loss_d"
    assert len(view.curves) == 2
    for item, path in zip(view.curves, order, strict=True):
        steps = [r for r in run_store.read_metrics(path) if r.get("kind") == "step"]
        xs, ys = item.getOriginalDataset()
        assert list(xs) == [r["step"] for r in steps]
        assert np.allclose(ys, [r["loss_d"] for r in steps])
    view.set_axis("epoch")
    assert view.plotted_metric() == "loss_d" and len(view.curves) == 2
    assert list(view.curves[0].getOriginalDataset()[0]) == [1.0, 2.0]
    metrics = table_rows(view.metrics_table)
    headers = [view.metrics_table.horizontalHeaderItem(c).text() for c in range(4)]
    assert headers == ["A last", "A best", "B last", "B best"]
    expected = []
    for run in view.data.comparison.runs:
        best = run.best["loss_d"]
        expected += [f"{run.last['loss_d']:.4g}", f"{best.value:.3g} (ep {best.epoch})"]
    assert metrics["D loss"] == expected

    # grids: the newest shared epoch side by side, then another epoch on request
    assert view.epoch() == 2
    images = view.grid_images()
    assert all(img is not None for img in images) and len(images) == 2
    assert not np.array_equal(images[0], images[1])  # two different runs
    with qtbot.waitSignal(view.grids_shown, timeout=TIMEOUT_MS) as shown:
        view.show_epoch(1)
    assert shown.args == [1]
    assert "epoch 1" in view.grid_captions[0].text()


def test_a_folder_that_is_no_longer_a_run_is_one_sentence(
        qtbot, two_runs: list[Path], tmp_path: Path) -> None:
    view = CompareView()
    qtbot.addWidget(view)
    with qtbot.waitSignal(view.failed, timeout=TIMEOUT_MS):
        view.set_runs([two_runs[0], tmp_path / "gone"])
    assert "is not a run folder" in view.banner.text()
    assert view.data is None and view.curves == []


def _with_scores(run: Path, target: Path, scores: dict[int, float]) -> Path:
    """A copy of ``run`` whose epoch records carry Fréchet LeNet distances."""
    copy = Path(shutil.copytree(run, target))
    lines = []
    for line in (copy / run_store.METRICS).read_text().splitlines():
        record = json.loads(line)
        if record.get("kind") == "epoch":
            record["fld"] = scores[int(record["epoch"])]
        lines.append(json.dumps(record))
    (copy / run_store.METRICS).write_text("\n".join(lines) + "\n")
    return copy


def test_the_best_column_shows_the_best_score_and_its_epoch(
        qtbot, two_runs: list[Path], tmp_path: Path) -> None:
    root = tmp_path / "runs"
    root.mkdir()
    scored = _with_scores(two_runs[0], root / "scored", {1: 12.5, 2: 30.0})  # lower is better
    shutil.copytree(two_runs[1], root / "unscored")
    browser = RunsBrowser(root)
    qtbot.addWidget(browser)
    with qtbot.waitSignal(browser.listed, timeout=TIMEOUT_MS):
        browser.refresh()
    cells = {Path(browser.tree.topLevelItem(i).data(0, Qt.ItemDataRole.UserRole)).name:
             browser.tree.topLevelItem(i) for i in range(browser.tree.topLevelItemCount())}
    assert cells[scored.name].text(BEST) == "FLD 12.5 @1"
    assert "lower is better" in cells[scored.name].toolTip(BEST)
    assert "Fréchet LeNet distance" in cells[scored.name].toolTip(BEST)
    assert cells["unscored"].text(BEST) == NO_SCORE


@pytest.fixture(scope="module")
def ae_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny autoencoder run: a family that cannot draw from a seed."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AIGC_STUDIO_HOME", str(tmp_path_factory.mktemp("home-ae")))
        end = Trainer(tiny_config(model="autoencoder", limit=64, epochs=1, eval_samples=0),
                      runs_root=tmp_path_factory.mktemp("ae-run")).fit()
    assert end.run_dir is not None
    return end.run_dir


def test_the_same_seed_is_drawn_by_each_runs_latest_weights(
        qtbot, two_runs: list[Path], ae_run: Path) -> None:
    view = CompareView()
    qtbot.addWidget(view)
    view.show()
    with qtbot.waitSignal(view.loaded, timeout=TIMEOUT_MS):
        view.set_runs([*two_runs, ae_run])
    assert view.seed_renders == {}  # nothing is drawn until the tab is looked at
    with qtbot.waitSignal(view.seed_shown, timeout=TIMEOUT_MS) as shown:
        view.bottom_tabs.setCurrentWidget(view.seed_page)
    assert shown.args == [1]
    order = [r.path for r in view.data.comparison.runs]
    images = dict(zip(order, view.seed_images(), strict=True))
    for path in two_runs:  # the latest weights, seeds 1..8, as `aigc-studio sample` draws them
        model = load_model(path)
        assert np.array_equal(images[path], make_grid(sample(model, 8, 1), ncols=4))
    assert not np.array_equal(images[two_runs[0]], images[two_runs[1]])
    ae = order.index(ae_run)
    assert images[ae_run] is None
    note = view.seed_renders[ae].note
    assert "drawing images from a seed needs a model that samples" in note
    assert view.seed_views[ae].placeholder == note
    assert "2 of 3 runs" in view.seed_status.text()
    assert view.seed_captions[0].text().endswith("epoch 2")

    with qtbot.waitSignal(view.seed_shown, timeout=TIMEOUT_MS) as shown:
        view.set_seed(40, 16)
    assert shown.args == [40]
    model = load_model(two_runs[0])
    drawn = view.seed_images()[order.index(two_runs[0])]
    assert np.array_equal(drawn, make_grid(sample(model, 16, 40), ncols=8))
    view.shutdown()
