"""What the command line prints: progress bars, tables, run and budget summaries."""

from __future__ import annotations

import sys
import time
from typing import Any

from tqdm import tqdm

from emulator.units import ns_to_us, pj_to_uj


class ProgressBar:
    """Progress of a long program on stderr: a tqdm bar on a terminal, else one line every
    `interval_s` seconds (logs and CI see that a scan is alive); silent when disabled."""

    def __init__(self, enabled: bool, description: str, terminal: bool | None = None,
                 interval_s: float = 10.0) -> None:
        self.enabled = enabled
        self.description = description
        self.terminal = sys.stderr.isatty() if terminal is None else terminal
        self.interval_s = interval_s
        self.bar: tqdm | None = None
        self._started = time.monotonic()
        self._last_line = self._started

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        if self.terminal:
            if self.bar is None:
                self.bar = tqdm(total=total, desc=self.description, unit="step", leave=False, file=sys.stderr)
            self.bar.n = done
            self.bar.refresh()
            return
        now = time.monotonic()
        if now - self._last_line >= self.interval_s:
            self._last_line = now
            share = f" ({100 * done / total:.0f}%)" if total else ""
            print(f"{self.description}: {done}/{total} steps{share}, {now - self._started:.0f} s", file=sys.stderr,
                  flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def format_table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    """Plain aligned text table."""
    def cell(value: Any) -> str:
        if isinstance(value, float):
            return f"{value:.6g}"
        return str(value)

    text_rows = [[cell(row.get(column, "")) for column in columns] for row in rows]
    widths = [max([len(column)] + [len(r[i]) for r in text_rows]) for i, column in enumerate(columns)]
    lines = ["  ".join(column.ljust(widths[i]) for i, column in enumerate(columns))]
    lines.append("  ".join("-" * width for width in widths))
    lines += ["  ".join(value.ljust(widths[i]) for i, value in enumerate(r)) for r in text_rows]
    return "\n".join(lines)


def budget_sweep_rows(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    keys = ("sweep_value", "dw_min", "mode", "metric", "pulses_per_cell", "reached", "predicted_pulses_per_cell",
            "relative_mean_error", "rms_error", "instance_pulses", "theory_pulses", "latency_ns", "energy_pj")
    return [{key: result.get(key) for key in keys} for result in results]


def _number(value: Any) -> str:
    return "—" if value is None else f"{value:.4g}" if isinstance(value, float) else str(value)


def budget_text(result: dict[str, Any]) -> str:
    """A budget for people: the measurement (or the priced prediction), the prediction, their
    agreement, and the two bounds."""
    predicted = result["predicted"]
    lines = [f"{result['device']} {result['rows']}×{result['cols']}, {result['method']} ZS, {result['reads_per_cell']} "
             f"read(s), cost model {result['cost_model']}, start {result['start']}: target {result['metric']} "
             f"≤ {result['target_error']:g} with probability ≥ {result['confidence']:g}"]
    if result.get("metric_requested") == "auto":
        lines.append(f"metric {result['metric_choice']}")
    if result["mode"] == "emulated":
        lines.append(f"emulated (one pass): {result['outcome']}")
        lines.append(format_table([result], ["pulses_per_cell", "reads_per_cell", "conversions", "latency_ns",
                                             "energy_pj", "rms_error", "relative_mean_error", "max_error"]))
    else:
        lines.append("predicted only: the calibration priced at the predicted budget")
        lines.append(format_table([result], ["pulses_per_cell", "reads_per_cell", "conversions", "latency_ns",
                                             "energy_pj"]))
    verdict = (f"N = {predicted['pulses_per_cell']} pulses" if predicted["reached"]
               else f"out of reach (at the horizon of {predicted['at_pulses']} pulses)")
    clipping = "clipping may matter: emulate to be sure" if predicted["clipping_matters"] else "clipping negligible"
    spread = f" (± {predicted['pulses_spread']:.3g} chip to chip)" if predicted.get("pulses_spread") else ""
    lines.append(f"predicted ({predicted['model']}, read path {predicted['read_regime']}): "
                 f"{verdict}{spread}; after the read RMS {predicted['rms_error']:.4g}, mean {predicted['mean_error']:.4g}, "
                 f"spread {predicted['std_error']:.4g}, relative mean {predicted['relative_mean_error']:.4g} "
                 f"± {predicted['relative_mean_error_sd']:.2g} (P {predicted['probability_met']:.3f}); {clipping}")
    agreement = result.get("agreement")
    if agreement:
        difference = agreement["pulses_relative_difference"]
        lines.append(f"agreement: predicted − emulated budget {_number(None if difference is None else 100 * difference)} %; "
                     f"emulated iterate mean and mean square vs predicted: max |z| {agreement['max_abs_z_mean_error']:.2f} "
                     f"and {agreement['max_abs_z_mean_square']:.2f} over {agreement['checkpoints_compared']} checkpoints")
    lines.append(f"bound, worst case (the paper's constants over every cell): N ≥ {_number(result['theory_pulses'])}, "
                 f"floor RMS {_number(result['theory_error_floor'])}")
    at = result.get("instance_at_budget")
    certified = (f"; at the budget it certifies iterate RMS {at['iterate_rms_error']:.4g}, relative mean "
                 f"{at['iterate_relative_mean_error']:.4g}") if at else ""
    lines.append(f"bound, instance (each cell's own constants, averaged): N ≥ {_number(result.get('instance_pulses'))}, "
                 f"floor RMS {_number(result.get('instance_error_floor'))}{certified} (iterate, before the read)")
    lines.append(f"read-noise floor {result['read_noise_floor']:.3g}; write-noise floor {result['write_noise_floor']:.3g}")
    return "\n".join(lines)


def render_summary(summary: dict[str, Any], wall_time_s: float, out_dir: str) -> str:
    """Human-readable summary of one run."""
    hw = summary["hardware"]
    lines = [f"{summary['name']}: program {summary['program']}, seed {summary['seed']}, "
             f"cost model {summary['cost_model']}"]
    rows = []
    for key, info in hw["pulses"].items():
        rows.append({"array": key, "up": info["up"], "down": info["down"], "total": info["total"],
                     "per_cell_max": info["per_cell_max"]})
    lines.append(format_table(rows, ["array", "up", "down", "total", "per_cell_max"]))
    lines.append(f"simulated latency {ns_to_us(hw['latency_ns']):.3f} µs, energy {pj_to_uj(hw['energy_pj']['total']):.6g} µJ, "
                 f"MVMs {hw['total_mvms']}, ADC conversions {hw['total_conversions']}, events {hw['events']}")
    for section in ("result", "ground_truth"):
        scalars = {k: v for k, v in summary[section].items() if isinstance(v, (int, float, bool, str))}
        if scalars:
            lines.append(f"{section}: " + ", ".join(
                f"{k}={v:.6g}" if isinstance(v, float) else f"{k}={v}" for k, v in scalars.items()))
    lines.append(f"wall time {wall_time_s:.2f} s; results in {out_dir}/")
    return "\n".join(lines)
