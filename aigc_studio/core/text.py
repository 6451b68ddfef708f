"""Text every front end shares (the window and the command line): one duration format."""

from __future__ import annotations

import math


def format_duration(seconds: float) -> str:
    """'1 h 02 min', '3 min 05 s', '12 s' ('…' when unknown: negative or not finite)."""
    if not math.isfinite(seconds) or seconds < 0:
        return "…"
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"
