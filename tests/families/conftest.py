"""Register the toy family for a test and remove it afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from aigc_studio import families
from aigc_studio.families.base import ModelFamily


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIGC_STUDIO_HOME", str(tmp_path / "home"))


@pytest.fixture
def toy_family() -> Iterator[ModelFamily]:
    from toy_family import FAMILY

    families.register(FAMILY)
    try:
        yield FAMILY
    finally:
        families.unregister(FAMILY.name)
