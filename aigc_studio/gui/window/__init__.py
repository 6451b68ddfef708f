"""The main window's parts: following a run on disk, the status bar, drop routing, settings
and the background PyTorch import (``gui/main_window.py`` puts them together)."""
