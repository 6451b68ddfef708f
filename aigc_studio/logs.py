"""Application logging: a rotating file in the per-user log folder, and the console if any.

A windowed frozen app has ``sys.stdout``/``sys.stderr`` set to None; nothing here writes to
them then, so logging and progress never crash there. Tracebacks go to the log file only;
the console gets the message line. File names with bytes that are not UTF-8 are logged
escaped (``\xff``) instead of making the logging module print "--- Logging error ---".
"""

from __future__ import annotations

import logging
import sys
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import Any

from aigc_studio.core.safe_read import display
from aigc_studio.errors import AigcError
from aigc_studio.paths import log_dir

LOG_NAME = "aigc-studio.log"
_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def install_safe_records() -> None:
    """Make every log record's message printable in UTF-8 (idempotent, process-wide)."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "_aigc_safe", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: let the handler report it as before
            return record
        safe = display(message)
        if safe != message:
            record.msg, record.args = safe, ()
        return record

    factory._aigc_safe = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


class ConsoleFormatter(logging.Formatter):
    """The message line only: a traceback attached to the record stays in the log file."""

    def format(self, record: logging.LogRecord) -> str:
        plain = logging.makeLogRecord(record.__dict__)
        plain.exc_info = plain.exc_text = plain.stack_info = None
        return super().format(plain)


install_safe_records()


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
    except (OSError, AigcError):
        path = None  # a read-only or unknown home must not stop the app (commands say why)
    if sys.stderr is not None:
        console = logging.StreamHandler()
        console.setLevel(console_level)
        console.setFormatter(ConsoleFormatter("%(levelname)s %(message)s"))
        console.addFilter(lambda record: not getattr(record, "file_only", False))
        root.addHandler(console)
    root._aigc_configured = True  # type: ignore[attr-defined]
    root._aigc_log_path = path  # type: ignore[attr-defined]
    return path


def log_user_error(message: str) -> None:
    """Record an error the user was shown (in the app log only: they saw it already)."""
    logging.getLogger("aigc_studio").error(message, extra={"file_only": True})


def log_path() -> Path | None:
    """The app log file set up by :func:`setup_logging` (None when there is none)."""
    return getattr(logging.getLogger(), "_aigc_log_path", None)
