"""The Reconstruct panel: drop images on a model that encodes them and measure the rebuild."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from aigc_studio.core.images import IMAGE_EXTENSIONS
from aigc_studio.engine import runs as run_store
from aigc_studio.gui.panels.registry import PanelSpec, register


def _takes(paths: Sequence[Path]) -> bool:
    """Image files, or folders of images (not run folders)."""
    return bool(paths) and (
        all(p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS for p in paths)
        or all(p.is_dir() and not run_store.is_run_dir(p) for p in paths))


SPEC = register(PanelSpec(
    key="reconstruct", title="Reconstruct", area="workspace", order=40, shortcut="Ctrl+4",
    menu_text="Re&construct images",
    tooltip="Drop images to see how the current model reconstructs them, with MSE, PSNR and "
            "SSIM.",
    placeholder="Reconstruction opens a trained model that encodes images.",
    factory="aigc_studio.gui.panels.reconstruct.panel:ReconstructionPanel",
    accepts_run=lambda caps: caps.encodes,
    accepts_drop=_takes, drop_text="Reconstruct images",
))
