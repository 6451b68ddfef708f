"""The Explore panel: the latent space of a trained model that samples (one file per tab)."""

from __future__ import annotations

from aigc_studio.gui.panels.registry import PanelSpec, register

SPEC = register(PanelSpec(
    key="explore", title="Explore", area="workspace", order=30, shortcut="Ctrl+3",
    menu_text="&Explore the latent space",
    tooltip="Walk the latent space of the current run's model: seeds, sliders, interpolations "
            "and epoch comparisons.",
    placeholder="The latent explorer opens a trained model that draws images from noise.",
    factory="aigc_studio.gui.panels.explore.panel:ExplorerPanel",
    accepts_run=lambda caps: caps.samples,
))
