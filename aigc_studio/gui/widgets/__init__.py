"""Widgets and styles every panel may use (a panel never imports another panel)."""
