"""The latent explorer with real (tiny) trained models: sliders render the right pixels, stale
render requests are dropped, walks export as GIF / PNG frames, epochs compare side by side."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from aigc_studio.core.grid import make_grid
from aigc_studio.core.latent import path as latent_path
from aigc_studio.core.latent import seed_vector
from aigc_studio.engine.inference import LoadedModel, decode, load_model
from aigc_studio.gui.panels.explore.panel import ExplorerPanel
from aigc_studio.gui.panels.explore.worker import PCA_COMPONENTS
from tests.gui.conftest import TINY_LATENT

TIMEOUT_MS = 60_000
LATENT = TINY_LATENT


@pytest.fixture(scope="module")
def runs(tiny_runs: dict[str, Path]) -> dict[str, Path]:
    """The session's tiny DCGAN and autoencoder runs."""
    return tiny_runs


@pytest.fixture(scope="module")
def gan_model(runs: dict[str, Path]) -> LoadedModel:
    """The same GAN, loaded directly, to compare the panel against."""
    return load_model(runs["gan"])


@pytest.fixture
def panel(explorer_panel: ExplorerPanel) -> ExplorerPanel:
    return explorer_panel


@pytest.fixture
def loaded(qtbot, panel: ExplorerPanel, runs: dict[str, Path]) -> ExplorerPanel:
    """The panel with the GAN loaded and its first image on screen."""
    with qtbot.waitSignal(panel.model_loaded, timeout=TIMEOUT_MS):
        panel.set_model(runs["gan"])
    settle(qtbot, panel)
    return panel


def settle(qtbot, panel: ExplorerPanel) -> None:
    """Wait until the newest render request is the image on screen."""
    qtbot.waitUntil(lambda: panel.shown_serial() == panel.latest_serial() > 0,
                    timeout=TIMEOUT_MS)


def direct(model: LoadedModel, seed: int, offsets: dict[int, float] | None = None) -> np.ndarray:
    z = seed_vector(seed, LATENT)
    for index, value in (offsets or {}).items():
        z[index] += value
    return decode(model, z[None])[0]


def test_empty_state_is_a_friendly_message(panel: ExplorerPanel) -> None:
    assert panel.stack.currentIndex() == ExplorerPanel.PAGE_EMPTY
    page = panel.stack.currentWidget()
    assert "No model open" in " ".join(w.text() for w in page.findChildren(type(panel.model_label)))
    assert panel.current_image() is None
    assert panel.model_info() is None


def test_sliders_render_what_a_direct_decode_gives(qtbot, loaded: ExplorerPanel,
                                                   gan_model: LoadedModel) -> None:
    panel = loaded
    info = panel.model_info()
    assert info is not None and info.capabilities.samples and info.latent_dim == LATENT
    assert info.epochs_saved == 2
    assert np.array_equal(panel.current_image(), direct(gan_model, 0))

    panel.set_seed(5)
    settle(qtbot, panel)
    assert np.array_equal(panel.current_image(), direct(gan_model, 5))

    panel.set_latent_offset(3, 1.5)
    settle(qtbot, panel)
    moved = panel.current_image()
    assert np.array_equal(moved, direct(gan_model, 5, {3: 1.5}))
    assert not np.array_equal(moved, direct(gan_model, 5))

    panel.set_count(4)
    settle(qtbot, panel)
    z = torch.stack([seed_vector(5 + i, LATENT) for i in range(4)])
    z[:, 3] += 1.5
    assert np.array_equal(panel.current_image(), make_grid(decode(gan_model, z)))

    # principal directions: found in the background, then the sliders move along them
    assert not panel.pca_sliders[0].isEnabled()
    with qtbot.waitSignal(panel.directions_found, timeout=TIMEOUT_MS) as blocker:
        panel.pca_button.click()
    assert blocker.args == [PCA_COMPONENTS] and panel.pca_sliders[0].isEnabled()
    directions = panel.principal_directions()
    assert directions is not None and directions.shape == (PCA_COMPONENTS, LATENT)
    assert np.allclose(np.linalg.norm(directions, axis=1), 1.0, atol=1e-4)
    panel.set_count(1)
    panel.reset_offsets()
    panel.set_pca_offset(0, 2.0)
    settle(qtbot, panel)
    z = seed_vector(5, LATENT) + 2.0 * torch.from_numpy(directions[0])
    assert np.array_equal(panel.current_image(), decode(gan_model, z[None])[0])
    assert not np.array_equal(panel.current_image(), direct(gan_model, 5))


def test_dragging_a_slider_drops_stale_requests(qtbot, loaded: ExplorerPanel,
                                                gan_model: LoadedModel) -> None:
    panel, worker = loaded, loaded.worker
    received, rendered = worker.requests_received, worker.rendered_count
    values = [round(-2.5 + 0.1 * i, 2) for i in range(50)]
    for value in values:  # 50 slider moves as fast as the GUI thread can make them
        panel.set_latent_offset(0, value)
    assert worker.requests_received - received == 50
    settle(qtbot, panel)
    assert worker.rendered_count - rendered < 50
    assert worker.dropped_count > 0
    assert np.array_equal(panel.current_image(), direct(gan_model, 0, {0: values[-1]}))
    qtbot.waitUntil(lambda: worker.pending() == 0, timeout=TIMEOUT_MS)  # no backlog left


def walk(qtbot, panel: ExplorerPanel, **kwargs: object) -> np.ndarray:
    """Set the interpolation and wait for its frames."""
    with qtbot.waitSignal(panel.frames_changed, timeout=TIMEOUT_MS):
        panel.set_interpolation(**kwargs)  # type: ignore[arg-type]
    frames = panel.frames()
    assert frames is not None
    return frames


def test_walk_exports_gif_and_png_frames(qtbot, loaded: ExplorerPanel, gan_model: LoadedModel,
                                         tmp_path: Path) -> None:
    panel = loaded
    panel.tabs.setCurrentIndex(ExplorerPanel.TAB_INTERPOLATE)
    frames = walk(qtbot, panel, seed_a=3, seed_b=8, steps=6, spherical=True)
    assert frames.shape == (6, 32, 32, 3)
    assert np.array_equal(frames[0], direct(gan_model, 3))
    assert np.array_equal(frames[-1], direct(gan_model, 8))
    panel.set_position(5)
    assert np.array_equal(panel.walk_view.image(), frames[5])

    panel.scale_combo.setCurrentIndex(panel.scale_combo.findData(4))
    panel.fps_spin.setValue(10)
    panel.bounce_check.setChecked(False)
    gif = panel.export_gif(tmp_path / "walk.gif")
    with Image.open(gif) as image:
        assert image.n_frames == 6 and image.size == (128, 128)
        assert image.info["duration"] == 100
    panel.bounce_check.setChecked(True)
    with Image.open(panel.export_gif(tmp_path / "bounce.gif")) as image:
        assert image.n_frames == 10  # 6 forwards, 4 back (ends not repeated)

    written = panel.export_frames(tmp_path / "frames")
    assert [p.name for p in written] == [f"frame_{i:04d}.png" for i in range(6)]
    with Image.open(written[2]) as image:
        assert image.size == (128, 128)


def test_slerp_toggle_changes_the_frames(qtbot, loaded: ExplorerPanel,
                                         gan_model: LoadedModel) -> None:
    panel = loaded
    spherical = walk(qtbot, panel, seed_a=1, seed_b=2, steps=7, spherical=True)
    with qtbot.waitSignal(panel.frames_changed, timeout=TIMEOUT_MS):
        panel.set_spherical(False)
    linear = panel.frames()
    assert linear is not None and linear.shape == spherical.shape
    assert np.array_equal(linear[0], spherical[0]) and np.array_equal(linear[-1], spherical[-1])
    assert not np.array_equal(linear[3], spherical[3])
    a, b = seed_vector(1, LATENT), seed_vector(2, LATENT)
    assert np.array_equal(linear, decode(gan_model, latent_path(a, b, 7, spherical=False)))
    assert np.array_equal(spherical, decode(gan_model, latent_path(a, b, 7, spherical=True)))


def test_play_animates_and_pause_stops(qtbot, loaded: ExplorerPanel) -> None:
    panel = loaded
    panel.tabs.setCurrentIndex(ExplorerPanel.TAB_INTERPOLATE)
    walk(qtbot, panel, seed_a=1, seed_b=4, steps=5)
    panel.fps_spin.setValue(60)
    seen: set[int] = set()
    panel.position.valueChanged.connect(seen.add)
    panel.play()
    assert panel.is_playing() and panel.play_button.text() == "Pause"
    qtbot.waitUntil(lambda: {0, 4} <= seen, timeout=TIMEOUT_MS)  # reaches the end, bounces
    panel.pause()
    assert not panel.is_playing() and panel.play_button.text() == "Play"


def test_compare_epochs_shows_every_saved_epoch(qtbot, loaded: ExplorerPanel,
                                                runs: dict[str, Path]) -> None:
    panel = loaded
    panel.compare_count.setValue(5)
    with qtbot.waitSignal(panel.compare_done, timeout=TIMEOUT_MS) as blocker:
        panel.tabs.setCurrentIndex(ExplorerPanel.TAB_COMPARE)  # loads on first show
    assert blocker.args == [2]
    rows = panel.compare_rows()
    assert [epoch for epoch, _ in rows] == [2, 1]  # newest at the top
    assert all(strip.shape == (36, 2 + 5 * 34, 3) for _, strip in rows)
    assert not np.array_equal(rows[0][1], rows[1][1])
    first = load_model(runs["gan"] / "checkpoints" / "epoch_0001.safetensors")
    z = torch.stack([seed_vector(i, LATENT) for i in range(5)])
    assert np.array_equal(rows[1][1], make_grid(decode(first, z), ncols=5))
    assert "2 saved epochs" in panel.compare_status.text()


def test_autoencoder_opens_on_its_latent_map(qtbot, panel: ExplorerPanel,
                                            runs: dict[str, Path]) -> None:
    with qtbot.waitSignal(panel.model_loaded, timeout=TIMEOUT_MS):
        panel.set_model(runs["ae"])
    assert panel.stack.currentIndex() == ExplorerPanel.PAGE_MAIN
    assert panel.tabs.currentIndex() == panel.map_tab_index()
    assert not panel.tabs.isTabEnabled(ExplorerPanel.TAB_EXPLORE)
    assert "reconstruction panel" in panel.tabs.tabToolTip(ExplorerPanel.TAB_EXPLORE)
    with qtbot.waitSignal(panel.open_reconstruction) as blocker:
        panel.map_reconstruct_button.click()
    assert blocker.args == [runs["ae"]]
    panel.set_model(None)
    assert panel.stack.currentIndex() == ExplorerPanel.PAGE_EMPTY


def test_a_broken_model_file_says_why(qtbot, panel: ExplorerPanel, tmp_path: Path) -> None:
    bad = tmp_path / "broken.pt"
    bad.write_bytes(b"not a checkpoint at all")
    with qtbot.waitSignal(panel.load_failed, timeout=TIMEOUT_MS) as blocker:
        panel.set_model(bad)
    assert "broken.pt" in blocker.args[0]
    assert panel.stack.currentIndex() == ExplorerPanel.PAGE_NOTE
    assert panel.note_text.text() == blocker.args[0]
    assert not panel.note_button.isVisible()


def test_closing_the_panel_joins_its_thread(qtbot, runs: dict[str, Path]) -> None:
    widget = ExplorerPanel()
    qtbot.addWidget(widget)
    with qtbot.waitSignal(widget.model_loaded, timeout=TIMEOUT_MS):
        widget.set_model(runs["gan"])
    assert widget.worker.is_running()
    widget.close()
    assert not widget.worker.is_running()
