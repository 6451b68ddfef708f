"""The explorer's Latent map tab with real (tiny) trained models: it is there for the models that
encode, its points are the encoded images, a click decodes what ``LatentMap.decode_point``
gives, a dropped image lands where ``LatentMap.locate`` says, a larger latent space says it is
projected, and "Save map" writes the CLI's PNG with provenance."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPointF, Qt

from aigc_studio.core.provenance import read_provenance
from aigc_studio.engine.config import TrainConfig
from aigc_studio.engine.inference import LoadedModel, load_model
from aigc_studio.engine.latent_map import LatentMap, build_latent_map, map_data, render_map
from aigc_studio.errors import AigcError
from aigc_studio.gui.panels.explore.panel import ExplorerPanel
from tests.gui.test_reconstruction import drop

TIMEOUT_MS = 60_000
LIMIT, GRID = 300, 6  # a small map: quick to build on a shared CPU


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """A tiny VAE (2-D latent), autoencoder (8-D latent) and DCGAN, one epoch each."""
    import torch

    from aigc_studio.engine.trainer import Trainer

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny models on a shared CPU: threads only contend
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("AIGC_STUDIO_HOME", str(tmp_path_factory.mktemp("home")))
            root = tmp_path_factory.mktemp("map-runs")
            common = dict(dataset="digits", limit=128, width=8, epochs=1, eval_samples=0)
            models = {"vae": {"model": "vae", "latent_dim": 2},
                      "ae": {"model": "autoencoder", "latent_dim": 8},
                      "gan": {"model": "dcgan", "latent_dim": 8}}
            yield {name: Trainer(TrainConfig(**common, **extra),  # type: ignore[arg-type]
                                 runs_root=root).fit().run_dir
                   for name, extra in models.items()}
    finally:
        torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def vae(runs: dict[str, Path]) -> LoadedModel:
    """The VAE, loaded directly, to compare the view against the engine."""
    return load_model(runs["vae"])


@pytest.fixture(scope="module")
def vae_map(vae: LoadedModel) -> LatentMap:
    """The engine's own map of the VAE (what the view must show)."""
    return build_latent_map(vae, limit=LIMIT)


@pytest.fixture
def panel(explorer_panel: ExplorerPanel) -> ExplorerPanel:
    explorer_panel.resize(1280, 800)
    return explorer_panel


def open_map(qtbot, panel: ExplorerPanel, path: Path) -> int:
    """Load ``path``, bring up the map tab with a small map and wait for it; the point count."""
    with qtbot.waitSignal(panel.model_loaded, timeout=TIMEOUT_MS):
        panel.set_model(path)
    panel.map_limit_spin.setValue(LIMIT)
    panel.map_grid_spin.setValue(GRID)
    with qtbot.waitSignal(panel.map_built, timeout=TIMEOUT_MS) as blocker:
        if panel.tabs.currentIndex() == panel.map_tab_index():
            panel.build_map()  # a model that does not sample opened on its map already
        else:
            panel.tabs.setCurrentIndex(panel.map_tab_index())
    return int(blocker.args[0])


def click_at(qtbot, panel: ExplorerPanel, x: float, y: float) -> None:
    """A real left click on the scatter at map point (x, y)."""
    plot = panel.map_plot
    scene = plot.getViewBox().mapViewToScene(QPointF(x, y))
    qtbot.mouseClick(plot.viewport(), Qt.MouseButton.LeftButton,
                     pos=plot.mapFromScene(scene))


def shown(qtbot, panel: ExplorerPanel) -> tuple[float, float]:
    """Wait until the newest point asked for is decoded on screen; that point."""
    qtbot.waitUntil(lambda: panel.map_point() is not None
                    and panel.map_point() == panel._map_at, timeout=TIMEOUT_MS)
    point = panel.map_point()
    assert point is not None
    return point


def test_the_map_tab_is_there_for_models_that_encode(qtbot, panel: ExplorerPanel,
                                                      runs: dict[str, Path]) -> None:
    index = panel.map_tab_index()
    with qtbot.waitSignal(panel.model_loaded, timeout=TIMEOUT_MS):
        panel.set_model(runs["gan"])
    assert not panel.tabs.isTabVisible(index)
    assert panel.tabs.isTabEnabled(ExplorerPanel.TAB_EXPLORE)

    # the autoencoder does not sample: it opens on its map, the sampling tabs say why not
    with qtbot.waitSignal(panel.map_built, timeout=TIMEOUT_MS):
        panel.set_model(runs["ae"])
    assert panel.stack.currentIndex() == ExplorerPanel.PAGE_MAIN
    assert panel.tabs.isTabVisible(index) and panel.tabs.currentIndex() == index
    for tab in (ExplorerPanel.TAB_EXPLORE, ExplorerPanel.TAB_INTERPOLATE,
                ExplorerPanel.TAB_COMPARE):
        assert not panel.tabs.isTabEnabled(tab)
        assert "does not draw images from noise" in panel.tabs.tabToolTip(tab)
    assert panel.map_reconstruct_button.isVisible()
    with qtbot.waitSignal(panel.open_reconstruction) as blocker:
        panel.map_reconstruct_button.click()
    assert blocker.args == [runs["ae"]]

    # the VAE does both: every tab, with its own tooltip back
    with qtbot.waitSignal(panel.model_loaded, timeout=TIMEOUT_MS):
        panel.set_model(runs["vae"])
    assert panel.tabs.isTabVisible(index)
    assert panel.tabs.isTabEnabled(ExplorerPanel.TAB_EXPLORE)
    assert "seed" in panel.tabs.tabToolTip(ExplorerPanel.TAB_EXPLORE)
    with qtbot.waitSignal(panel.model_loaded, timeout=TIMEOUT_MS):
        panel.set_model(runs["gan"])
    assert not panel.tabs.isTabVisible(index)
    assert panel.tabs.currentIndex() != index


def test_points_are_the_encoded_images_and_a_click_decodes_them(
        qtbot, panel: ExplorerPanel, runs: dict[str, Path], vae_map: LatentMap) -> None:
    assert open_map(qtbot, panel, runs["vae"]) == len(vae_map.coords) == LIMIT
    assert panel.map_point_count() == LIMIT
    result = panel.map_result()
    assert result is not None
    assert np.array_equal(result.coords, vae_map.coords)
    assert result.class_names == tuple("0123456789") and panel.map_legend.isVisible()
    assert "Latent size 2" in panel.map_caption.text()
    assert panel.map_save_button.isEnabled()

    # a click on a data point decodes exactly that point
    x, y = vae_map.coords[7]
    click_at(qtbot, panel, float(x), float(y))
    point = shown(qtbot, panel)
    assert np.any(np.all(vae_map.coords == np.float32(point), axis=1))
    assert np.array_equal(panel.map_image(), vae_map.decode_point(*point))

    # a click between the points decodes the place clicked
    x0, x1, y0, y1 = vae_map.extent
    click_at(qtbot, panel, x0 + 0.03 * (x1 - x0), y1 - 0.03 * (y1 - y0))
    point = shown(qtbot, panel)
    assert point[0] < x0 + 0.1 * (x1 - x0) and point[1] > y1 - 0.1 * (y1 - y0)
    assert np.array_equal(panel.map_image(), vae_map.decode_point(*point))

    # a drag sends many points: the newest one ends on screen
    path = np.linspace((x0, y0), (x1, y1), 25)
    for px, py in path:
        panel.decode_map_point(float(px), float(py))
    assert shown(qtbot, panel) == (float(path[-1][0]), float(path[-1][1]))
    assert np.array_equal(panel.map_image(), vae_map.decode_point(*path[-1]))


def test_a_dropped_image_shows_where_it_lands(qtbot, panel: ExplorerPanel,
                                             runs: dict[str, Path], vae: LoadedModel,
                                             vae_map: LatentMap, tmp_path: Path) -> None:
    open_map(qtbot, panel, runs["vae"])
    digit = map_data(vae, LIMIT).images[11].permute(1, 2, 0).numpy()
    file = tmp_path / "digit.png"
    Image.fromarray(digit[..., 0]).save(file)
    with qtbot.waitSignal(panel.map_landed, timeout=TIMEOUT_MS) as blocker:
        drop(qtbot, panel.map_page, [file])  # a real drag-enter, then the drop
    expected = vae_map.locate_file(file)
    assert tuple(blocker.args) == pytest.approx(expected, abs=1e-6)
    assert panel.landed_point() == pytest.approx(expected, abs=1e-6)
    assert panel.landed_point() == pytest.approx(tuple(vae_map.coords[11]), abs=1e-4)
    assert np.array_equal(panel.map_dropped_view.image()[..., 0], digit[..., 0])
    assert panel.map_rebuilt_view.image() is not None
    assert "digit.png lands at" in panel.map_landed_label.text()

    # a file that is not an image is one sentence in the banner
    bad = tmp_path / "notes.png"
    bad.write_text("not an image")
    with qtbot.waitSignal(panel.map_error, timeout=TIMEOUT_MS) as blocker:
        panel.locate_image(bad)
    assert "notes.png" in blocker.args[0] and panel.banner.isVisible()


def test_a_larger_latent_space_says_it_is_projected(qtbot, panel: ExplorerPanel,
                                                    runs: dict[str, Path]) -> None:
    model = load_model(runs["ae"])
    engine_map = build_latent_map(model, limit=LIMIT)
    assert open_map(qtbot, panel, runs["ae"]) == LIMIT
    caption = panel.map_caption.text()
    assert caption == engine_map.note
    assert caption.startswith("Latent size 8: the map shows the first two principal directions")
    assert panel.map_caption.isVisible()
    assert panel.map_plot.getPlotItem().getAxis("bottom").labelText == "PC 1"
    panel.decode_map_point(0.5, -0.25)
    assert np.array_equal(panel.map_image() if shown(qtbot, panel) else None,
                          engine_map.decode_point(0.5, -0.25))


def test_save_map_writes_the_cli_png_with_provenance(qtbot, panel: ExplorerPanel,
                                                     runs: dict[str, Path], vae_map: LatentMap,
                                                     tmp_path: Path) -> None:
    open_map(qtbot, panel, runs["vae"])
    out = tmp_path / "map.png"
    with qtbot.waitSignal(panel.map_saved, timeout=TIMEOUT_MS) as blocker:
        panel.save_map(out)
    assert blocker.args == [out]
    with Image.open(out) as image:
        assert np.array_equal(np.asarray(image.convert("RGB")), render_map(vae_map, grid=GRID))
    prov = read_provenance(out)
    assert prov.kind == "latent-map" and prov.model == "vae"
    assert prov.run_folder == runs["vae"].name and prov.epoch == 1
    assert dict(prov.sampler) == {"grid": GRID, "limit": LIMIT}


def test_building_can_be_cancelled_and_a_failure_is_one_sentence(
        qtbot, panel: ExplorerPanel, runs: dict[str, Path],
        monkeypatch: pytest.MonkeyPatch) -> None:
    with qtbot.waitSignal(panel.model_loaded, timeout=TIMEOUT_MS):
        panel.set_model(runs["vae"])
    panel.tabs.setCurrentIndex(panel.map_tab_index())
    assert panel.map_busy.isVisible() and panel.map_cancel_button.isVisible()
    assert panel.map_message.heading.text() == "Building the latent map…"
    panel.map_action.click()  # the page's Cancel: the GUI is free at once
    assert not panel.map_busy.isVisible()
    assert panel.map_message.heading.text() == "The map was not built"
    assert panel.map_action.text() == "Build the map"

    def unreadable(*_: object, **__: object) -> None:
        raise AigcError("The data set digits could not be read.")

    monkeypatch.setattr("aigc_studio.engine.latent_map.map_data", unreadable)
    with qtbot.waitSignal(panel.map_error, timeout=TIMEOUT_MS) as blocker:
        panel.map_action.click()
    assert blocker.args == ["The data set digits could not be read."]
    assert panel.map_action.text() == "Try again"
    assert panel.map_message.heading.text() == "Could not build the latent map"
    assert panel.map_message.body.text() == "The data set digits could not be read."
    monkeypatch.undo()
    panel.map_limit_spin.setValue(LIMIT)
    with qtbot.waitSignal(panel.map_built, timeout=TIMEOUT_MS):
        panel.map_action.click()  # Try again
    assert panel.map_stack.currentIndex() == 1
