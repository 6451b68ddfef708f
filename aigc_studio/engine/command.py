"""The exact ``aigc-studio train`` command for a config ("Copy as command" in the window).

Only settings that differ from what a bare ``train --model MODEL`` would use are written,
family options as their flags, every value shell-quoted, so the command is the shortest one
that trains the same config.
"""

from __future__ import annotations

import dataclasses
import shlex
import sys
from pathlib import Path
from typing import Any

from aigc_studio.engine.config import ConfigError, TrainConfig

PROGRAM = "aigc-studio"
# TrainConfig fields with no flag of their own name (written specially below)
_SPECIAL = frozenset({"model", "fast", "tensorboard", "extras", "lr_g", "lr_d"})


def self_program() -> list[str]:
    """How this installation runs its own CLI in a new process: the bundle's executable (a
    frozen app takes the same arguments), else this Python with ``-m aigc_studio``."""
    if getattr(sys, "frozen", False):
        return [sys.executable]
    return [sys.executable, "-m", "aigc_studio"]


def flag(name: str) -> str:
    """``batch_size`` -> ``--batch-size``."""
    return "--" + name.replace("_", "-")


def train_args(config: TrainConfig, out: str | Path | None = None) -> list[str]:
    """The arguments after ``aigc-studio`` that train ``config`` (``--out`` when given)."""
    config.validate()
    base = TrainConfig.defaults_for(config.model, config.extras)  # what the flags add to
    args = ["train"]
    if config.model != TrainConfig.model:
        args += ["--model", config.model]
    for f in dataclasses.fields(TrainConfig):
        value = getattr(config, f.name)
        if f.name in _SPECIAL or value == getattr(base, f.name):
            continue
        if value is None:
            raise ConfigError(f"{flag(f.name)} cannot be reset to its default on the command "
                              "line.")
        args += [flag(f.name), _text(value)]
    args += _learning_rates(config, base)
    if not config.fast:
        args.append("--no-fast")
    if config.tensorboard:
        args.append("--tensorboard")
    family = config.family
    for name in sorted(config.extras):
        spec, value = family.option(name), config.extras[name]
        if spec is None or value == spec.default:
            continue
        if spec.kind is bool:
            args.append(spec.flag if value else "--no-" + spec.flag[2:])
        else:
            args += [spec.flag, _text(value)]
    if out is not None:
        args += ["--out", str(out)]
    return args


def train_command(config: TrainConfig, out: str | Path | None = None) -> str:
    """The shell command line (POSIX quoting) that trains ``config``."""
    return shlex.join([PROGRAM, *train_args(config, out)])


def _learning_rates(config: TrainConfig, base: TrainConfig) -> list[str]:
    """``--lr`` when both rates changed to one value, else ``--lr-g``/``--lr-d`` as needed."""
    changed = [(n, getattr(config, n)) for n in ("lr_g", "lr_d")
               if getattr(config, n) != getattr(base, n)]
    if len(changed) == 2 and config.lr_g == config.lr_d:
        return ["--lr", _text(config.lr_g)]
    return [a for name, value in changed for a in (flag(name), _text(value))]


def _text(value: Any) -> str:
    """A value as argparse reads it back exactly (``repr`` of a float round-trips)."""
    return repr(value) if isinstance(value, float) else str(value)
