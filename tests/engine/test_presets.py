"""Presets: save, list, load, delete; the shipped ones load or say why not."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from aigc_studio import families
from aigc_studio.engine.config import TrainConfig
from aigc_studio.engine.presets import (
    PresetError,
    delete_preset,
    list_presets,
    load_preset,
    presets_dir,
    save_preset,
)
from aigc_studio.paths import resource_path


def test_the_shipped_presets_load(monkeypatch: pytest.MonkeyPatch) -> None:
    shipped = {p.name: p for p in list_presets() if p.shipped}
    assert {"Seed DCGAN", "Stable hinge GAN", "VAE map", "Diffusion digits"} <= set(shipped)
    assert all(p.path.parent == resource_path("presets") for p in shipped.values())
    assert load_preset("stable hinge gan").option("loss") == "hinge"
    vae = load_preset("VAE map")
    assert vae.model == "vae" and vae.latent_dim == 2  # the family's defaults fill the rest
    if "diffusion" in families.names():
        assert load_preset("Diffusion digits").model == "diffusion"


def test_a_shipped_preset_of_an_unregistered_family_is_skipped_with_a_reason() -> None:
    diffusion = families.get("diffusion") if "diffusion" in families.names() else None
    families.unregister("diffusion")
    try:
        preset = next(p for p in list_presets() if p.name == "Diffusion digits")
        assert preset.config is None and "'diffusion' model family" in preset.problem
        with pytest.raises(PresetError, match="cannot be used"):
            load_preset("Diffusion digits")
        assert load_preset("Seed DCGAN").model == "dcgan"  # the others still load
    finally:
        if diffusion is not None:
            families.register(diffusion)


def test_save_list_load_delete(tiny: Callable[..., TrainConfig]) -> None:
    config = tiny(lr_g=1e-3, extras={"loss": "wgan-gp", "n_critic": 3})
    path = save_preset("My WGAN", config, "critic with 3 steps")
    assert path.parent == presets_dir() and not list(presets_dir().glob(".*.tmp"))
    assert json.loads(path.read_text())["name"] == "My WGAN"
    mine = [p for p in list_presets() if not p.shipped]
    assert [(p.name, p.description) for p in mine] == [("My WGAN", "critic with 3 steps")]
    assert load_preset("my wgan") == config
    save_preset("My WGAN", tiny(seed=9))  # same name: replaced
    assert load_preset("My WGAN").seed == 9
    delete_preset("My WGAN")
    with pytest.raises(PresetError, match="no preset called"):
        load_preset("My WGAN")
    with pytest.raises(PresetError, match="comes with the app"):
        delete_preset("Seed DCGAN")
    for bad in ("", "   ", "../..", "x" * 100):
        with pytest.raises(PresetError, match="preset name"):
            save_preset(bad, config)


def test_a_damaged_user_preset_is_listed_with_its_problem(tmp_path: Path) -> None:
    presets_dir().mkdir(parents=True)
    (presets_dir() / "broken.json").write_text("{not json")
    (presets_dir() / "bad.json").write_text(json.dumps({"name": "Bad", "config":
                                                        {"epochs": -3}}))
    found = {p.name: p for p in list_presets() if not p.shipped}
    assert found["broken"].config is None and "not a readable" in found["broken"].problem
    assert found["Bad"].config is None and "--epochs" in found["Bad"].problem
