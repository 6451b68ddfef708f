"""Compare runs side by side (issue 18): curves on the same axes, the settings that differ,
each run's last and best metrics, the grids of one epoch next to each other, and the same
seed drawn by each run's latest weights (the one place this view touches a model: in the
background, torch imported there).

The settings and metrics come from ``engine.compare``, so the window shows what
``aigc-studio runs --compare`` prints. Run folders are untrusted and may sit on a slow disk:
everything is read in the background (:class:`TaskRunner`, a newer request wins) and the view
only draws the plain data that comes back. Torch-free at import.
"""

from __future__ import annotations

import html
import string
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from aigc_studio import metrics as quality_metrics
from aigc_studio.core.images import load_image
from aigc_studio.engine import runs as run_store
from aigc_studio.engine.compare import Comparison, RunMetrics, compare_runs
from aigc_studio.gui.threading import Outcome, TaskRunner, user_message
from aigc_studio.gui.widgets.banner import Banner
from aigc_studio.gui.widgets.plots import GENERIC_COLORS, metric_spec
from aigc_studio.gui.widgets.sample_view import epoch_of
from aigc_studio.gui.widgets.style import PANEL_STYLE
from aigc_studio.gui.widgets.views import ImageView, seed_spin

if TYPE_CHECKING:
    import pyqtgraph as pg

AXES = ("step", "epoch")
SEED_COUNTS = (8, 16)  # images per run in the same-seed row (two rows of a grid)
Series = tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True)
class RunCurves:
    """One run's metric series on each axis and the epochs that have a sample grid."""

    series: dict[str, dict[str, Series]] = field(default_factory=dict)  # axis -> metric -> xy
    grids: dict[int, Path] = field(default_factory=dict)


@dataclass(frozen=True)
class CompareData:
    """What the view shows, read in the background: the comparison and every run's curves."""

    comparison: Comparison
    curves: list[RunCurves]

    def metrics(self, axis: str) -> list[str]:
        """Metrics on ``axis`` that every run recorded (all of them where none is shared)."""
        names = [list(c.series.get(axis, {})) for c in self.curves]
        every = list(dict.fromkeys(n for run in names for n in run))
        shared = [n for n in every if all(n in run for run in names)]
        return shared or every

    def epochs(self) -> list[int]:
        """Epochs with a grid in any run."""
        return sorted({e for c in self.curves for e in c.grids})

    def shared_epoch(self) -> int | None:
        """The newest epoch every run has a grid of (else the newest of any run)."""
        common = set.intersection(*(set(c.grids) for c in self.curves)) if self.curves else set()
        return max(common or self.epochs() or [0]) or None


def run_curves(path: Path) -> RunCurves:
    """A run's series per axis from metrics.jsonl (baselines left out: they are reference
    lines, not curves) and its sample grids by epoch."""
    series: dict[str, dict[str, tuple[list[float], list[float]]]] = {a: {} for a in AXES}
    for record in run_store.read_metrics(path):
        axis = record.get("kind", "step")
        x = record.get(axis) if axis in AXES else None
        if not isinstance(x, (int, float)) or isinstance(x, bool):
            continue
        for name, value in run_store.metric_values(record).items():
            if quality_metrics.is_reference_key(name):
                continue
            xs, ys = series[axis].setdefault(name, ([], []))
            xs.append(float(x))
            ys.append(value)
    grids = {e: p for p in run_store.sample_paths(path) if (e := epoch_of(p)) is not None}
    arrays = {axis: {name: (np.asarray(xs), np.asarray(ys)) for name, (xs, ys) in named.items()}
              for axis, named in series.items()}
    return RunCurves(arrays, grids)


def load_compare(paths: Sequence[Path]) -> CompareData:
    """Read every run (background thread); a RunError's sentence comes back as the error."""
    comparison = compare_runs(paths)
    return CompareData(comparison, [run_curves(r.path) for r in comparison.runs])


def load_grids(paths: Sequence[Path | None]) -> list[np.ndarray | None]:
    """Decode the grids (background thread); a missing or unreadable one is None."""
    images: list[np.ndarray | None] = []
    for path in paths:
        try:
            images.append(None if path is None else
                          np.asarray(load_image(path).image.convert("RGB")))
        except Exception:  # an unreadable grid shows as missing, the others still show
            images.append(None)
    return images


@dataclass(frozen=True)
class SeedRender:
    """One run's images of the shared seed, or the sentence saying why it has none."""

    image: np.ndarray | None = None
    note: str = ""
    epoch: int = 0


def render_seed(path: Path, seed: int, count: int) -> SeedRender:
    """``count`` images from ``seed`` (image i is seed + i) through a run's latest weights
    (its newest epoch's weights file; the run folder's own choice when it has none).

    A conditional run draws the classes in turn (image i is class i mod classes), so two
    conditional runs show the same seeds *and* classes. A run whose family cannot sample, or
    whose weights cannot be read, gets one sentence instead.
    """
    import torch

    from aigc_studio.core.grid import make_grid
    from aigc_studio.engine.inference import decode, latent_batch, load_model, wrong_kind

    try:
        model = load_model(next(reversed(run_store.epoch_weights(path)), path))
        if not model.capabilities.samples:
            return SeedRender(note=wrong_kind(model, "samples", "drawing images from a seed"),
                              epoch=model.epoch)
        labels = (torch.arange(count) % model.num_classes if model.num_classes else None)
        images = decode(model, latent_batch(model, count, seed), labels)
    except Exception as exc:  # one run that cannot draw must not hide the others
        return SeedRender(note=user_message(exc))
    return SeedRender(make_grid(images, ncols=max(1, count // 2)), epoch=model.epoch)


def iter_seed_renders(paths: Sequence[Path], seed: int, count: int
                      ) -> Iterator[tuple[int, SeedRender]]:
    """(run index, render) per run, one at a time (a new seed cancels between runs)."""
    for index, path in enumerate(paths):
        yield index, render_seed(path, seed, count)


def show_value(value: Any) -> str:
    """A setting or metric value as table text."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict):
        return ", ".join(f"{k}={show_value(v)}" for k, v in value.items()) or "—"
    return str(value)


def metric_cells(run: RunMetrics, name: str) -> list[str]:
    """One run's [last, best (epoch)] of a metric: "0.71", "0.65 (ep 3)"; "—" for none."""
    last, best = run.last.get(name), run.best.get(name)
    return ["—" if last is None else f"{last:.4g}",
            "—" if best is None else f"{best.value:.3g} (ep {best.epoch})"]


def _table(tooltip: str) -> QTableWidget:
    table = QTableWidget()
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
    table.setAlternatingRowColors(True)
    table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
    table.setWordWrap(True)
    table.setToolTip(tooltip)
    return table


def _fit_height(table: QTableWidget, max_rows: int = 8) -> None:
    """A short table takes only the height of its rows (the rest goes to the longer one)."""
    header = table.verticalHeader()
    rows = sum(header.sectionSize(r) for r in range(min(table.rowCount(), max_rows)))
    table.setMaximumHeight(table.horizontalHeader().sizeHint().height() + rows
                           + 2 * table.frameWidth() + 2)


def _fill_table(table: QTableWidget, rows: list[tuple[str, str, list[str]]],
                columns: list[tuple[str, str]]) -> None:
    """Rows of (label, tooltip, one cell per run) under columns of (title, colour)."""
    table.clear()
    table.setRowCount(len(rows))
    table.setColumnCount(len(columns))
    for col, (title, color) in enumerate(columns):
        head = QTableWidgetItem(title)
        head.setForeground(QBrush(QColor(color)))
        table.setHorizontalHeaderItem(col, head)
    for row, (label, tip, cells) in enumerate(rows):
        head = QTableWidgetItem(label)
        head.setToolTip(tip)
        table.setVerticalHeaderItem(row, head)
        for col, text in enumerate(cells):
            item = QTableWidgetItem(text)
            item.setToolTip(text)
            table.setItem(row, col, item)


class CompareView(QWidget):
    """Two or more runs side by side, in a window of its own."""

    loaded = Signal()  # the runs are read and shown
    grids_shown = Signal(int)  # the epoch whose grids are on screen
    failed = Signal(str)  # the sentence shown when the runs could not be read
    seed_shown = Signal(int)  # the seed every run has drawn (the same-seed tab)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle("Compare runs")
        self.setStyleSheet(PANEL_STYLE)
        self.data: CompareData | None = None
        self.curves: list[pg.PlotDataItem] = []
        self._paths: list[Path] = []
        self._loader = TaskRunner(self)
        self._loader.finished.connect(self._on_loaded)
        self._grid_loader = TaskRunner(self)
        self._grid_loader.finished.connect(self._on_grids)
        self._grid_epoch = 0
        self.grid_views: list[ImageView] = []
        self.grid_captions: list[QLabel] = []
        self._seed_runner = TaskRunner(self)
        self._seed_runner.yielded.connect(self._on_seed_render)
        self._seed_runner.finished.connect(self._on_seeds_done)
        self._seed_dirty = True
        self.seed_renders: dict[int, SeedRender] = {}  # run index -> what its view shows
        self.seed_views: list[ImageView] = []
        self.seed_captions: list[QLabel] = []
        self._build()
        self.resize(1280, 800)

    # ------------------------------------------------------------------ construction -----
    def _build(self) -> None:
        import pyqtgraph as pg

        title = QLabel("Compare runs")
        title.setObjectName("panelTitle")
        self.summary = QLabel("")
        self.summary.setObjectName("hint")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)  # run names are escaped
        self.banner = Banner(dismissible=True)

        self.metric_combo = QComboBox()
        self.metric_combo.setToolTip("The metric plotted for every run.")
        self.metric_combo.currentIndexChanged.connect(self.redraw)
        self.axis_combo = QComboBox()
        for axis in AXES:
            self.axis_combo.addItem(f"per {axis}", axis)
        self.axis_combo.setToolTip("Steps: every logged training step. Epochs: the epoch "
                                   "means and per-epoch scores such as sample quality.")
        self.axis_combo.currentIndexChanged.connect(self._fill_metrics)
        controls = QHBoxLayout()
        controls.addWidget(QLabel("Metric"))
        controls.addWidget(self.metric_combo, 1)
        controls.addSpacing(12)
        controls.addWidget(QLabel("Axis"))
        controls.addWidget(self.axis_combo)

        self.plot = pg.PlotWidget()
        for side in ("left", "bottom"):  # 0.0004 reads as 0.0004, not "400 (x0.001)"
            self.plot.getAxis(side).enableAutoSIPrefix(False)
        self.plot.getPlotItem().layout.setContentsMargins(2, 2, 14, 2)  # the last tick's label
        self.plot.showGrid(x=True, y=True, alpha=0.15)
        self.plot.setClipToView(True)
        self.plot.setDownsampling(auto=True, mode="peak")
        plot_box = QWidget()
        plot_layout = QVBoxLayout(plot_box)
        plot_layout.setContentsMargins(0, 0, 0, 0)
        plot_layout.addLayout(controls)
        plot_layout.addWidget(self.plot, 1)

        self.settings_table = _table("Only the settings that differ between the runs.")
        self.metrics_table = _table("The last value of every metric, and the best epoch "
                                    "value where the metric has a better direction.")
        self.metrics_table.setWordWrap(False)  # numbers on one line; scrolls when narrow
        self.metrics_table.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents)
        self.metrics_table.horizontalHeader().setStretchLastSection(True)
        tables = QWidget()
        table_layout = QVBoxLayout(tables)
        table_layout.setContentsMargins(0, 0, 0, 0)
        self.settings_title = QLabel("Settings that differ")
        self.settings_title.setObjectName("sectionTitle")
        table_layout.addWidget(self.settings_title)
        table_layout.addWidget(self.settings_table)
        metrics_title = QLabel("Metrics: the last value and the best epoch")
        metrics_title.setObjectName("sectionTitle")
        table_layout.addWidget(metrics_title)
        table_layout.addWidget(self.metrics_table, 1)

        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(plot_box)
        top.addWidget(tables)
        top.setStretchFactor(0, 3)
        top.setStretchFactor(1, 2)
        top.setSizes([740, 500])
        top.setChildrenCollapsible(False)

        self.epoch_combo = QComboBox()
        self.epoch_combo.setToolTip("The epoch whose sample grids are shown side by side "
                                    "(each run's fixed noise).")
        self.epoch_combo.currentIndexChanged.connect(self._request_grids)
        epoch_row = QHBoxLayout()
        epoch_row.addWidget(QLabel("Sample grids of epoch"))
        epoch_row.addWidget(self.epoch_combo)
        epoch_row.addStretch(1)
        self.grid_row = QGridLayout()
        grids = QWidget()
        grid_layout = QVBoxLayout(grids)
        grid_layout.setContentsMargins(4, 4, 4, 0)
        grid_layout.addLayout(epoch_row)
        grid_layout.addLayout(self.grid_row, 1)

        self.bottom_tabs = QTabWidget()
        self.bottom_tabs.addTab(grids, "Sample grids")
        self.bottom_tabs.setTabToolTip(0, "Each run's own grid of the chosen epoch.")
        self.seed_page = self._build_seed_page()
        self.bottom_tabs.addTab(self.seed_page, "Same seed")
        self.bottom_tabs.setTabToolTip(1, "The same noise drawn by each run's latest weights.")
        self.bottom_tabs.currentChanged.connect(self._on_bottom_tab)

        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(top)
        self.splitter.addWidget(self.bottom_tabs)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setSizes([430, 300])
        self.splitter.setChildrenCollapsible(False)

        header = QHBoxLayout()
        header.addWidget(title)
        header.addSpacing(12)
        header.addWidget(self.summary, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.addLayout(header)
        layout.addWidget(self.banner)
        layout.addWidget(self.splitter, 1)

    def _build_seed_page(self) -> QWidget:
        """Seed and image count above one view per run (filled when the tab is shown)."""
        self.seed_spin = seed_spin("The first seed: image i of every run is drawn from seed "
                                   "+ i, so the runs start from the same noise.")
        self.seed_spin.setValue(1)
        self.seed_count = QComboBox()
        for n in SEED_COUNTS:
            self.seed_count.addItem(f"{n} images", n)
        self.seed_count.setToolTip("Images per run (consecutive seeds).")
        self.seed_spin.valueChanged.connect(self._seed_settings_changed)
        self.seed_count.currentIndexChanged.connect(self._seed_settings_changed)
        self.seed_status = QLabel("")
        self.seed_status.setObjectName("hint")
        row = QHBoxLayout()
        row.addWidget(QLabel("Seed"))
        row.addWidget(self.seed_spin)
        row.addWidget(self.seed_count)
        row.addSpacing(12)
        row.addWidget(self.seed_status, 1)
        self.seed_row = QGridLayout()
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(4, 4, 4, 0)
        layout.addLayout(row)
        layout.addLayout(self.seed_row, 1)
        return page

    # ------------------------------------------------------------------ loading -----------
    def set_runs(self, paths: Sequence[Path]) -> None:
        """Compare these run folders (read in the background; ``loaded`` when shown)."""
        self._paths = [Path(p) for p in paths]
        self.banner.hide()
        self.summary.setText(f"Reading {len(self._paths)} runs…")
        self._loader.start(load_compare, list(self._paths))

    def is_loading(self) -> bool:
        """True while the runs or grids are being read or the same seed drawn."""
        return any(r.is_running() for r in (self._loader, self._grid_loader,
                                            self._seed_runner))

    def shutdown(self) -> None:
        """Drop any reading under way (the window is closing)."""
        for runner in (self._loader, self._grid_loader, self._seed_runner):
            runner.cancel(report=False)

    def _on_loaded(self, outcome: Outcome) -> None:
        if outcome.cancelled:
            return
        if not outcome.ok:
            self.data = None
            self.summary.setText("")
            self.banner.show_message(outcome.error or "The runs could not be read.", "error")
            self.failed.emit(outcome.error or "")
            return
        self.data = outcome.value
        runs = self.data.comparison.runs
        self.summary.setText("&nbsp;&nbsp; ".join(
            f"<b style='color:{self.run_color(i)}'>{self.run_label(i)}</b> "
            f"{html.escape(r.name)} ({html.escape(r.config.model)}, {r.epochs_done} epochs)"
            for i, r in enumerate(runs)))
        self._fill_tables()
        self._fill_metrics()
        self._fill_epochs()
        self._seed_dirty = True
        self._build_run_views(self.seed_row, self.seed_captions, self.seed_views,
                              len(runs), "drawing…")
        for i, (caption, run) in enumerate(zip(self.seed_captions, runs, strict=True)):
            caption.setText(f"{self.run_label(i)} · {run.name}")
        if self.bottom_tabs.currentWidget() is self.seed_page:
            self.render_same_seed()
        self.loaded.emit()

    # ------------------------------------------------------------------ pieces ------------
    def run_label(self, index: int) -> str:
        """The short name of run ``index`` in legends and headers (A, B, C…)."""
        letters = string.ascii_uppercase
        return letters[index] if index < len(letters) else str(index + 1)

    def run_color(self, index: int) -> str:
        """The colour of run ``index`` everywhere in the view."""
        return GENERIC_COLORS[index % len(GENERIC_COLORS)]

    def _columns(self, *suffixes: str) -> list[tuple[str, str]]:
        """Column titles and colours: one per run ("A": run names are long and the header
        line names each letter), or one per run and suffix ("A last", "A best")."""
        runs = self.data.comparison.runs if self.data else []
        if not suffixes:
            return [(self.run_label(i), self.run_color(i)) for i in range(len(runs))]
        return [(f"{self.run_label(i)} {suffix}", self.run_color(i))
                for i in range(len(runs)) for suffix in suffixes]

    def _fill_tables(self) -> None:
        assert self.data is not None
        comparison = self.data.comparison
        settings = [(name, name, [show_value(v) for v in values])
                    for name, values in comparison.settings.items()]
        self.settings_title.setText(
            f"Settings that differ ({len(settings)})" if settings
            else "Settings that differ: none, the runs were trained alike")
        _fill_table(self.settings_table, settings, self._columns())
        _fit_height(self.settings_table)
        model = comparison.runs[0].config.model if comparison.runs else None
        rows = []
        for name in comparison.metrics:
            if quality_metrics.is_reference_key(name):
                continue
            spec = metric_spec(name, None if model is None else _family(model))
            rows.append((spec.label, f"{name}: {spec.description}".rstrip(": "),
                         [c for r in comparison.runs for c in metric_cells(r, name)]))
        _fill_table(self.metrics_table, rows, self._columns("last", "best"))

    def _fill_metrics(self) -> None:
        """The metric choices for the axis shown (the current one kept when it is there)."""
        keep = self.plotted_metric()
        self.metric_combo.blockSignals(True)
        self.metric_combo.clear()
        if self.data is not None:
            for name in self.data.metrics(self.axis()):
                self.metric_combo.addItem(metric_spec(name).label, name)
        index = self.metric_combo.findData(keep)
        self.metric_combo.setCurrentIndex(max(index, 0))
        self.metric_combo.blockSignals(False)
        self.redraw()

    def _fill_epochs(self) -> None:
        assert self.data is not None
        self.epoch_combo.blockSignals(True)
        self.epoch_combo.clear()
        for epoch in self.data.epochs():
            self.epoch_combo.addItem(str(epoch), epoch)
        self.epoch_combo.setCurrentIndex(max(self.epoch_combo.findData(
            self.data.shared_epoch()), 0))
        self.epoch_combo.blockSignals(False)
        self._build_run_views(self.grid_row, self.grid_captions, self.grid_views,
                              len(self.data.curves), "no grid")
        self._request_grids()

    def _build_run_views(self, grid: QGridLayout, captions: list[QLabel],
                         views: list[ImageView], count: int, placeholder: str) -> None:
        """One caption (in the run's colour) over one view per run, side by side."""
        while views:
            views.pop().deleteLater()
            captions.pop().deleteLater()
        for i in range(count):
            caption = QLabel()
            caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
            caption.setStyleSheet(f"color: {self.run_color(i)}; font-weight: 600;")
            view = ImageView(placeholder)
            grid.addWidget(caption, 0, i)
            grid.addWidget(view, 1, i)
            grid.setColumnStretch(i, 1)
            captions.append(caption)
            views.append(view)
        grid.setRowStretch(1, 1)

    # ------------------------------------------------------------------ controls ----------
    def axis(self) -> str:
        """"step" or "epoch"."""
        return str(self.axis_combo.currentData())

    def set_axis(self, axis: str) -> None:
        """Plot against steps or epochs."""
        self.axis_combo.setCurrentIndex(AXES.index(axis))

    def plotted_metric(self) -> str | None:
        """The metric plotted."""
        data = self.metric_combo.currentData()
        return str(data) if data is not None else None

    def set_plotted_metric(self, name: str) -> None:
        """Plot ``name`` (one of the axis's choices)."""
        index = self.metric_combo.findData(name)
        if index < 0:
            raise ValueError(f"{name} is not recorded on the {self.axis()} axis")
        self.metric_combo.setCurrentIndex(index)

    def epoch(self) -> int | None:
        """The epoch whose grids are chosen."""
        data = self.epoch_combo.currentData()
        return int(data) if data is not None else None

    def show_epoch(self, epoch: int) -> None:
        """Show the grids of ``epoch`` (read in the background; ``grids_shown``)."""
        index = self.epoch_combo.findData(epoch)
        if index < 0:
            raise ValueError(f"no run has a grid of epoch {epoch}")
        if index == self.epoch_combo.currentIndex():
            self._request_grids()
        self.epoch_combo.setCurrentIndex(index)

    # ------------------------------------------------------------------ drawing -----------
    def redraw(self, *_: object) -> None:
        """Every run's curve of the chosen metric on the same axes."""
        import pyqtgraph as pg

        self.plot.clear()
        self.curves = []
        metric = self.plotted_metric()
        if self.data is None or metric is None:
            self.plot.setTitle("")
            return
        keys = []
        axis = self.axis()
        for i, (run, curves) in enumerate(zip(self.data.comparison.runs, self.data.curves,
                                              strict=True)):
            xy = curves.series.get(axis, {}).get(metric)
            if xy is None:
                continue
            color = self.run_color(i)
            symbol = {"symbol": "o", "symbolSize": 6, "symbolBrush": color,
                      "symbolPen": None} if axis == "epoch" else {}
            item = self.plot.plot(xy[0], xy[1], pen=pg.mkPen(color, width=2),
                                  name=f"{self.run_label(i)} · {run.name}", **symbol)
            self.curves.append(item)
            keys.append(f"<span style='color:{color}'>&#9473;&#9473; "
                        f"{self.run_label(i)}</span>")
        spec = metric_spec(metric)
        self.plot.setLabel("bottom", axis)
        self.plot.setLabel("left", spec.label)
        # a keyed title instead of a legend: a legend would cover the curves
        self.plot.setTitle(f"{html.escape(spec.label)} per {axis}&nbsp;&nbsp;&nbsp;"
                           + "&nbsp;&nbsp;".join(keys), size="10pt")

    def _request_grids(self, *_: object) -> None:
        epoch = self.epoch()
        if self.data is None or epoch is None:
            return
        self._grid_epoch = epoch
        self._grid_loader.start(load_grids, [c.grids.get(epoch) for c in self.data.curves])

    def _on_grids(self, outcome: Outcome) -> None:
        if not outcome.ok or self.data is None:
            return
        for i, (image, run) in enumerate(zip(outcome.value, self.data.comparison.runs,
                                             strict=False)):
            if i >= len(self.grid_views):
                break
            self.grid_views[i].set_image(image)
            state = "" if image is not None else " · no grid"
            self.grid_captions[i].setText(f"{self.run_label(i)} · {run.name} · epoch "
                                          f"{self._grid_epoch}{state}")
        self.grids_shown.emit(self._grid_epoch)

    def grid_images(self) -> list[np.ndarray | None]:
        """The grids on screen, one per run (None where a run has no grid of that epoch)."""
        return [view.image() for view in self.grid_views]

    # ------------------------------------------------------------------ same seed ---------
    def set_seed(self, seed: int, count: int | None = None) -> None:
        """Draw ``count`` images from ``seed`` with every run (when the tab is shown)."""
        for widget in (self.seed_spin, self.seed_count):
            widget.blockSignals(True)
        self.seed_spin.setValue(int(seed))
        if count is not None:
            self.seed_count.setCurrentIndex(max(0, self.seed_count.findData(int(count))))
        for widget in (self.seed_spin, self.seed_count):
            widget.blockSignals(False)
        self._seed_settings_changed()

    def render_same_seed(self) -> None:
        """Draw the seed through each run's latest weights, in the background, run by run
        (``seed_shown(seed)`` when every run is drawn)."""
        if self.data is None:
            return
        self._seed_dirty = False
        self.seed_renders = {}
        for view in self.seed_views:
            view.placeholder = "drawing…"
            view.set_image(None)
        seed, count = self.seed_spin.value(), int(self.seed_count.currentData())
        self.seed_status.setText(f"Drawing seeds {seed}–{seed + count - 1} with each run's "
                                 "latest weights…")
        self._seed_runner.start(iter_seed_renders, [r.path for r in self.data.comparison.runs],
                                seed, count)

    def seed_images(self) -> list[np.ndarray | None]:
        """The same-seed images on screen, one per run (None where a run cannot draw)."""
        return [view.image() for view in self.seed_views]

    def _seed_settings_changed(self, *_: object) -> None:
        if self.bottom_tabs.currentWidget() is self.seed_page:
            self.render_same_seed()
        else:
            self._seed_dirty = True

    def _on_bottom_tab(self, _: int) -> None:
        if self.bottom_tabs.currentWidget() is self.seed_page and self._seed_dirty:
            self.render_same_seed()

    def _on_seed_render(self, item: tuple[int, SeedRender]) -> None:
        index, render = item
        if self.data is None or index >= len(self.seed_views):
            return
        self.seed_renders[index] = render
        view = self.seed_views[index]
        view.placeholder = render.note
        view.setToolTip(render.note)
        view.set_image(render.image)
        run = self.data.comparison.runs[index]
        epoch = f" · epoch {render.epoch}" if render.epoch else ""
        self.seed_captions[index].setText(f"{self.run_label(index)} · {run.name}{epoch}")

    def _on_seeds_done(self, outcome: Outcome) -> None:
        if outcome.cancelled:
            return
        seed = self.seed_spin.value()
        if not outcome.ok:
            self.seed_status.setText(outcome.error or "")
            return
        drawn = sum(r.image is not None for r in self.seed_renders.values())
        count = int(self.seed_count.currentData())
        self.seed_status.setText(
            f"Seeds {seed}–{seed + count - 1} through {drawn} of {len(self.seed_renders)} "
            "runs' latest weights; a conditional run draws the classes in turn.")
        self.seed_shown.emit(seed)


def _family(model: str) -> Any:
    """The registered family of ``model`` (None for one no longer registered)."""
    from aigc_studio import families

    try:
        return families.get(model)
    except families.UnknownFamilyError:
        return None
