"""Where things live: bundled resources (read-only) and the per-user folders (writable).

One helper serves an editable install, an installed wheel and a frozen bundle alike, so no
caller ever writes inside the package.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import ModuleType

from aigc_studio.errors import AigcError

APP_NAME = "aigc-studio"
HOME_ENV = "AIGC_STUDIO_HOME"


def resources_root() -> Path:
    """The folder of shipped assets, wherever this copy of the app runs from.

    A wheel and a PyInstaller bundle hold it inside the package (``aigc_studio/resources``,
    where setup.py installs the repository's top-level ``resources/``); a source checkout or
    an editable install reads the top-level ``resources/`` itself.
    """
    package = Path(__file__).resolve().parent
    installed = package / "resources"
    return installed if installed.is_dir() else package.parent / "resources"


def resource_path(*parts: str) -> Path:
    """A file shipped with the app (``resources/...``), e.g. ``resource_path("icons", "x.png")``."""
    return resources_root().joinpath(*parts)


class PathError(AigcError):
    """A path given by the user cannot be used as written (e.g. ``~nouser/x``)."""


def expand_user(path: str | os.PathLike[str], what: str) -> Path:
    """``~`` and ``~user`` expanded; PathError naming ``what`` (an option or variable) when
    the user does not exist, instead of the RuntimeError pathlib raises."""
    try:
        return Path(path).expanduser()
    except RuntimeError:
        head = os.fspath(path).split(os.sep, 1)[0]
        raise PathError(f"{what} {os.fspath(path)!r} starts with {head}, but there is no such "
                        "user on this system.") from None


def app_home() -> Path:
    """The per-user data folder (``AIGC_STUDIO_HOME`` overrides the platform default)."""
    override = os.environ.get(HOME_ENV)
    if override:
        return expand_user(override, HOME_ENV)
    return Path(_platformdirs().user_data_dir(APP_NAME, appauthor=False))


def default_runs_root() -> Path:
    """Where new runs are created unless ``--out`` says otherwise."""
    return app_home() / "runs"


def default_data_root() -> Path:
    """Where torchvision data sets are downloaded to or looked for."""
    return app_home() / "data"


def log_dir() -> Path:
    """The application's log folder."""
    override = os.environ.get(HOME_ENV)
    if override:
        return expand_user(override, HOME_ENV) / "logs"
    return Path(_platformdirs().user_log_dir(APP_NAME, appauthor=False))


def _platformdirs() -> ModuleType:
    """platformdirs, imported late so a bare torch image can run the engine from source."""
    import platformdirs

    return platformdirs
