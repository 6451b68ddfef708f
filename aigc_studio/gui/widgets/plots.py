"""Live training plots built from the model family's metric and plot specs (pyqtgraph).

Every metric is a named series (``MetricSpec``): its label, colour, axis (step or epoch) and
the plot it is drawn in come from the registered families, so a new family or a new metric
needs no change here. A step-axis plot per ``PlotSpec`` of the family; an epoch-axis plot for
per-epoch metrics (``"kind": "epoch"`` records); a metric no registered family declares still
plots, with a generic label, in "Other metrics" (step) or the epoch plot.

Data arrives in batches (at most ~20 a second from the worker); every series appends into a
growing numpy buffer and the curves redraw with clip-to-view and peak downsampling, so the
plots stay smooth at 100,000+ points.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QSplitter, QVBoxLayout, QWidget

from aigc_studio import families
from aigc_studio import metrics as quality_metrics
from aigc_studio.engine.callbacks import StepMetrics
from aigc_studio.families import MetricSpec, ModelFamily, PlotSpec

if TYPE_CHECKING:
    import pyqtgraph as pg

# Keys of metrics.jsonl records that are bookkeeping, not metrics.
NOT_METRICS = frozenset({"kind", "epoch", "step", "images_per_s", "seconds", "event",
                         "message", "time", "lr_g", "lr_d"})
OTHER_PLOT = PlotSpec("other", "Other metrics", "value",
                      tooltip="Metrics this run recorded that no registered model family "
                              "declares.")
def epoch_metric_plots() -> dict[str, PlotSpec]:
    """The plots the per-epoch metrics declare (a distance and 0-1 shares apart), by key."""
    from aigc_studio import metrics

    return {p.key: p for m in metrics.all_metrics() for p in getattr(m, "plots", ())}


EPOCH_PLOT = PlotSpec("epoch", "Per-epoch metrics", "value", axis="epoch",
                      tooltip="Metrics measured once per epoch (sample quality and the like).")
GENERIC_COLORS = ("#4fa3f7", "#ef6c5a", "#6cc76c", "#e8b04b", "#b48cf2", "#5fd7d7", "#f28cb4")

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


def metric_spec(name: str, family: ModelFamily | None = None) -> MetricSpec:
    """The spec of a metric: the family's, any registered family's, or a generic one."""
    spec = ((family.metric(name) if family is not None else None)
            or families.metric_spec(name) or quality_metrics.spec(name))
    if spec is not None:
        return spec
    color = GENERIC_COLORS[zlib.crc32(name.encode()) % len(GENERIC_COLORS)]
    return MetricSpec(name, name.replace("_", " "), group=OTHER_PLOT.key, color=color)


def _keyed_title(title: str, specs: Iterable[MetricSpec]) -> str:
    """A plot title with a colour key (a legend that never covers the curves)."""
    keys = "&nbsp;&nbsp;".join(
        f"<span style='color:{m.color}'>&#9473;&#9473; {m.label}</span>" for m in specs
    )
    return f"{title}&nbsp;&nbsp;&nbsp;{keys}" if keys else title


def _whole_ticks(levels: list[tuple[float, list[float]]]) -> list[tuple[float, list[float]]]:
    """Tick levels with only whole numbers: steps and epochs are counted, never 1.5."""
    kept = [(spacing, [v for v in values if abs(v - round(v)) < 1e-9])
            for spacing, values in levels if spacing >= 1 or spacing == 0]
    return kept or [(1.0, [])]


def _integer_axis(orientation: str) -> pg.AxisItem:
    """An x axis for steps and epochs: whole-number ticks at any zoom."""
    import pyqtgraph as pg

    class IntegerAxis(pg.AxisItem):
        def tickValues(self, minVal: float, maxVal: float, size: float
                       ) -> list[tuple[float, list[float]]]:
            levels = super().tickValues(minVal, maxVal, size)
            if levels and all(spacing < 1 for spacing, _ in levels):
                start, stop = math.ceil(minVal), math.floor(maxVal)
                return [(1.0, [float(v) for v in range(start, stop + 1)])]
            return _whole_ticks(levels)

    return IntegerAxis(orientation)


def _make_plot(spec: PlotSpec) -> pg.PlotWidget:
    import pyqtgraph as pg

    plot = pg.PlotWidget(axisItems={"bottom": _integer_axis("bottom")})
    plot.setTitle(spec.title, size="10pt")
    plot.setLabel("bottom", spec.axis)
    plot.setLabel("left", spec.y_label)
    # losses of 0.0004 read as 0.0004, not as "400 (x0.001)" — a scale that also lingered
    # on the next run's empty plot
    plot.getAxis("left").enableAutoSIPrefix(False)
    plot.getAxis("bottom").enableAutoSIPrefix(False)
    plot.getPlotItem().layout.setContentsMargins(2, 2, 14, 2)  # room for the last tick label
    plot.showGrid(x=True, y=True, alpha=0.15)
    plot.setClipToView(True)
    plot.setDownsampling(auto=True, mode="peak")
    plot.setMouseEnabled(x=True, y=True)
    plot.getPlotItem().setMenuEnabled(True)
    if spec.tooltip:
        plot.setToolTip(spec.tooltip)
    if spec.y_range is not None:
        plot.setYRange(*spec.y_range)
    for y, label in spec.lines:
        # the line carries its value at the edge; the sentence is its tooltip (a sentence on
        # the plot lies across the curves)
        line = pg.InfiniteLine(
            pos=y, angle=0, pen=pg.mkPen("#9aa0a6", width=1, style=Qt.PenStyle.DashLine),
            label=label.split(":", 1)[0],
            labelOpts={"position": 0.995, "color": "#9aa0a6", "anchors": [(1, 1), (1, 1)]},
        )
        line.setToolTip(label)
        plot.addItem(line)
    return plot


def lr_change_text(rates: Mapping[str, Any]) -> str:
    """'LR 0.0001' or 'LR G 0.0001, D 0.0004': a learning-rate change as the plot marks it."""
    parts = [f"{'G ' if 'lr_d' in rates else ''}{rates['lr_g']:g}"] if "lr_g" in rates else []
    if "lr_d" in rates:
        parts.append(f"D {rates['lr_d']:g}")
    return "LR " + ", ".join(parts)


class TrainingPlots(QWidget):
    """One plot per ``PlotSpec`` of the model family (step axis), an epoch-axis plot once
    per-epoch metrics arrive, and a smoothing slider."""

    smoothing_changed = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.buffers: dict[str, SeriesBuffer] = {}  # metric name -> points
        self._axis: dict[str, str] = {}  # metric name -> "step" | "epoch"
        self._family: ModelFamily | None = None
        self._extras: dict[str, Any] = {}
        self._built = False
        self.plots: dict[str, pg.PlotWidget] = {}  # PlotSpec key -> widget
        self._plot_specs: dict[str, PlotSpec] = {}
        # a score's baselines ("fld" -> {"real": 6.1, "noise": 851.5}) drawn as dashed lines
        self._baselines: dict[str, dict[str, float]] = {}
        self._baseline_lines: dict[str, tuple[str, dict[str, float], list[Any]]] = {}
        self._curve_plot: dict[str, str] = {}  # metric name -> plot key it is drawn in
        self._markers: list[tuple[float, str]] = []  # (step, text): a live learning-rate change
        self._marker_items: list[tuple[str, Any]] = []  # (plot key, pyqtgraph item)
        self.raw_curves: dict[str, pg.PlotDataItem] = {}
        self.smooth_curves: dict[str, pg.PlotDataItem] = {}
        self._placeholder = QLabel("Loading plots…")
        self._placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._placeholder.setObjectName("hint")

        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 99)
        self.slider.setValue(0)
        self.slider.setToolTip(
            "Smoothing: an exponential moving average like TensorBoard's. 0 shows the raw "
            "per-step values; higher values show the trend (the raw curve stays faint behind)."
        )
        self.slider_label = QLabel("0.00")
        self.slider_label.setMinimumWidth(36)
        self.slider.valueChanged.connect(self._on_slider)

        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(self._placeholder)
        self.splitter.setChildrenCollapsible(False)

        row = QHBoxLayout()
        row.addWidget(QLabel("Smoothing"))
        row.addWidget(self.slider, 1)
        row.addWidget(self.slider_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter, 1)
        layout.addLayout(row)
        first = families.all_families()
        self.set_model(first[0].name if first else None)

    @property
    def is_built(self) -> bool:
        """True once the pyqtgraph plots exist (built after the window first paints)."""
        return self._built

    def build(self) -> None:
        """Import pyqtgraph and create the plots (idempotent; data added before is kept)."""
        if self._built:
            return
        import pyqtgraph as pg

        pg.setConfigOptions(antialias=False)
        pg.setConfigOption("background", self.palette().base().color())
        pg.setConfigOption("foreground", self.palette().text().color())
        self._built = True
        self._placeholder.hide()
        self._sync()
        self.redraw()

    # --- which plots and series ------------------------------------------------------------
    def extras(self) -> dict[str, Any]:
        """The family options of the run the plots show (its loss, β, …)."""
        return dict(self._extras)

    @property
    def family(self) -> ModelFamily | None:
        """The family whose plots are shown (None: unknown, generic plots only)."""
        return self._family

    def set_model(self, model: str | None, extras: Mapping[str, Any] | None = None) -> None:
        """Show the plots of the family called ``model`` for a run with these family options
        (``TrainConfig.extras``; None: the defaults): the metrics such a run records, even
        before data arrives, and only the plots they fill."""
        try:
            self._family = families.get(model) if model else None
        except families.UnknownFamilyError:
            self._family = None
        self._extras = dict(extras or {})
        if self._family is not None:
            for metric in self._family.metrics:
                if self._records(metric.name):
                    self._series(metric.name, metric.axis)
        self._sync()

    def _records(self, name: str) -> bool:
        """True when a run of the current family and options records metric ``name``."""
        family = self._family
        spec = family.metric(name) if family is not None else None
        return spec is not None and family is not None and family.records(spec, self._extras)

    def _family_plots(self) -> list[PlotSpec]:
        """The family's plots that a run with the current options fills."""
        if self._family is None:
            return []
        used = {m.group for m in self._family.metrics if self._records(m.name)}
        return [p for p in self._family.plots if p.key in used]

    def plot_of(self, name: str) -> str | None:
        """The key of the plot a series is drawn in (None before the plots are built)."""
        return self._curve_plot.get(name)

    def plot(self, key: str) -> pg.PlotWidget | None:
        """The plot of a ``PlotSpec`` key ("loss", "epoch", …), once built."""
        return self.plots.get(key)

    def visible_plots(self) -> list[str]:
        """Keys of the plots shown, top to bottom."""
        by_widget = {id(w): k for k, w in self.plots.items()}
        widgets = (self.splitter.widget(i) for i in range(self.splitter.count()))
        return [by_widget[id(w)] for w in widgets if id(w) in by_widget and not w.isHidden()]

    def shown_series(self) -> list[str]:
        """Metrics whose curve is on screen (in a plot that is shown)."""
        return [n for n, curve in self.raw_curves.items()
                if curve.isVisible() and not self.plots[self._curve_plot[n]].isHidden()]

    def series_names(self) -> list[str]:
        """Every metric with a series (shown or not)."""
        return list(self.buffers)

    def series_label(self, name: str) -> str:
        """The legend label of a series (the spec's, or a generic one)."""
        return metric_spec(name, self._family).label

    def _series(self, name: str, axis: str = "step") -> SeriesBuffer:
        buf = self.buffers.get(name)
        if buf is None:
            buf = self.buffers[name] = SeriesBuffer()
            buf.set_weight(self.smoothing())
            self._axis[name] = axis
        return buf

    def _plot_key(self, name: str) -> str:
        if self._axis.get(name) == "epoch":  # a per-epoch metric's own plot, else the shared one
            group = metric_spec(name, self._family).group
            return group if group in epoch_metric_plots() else EPOCH_PLOT.key
        spec = metric_spec(name, self._family)
        if self._records(name) and spec.group in {p.key for p in self._family_plots()}:
            return spec.group
        return OTHER_PLOT.key

    def _wanted_specs(self) -> list[PlotSpec]:
        specs = [p for p in self._family_plots() if p.axis == "step"]
        keys = {p.key for p in specs}
        with_data = {self._plot_key(n) for n, b in self.buffers.items() if len(b)}
        if OTHER_PLOT.key in with_data or not specs:
            specs.append(OTHER_PLOT)
        for p in self._family_plots():
            if p.axis == "epoch" and p.key not in keys:
                specs.append(p)
        specs += [p for key, p in epoch_metric_plots().items()
                  if key in with_data and key not in keys]
        if EPOCH_PLOT.key in with_data:
            specs.append(EPOCH_PLOT)
        return specs

    def _sync(self) -> None:
        """Create, show and hide plots and curves for the family and the series present."""
        if not self._built:
            return
        import pyqtgraph as pg

        wanted = self._wanted_specs()
        wanted_keys = [p.key for p in wanted]
        for spec in wanted:
            if spec.key not in self.plots or self._plot_specs.get(spec.key) != spec:
                old = self.plots.pop(spec.key, None)
                if old is not None:
                    old.hide()
                    old.deleteLater()
                    for name in [n for n, k in self._curve_plot.items() if k == spec.key]:
                        self._curve_plot.pop(name)
                        self.raw_curves.pop(name, None)
                        self.smooth_curves.pop(name, None)
                plot = _make_plot(spec)
                self.plots[spec.key] = plot
                self._plot_specs[spec.key] = spec
                self.splitter.addWidget(plot)
        for index, spec in enumerate(wanted):  # the splitter shows them in the specs' order
            if self.splitter.indexOf(self.plots[spec.key]) != index + 1:  # 0: placeholder
                self.splitter.insertWidget(index + 1, self.plots[spec.key])
        for key, plot in self.plots.items():
            plot.setVisible(key in wanted_keys)
        for name in self.buffers:
            key = self._plot_key(name)
            if self._curve_plot.get(name) != key:
                for curves in (self.raw_curves, self.smooth_curves):
                    item = curves.pop(name, None)
                    old_plot = self.plots.get(self._curve_plot.get(name, ""))
                    if item is not None and old_plot is not None:
                        old_plot.removeItem(item)
                plot = self.plots.get(key)
                if plot is None:
                    self._curve_plot.pop(name, None)
                    continue
                color = metric_spec(name, self._family).color
                raw = plot.plot([], [], pen=pg.mkPen(color, width=1.5), name=name)
                smooth = plot.plot([], [], pen=pg.mkPen(color, width=2))
                smooth.setVisible(False)
                for curve in (raw, smooth):
                    curve.setClipToView(True)
                    curve.setDownsampling(auto=True, method="peak")
                self.raw_curves[name] = raw
                self.smooth_curves[name] = smooth
                self._curve_plot[name] = key
        for key, plot in self.plots.items():
            shown = [metric_spec(n, self._family) for n, k in self._curve_plot.items()
                     if k == key and self._series_shown(n)]
            plot.setTitle(_keyed_title(self._plot_specs[key].title, shown), size="10pt")
        self._draw_baselines()
        self._draw_markers()
        self._refresh_visibility()

    def _draw_baselines(self) -> None:
        """Dashed lines where 'good' (real vs real) and 'bad' (noise) lie for each score."""
        import pyqtgraph as pg

        names = {"real": "real vs real", "noise": "noise"}
        labelled: set[tuple[str, str]] = set()  # one label per plot and baseline: no clutter
        for base, values in self._baselines.items():
            key = self._curve_plot.get(base, "")
            drawn = self._baseline_lines.get(base)
            if drawn is not None and drawn[0] == key and drawn[1] == values:
                continue
            if drawn is not None and drawn[0] in self.plots:
                for item in drawn[2]:
                    self.plots[drawn[0]].removeItem(item)
            plot = self.plots.get(key)
            if plot is None:
                self._baseline_lines.pop(base, None)
                continue
            spec = metric_spec(base, self._family)
            items = []
            for which, value in values.items():
                label = None if (key, which) in labelled else names.get(which, which)
                labelled.add((key, which))
                item = pg.InfiniteLine(
                    pos=value, angle=0,
                    pen=pg.mkPen(spec.color, width=1, style=Qt.PenStyle.DashLine),
                    label=label,
                    labelOpts={"position": 0.02, "color": "#9aa0a6", "anchors": [(0, 1), (0, 1)]})
                item.setToolTip(f"{spec.label}: {names.get(which, which)} baseline {value:.3g}")
                plot.addItem(item)
                items.append(item)
            self._baseline_lines[base] = (key, dict(values), items)

    def mark_step(self, step: float, text: str) -> None:
        """A dotted vertical line on the first step plot (the loss): something changed here."""
        self._markers.append((float(step), text))
        self._draw_markers()

    def markers(self) -> list[tuple[float, str]]:
        """The marks shown, as (step, text)."""
        return list(self._markers)

    def _draw_markers(self) -> None:
        if not self._built:
            return
        import pyqtgraph as pg

        for key, item in self._marker_items:
            if key in self.plots:
                self.plots[key].removeItem(item)
        self._marker_items.clear()
        key = next((p.key for p in self._wanted_specs() if p.axis == "step"), None)
        plot = self.plots.get(key or "")
        if plot is None:
            return
        for step, text in self._markers:
            item = pg.InfiniteLine(
                pos=step, angle=90, pen=pg.mkPen("#9aa0a6", width=1, style=Qt.PenStyle.DotLine),
                label=text, labelOpts={"position": 0.95, "color": "#9aa0a6",
                                       "anchors": [(0, 0), (0, 0)]})
            item.setToolTip(f"Step {step:,.0f}: {text}")
            plot.addItem(item)
            self._marker_items.append((key, item))

    def baselines(self) -> dict[str, dict[str, float]]:
        """The baselines drawn per score, e.g. {"fld": {"real": 6.1, "noise": 851.5}}."""
        return {k: dict(v) for k, v in self._baselines.items()}

    def _series_shown(self, name: str) -> bool:
        return self._records(name) or len(self.buffers[name]) > 0

    # --- data in ---------------------------------------------------------------------------
    def clear(self) -> None:
        """Remove every point (and the baselines)."""
        for buf in self.buffers.values():
            buf.clear()
        for key, _values, items in self._baseline_lines.values():
            for item in items:
                if key in self.plots:
                    self.plots[key].removeItem(item)
        self._baselines.clear()
        self._baseline_lines.clear()
        self._markers.clear()
        self._sync()
        self.redraw()
        for key, plot in self.plots.items():
            plot.enableAutoRange()
            y_range = self._plot_specs[key].y_range
            if y_range is not None:
                plot.setYRange(*y_range)

    def add_steps(self, steps: Iterable[StepMetrics]) -> None:
        """Append a batch of step metrics and redraw once."""
        self.add_records(step.as_dict() for step in steps)

    def add_records(self, records: Iterable[Mapping[str, Any]]) -> None:
        """Append ``metrics.jsonl`` records: step lines (or ``StepMetrics.as_dict()``) go on
        the step axis, ``"kind": "epoch"`` lines' per-epoch metrics on the epoch axis; other
        kinds (events) are skipped."""
        cols: dict[str, tuple[list[float], list[float]]] = {}
        axes: dict[str, str] = {}
        baselines_changed = False
        for rec in records:
            kind = rec.get("kind", "step")
            if kind == "step":
                x = rec.get("step")
            elif kind == "epoch":
                x = rec.get("epoch")
            else:
                if rec.get("event") == "lr_change" and isinstance(rec.get("step"), int):
                    self._markers.append((float(rec["step"]), lr_change_text(rec)))
                    baselines_changed = True  # redraw the marks with the plots
                continue
            if x is None:
                continue
            for name, value in rec.items():
                if name in NOT_METRICS or not isinstance(value, (int, float)) or \
                        isinstance(value, bool):
                    continue  # bookkeeping
                if quality_metrics.is_reference_key(name):  # a baseline: a line, not a series
                    base, _, which = name.rpartition("_")
                    if which in quality_metrics.BASELINES:
                        self._baselines.setdefault(base, {})[which] = float(value)
                        baselines_changed = True
                    continue
                if kind == "epoch" and not self._epoch_metric(name):
                    continue  # an epoch line's mean of a step metric: the step plot has it
                axes[name] = kind
                xs, ys = cols.setdefault(name, ([], []))
                xs.append(float(x))
                ys.append(float(value))
        new = [n for n in cols if n not in self.buffers]
        for name, (xs, ys) in cols.items():
            self._series(name, axes[name]).extend(xs, ys)
        if new or baselines_changed or any(len(self.buffers[n]) == len(cols[n][0])
                                           for n in cols):
            self._sync()  # a new series, a first point or baselines: plots may change
        self.redraw()

    def add_epoch_metrics(self, epoch: int, values: Mapping[str, float]) -> None:
        """Append one epoch's per-epoch metrics (``EpochResult.scores``)."""
        if values:
            self.add_records([{"kind": "epoch", "epoch": epoch, **values}])

    def _epoch_metric(self, name: str) -> bool:
        """True for a metric measured per epoch (not a step metric's epoch mean)."""
        spec = metric_spec(name, self._family)
        if spec.axis == "epoch":
            return True
        declared = families.metric_spec(name) is not None or (
            self._family is not None and self._family.metric(name) is not None)
        return not declared and self._axis.get(name, "epoch") == "epoch"

    def truncate(self, step: int) -> None:
        """Drop step-axis points after global ``step`` (a resume continues from there)."""
        for name, buf in self.buffers.items():
            if self._axis.get(name) == "epoch":
                continue
            keep = int(np.searchsorted(buf.x[: buf.n], step, side="right"))
            if keep < buf.n:
                x, y = buf.x[:keep].copy(), buf.y[:keep].copy()
                buf.clear()
                buf.extend(x, y)
        self.redraw()

    def truncate_epochs(self, epoch: int) -> None:
        """Drop epoch-axis points after ``epoch``."""
        for name, buf in self.buffers.items():
            if self._axis.get(name) != "epoch":
                continue
            keep = int(np.searchsorted(buf.x[: buf.n], epoch, side="right"))
            if keep < buf.n:
                x, y = buf.x[:keep].copy(), buf.y[:keep].copy()
                buf.clear()
                buf.extend(x, y)
        self.redraw()

    def point_count(self, name: str | None = None) -> int:
        """How many points a series holds (default: the family's first step metric)."""
        if name is None:
            steps = self._family.step_metrics if self._family else ()
            name = steps[0] if steps else next(iter(self.buffers), "")
        buf = self.buffers.get(name)
        return len(buf) if buf is not None else 0

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
        self.slider_label.setText(f"{weight:.2f}")
        for buf in self.buffers.values():
            buf.set_weight(weight)
        self._refresh_visibility()
        self.redraw()
        self.smoothing_changed.emit(weight)

    def _refresh_visibility(self) -> None:
        if not self._built:
            return
        import pyqtgraph as pg

        smoothing = self.slider.value() > 0
        for name, raw in self.raw_curves.items():
            wanted = self._series_shown(name)
            smooth = self.smooth_curves[name]
            color = pg.mkColor(metric_spec(name, self._family).color)
            if smoothing:
                color.setAlpha(60)
            raw.setPen(pg.mkPen(color, width=1 if smoothing else 1.5))
            raw.setVisible(wanted)
            smooth.setVisible(wanted and smoothing)

    def redraw(self) -> None:
        """Push buffer contents to the curves."""
        if not self._built:
            return
        smoothing = self.slider.value() > 0
        for name, raw in self.raw_curves.items():
            buf = self.buffers[name]
            x, y = buf.data()
            raw.setData(x, y)
            if smoothing:
                sx, sy = buf.data(smoothed=True)
                self.smooth_curves[name].setData(sx, sy)
            else:
                self.smooth_curves[name].setData([], [])
