"""Metric tests train nothing big and write nothing to the real per-user folder."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIGC_STUDIO_HOME", str(tmp_path / "home"))
