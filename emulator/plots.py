"""Figures rendered with matplotlib (Agg, no display), returned as PNG/SVG bytes."""

from __future__ import annotations

import io
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
    """Residual SP error vs pulses per cell, with the target and the theory floor."""
    curve = result["curve"]
    metric_key = "rms_error" if result["metric"] == "rms" else "relative_mean_error"
    figure, axis = plt.subplots(figsize=(6, 4))
    pulses = [row["pulses"] for row in curve]
    axis.loglog(pulses, [row[metric_key] for row in curve], "o-", ms=3, label=f"measured {metric_key}")
    if result["metric"] == "rms":
        axis.loglog(pulses, [row["iterate_rms_error"] for row in curve], "--", label="iterate RMS (no read)")
        if result.get("theory_error_floor"):
            axis.axhline(result["theory_error_floor"], color="gray", ls=":", label="theory floor (SPEC §5)")
    axis.axhline(result["target_error"], color="red", ls="-.", label="target")
    axis.axvline(result["pulses_per_cell"], color="green", ls=":", label=f"budget N={result['pulses_per_cell']}")
    axis.set_xlabel("pulses per cell (ZS steps)")
    axis.set_ylabel(metric_key.replace("_", " "))
    axis.set_title(f"{result['device']} {result['rows']}×{result['cols']}, {result['method']} ZS, {result['reads_per_cell']} read(s)")
    axis.grid(True, which="both", alpha=0.3)
    axis.legend(fontsize=8)
    return figure


def budget_sweep_figure(sweep: dict[str, Any]) -> Any:
    """Pulses per cell to reach the target vs dw_min (log-log), measured and theory."""
    results = [row for row in sweep["results"] if row["reached"]]
    figure, axis = plt.subplots(figsize=(6, 4))
    axis.loglog([r["dw_min"] for r in results], [r["pulses_per_cell"] for r in results], "o-", label="measured")
    theory = [(r["dw_min"], r["theory_pulses"]) for r in sweep["results"] if r.get("theory_pulses")]
    if theory:
        axis.loglog(*zip(*theory), "s--", label="theory bound (SPEC §5)")
    exponent = sweep.get("pulses_vs_dw_min_exponent")
    axis.set_title(f"{sweep['study']}: slope {exponent:.2f}" if exponent is not None else sweep["study"])
    axis.set_xlabel("dw_min")
    axis.set_ylabel("pulses per cell to reach target")
    axis.grid(True, which="both", alpha=0.3)
    axis.legend(fontsize=8)
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
