"""The live plots: buffers, smoothing, many points, model switch."""

from __future__ import annotations

import numpy as np
import pytest

from aigc_studio.engine.callbacks import StepMetrics
from aigc_studio.gui.widgets.plots import SeriesBuffer, TrainingPlots


def reference_ema(values: list[float], weight: float) -> list[float]:
    """TensorBoard's debiased EMA, written the obvious way."""
    out, last = [], 0.0
    for count, value in enumerate(values, start=1):
        last = last * weight + (1 - weight) * value
        out.append(last / (1 - weight**count) if weight else last)
    return out


def test_series_buffer_grows_and_smooths_incrementally() -> None:
    rng = np.random.default_rng(0)
    values = rng.normal(size=3000).tolist()
    buf = SeriesBuffer(capacity=4)
    buf.set_weight(0.9)
    for start in range(0, 3000, 7):  # arrive in uneven batches
        chunk = values[start : start + 7]
        buf.extend(range(start, start + len(chunk)), chunk)
    x, y = buf.data()
    assert len(buf) == 3000 and x[-1] == 2999
    np.testing.assert_allclose(y, values)
    np.testing.assert_allclose(buf.data(smoothed=True)[1], reference_ema(values, 0.9))
    buf.set_weight(0.5)  # changing the weight recomputes from the start
    np.testing.assert_allclose(buf.data(smoothed=True)[1], reference_ema(values, 0.5))


def test_plots_take_steps_and_records(qtbot) -> None:
    plots = TrainingPlots()
    qtbot.addWidget(plots)
    plots.add_steps([
        StepMetrics(epoch=1, step=1, values={"loss_d": 1.2, "loss_g": 0.7, "d_real": 0.6,
                                             "d_fake": 0.4}),
        StepMetrics(epoch=1, step=2, values={"loss_d": 1.1, "loss_g": 0.8, "d_real": 0.6,
                                             "d_fake": 0.45}),
    ])
    assert plots.point_count("loss_d") == 2  # data arriving before the plots exist is kept
    plots.build()
    assert plots.is_built
    x, y = plots.raw_curves["loss_g"].getData()
    assert list(x) == [1.0, 2.0] and list(y) == pytest.approx([0.7, 0.8])
    plots.add_records([{"kind": "step", "step": 3, "loss_d": 1.0, "loss_g": 0.9}, {"epoch": 1}])
    assert plots.point_count("loss_d") == 3
    assert plots.point_count("d_real") == 2
    assert plots.last_values()["loss_g"] == pytest.approx(0.9)
    plots.truncate(2)
    assert plots.point_count("loss_d") == 2


def test_smoothing_slider_shows_smoothed_curve(qtbot) -> None:
    plots = TrainingPlots()
    qtbot.addWidget(plots)
    plots.build()
    plots.add_records({"step": i, "loss_d": float(i % 2)} for i in range(1, 101))
    plots.set_smoothing(0.9)
    assert plots.smooth_curves["loss_d"].isVisible()
    smooth_y = plots.smooth_curves["loss_d"].getData()[1]
    assert smooth_y is not None and len(smooth_y) == 100
    assert 0.3 < smooth_y[-1] < 0.7  # the trend of an alternating 0/1 signal
    plots.set_smoothing(0.0)
    assert not plots.smooth_curves["loss_d"].isVisible()


def test_autoencoder_shows_only_reconstruction(qtbot) -> None:
    plots = TrainingPlots()
    qtbot.addWidget(plots)
    plots.show()
    plots.build()
    plots.set_model("autoencoder")
    assert plots.visible_plots() == ["loss"]
    assert plots.shown_series() == ["loss_recon"]
    plots.set_model("dcgan")  # the default (BCE) GAN: no critic plot
    assert plots.visible_plots() == ["loss", "d_out"]
    assert plots.plot("d_out").isVisible()
    assert sorted(plots.shown_series()) == ["d_fake", "d_real", "loss_d", "loss_g"]


def test_hundred_thousand_points_use_clip_and_peak_downsampling(qtbot) -> None:
    plots = TrainingPlots()
    qtbot.addWidget(plots)
    plots.resize(600, 400)
    plots.show()
    plots.build()
    steps = np.arange(1, 100_001)
    for start in range(0, 100_000, 10_000):  # in batches, as the worker sends them
        plots.add_records(
            {"step": int(s), "loss_d": float(np.sin(s / 500)), "loss_g": 1.0}
            for s in steps[start : start + 10_000]
        )
    assert plots.point_count("loss_d") == 100_000
    curve = plots.raw_curves["loss_d"]
    assert curve.opts["clipToView"] and curve.opts["autoDownsample"]
    assert curve.opts["downsampleMethod"] == "peak"
    plots.plot("loss").setXRange(50_000, 50_100, padding=0)
    qtbot.waitUntil(lambda: len(curve.getData()[0]) < 1_000)  # only what is in view is drawn


def test_quality_scores_plot_apart_with_their_baselines(qtbot) -> None:
    """A distance near 1000 and shares in 0-1 get a plot each; the real-vs-real and noise
    baselines are dashed lines on the distance's plot, not series."""
    plots = TrainingPlots()
    qtbot.addWidget(plots)
    plots.build()
    plots.set_model("dcgan")
    plots.add_records([
        {"kind": "epoch", "epoch": 1, "fld": 900.0, "fld_real": 6.1, "fld_noise": 851.5,
         "precision": 0.2, "recall": 0.1, "quality_n": 1000},
        {"kind": "epoch", "epoch": 2, "fld": 500.0, "precision": 0.4, "recall": 0.3,
         "quality_n": 1000},
    ])
    assert plots.plot_of("fld") != plots.plot_of("precision")
    assert plots.plot_of("precision") == plots.plot_of("recall")
    assert "fld_real" not in plots.series_names() and "quality_n" not in plots.series_names()
    assert plots.baselines() == {"fld": {"real": 6.1, "noise": 851.5}}
    plots.clear()
    assert plots.baselines() == {}
