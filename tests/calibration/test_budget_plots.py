"""The budget figures keep their labels apart: the legend sits under the axes (covering no curve
and no axis label) and long device specs wrap instead of widening the figure."""

from __future__ import annotations

from typing import Any

from emulator.plots import budget_curve_figure, budget_sweep_figure, figure_bytes

LONG = ("SoftBoundsReference:dw_min=1e-3,up_down=0.4,w_max=1,w_min=-1,dw_min_dtod=0,up_down_dtod=0,"
        "w_max_dtod=0,w_min_dtod=0")


def _curve_result(metric: str) -> dict[str, Any]:
    curve = [{"pulses": n, "rms_error": 1 / n, "relative_mean_error": 2 / n, "predicted_rms_error": 1 / n,
              "predicted_relative_mean_error": 2 / n, "predicted_iterate_rms_error": 0.9 / n} for n in (10, 100, 1000)]
    return {"curve": curve, "metric": metric, "target_error": 0.01, "pulses_per_cell": 500, "device": LONG,
            "rows": 512, "cols": 512, "method": "cyclic", "reads_per_cell": 1, "instance_error_floor": 1e-4}


def _sweep() -> dict[str, Any]:
    rows = [{"dw_min": dw, "mode": "emulated" if dw > 1e-4 else "predicted", "reached": True,
             "pulses_per_cell": 5 / dw, "predicted_pulses_per_cell": 5 / dw, "instance_pulses": 5 / dw,
             "theory_pulses": 6 / dw} for dw in (1e-3, 1e-4, 1e-5)]
    return {"study": "zs_pulses_vs_dwmin", "results": rows, "pulses_vs_dw_min_exponent": -1.0,
            "predicted_pulses_vs_dw_min_exponent": -1.0}


def _apart(figure: Any) -> None:
    figure_bytes(figure, close=False)  # lays the figure out
    renderer = figure.canvas.get_renderer()
    axis = figure.axes[0]
    legend = axis.get_legend().get_window_extent(renderer)
    for artist in (axis, axis.xaxis.label, axis.yaxis.label, axis.title):
        box = artist.get_window_extent(renderer)
        assert not legend.overlaps(box), f"legend overlaps {artist}"
    assert axis.title.get_window_extent(renderer).width <= figure.bbox.width, "title wider than the figure"


def test_budget_curve_labels_do_not_overlap() -> None:
    for metric in ("rms", "relative-mean"):
        _apart(budget_curve_figure(_curve_result(metric)))


def test_budget_sweep_labels_do_not_overlap() -> None:
    _apart(budget_sweep_figure(_sweep()))


def test_an_out_of_reach_prediction_draws_no_budget_line() -> None:
    result = {**_curve_result("rms"), "mode": "predicted", "predicted": {"reached": False}, "pulses_per_cell": 20000}
    labels = budget_curve_figure(result).axes[0].get_legend_handles_labels()[1]
    assert not any(label.startswith("budget N=") for label in labels), labels
    reached = {**result, "predicted": {"reached": True}}
    assert "budget N=20000" in budget_curve_figure(reached).axes[0].get_legend_handles_labels()[1]
