"""Every explorer export carries provenance: one stamp helper, one writer per file kind.

A PNG, GIF or folder of frames saved from any tab says what made it (run, epoch, seeds, class,
sampler settings, the AI-generated marker), so dropping it back on the window reopens the
setting. The tabs only say *what* they show (:meth:`Exports.stamp`) and register a saver for
their page; :meth:`Exports.save_current` saves whatever tab is in front (Ctrl+S).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QLabel,
    QPushButton,
    QWidget,
)

from aigc_studio.core.provenance import Provenance
from aigc_studio.errors import AigcError
from aigc_studio.gui.panels.explore.sampling import SAMPLER_TITLES, SamplingInfo

EXPORT_SCALES = (1, 2, 4, 8)  # pixel-sharp enlargements offered for exported animations


def stamp(info: SamplingInfo, kind: str, *, seeds: Sequence[int] = (),
          class_index: int | None = None, **settings: Any) -> Provenance:
    """The provenance of one export: the loaded model's stamp plus what this image shows."""
    base = info.provenance or Provenance()
    names = info.class_names
    name = names[class_index] if class_index is not None and 0 <= class_index < len(names) \
        else ""
    return Provenance(kind=kind, model=base.model, run_id=base.run_id,
                      run_folder=base.run_folder, epoch=base.epoch, seeds=tuple(seeds),
                      class_index=class_index, class_name=name, sampler=settings)


def png_path(path: Path) -> Path:
    """``path`` with a .png suffix (a name typed without one still opens as an image)."""
    path = Path(path)
    return path if path.suffix.lower() == ".png" else path.with_name(path.name + ".png")


def write_png(image: np.ndarray, path: Path, provenance: Provenance) -> Path:
    """One stamped PNG, written atomically."""
    from aigc_studio.core.grid import save_png

    target = png_path(path)
    save_png(image, target, provenance)
    return target


def write_gif(frames: np.ndarray, path: Path, provenance: Provenance, *, fps: int,
              scale: int = 1, bounce: bool = False) -> Path:
    """A stamped, looping GIF of ``frames`` enlarged ``scale`` times."""
    from aigc_studio.engine.explore import save_gif, upscale

    return save_gif(upscale(frames, scale), Path(path), fps=fps, bounce=bounce,
                    provenance=provenance.with_sampler(fps=fps, scale=scale))


def write_frames(frames: np.ndarray, folder: Path, provenance: Provenance, *,
                 scale: int = 1) -> list[Path]:
    """One stamped PNG per frame (each says its frame number), enlarged one at a time."""
    from aigc_studio.engine.explore import save_frames, upscale

    return save_frames((upscale(f[None], scale)[0] for f in frames), Path(folder),
                       provenance.with_sampler(scale=scale), count=len(frames))


def export_box(*buttons: QPushButton, default_scale: int = 4) -> tuple[QGroupBox, QComboBox]:
    """An "Export" group: a pixel-sharp scale for animations above the tab's buttons."""
    scale = QComboBox()
    for s in EXPORT_SCALES:
        scale.addItem(f"{s}×", s)
    scale.setCurrentIndex(EXPORT_SCALES.index(default_scale))
    scale.setToolTip("Enlarge each exported frame by this factor (pixel-sharp), so a 32-pixel "
                     "model gives a visible GIF.")
    box = QGroupBox("Export")
    grid = QGridLayout(box)
    grid.addWidget(QLabel("Scale"), 0, 0)
    grid.addWidget(scale, 0, 1)
    for row, button in enumerate(buttons, start=1):
        grid.addWidget(button, row, 0, 1, 2)
    return box, scale


def settings_text(settings: Sequence[tuple[str, Any]]) -> str:
    """Sampler settings for people: 'DPM-Solver++, 20 steps, guidance 2.0'."""
    parts = []
    for name, value in settings:
        if name == "sampler":
            parts.append(SAMPLER_TITLES.get(str(value), str(value)))
        elif name == "steps":
            parts.append(f"{value} steps")
        else:
            parts.append(f"{name} {value}")
    return ", ".join(parts)


class Exports:
    """Saving from the explorer, mixed into :class:`ExplorerPanel` (needs ``_sampling``,
    ``_savers``, ``tabs``, ``banner`` and ``message``)."""

    _sampling: SamplingInfo
    _savers: dict[QWidget, Callable[[Path], Path]]

    def stamp(self, kind: str, *, seeds: Sequence[int] = (), class_index: int | None = None,
              **settings: Any) -> Provenance:
        """Provenance for an export of the loaded model (see :func:`stamp`)."""
        return stamp(self._sampling, kind, seeds=seeds, class_index=class_index, **settings)

    def register_saver(self, page: QWidget, saver: Callable[[Path], Path]) -> None:
        """What :meth:`save_current` does while ``page`` is the visible tab."""
        self._savers[page] = saver

    def save_current(self, path: Path) -> Path:
        """Save what the visible tab shows (a stamped PNG; a .gif path animates where the tab
        plays frames) and return the file written."""
        page = self.tabs.currentWidget()
        saver = self._savers.get(page)
        if saver is None or self._info is None:
            raise AigcError("There is no image on this tab to save yet.")
        out = saver(Path(path))
        self.message.emit(f"Saved {out}.")
        return out

    def save_view_dialog(self) -> None:
        """Ctrl+S in the window: ask where, then :meth:`save_current`."""
        self.save_dialog("Save what this tab shows", "explorer.png",
                         "PNG image (*.png);;GIF animation (*.gif)", self.save_current)

    def save_dialog(self, title: str, name: str, filters: str,
                    action: Callable[[Path], object]) -> None:
        """Ask where to save, then run ``action``; a failure is one sentence in the banner."""
        path, _ = QFileDialog.getSaveFileName(self, title, name, filters)
        if path:
            self.run_export(lambda: action(Path(path)))

    def run_export(self, action: Callable[[], object]) -> None:
        """Run an export; its error becomes one sentence in the banner and the status bar."""
        try:
            action()
        except Exception as exc:
            from aigc_studio.gui.threading import user_message

            text = f"Export failed: {user_message(exc)}"
            self.banner.show_message(text, "error", "Dismiss")
            self.message.emit(text)
