"""The one error type users see: its message is a single sentence naming the file or option."""

from __future__ import annotations


class AigcError(Exception):
    """A problem the user can act on (bad input, missing data, a refused file)."""


class Cancelled(AigcError):
    """Work was stopped on request (a newer render, a closed window); not a failure."""


class DataError(AigcError):
    """A data set cannot be found, read or used."""


class CheckpointError(AigcError):
    """A checkpoint or weights file was refused or cannot be used."""


class TrainingError(AigcError):
    """Training hit a fault it cannot continue from (NaN loss, out of memory...)."""


class RunError(AigcError):
    """A run folder is missing, damaged, or cannot be written."""
