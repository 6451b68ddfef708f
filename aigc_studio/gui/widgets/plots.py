"""Live training plots: losses per step and the discriminator's outputs (pyqtgraph).

Data arrives in batches (at most ~20 a second from the worker); every series appends into a
growing numpy buffer and the curves redraw with clip-to-view and peak downsampling, so the
plots stay smooth at 100,000+ points.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QSplitter, QVBoxLayout, QWidget

from aigc_studio.engine.callbacks import StepMetrics

if TYPE_CHECKING:
    import pyqtgraph as pg

SERIES = ("loss_d", "loss_g", "d_real", "d_fake", "loss_recon")
COLORS = {
    "loss_d": "#ef6c5a",
    "loss_g": "#4fa3f7",
    "d_real": "#6cc76c",
    "d_fake": "#e8b04b",
    "loss_recon": "#b48cf2",
}
LABELS = {
    "loss_d": "D loss",
    "loss_g": "G loss",
    "d_real": "D(x)",
    "d_fake": "D(G(z))",
    "loss_recon": "reconstruction loss",
}


class SeriesBuffer:
    """A growing (step, value) buffer with an incrementally updated smoothed copy."""

    def __init__(self, capacity: int = 1024) -> None:
        self.x = np.empty(capacity, dtype=np.float64)
        self.y = np.empty(capacity, dtype=np.float64)
        self.smooth = np.empty(capacity, dtype=np.float64)
        self.n = 0
        self.weight = 0.0
        self._ema = 0.0
        self._count = 0

    def __len__(self) -> int:
        return self.n

    def clear(self) -> None:
        """Forget every point."""
        self.n = 0
        self._ema = 0.0
        self._count = 0

    def extend(self, xs: Iterable[float], ys: Iterable[float]) -> None:
        """Append points (and their smoothed values)."""
        xs_arr = np.asarray(list(xs), dtype=np.float64)
        ys_arr = np.asarray(list(ys), dtype=np.float64)
        k = len(xs_arr)
        if k == 0:
            return
        need = self.n + k
        if need > len(self.x):
            cap = max(need, 2 * len(self.x))
            for name in ("x", "y", "smooth"):
                grown = np.empty(cap, dtype=np.float64)
                grown[: self.n] = getattr(self, name)[: self.n]
                setattr(self, name, grown)
        self.x[self.n : need] = xs_arr
        self.y[self.n : need] = ys_arr
        self.smooth[self.n : need] = self._ema_of(ys_arr)
        self.n = need

    def set_weight(self, weight: float) -> None:
        """Change the smoothing weight (0 = raw) and recompute the smoothed copy."""
        self.weight = float(min(max(weight, 0.0), 0.999))
        self._ema = 0.0
        self._count = 0
        if self.n:
            self.smooth[: self.n] = self._ema_of(self.y[: self.n])

    def _ema_of(self, values: np.ndarray) -> np.ndarray:
        """TensorBoard-style debiased exponential moving average, continuing the state."""
        w = self.weight
        out = np.empty(len(values), dtype=np.float64)
        ema, count = self._ema, self._count
        for i, value in enumerate(values.tolist()):
            if not np.isfinite(value):
                out[i] = value
                continue
            ema = w * ema + (1.0 - w) * value
            count += 1
            debias = 1.0 - w**count if w > 0 else 1.0
            out[i] = ema / debias
        self._ema, self._count = ema, count
        return out

    def data(self, smoothed: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Views of the filled part of the buffer."""
        y = self.smooth if smoothed else self.y
        return self.x[: self.n], y[: self.n]


def _keyed_title(title: str, names: tuple[str, ...]) -> str:
    """A plot title with a colour key (a legend that never covers the curves)."""
    keys = "&nbsp;&nbsp;".join(
        f"<span style='color:{COLORS[n]}'>&#9473;&#9473; {LABELS[n]}</span>" for n in names
    )
    return f"{title}&nbsp;&nbsp;&nbsp;{keys}"


def _make_plot(title: str, y_label: str) -> pg.PlotWidget:
    import pyqtgraph as pg

    plot = pg.PlotWidget()
    plot.setTitle(title, size="10pt")
    plot.setLabel("bottom", "step")
    plot.setLabel("left", y_label)
    plot.showGrid(x=True, y=True, alpha=0.15)
    plot.setClipToView(True)
    plot.setDownsampling(auto=True, mode="peak")
    plot.setMouseEnabled(x=True, y=True)
    plot.getPlotItem().setMenuEnabled(True)
    return plot


class TrainingPlots(QWidget):
    """Two stacked plots (losses; D outputs) and a smoothing slider."""

    smoothing_changed = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.buffers: dict[str, SeriesBuffer] = {name: SeriesBuffer() for name in SERIES}
        self._is_gan = True
        self.loss_plot: pg.PlotWidget | None = None
        self.d_plot: pg.PlotWidget | None = None
        self.raw_curves: dict[str, pg.PlotDataItem] = {}
        self.smooth_curves: dict[str, pg.PlotDataItem] = {}
        self._slots = [QLabel("Loading plots…"), QLabel("")]
        for slot in self._slots:
            slot.setAlignment(Qt.AlignmentFlag.AlignCenter)
            slot.setObjectName("hint")

        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 99)
        self.slider.setValue(0)
        self.slider.setToolTip(
            "Smoothing: an exponential moving average like TensorBoard's. 0 shows the raw "
            "per-step values; higher values show the trend (the raw curve stays faint behind)."
        )
        self.slider_label = QLabel("Smoothing 0.00")
        self.slider_label.setMinimumWidth(100)
        self.slider.valueChanged.connect(self._on_slider)

        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(self._slots[0])
        self.splitter.addWidget(self._slots[1])
        self.splitter.setChildrenCollapsible(False)

        row = QHBoxLayout()
        row.addWidget(QLabel("Smoothing"))
        row.addWidget(self.slider, 1)
        row.addWidget(self.slider_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter, 1)
        layout.addLayout(row)
        self.set_model("dcgan")

    @property
    def is_built(self) -> bool:
        """True once the pyqtgraph plots exist (built after the window first paints)."""
        return self.loss_plot is not None

    def build(self) -> None:
        """Import pyqtgraph and create the plots (idempotent; data added before is kept)."""
        if self.is_built:
            return
        import pyqtgraph as pg

        pg.setConfigOptions(antialias=False)
        base = self.palette().base().color()
        pg.setConfigOption("background", base)
        pg.setConfigOption("foreground", self.palette().text().color())
        self.loss_plot = _make_plot("Losses", "loss")
        self.loss_plot.setToolTip(
            "Discriminator (D) and generator (G) loss at every step. In a healthy GAN neither "
            "wins for long: the two curves wobble around each other instead of one going to 0."
        )
        self.d_plot = _make_plot("Discriminator outputs", "probability")
        self.d_plot.setToolTip(
            "D(x): how real D thinks real images are; D(G(z)): how real it thinks the fakes are. "
            "Both drifting towards 0.5 means D can no longer tell them apart."
        )
        self.d_plot.setYRange(0.0, 1.0)
        half = pg.InfiniteLine(
            pos=0.5, angle=0, pen=pg.mkPen("#9aa0a6", width=1, style=Qt.PenStyle.DashLine),
            label="0.5: D can't tell real from fake",
            labelOpts={"position": 0.98, "color": "#9aa0a6", "anchors": [(1, 1), (1, 1)]},
        )
        self.d_plot.addItem(half)

        for name in SERIES:
            plot = self.d_plot if name in ("d_real", "d_fake") else self.loss_plot
            color = COLORS[name]
            raw = plot.plot([], [], pen=pg.mkPen(color, width=1.5), name=LABELS[name])
            smooth = plot.plot([], [], pen=pg.mkPen(color, width=2))
            smooth.setVisible(False)
            for curve in (raw, smooth):
                curve.setClipToView(True)
                curve.setDownsampling(auto=True, method="peak")
            self.raw_curves[name] = raw
            self.smooth_curves[name] = smooth

        self.splitter.replaceWidget(0, self.loss_plot)
        self.splitter.replaceWidget(1, self.d_plot)
        for slot in self._slots:
            slot.deleteLater()
        self.set_model("dcgan" if self._is_gan else "autoencoder")
        self.redraw()

    # --- data in ---------------------------------------------------------------------------
    def set_model(self, model: str) -> None:
        """Show GAN curves (D/G losses and D outputs) or the reconstruction loss only."""
        self._is_gan = model == "dcgan"
        if self.loss_plot is None or self.d_plot is None:
            self._slots[1].setVisible(self._is_gan)
            return
        self.d_plot.setVisible(self._is_gan)
        if self._is_gan:
            self.loss_plot.setTitle(_keyed_title("Losses", ("loss_d", "loss_g")), size="10pt")
        else:
            self.loss_plot.setTitle(_keyed_title("Reconstruction loss (MSE)", ("loss_recon",)),
                                    size="10pt")
        self.d_plot.setTitle(_keyed_title("Discriminator outputs", ("d_real", "d_fake")),
                             size="10pt")
        self._refresh_visibility()

    def clear(self) -> None:
        """Remove every point."""
        for buf in self.buffers.values():
            buf.clear()
        self.redraw()
        for plot in (self.loss_plot, self.d_plot):
            if plot is not None:
                plot.enableAutoRange()
        if self.d_plot is not None:
            self.d_plot.setYRange(0.0, 1.0)

    def add_steps(self, steps: Iterable[StepMetrics]) -> None:
        """Append a batch of step metrics and redraw once."""
        self.add_records(step.as_dict() for step in steps)

    def add_records(self, records: Iterable[Mapping[str, Any]]) -> None:
        """Append metric dicts (``metrics.jsonl`` step lines or ``StepMetrics.as_dict()``)."""
        cols: dict[str, tuple[list[float], list[float]]] = {n: ([], []) for n in SERIES}
        for rec in records:
            step = rec.get("step")
            if step is None:
                continue
            for name in SERIES:
                value = rec.get(name)
                if isinstance(value, (int, float)):
                    cols[name][0].append(float(step))
                    cols[name][1].append(float(value))
        for name, (xs, ys) in cols.items():
            if xs:
                self.buffers[name].extend(xs, ys)
        self.redraw()

    def truncate(self, step: int) -> None:
        """Drop points after global ``step`` (a resume continues from there)."""
        for buf in self.buffers.values():
            keep = int(np.searchsorted(buf.x[: buf.n], step, side="right"))
            if keep < buf.n:
                x, y = buf.x[:keep].copy(), buf.y[:keep].copy()
                buf.clear()
                buf.extend(x, y)
        self.redraw()

    def point_count(self, name: str = "loss_d") -> int:
        """How many points a series holds."""
        return len(self.buffers[name])

    def last_values(self) -> dict[str, float]:
        """The newest value of every non-empty series."""
        return {n: float(b.y[b.n - 1]) for n, b in self.buffers.items() if b.n}

    # --- drawing ---------------------------------------------------------------------------
    def smoothing(self) -> float:
        """Current smoothing weight in [0, 0.99]."""
        return self.slider.value() / 100.0

    def set_smoothing(self, weight: float) -> None:
        """Set the smoothing weight (0 = raw)."""
        self.slider.setValue(round(weight * 100))

    def _on_slider(self, value: int) -> None:
        weight = value / 100.0
        self.slider_label.setText(f"Smoothing {weight:.2f}")
        for buf in self.buffers.values():
            buf.set_weight(weight)
        self._refresh_visibility()
        self.redraw()
        self.smoothing_changed.emit(weight)

    def _refresh_visibility(self) -> None:
        if not self.is_built:
            return
        import pyqtgraph as pg

        smoothing = self.slider.value() > 0
        for name in SERIES:
            wanted = (name == "loss_recon") != self._is_gan
            raw, smooth = self.raw_curves[name], self.smooth_curves[name]
            color = pg.mkColor(COLORS[name])
            if smoothing:
                color.setAlpha(60)
            raw.setPen(pg.mkPen(color, width=1 if smoothing else 1.5))
            raw.setVisible(wanted)
            smooth.setVisible(wanted and smoothing)


    def redraw(self) -> None:
        """Push buffer contents to the curves."""
        if not self.is_built:
            return
        smoothing = self.slider.value() > 0
        for name, buf in self.buffers.items():
            x, y = buf.data()
            self.raw_curves[name].setData(x, y)
            if smoothing:
                sx, sy = buf.data(smoothed=True)
                self.smooth_curves[name].setData(sx, sy)
            else:
                self.smooth_curves[name].setData([], [])
