"""The shipped assets (top-level ``resources/``) are found by every way the app is installed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from aigc_studio.paths import resource_path, resources_root

ROOT = Path(__file__).resolve().parents[2]
NEEDED = (("data", "mnist_5k.npz"), ("data", "SOURCE.md"), ("icons", "aigc-studio.png"))


def test_source_checkout_and_editable_install_read_the_top_level_folder() -> None:
    assert resources_root() == ROOT / "resources"
    for parts in NEEDED:
        assert resource_path(*parts).is_file(), parts


@pytest.mark.slow
def test_pip_install_puts_resources_inside_the_package(tmp_path: Path) -> None:
    """``pip install .`` (what a wheel and the PyInstaller bundle's venv hold)."""
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target",
                    str(target), str(ROOT)], check=True, capture_output=True, timeout=600)
    for parts in NEEDED:
        assert (target / "aigc_studio" / "resources").joinpath(*parts).is_file(), parts
    probe = ("from aigc_studio.paths import resource_path, resources_root;"
             "print(resources_root()); print(resource_path('data', 'mnist_5k.npz').is_file())")
    env = {**os.environ, "PYTHONPATH": str(target)}
    out = subprocess.run([sys.executable, "-c", probe], env=env, cwd=tmp_path, check=True,
                         capture_output=True, text=True, timeout=120).stdout.split()
    assert out == [str(target / "aigc_studio" / "resources"), "True"]


def test_the_bundle_spec_collects_the_installed_resources() -> None:
    """The PyInstaller spec copies ``<installed package>/resources`` to the same place in the
    bundle, where ``resources_root()`` looks first (the smoke test in .ci/run runs it)."""
    spec = (ROOT / "packaging" / "aigc_studio.spec").read_text()
    assert 'RESOURCES = PKG_DIR / "resources"' in spec
    assert 'datas = [(str(RESOURCES), "aigc_studio/resources")]' in spec


def test_every_source_folder_is_a_package() -> None:
    """setup.py ships what ``find_packages`` finds: a folder of modules without an
    ``__init__.py`` would be left out of the wheel and the bundle (and fail only there)."""
    package = ROOT / "aigc_studio"
    missing = [str(d.relative_to(ROOT)) for d in package.rglob("*")
               if d.is_dir() and d.name != "__pycache__" and any(d.glob("*.py"))
               and not (d / "__init__.py").is_file()]
    assert missing == []
