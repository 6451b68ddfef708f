"""Named training settings: the user's presets (JSON in the app home ``presets/``) and the
ones shipped with the app (``resources/presets/``).

A preset file is ``{"name": ..., "description": ..., "config": {...}}``; its config may be
partial (a shipped one names only what matters), and the rest comes from
:meth:`TrainConfig.defaults_for` its model. A shipped preset whose model family is not
registered in this copy of the app is listed with the reason instead of a config.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from aigc_studio import families
from aigc_studio.core.atomic import atomic_write_bytes
from aigc_studio.engine.config import ConfigError, TrainConfig
from aigc_studio.errors import AigcError
from aigc_studio.paths import app_home, resource_path

MAX_NAME = 64
MAX_FILE = 256 * 1024  # a preset is a few hundred bytes


class PresetError(AigcError):
    """A preset cannot be saved, read, loaded or deleted; the message is one sentence."""


@dataclass(frozen=True)
class Preset:
    """One preset: ``config`` is None when it cannot be used here (``problem`` says why)."""

    name: str
    path: Path
    shipped: bool
    config: TrainConfig | None
    description: str = ""
    problem: str = ""


def presets_dir() -> Path:
    """Where the user's presets live."""
    return app_home() / "presets"


def shipped_dir() -> Path:
    """The presets that come with the app."""
    return resource_path("presets")


def save_preset(name: str, config: TrainConfig, description: str = "") -> Path:
    """Save ``config`` under ``name`` (replacing a preset of the same name), atomically."""
    name = _check_name(name)
    config.validate()
    folder = presets_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{_slug(name)}.json"
        doc = {"name": name, "description": description, "config": config.to_dict()}
        atomic_write_bytes(path, json.dumps(doc, indent=2).encode())
    except OSError as exc:
        raise PresetError(f"Cannot save the preset {name!r} in {folder} "
                          f"({exc.strerror}).") from None
    return path


def list_presets() -> list[Preset]:
    """The shipped presets, then the user's (each sorted by name); unusable ones included."""
    shipped = [_read(p, shipped=True) for p in _files(shipped_dir())]
    own = [_read(p, shipped=False) for p in _files(presets_dir())]
    return sorted(shipped, key=lambda p: p.name.lower()) + sorted(own,
                                                                  key=lambda p: p.name.lower())


def load_preset(name: str) -> TrainConfig:
    """The config of the preset called ``name`` (the user's wins over a shipped one)."""
    preset = find_preset(name)
    if preset.config is None:
        raise PresetError(f"The preset {name!r} cannot be used: {preset.problem}")
    return preset.config


def find_preset(name: str) -> Preset:
    """The preset called ``name`` (case-insensitive; the user's wins over a shipped one)."""
    matches = [p for p in list_presets() if p.name.lower() == name.strip().lower()]
    if not matches:
        raise PresetError(f"There is no preset called {name!r}.")
    return matches[-1]


def delete_preset(name: str) -> None:
    """Delete one of the user's presets (shipped ones cannot be deleted)."""
    preset = find_preset(name)
    if preset.shipped:
        raise PresetError(f"The preset {preset.name!r} comes with the app and cannot be "
                          "deleted.")
    try:
        preset.path.unlink()
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise PresetError(f"Cannot delete the preset {preset.name!r} "
                          f"({exc.strerror}).") from None


def config_from_preset(data: dict[str, Any]) -> TrainConfig:
    """A (possibly partial) preset config on top of its model's defaults, validated."""
    if not isinstance(data, dict):
        raise ConfigError("the preset's config is not a JSON object.")
    model = data.get("model", TrainConfig.model)
    if not isinstance(model, str):
        raise ConfigError(f"--model must be a model name, not {model!r}.")
    extras = data.get("extras")
    config = TrainConfig.defaults_for(model, extras if isinstance(extras, dict) else None)
    names = {f.name for f in fields(TrainConfig)}
    for key, value in data.items():
        if key in names:
            setattr(config, key, dict(value) if key == "extras" and isinstance(value, dict)
                    else value)
    return config.validate()


def _read(path: Path, *, shipped: bool) -> Preset:
    fallback = path.stem.replace("-", " ")
    try:
        if path.stat().st_size > MAX_FILE:
            raise ValueError("too large")
        doc = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(doc, dict):
            raise ValueError("not an object")
    except (OSError, UnicodeDecodeError, ValueError):
        return Preset(fallback, path, shipped, None, problem=f"{path.name} is not a readable "
                      "preset file.")
    name = doc.get("name") if isinstance(doc.get("name"), str) else fallback
    description = doc.get("description") if isinstance(doc.get("description"), str) else ""
    data = doc.get("config")
    model = data.get("model", TrainConfig.model) if isinstance(data, dict) else None
    if isinstance(model, str) and model not in families.names():
        return Preset(name, path, shipped, None, description,
                      f"it needs the {model!r} model family, which this copy of the app does "
                      "not have.")
    try:
        config = config_from_preset(data)  # type: ignore[arg-type]
    except ConfigError as exc:
        return Preset(name, path, shipped, None, description, f"its settings are invalid "
                      f"({str(exc).rstrip('.')}).")
    return Preset(name, path, shipped, config, description)


def _files(folder: Path) -> list[Path]:
    try:
        return sorted(p for p in folder.glob("*.json") if p.is_file())
    except OSError:
        return []


def _check_name(name: str) -> str:
    name = name.strip() if isinstance(name, str) else ""
    if not 1 <= len(name) <= MAX_NAME or not name.isprintable() or not _slug(name):
        raise PresetError(f"A preset name must be 1 to {MAX_NAME} printable characters with "
                          "a letter or digit.")
    return name


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
