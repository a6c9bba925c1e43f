"""What the command line prints: progress bars, tables, run and budget summaries."""

from __future__ import annotations

import sys
from typing import Any

from tqdm import tqdm

from emulator.units import ns_to_us, pj_to_uj


class ProgressBar:
    """tqdm bar driven by a program's progress reports (silent when disabled)."""

    def __init__(self, enabled: bool, description: str) -> None:
        self.enabled = enabled
        self.description = description
        self.bar: tqdm | None = None

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            self.bar = tqdm(total=total, desc=self.description, unit="step", leave=False, file=sys.stderr)
        self.bar.n = done
        self.bar.refresh()

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
    keys = ("sweep_value", "dw_min", "pulses_per_cell", "reached", "relative_mean_error", "rms_error",
            "theory_pulses", "latency_ns", "energy_pj")
    return [{key: result.get(key) for key in keys} for result in results]


def budget_text(result: dict[str, Any]) -> str:
    verdict = result["outcome"]
    lines = [f"{result['device']} {result['rows']}×{result['cols']}, {result['method']} ZS, "
             f"{result['reads_per_cell']} read(s), cost model {result['cost_model']}: target {result['metric']} "
             f"≤ {result['target_error']:g} {verdict}",
             format_table([result], ["pulses_per_cell", "reads_per_cell", "conversions", "latency_ns", "energy_pj",
                                     "rms_error", "relative_mean_error", "max_error"])]
    theory, floor = result["theory_pulses"], result["theory_error_floor"]
    if theory is not None:
        lines.append(f"theory (SPEC §5, last iterate): N ≥ {theory:.0f} steps certify the target; "
                     f"per-cell ZS floor (RMS) {floor:.3g}; read-noise floor {result['read_noise_floor']:.3g}; "
                     f"write-noise floor {result['write_noise_floor']:.3g}")
    else:
        lines.append(f"theory: the target is below what the bound certifies (per-cell ZS floor RMS {floor}); "
                     f"read-noise floor {result['read_noise_floor']:.3g}; write-noise floor {result['write_noise_floor']:.3g}")
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
