"""The explorer's renderer: requests map to the right pixels; epochs compare; GIFs read back."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from aigc_studio.core.latent import seed_vector
from aigc_studio.engine.config import TrainConfig
from aigc_studio.engine.explore import (
    Explorer,
    RenderRequest,
    compare_epochs,
    save_gif,
    upscale,
)
from aigc_studio.engine.inference import decode, load_model
from aigc_studio.engine.trainer import Trainer


@pytest.fixture(scope="module")
def gan_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = TrainConfig(dataset="digits", limit=1024, batch_size=16, width=8, latent_dim=16,
                         epochs=2, seed=1)
    return Trainer(config, runs_root=tmp_path_factory.mktemp("runs")).fit().run_dir


def test_slider_render_matches_a_direct_decode(gan_run: Path) -> None:
    explorer = Explorer(load_model(gan_run))
    image = explorer.render(RenderRequest(seed=4, offsets=((3, 1.5),)))
    z = seed_vector(4, 16)
    z[3] += 1.5
    assert np.array_equal(image, decode(explorer.model, z[None])[0])
    assert not np.array_equal(image, explorer.render(RenderRequest(seed=4)))
    grid = explorer.render(RenderRequest(seed=4, count=4))
    assert grid.shape == (2 + 2 * 34, 2 + 2 * 34, 3)


def test_pca_directions_move_the_image(gan_run: Path) -> None:
    explorer = Explorer(load_model(gan_run))
    directions, scales = explorer.directions(k=4, samples=400)
    assert directions.shape == (4, 16) and np.all(np.diff(scales) <= 1e-6)
    base = explorer.render(RenderRequest(seed=2)).astype(int)
    moved = explorer.render(RenderRequest(seed=2, pca=((0, 3.0),))).astype(int)
    assert np.abs(moved - base).mean() > 1


def test_compare_epochs_uses_every_saved_epoch(gan_run: Path) -> None:
    rows = compare_epochs(gan_run, seed=0, count=5)
    assert [epoch for epoch, _ in rows] == [1, 2]
    assert rows[0][1].shape == (36, 2 + 5 * 34, 3)
    assert not np.array_equal(rows[0][1], rows[1][1])


def test_gif_round_trip(tmp_path: Path, gan_run: Path) -> None:
    explorer = Explorer(load_model(gan_run))
    frames = upscale(explorer.interpolation(1, 2, 6), 3)
    assert frames.shape == (6, 96, 96, 3)
    out = save_gif(frames, tmp_path / "walk.gif", fps=10, bounce=True)
    with Image.open(out) as gif:
        assert gif.n_frames == 10 and gif.size == (96, 96)
        assert gif.info["duration"] == 100
    assert torch.equal(seed_vector(1, 16), seed_vector(1, 16))


def test_sample_and_the_explorer_share_one_seed_convention(gan_run: Path, tmp_path: Path) -> None:
    """``sample --seed 7 --n 4`` and the explorer's grid at seed 7 are the same four images
    (image i of a batch at seed s is the single image at seed s + i)."""
    from aigc_studio.cli import main
    from aigc_studio.core.grid import make_grid
    from aigc_studio.engine.inference import sample

    model = load_model(gan_run)
    grid = Explorer(model).render(RenderRequest(seed=7, count=4))
    assert np.array_equal(make_grid(sample(model, 4, seed=7)), grid)
    single = Explorer(model).render(RenderRequest(seed=9, count=1))
    assert np.array_equal(sample(model, 4, seed=7)[2], single)
    out = tmp_path / "grid.png"
    assert main(["sample", str(gan_run), "--seed", "7", "--n", "4", "--out", str(out)]) == 0
    assert np.array_equal(np.asarray(Image.open(out).convert("RGB")), grid)
