"""What the panels know about a loaded model: plain data, safe to send across threads."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from aigc_studio import families
from aigc_studio.engine import runs
from aigc_studio.families import Capabilities, ModelFamily

if TYPE_CHECKING:  # pragma: no cover - typing only; torch stays unloaded at import time
    from aigc_studio.engine.inference import LoadedModel


@dataclass(frozen=True)
class ModelInfo:
    """What the GUI needs to know about a loaded model (plain data, safe across threads)."""

    path: Path  # what the user opened (run folder, .pt or .safetensors)
    source: Path  # the file actually loaded
    run_dir: Path | None  # the run folder, when the file lives in one (for epoch comparison)
    model: str  # the family's name (a key of the families registry)
    epoch: int
    latent_dim: int  # numbers per latent vector (a diffusion model: its C·S·S noise)
    image_size: int
    channels: int
    dataset: str
    epochs_saved: int

    @property
    def family(self) -> ModelFamily:
        """The model's family (its title, capabilities, metrics)."""
        return families.get(self.model)

    @property
    def capabilities(self) -> Capabilities:
        """What the model can do: sample, encode, be conditioned."""
        return self.family.capabilities

    @property
    def title(self) -> str:
        """A short human name: the run folder (or file) name."""
        return (self.run_dir or self.source).name

    @property
    def summary(self) -> str:
        """One line for a panel header."""
        colour = "RGB" if self.channels == 3 else "greyscale"
        return (f"{self.family.title} · epoch {self.epoch} · {self.image_size}×{self.image_size}"
                f" {colour} · latent {self.latent_dim} · {Path(self.dataset).name or self.dataset}")


def run_dir_of(path: Path) -> Path | None:
    """The run folder a model path belongs to (``RUN`` or ``RUN/checkpoints/x``), if any."""
    path = Path(path)
    if path.is_dir():
        return path
    if path.parent.name == runs.CHECKPOINTS:
        return path.parent.parent
    return None


def model_info(path: Path, model: LoadedModel) -> ModelInfo:
    """Summarise a loaded model for the GUI (runs in a worker thread)."""
    run_dir = run_dir_of(path) or run_dir_of(model.source)
    saved = len(runs.epoch_weights(run_dir)) if run_dir is not None else 0
    config = model.config
    return ModelInfo(path=Path(path), source=model.source, run_dir=run_dir, model=config.model,
                     epoch=model.epoch, latent_dim=model.latent_dim,
                     image_size=config.image_size, channels=model.channels,
                     dataset=str(config.dataset), epochs_saved=saved)


def family_titles(capability: str) -> str:
    """The registered families that have ``capability`` ('samples', 'encodes'), as 'A or B'."""
    titles = [f.title for f in families.all_families() if getattr(f.capabilities, capability)]
    if not titles:
        return "a model that can"
    return " or ".join(titles)


def with_article(title: str) -> str:
    """'a DCGAN', 'an Autoencoder' (by the first letter: good enough for model names)."""
    return f"{'an' if title[:1].lower() in 'aeiou' else 'a'} {title}"
