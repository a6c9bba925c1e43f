"""`aimc report DIR`: plots (PNG and SVG) and a Markdown summary from saved results.

Recognizes a single run (summary.json + metrics.csv), a sweep (results.csv + sweep.json with
runs), a budget (budget.json + curve.csv) and a budget sweep (sweep.json with results).
Reads only files on disk, so it works on results from another machine or an old version.

What to show comes from the run's program entry (`emulator.registry.ProgramEntry`): its
`figures` (names in `RUN_FIGURES`) for a run, its `headline` result keys for the metric a
sweep plots and the numbers a run's report leads with. A program the registry does not know
gets the figures every run gets and a sweep plots energy.
"""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
from matplotlib.ticker import FuncFormatter, MaxNLocator

from emulator.plots import (
    budget_curve_figure,
    budget_sweep_figure,
    figure_bytes,
    plt,
    sweep_bars_figure,
    sweep_heatmap_figure,
)
from emulator.registry import ProgramEntry, get_program
from emulator.report_inputs import (
    BUDGET_KEYS,
    BUDGET_SWEEP_KEYS,
    SWEEP_KEYS,
    ReportError,
    Series,
    number,
    read_json_object,
    read_metrics,
    read_summary,
    read_table,
)
from emulator.units import format_number, ns_to_us, pj_to_uj

DEFAULT_SWEEP_METRIC = "energy_pj"


# ---------------------------------------------------------------------------- figures
def _save(files: dict[str, bytes], name: str, figure: Any) -> None:
    """Add a figure as PNG and SVG (then close it)."""
    files[f"{name}.png"] = figure_bytes(figure, "png", close=False)
    files[f"{name}.svg"] = figure_bytes(figure, "svg")


def _series_figure(series: Series, names: list[str], title: str,
                   x_metric: str | None = None, log: bool = False) -> Any:
    figure, axes = plt.subplots(len(names), 1, figsize=(6.5, 2.6 * len(names)), squeeze=False)
    x_lookup: dict[float, float] = {}
    if x_metric is not None:
        x_lookup = {step: value for step, _, value in series.get(x_metric, [])}
    for axis, name in zip(axes[:, 0], names):
        points = series[name]
        if x_metric is not None:
            points = [p for p in points if p[0] in x_lookup]
            xs = [x_lookup[p[0]] for p in points]
        else:
            xs = [p[0] for p in points]
        ys = [p[2] for p in points]
        if log and all(x > 0 for x in xs) and all(y > 0 for y in ys):
            axis.loglog(xs, ys, "o-", ms=2)
        else:
            axis.plot(xs, ys, "-", marker="o" if len(xs) < 60 else None, ms=2)
        axis.set_ylabel(name, fontsize=8)
        axis.grid(True, alpha=0.3)
    axes[-1, 0].set_xlabel(x_metric.replace("_", " ") if x_metric else "step")
    axes[0, 0].set_title(title)
    figure.tight_layout()
    return figure


def _panels_figure(panels: dict[str, dict[str, float]], title: str, unit: str) -> Any:
    """One horizontal bar chart per breakdown, side by side: each panel answers one question and
    labels its own bars (long names never overlap), with the value printed on each bar."""
    shown = {name: values for name, values in panels.items() if values}
    figure, axes = plt.subplots(1, max(1, len(shown)), squeeze=False,
                                figsize=(4.8 * max(1, len(shown)), 1.6 + 0.38 * max([len(v) for v in shown.values()] or [1])))
    for axis, (name, values) in zip(axes[0], shown.items()):
        labels = sorted(values, key=values.get)  # type: ignore[arg-type]
        bars = axis.barh(labels, [values[label] for label in labels], color="tab:blue")
        axis.bar_label(bars, labels=[format_number(values[label]) for label in labels], fontsize=7, padding=2)
        axis.set_title(name, fontsize=9)
        axis.set_xlabel(unit)
        axis.tick_params(axis="y", labelsize=7)
        axis.margins(x=0.25)
        axis.xaxis.set_major_locator(MaxNLocator(4))
        axis.xaxis.set_major_formatter(FuncFormatter(lambda value, _: format_number(value, 2)))
        axis.grid(True, axis="x", alpha=0.3)
    figure.suptitle(title)
    figure.tight_layout()
    return figure


def _theory_overlay(summary: dict[str, Any], series: Series) -> Any | None:
    """Calibration error vs pulses with the SPEC §5 last-iterate bound of the run's own device."""
    if "iterate_rms_error" not in series:
        return None
    from emulator.scenario import Scenario
    from emulator.session import Session
    from emulator.theory import response_constants, zero_shift_bound

    scenario = Scenario.model_validate(summary["scenario"])
    params = scenario.program.resolved_params()
    hardware = Session(scenario.hardware.spec(), scenario.seed).hardware
    array = hardware.tile(params.tile).array(params.array)  # type: ignore[attr-defined]
    constants = response_constants(array)
    bound = zero_shift_bound(constants, params.method)  # type: ignore[attr-defined]
    initial_ms = float(np.mean((array.g.astype(np.float64) - array.symmetric_point()) ** 2))
    steps = [p[0] for p in series["iterate_rms_error"]]
    figure, axis = plt.subplots(figsize=(6.5, 4))
    axis.loglog(steps, [p[2] for p in series["iterate_rms_error"]], "o-", ms=3, label="measured RMS(W_N − W⋄)")
    axis.loglog(steps, [math.sqrt(bound.mean_square_error(int(n), initial_ms)) for n in steps], "--",
                label=f"SPEC §5 {bound.method} last-iterate bound")
    if "iterate_relative_mean_error" in series:
        axis.loglog(steps, [max(p[2], 1e-12) for p in series["iterate_relative_mean_error"]], "s-", ms=2,
                    label="relative error of the mean SP")
    axis.axhline(0.01, color="red", ls=":", lw=1, label="1 %")
    axis.set_xlabel("pulses per cell (ZS steps)")
    axis.set_ylabel("error")
    axis.set_title(f"{summary['name']}: zero-shifting error vs pulses")
    axis.grid(True, which="both", alpha=0.3)
    axis.legend(fontsize=7)
    return figure


# ---------------------------------------------------------------------------- markdown
def markdown_table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    def cell(value: Any) -> str:
        if value is None:
            return ""
        return f"{value:.6g}" if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(cell(row.get(column)) for column in columns) + " |" for row in rows]
    return "\n".join(lines)


# ---------------------------------------------------------------------------- run figures
SKIPPED_SERIES = {"total_pulses", "energy_pj", "direction"}
"""Series no figure plots against steps (total_pulses is an x axis; direction a marker)."""


def _training_names(series: Series) -> list[str]:
    return [n for n in series if n not in SKIPPED_SERIES and any(key in n for key in ("loss", "accuracy"))]


def _pulse_response_figure(summary: dict[str, Any], series: Series) -> tuple[Any | None, list[str]]:
    chosen: list[str] = [n for n in ("read_mean_weight", "true_mean_weight", "read_std_weight") if n in series]
    if not chosen:
        return None, []
    return _series_figure(series, chosen, f"{summary['name']}: pulse response"), chosen


def _calibration_figure(summary: dict[str, Any], series: Series) -> tuple[Any | None, list[str]]:
    figure = _theory_overlay(summary, series)
    return figure, ["iterate_rms_error", "iterate_relative_mean_error"] if figure is not None else []


def _training_vs_step(summary: dict[str, Any], series: Series) -> tuple[Any | None, list[str]]:
    names = _training_names(series)
    if not names:
        return None, []
    return _series_figure(series, names, f"{summary['name']}: training"), names


def _training_vs_pulses(summary: dict[str, Any], series: Series) -> tuple[Any | None, list[str]]:
    names = _training_names(series)
    if not names or "total_pulses" not in series:
        return None, []
    return _series_figure(series, names, f"{summary['name']}: training vs pulses", x_metric="total_pulses"), names


def _sp_estimate_error(summary: dict[str, Any], series: Series) -> tuple[Any | None, list[str]]:
    training = _training_names(series)
    names = [n for n in series if n not in SKIPPED_SERIES and "sp" in n.lower() and "error" in n.lower()
             and n not in training]
    if not names:
        return None, []
    return _series_figure(series, names, f"{summary['name']}: SP-estimate error"), names


RunFigure = Callable[[dict[str, Any], Series], tuple[Any | None, list[str]]]
RUN_FIGURES: dict[str, RunFigure] = {
    "pulse_response": _pulse_response_figure,
    "calibration_error": _calibration_figure,
    "training_vs_step": _training_vs_step,
    "training_vs_pulses": _training_vs_pulses,
    "sp_estimate_error": _sp_estimate_error,
}
"""Figures a program entry can ask for (`ProgramEntry.figures`): each gives the figure (None if
the run has nothing to draw) and the series it shows (the "metrics" figure shows the rest)."""


def program_entry(name: str | None) -> ProgramEntry | None:
    """The registered program of that name, or None (a program this installation does not know)."""
    if name is None:
        return None
    try:
        return get_program(name)
    except KeyError:
        return None


def _program_figures(files: dict[str, bytes], summary: dict[str, Any], series: Series,
                     entry: ProgramEntry | None) -> None:
    """The program's own figures, then one of every other series (at most 8)."""
    shown: set[str] = set()
    for name in entry.figures if entry is not None else ():
        figure, names = RUN_FIGURES[name](summary, series)
        if figure is not None:
            _save(files, name, figure)
            shown.update(names)
    others = [n for n in series if n not in SKIPPED_SERIES and n not in shown][:8]
    if others:
        _save(files, "metrics", _series_figure(series, others, f"{summary['name']}: metrics"))


def _hardware_figures(files: dict[str, bytes], hw: dict[str, Any]) -> None:
    """Pulses by array and phase, energy and latency breakdowns (every run)."""
    by_phase: dict[str, dict[str, float]] = defaultdict(dict)
    for key, info in hw["pulses"].items():
        for phase, counts in info["by_phase"].items():
            by_phase[f"phase {phase}"][key] = float(counts["up"] + counts["down"])
    if by_phase:
        _save(files, "pulses_by_array_phase", _panels_figure(dict(by_phase), "pulses on each array, by phase", "pulses"))
    energy = {"by hardware category": hw["energy_pj"]["by_category"], "by program phase": hw["energy_pj"]["by_phase"]}
    _save(files, "energy", _panels_figure({k: {kk: pj_to_uj(vv) for kk, vv in v.items()} for k, v in energy.items()},
                                          "energy of the run (the two panels are two views of the same total)", "energy (µJ)"))
    latency = {"simulated time in each phase": {k: ns_to_us(v) for k, v in hw["phase_time_ns"].items()},
               "busy time of each component": {k: ns_to_us(v) for k, v in hw["busy_ns"].items()}}
    _save(files, "latency", _panels_figure(latency, "time of the run", "time (µs)"))


def headline_values(summary: dict[str, Any], entry: ProgramEntry | None) -> list[dict[str, Any]]:
    """The program's headline numbers of a run, from its result or else its ground truth."""
    rows = []
    for key in entry.headline if entry is not None else ():
        for section, prefix in (("result", "result"), ("ground_truth", "truth")):
            value = summary.get(section, {}).get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                rows.append({"quantity": f"{prefix}.{key}", "value": value})
                break
    return rows


# ---------------------------------------------------------------------------- per kind
def report_run(folder: Path) -> tuple[dict[str, bytes], str]:
    summary = read_summary(folder)
    series = read_metrics(folder / "metrics.csv") if (folder / "metrics.csv").is_file() else {}
    entry = program_entry(summary["program"])
    files: dict[str, bytes] = {}
    _program_figures(files, summary, series, entry)
    hw = summary["hardware"]
    _hardware_figures(files, hw)
    rows = [{"quantity": "latency (ns)", "value": hw["latency_ns"]},
            {"quantity": "energy (pJ)", "value": hw["energy_pj"]["total"]},
            {"quantity": "total pulses", "value": hw["total_pulses"]},
            {"quantity": "MVMs", "value": hw["total_mvms"]},
            {"quantity": "ADC conversions", "value": hw["total_conversions"]}]
    rows += [{"quantity": f"pulses in {phase}", "value": count} for phase, count in hw["pulses_by_phase"].items()]
    for section in ("result", "ground_truth"):
        rows += [{"quantity": f"{section}.{key}", "value": value} for key, value in summary.get(section, {}).items()
                 if isinstance(value, (int, float, str, bool))]
    headline = headline_values(summary, entry)
    lead = ("## Headline\n\n" + markdown_table(headline, ["quantity", "value"]) + "\n\n") if headline else ""
    text = (f"# {summary['name']}\n\nProgram `{summary['program']}`, seed {summary['seed']}, cost model "
            f"`{summary['cost_model']}`, package {summary['package_version']}.\n\n" + lead
            + markdown_table(rows, ["quantity", "value"]) + "\n\n" + _figure_list(files))
    return files, text


def _figure_list(files: dict[str, bytes]) -> str:
    return "\n".join(f"![{name[:-4]}]({name})" for name in sorted(files) if name.endswith(".png")) + "\n"


def _aggregate(rows: list[dict[str, str]], params: list[str], metric: str) -> list[dict[str, Any]]:
    groups: dict[tuple[str, ...], list[float]] = defaultdict(list)
    for row in rows:
        value = number(row.get(metric))
        if value is not None:
            groups[tuple(row[p] for p in params)].append(value)
    table = []
    for key, values in groups.items():
        entry: dict[str, Any] = dict(zip(params, key))
        entry.update({"mean": float(np.mean(values)), "std": float(np.std(values)), "seeds": len(values)})
        table.append(entry)
    return table


def sweep_program(folder: Path, rows: list[dict[str, str]]) -> str | None:
    """The program of a sweep's runs (from the first finished run's summary), if it is on disk."""
    from emulator.sweep import RUNS_FOLDER

    for row in rows:
        path = folder / RUNS_FOLDER / row.get("run_id", "") / "summary.json"
        if row.get("run_id") and path.is_file():
            return str(read_json_object(path, ("program",))["program"])
    return None


def headline_metric(rows: list[dict[str, str]], entry: ProgramEntry | None, params: Sequence[str] = ()) -> str:
    """The results.csv column a sweep report plots: the first that varies across the runs among
    the program's headline keys (`result.KEY`, then `truth.KEY`), energy, latency and then every
    other numeric column; a metric that is the same in every run cannot tell the points apart."""
    columns = list(rows[0].keys())
    headline = [column for key in (entry.headline if entry is not None else ())
                for column in (f"result.{key}", f"truth.{key}")]
    others = [column for column in columns if column not in ("run_id", "seed", *params)]
    candidates = [c for c in dict.fromkeys([*headline, DEFAULT_SWEEP_METRIC, "latency_ns", *others]) if c in columns]
    with_numbers = [c for c in candidates if any(number(row.get(c)) is not None for row in rows)]
    for column in with_numbers:
        values = {number(row.get(column)) for row in rows} - {None}
        if len(values) > 1:
            return column
    return with_numbers[0] if with_numbers else DEFAULT_SWEEP_METRIC


def report_sweep(folder: Path, metric: str | None) -> tuple[dict[str, bytes], str]:
    manifest = read_json_object(folder / "sweep.json", SWEEP_KEYS)
    params = [str(entry[0]) if isinstance(entry, (list, tuple)) and entry else str(entry) for entry in manifest["params"]]
    rows = read_table(folder / "results.csv", ("run_id", *params))
    if not rows:
        raise ReportError(f"{folder / 'results.csv'} has no runs yet")
    columns = list(rows[0].keys())
    program = sweep_program(folder, rows)
    if metric is None:
        metric = headline_metric(rows, program_entry(program), params)
    if metric not in columns:
        raise ReportError(f"metric {metric!r} is not a column of results.csv (columns: {', '.join(columns)})")
    table = _aggregate(rows, params, metric)
    files: dict[str, bytes] = {}
    if len(params) == 2:
        _save(files, "sweep_heatmap", sweep_heatmap_figure(rows, params, table, metric))
    _save(files, "sweep_bars", sweep_bars_figure(params, table, metric))
    text = (f"# Sweep report\n\nScenario `{manifest['scenario']}`" + (f", program `{program}`" if program else "")
            + f", {len(rows)} finished runs, "
            f"{manifest['seeds']} seed(s) per point.\n\n## {metric} (mean ± std over seeds)\n\n"
            + markdown_table(table, params + ["mean", "std", "seeds"])
            + "\n\n## All runs (results.csv)\n\n" + markdown_table(rows, columns) + "\n\n" + _figure_list(files))
    return files, text


def report_budget(folder: Path) -> tuple[dict[str, bytes], str]:
    result = read_json_object(folder / "budget.json", BUDGET_KEYS)
    curve_rows = read_table(folder / "curve.csv", ("pulses",))
    # Emulated and predicted columns fill different rows: keep each row's numbers only.
    result["curve"] = [{key: value for key, value in ((key, number(text)) for key, text in row.items())
                        if value is not None} for row in curve_rows]
    files: dict[str, bytes] = {}
    _save(files, "budget_curve", budget_curve_figure(result))
    keys = ["device", "rows", "cols", "method", "metric", "target_error", "mode", "reached", "pulses_per_cell",
            "predicted_pulses_per_cell", "reads_per_cell", "conversions", "latency_ns", "energy_pj", "rms_error",
            "relative_mean_error", "instance_pulses", "instance_error_floor", "theory_pulses", "theory_error_floor"]
    text = ("# Calibration budget\n\n" + markdown_table([{"quantity": k, "value": result.get(k)} for k in keys],
                                                         ["quantity", "value"]) + "\n\n" + _figure_list(files))
    return files, text


def report_budget_sweep(folder: Path) -> tuple[dict[str, bytes], str]:
    sweep = read_json_object(folder / "sweep.json", BUDGET_SWEEP_KEYS)
    files: dict[str, bytes] = {}
    _save(files, "budget_sweep", budget_sweep_figure(sweep))
    columns = ["sweep_value", "dw_min", "mode", "pulses_per_cell", "predicted_pulses_per_cell", "reached",
               "relative_mean_error", "rms_error", "instance_pulses", "theory_pulses", "latency_ns", "energy_pj"]
    text = (f"# Budget study {sweep['study']}\n\nSwept `{sweep['sweep_field']}`; fitted log-log slope of pulses vs dw_min: "
            f"{sweep['pulses_vs_dw_min_exponent']} (emulated), {sweep.get('predicted_pulses_vs_dw_min_exponent')} (predicted)"
            "\n\n" + markdown_table(sweep["results"], columns)
            + "\n\n" + _figure_list(files))
    return files, text


def build_report(folder: str | Path, metric: str | None = None) -> tuple[dict[str, bytes], str]:
    """Figures and Markdown for whatever results the folder holds."""
    path = Path(folder)
    if not path.is_dir():
        raise ReportError(f"{path} is not a directory")
    if (path / "results.csv").is_file() and (path / "sweep.json").is_file():
        return report_sweep(path, metric)
    if (path / "summary.json").is_file():
        return report_run(path)
    if (path / "budget.json").is_file():
        return report_budget(path)
    if (path / "sweep.json").is_file():
        return report_budget_sweep(path)
    raise ReportError(f"{path} holds no results (summary.json, results.csv, budget.json or sweep.json)")
