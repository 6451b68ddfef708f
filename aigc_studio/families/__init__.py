"""Model families and their registry: one folder per family, one line per family below.

The registry imports no torch (implementations load on first use of ``family.impl``).
Everything outside a family's folder asks the registry (``get``, ``names``, ``all_families``)
and the family's declarations; nothing branches on a family's name. A plug-in or a test adds a
family at run time with :func:`register`.
"""

from __future__ import annotations

from aigc_studio.families.base import Capabilities, FamilyImpl, MetricSpec, ModelFamily, PlotSpec

__all__ = [
    "Capabilities",
    "FamilyImpl",
    "MetricSpec",
    "ModelFamily",
    "PlotSpec",
    "UnknownFamilyError",
    "all_families",
    "get",
    "names",
    "register",
    "titles_with",
    "unregister",
]

_REGISTRY: dict[str, ModelFamily] = {}


class UnknownFamilyError(KeyError):
    """No family of that name is registered."""


def register(family: ModelFamily) -> ModelFamily:
    """Add (or replace) a family; returns it so a module can ``FAMILY = register(...)``."""
    _REGISTRY[family.name] = family
    return family


def unregister(name: str) -> None:
    """Remove a family (tests that add a toy family clean up with this)."""
    _REGISTRY.pop(name, None)


def get(name: str) -> ModelFamily:
    """The family called ``name``; :class:`UnknownFamilyError` when there is none."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownFamilyError(name) from None


def names() -> tuple[str, ...]:
    """Registered family names, in registration order (the CLI's and the window's order)."""
    return tuple(_REGISTRY)


def all_families() -> tuple[ModelFamily, ...]:
    return tuple(_REGISTRY.values())


def titles_with(capability: str) -> str:
    """Titles of the families that have a capability, e.g. "an Autoencoder or a VAE"."""
    found = [f.title for f in _REGISTRY.values() if getattr(f.capabilities, capability)]
    return " or ".join(found) if found else "none installed"


def metric_spec(name: str) -> MetricSpec | None:
    """The spec of a metric any registered family records (first one wins)."""
    for family in _REGISTRY.values():
        spec = family.metric(name)
        if spec is not None:
            return spec
    return None


def _register_builtin() -> None:
    # the registry lines: one per family
    from aigc_studio.families import autoencoder, dcgan, diffusion, vae

    register(dcgan.FAMILY)
    register(autoencoder.FAMILY)
    register(vae.FAMILY)
    register(diffusion.FAMILY)


_register_builtin()
