"""Figures rendered with matplotlib (Agg, no display), returned as PNG/SVG bytes."""

from __future__ import annotations

import io
import re
from typing import Any

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def figure_bytes(figure: Any, fmt: str = "png", close: bool = True) -> bytes:
    """Serialize a figure (and close it unless asked not to)."""
    buffer = io.BytesIO()
    metadata = {"Software": None} if fmt == "png" else {"Date": None} if fmt == "svg" else None
    figure.savefig(buffer, format=fmt, dpi=120, bbox_inches="tight", metadata=metadata)
    if close:
        plt.close(figure)
    return buffer.getvalue()


def budget_curve_figure(result: dict[str, Any]) -> Any:
    """Residual SP error vs pulses per cell: the emulation's truth (expected after the read) and the
    prediction beside it, the iterate error, the target and the budgets."""
    curve = result["curve"]
    metric_key = "rms_error" if result["metric"] == "rms" else "relative_mean_error"
    figure, axis = plt.subplots(figsize=(6, 4))
    measured = [row for row in curve if metric_key in row]
    if measured:
        axis.loglog([row["pulses"] for row in measured], [row[metric_key] for row in measured], "o", ms=3,
                    label=f"emulated {metric_key} (expected after the read)")
    predicted = [row for row in curve if f"predicted_{metric_key}" in row]
    if predicted:
        axis.loglog([row["pulses"] for row in predicted], [row[f"predicted_{metric_key}"] for row in predicted], "-",
                    label=f"predicted {metric_key}")
    if result["metric"] == "rms":
        iterate = [row for row in curve if "predicted_iterate_rms_error" in row]
        axis.loglog([row["pulses"] for row in iterate], [row["predicted_iterate_rms_error"] for row in iterate], "--",
                    label="predicted iterate RMS (no read)")
        if result.get("instance_error_floor"):
            axis.axhline(result["instance_error_floor"], color="gray", ls=":", label="instance bound floor (iterate)")
    axis.axhline(result["target_error"], color="red", ls="-.", label="target")
    if result.get("pulses_per_cell") and (result.get("mode") != "predicted" or result["predicted"]["reached"]):
        axis.axvline(result["pulses_per_cell"], color="green", ls=":", label=f"budget N={result['pulses_per_cell']}")
    axis.set_xlabel("pulses per cell (ZS steps)")
    axis.set_ylabel(metric_key.replace("_", " "))
    _title(axis, f"{result['device']} {result['rows']}×{result['cols']}, {result['method']} ZS, "
                 f"{result['reads_per_cell']} read(s)")
    axis.grid(True, which="both", alpha=0.3)
    _legend_below(axis)
    return figure


#: Characters per title line: long device specs wrap instead of widening the figure.
_TITLE_WIDTH = 60


def _title(axis: Any, text: str) -> None:
    """A title wrapped after commas or spaces into lines of about `_TITLE_WIDTH` characters."""
    lines = [""]
    for token in re.split(r"(?<=[, ])", text):
        if lines[-1] and len(lines[-1]) + len(token) > _TITLE_WIDTH:
            lines.append("")
        lines[-1] += token
    axis.set_title("\n".join(line.strip() for line in lines), fontsize=9)


def _legend_below(axis: Any) -> None:
    """The legend under the axes, in two columns, so that it covers no curve and no label
    (`figure_bytes` saves with a tight bounding box, which takes it in)."""
    handles, labels = axis.get_legend_handles_labels()
    if handles:
        axis.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncols=2, fontsize=7,
                    frameon=False)


def budget_sweep_figure(sweep: dict[str, Any]) -> Any:
    """Pulses per cell to reach the target vs dw_min (log-log): emulated, predicted and the bounds."""
    rows = sweep["results"]
    figure, axis = plt.subplots(figsize=(6, 4))
    emulated = [(r["dw_min"], r["pulses_per_cell"]) for r in rows if r["mode"] == "emulated" and r["reached"]]
    predicted = [(r["dw_min"], r["predicted_pulses_per_cell"]) for r in rows if r.get("predicted_pulses_per_cell")]
    if predicted:
        slope = sweep.get("predicted_pulses_vs_dw_min_exponent")
        axis.loglog(*zip(*predicted), "-", lw=2, zorder=3,
                    label="predicted" + (f" (slope {slope:.3f})" if slope is not None else ""))
    if emulated:
        slope = sweep.get("pulses_vs_dw_min_exponent")
        axis.loglog(*zip(*emulated), "o", zorder=4, label="emulated" + (f" (slope {slope:.3f})" if slope is not None else ""))
    for key, style, label in (("instance_pulses", "s--", "instance bound"), ("theory_pulses", "x:", "worst-case bound")):
        points = [(r["dw_min"], r[key]) for r in rows if r.get(key)]
        if points:
            axis.loglog(*zip(*points), style, ms=4, label=label)
    _title(axis, sweep["study"])
    axis.set_xlabel("dw_min")
    axis.set_ylabel("pulses per cell to reach the target")
    axis.grid(True, which="both", alpha=0.3)
    _legend_below(axis)
    return figure


def sweep_heatmap_figure(rows: list[dict[str, str]], params: list[str], table: list[dict[str, Any]],
                         metric: str) -> Any:
    """Mean of `metric` over seeds on the grid of a two-parameter sweep (values as in results.csv)."""
    first = list(dict.fromkeys(row[params[0]] for row in rows))
    second = list(dict.fromkeys(row[params[1]] for row in rows))
    grid = np.full((len(first), len(second)), np.nan)
    for entry in table:
        grid[first.index(entry[params[0]]), second.index(entry[params[1]])] = entry["mean"]
    figure, axis = plt.subplots(figsize=(1.4 * len(second) + 3, 0.8 * len(first) + 2))
    image = axis.imshow(grid, cmap="viridis", aspect="auto")
    axis.set_xticks(range(len(second)), second, fontsize=8)
    axis.set_yticks(range(len(first)), first, fontsize=8)
    axis.set_xlabel(params[1])
    axis.set_ylabel(params[0])
    for (i, j), value in np.ndenumerate(grid):
        if np.isfinite(value):
            axis.text(j, i, f"{value:.3g}", ha="center", va="center", color="w", fontsize=8)
    figure.colorbar(image, label=f"{metric} (mean over seeds)")
    axis.set_title(f"{metric} over the grid")
    return figure


def sweep_bars_figure(params: list[str], table: list[dict[str, Any]], metric: str) -> Any:
    """Mean ± std over seeds of `metric` at every grid point."""
    labels = [", ".join(f"{p.split('.')[-1]}={entry[p]}" for p in params) or "all" for entry in table]
    figure, axis = plt.subplots(figsize=(max(5, 0.9 * len(table) + 2), 3.8))
    axis.bar(range(len(table)), [e["mean"] for e in table], yerr=[e["std"] for e in table], capsize=3)
    axis.set_xticks(range(len(table)), labels, rotation=30, ha="right", fontsize=7)
    axis.set_ylabel(metric)
    axis.set_title(f"{metric}: mean ± std over seeds")
    axis.grid(True, axis="y", alpha=0.3)
    figure.tight_layout()
    return figure
