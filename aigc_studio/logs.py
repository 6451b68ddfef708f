"""Application logging: a rotating file in the per-user log folder, and the console if any.

A windowed frozen app has ``sys.stdout``/``sys.stderr`` set to None; nothing here writes to
them then, so logging and progress never crash there.
"""

from __future__ import annotations

import logging
import sys
from logging.handlers import RotatingFileHandler
from pathlib import Path

from aigc_studio.paths import log_dir

LOG_NAME = "aigc-studio.log"
_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup_logging(console_level: int = logging.WARNING) -> Path | None:
    """Log INFO and above to the app log file, warnings to stderr; returns the log path.

    Safe to call more than once (handlers are added once).
    """
    root = logging.getLogger()
    app = logging.getLogger("aigc_studio")
    app.setLevel(logging.INFO)
    if getattr(root, "_aigc_configured", False):
        return getattr(root, "_aigc_log_path", None)
    path: Path | None = None
    try:
        folder = log_dir()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / LOG_NAME
        handler = RotatingFileHandler(path, maxBytes=2_000_000, backupCount=3, encoding="utf-8")
        handler.setLevel(logging.INFO)
        handler.setFormatter(logging.Formatter(_FORMAT))
        root.addHandler(handler)
    except OSError:
        path = None  # a read-only home must not stop the app
    if sys.stderr is not None:
        console = logging.StreamHandler()
        console.setLevel(console_level)
        console.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
        console.addFilter(lambda record: not getattr(record, "file_only", False))
        root.addHandler(console)
    root._aigc_configured = True  # type: ignore[attr-defined]
    root._aigc_log_path = path  # type: ignore[attr-defined]
    return path


def log_user_error(message: str) -> None:
    """Record an error the user was shown (in the app log only: they saw it already)."""
    logging.getLogger("aigc_studio").error(message, extra={"file_only": True})
