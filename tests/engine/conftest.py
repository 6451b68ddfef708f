"""Shared helpers for engine tests: tiny but real training configurations."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from aigc_studio.engine.config import TrainConfig


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing a test does lands in the real per-user folder."""
    monkeypatch.setenv("AIGC_STUDIO_HOME", str(tmp_path / "home"))


@pytest.fixture
def tiny() -> Callable[..., TrainConfig]:
    """A config that trains real models on real digits in about a second per epoch."""

    def make(**overrides: object) -> TrainConfig:
        values: dict[str, object] = dict(dataset="digits", limit=512, batch_size=32, width=8,
                                         latent_dim=16, epochs=2, log_every=4, seed=3)
        values.update(overrides)
        return TrainConfig(**values).validate()  # type: ignore[arg-type]

    return make
