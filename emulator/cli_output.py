"""What the command line prints: progress bars, tables, run and budget summaries."""

from __future__ import annotations

import math
import os
import sys
import threading
import time
from typing import Any

from tqdm import tqdm

from emulator.units import format_energy_pj, format_number, format_time_ns


class Progress:
    """Progress of one command on stderr, from its first second: a tqdm bar on a terminal;
    otherwise (a log, a pipe, CI) a line at the start and one every `interval_s` seconds.

    Drive it with `progress(done, total)` (a program's progress callback) and `stage(...)` when
    the command moves on to another part of its work; a ticker thread keeps the elapsed time
    moving even while nothing reports.
    """

    def __init__(self, description: str, unit: str = "step", interval_s: float | None = None) -> None:
        self.description = description
        self.unit = unit
        self.tty = sys.stderr.isatty()
        self.interval_s = interval_s if interval_s is not None else _line_interval_s()
        self.started = time.monotonic()
        self.done: int | None = None
        self.total: int | None = None
        self.bar: tqdm | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    def __enter__(self) -> "Progress":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        with self._lock:
            if self.tty:
                self.bar = tqdm(total=None, desc=self.description, unit=self.unit, leave=False, file=sys.stderr)
                self.bar.refresh()
            else:
                print(f"{self.description} …", file=sys.stderr, flush=True)
        self._ticker = threading.Thread(target=self._tick, name="aimc-progress", daemon=True)
        self._ticker.start()

    def __call__(self, done: int, total: int) -> None:
        with self._lock:
            self.done, self.total = done, total
            if self.bar is not None:
                self.bar.total = total
                self.bar.n = done
                self.bar.refresh()

    def stage(self, description: str, unit: str | None = None) -> None:
        """The command moved on: a new description, progress counted afresh."""
        with self._lock:
            self.description, self.done, self.total = description, None, None
            self.unit = unit or self.unit
            if self.bar is not None:
                self.bar.reset(total=None)
                self.bar.set_description(description, refresh=False)
                self.bar.unit = self.unit
                self.bar.refresh()
            else:
                print(f"{description} …", file=sys.stderr, flush=True)

    def close(self) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
        with self._lock:
            if self.bar is not None:
                self.bar.close()
                self.bar = None

    def _tick(self) -> None:
        period = 1.0 if self.tty else self.interval_s
        while not self._stop.wait(period):
            with self._lock:
                if self.bar is not None:
                    self.bar.refresh()
                elif not self.tty:
                    self._line(self._status())

    def _status(self) -> str:
        elapsed = f"{time.monotonic() - self.started:.0f} s"
        if self.done is None or not self.total:
            return f"running, {elapsed}"
        return f"{self.done:,}/{self.total:,} {self.unit}s ({100 * self.done / self.total:.0f} %), {elapsed}"

    def _line(self, status: str) -> None:
        print(f"{self.description}: {status}", file=sys.stderr, flush=True)


def _line_interval_s() -> float:
    """Seconds between progress lines when stderr is not a terminal (AIMC_PROGRESS_SECONDS, default 10)."""
    try:
        value = float(os.environ.get("AIMC_PROGRESS_SECONDS", "10"))
    except ValueError:
        return 10.0
    return value if math.isfinite(value) and value > 0 else 10.0


def format_table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    """Plain aligned text table."""
    def cell(value: Any) -> str:
        return format_number(value) if isinstance(value, (int, float)) or value is None else str(value)

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


def budget_text(result: dict[str, Any]) -> str:
    """A budget for people: the measurement (or the priced prediction), the prediction, their
    agreement, and the two bounds (numbers through emulator.units' format helpers)."""
    predicted = result["predicted"]
    lines = [f"{result['device']} {result['rows']}×{result['cols']}, {result['method']} ZS, {result['reads_per_cell']} "
             f"read(s), cost model {result['cost_model']}, start {result['start']}: target {result['metric']} "
             f"≤ {result['target_error']:g} with probability ≥ {result['confidence']:g}"]
    if result.get("metric_requested") == "auto":
        lines.append(f"metric {result['metric_choice']}")
    priced = {**result, "latency": format_time_ns(result["latency_ns"]), "energy": format_energy_pj(result["energy_pj"])}
    if result["mode"] == "emulated":
        lines.append(f"emulated (one pass): {result['outcome']}")
        lines.append(format_table([priced], ["pulses_per_cell", "reads_per_cell", "conversions", "latency", "energy",
                                             "rms_error", "relative_mean_error", "max_error"]))
    else:
        lines.append("predicted only: the calibration priced at the predicted budget" if predicted["reached"] else
                     f"predicted only: the target is out of reach; the calibration priced at the cap of "
                     f"{format_number(result['pulses_per_cell'])} pulses")
        lines.append(format_table([priced], ["pulses_per_cell", "reads_per_cell", "conversions", "latency", "energy"]))
    verdict = (f"N = {format_number(predicted['pulses_per_cell'])} pulses" if predicted["reached"]
               else f"out of reach (at the horizon of {format_number(predicted['at_pulses'])} pulses)")
    clipping = "clipping may matter: emulate to be sure" if predicted["clipping_matters"] else "clipping negligible"
    spread = f" (± {format_number(predicted['pulses_spread'])} chip to chip)" if predicted.get("pulses_spread") else ""
    lines.append(f"predicted ({predicted['model']}, read path {predicted['read_regime']}): {verdict}{spread}; after the "
                 f"read RMS {format_number(predicted['rms_error'])}, mean {format_number(predicted['mean_error'])}, "
                 f"spread {format_number(predicted['std_error'])}, relative mean "
                 f"{format_number(predicted['relative_mean_error'])} ± {format_number(predicted['relative_mean_error_sd'], 2)} "
                 f"(P {predicted['probability_met']:.3f}); {clipping}")
    agreement = result.get("agreement")
    if agreement:
        difference = agreement["pulses_relative_difference"]
        budgets = ("no budgets to compare (one of them did not reach the target)" if difference is None
                   else f"predicted − emulated budget {format_number(100 * difference)} %")
        lines.append(f"agreement: {budgets}; emulated iterate mean and "
                     f"mean square vs predicted: max |z| {agreement['max_abs_z_mean_error']:.2f} "
                     f"and {agreement['max_abs_z_mean_square']:.2f} over {agreement['checkpoints_compared']} checkpoints")
    theory = result["theory_pulses"]
    lines.append(f"bound, worst case (the paper's constants over every cell): "
                 f"N ≥ {format_number(None if theory is None else round(theory))}"
                 f"{'' if theory is not None else ' (cannot certify the target)'}, "
                 f"floor RMS {format_number(result['theory_error_floor'])}{_vacuous(result)}")
    at = result.get("instance_at_budget")
    certified = (f"; at the budget it certifies iterate RMS {format_number(at['iterate_rms_error'])}, relative mean "
                 f"{format_number(at['iterate_relative_mean_error'])}") if at else ""
    lines.append(f"bound, instance (each cell's own constants, averaged): N ≥ {format_number(result.get('instance_pulses'))}, "
                 f"floor RMS {format_number(result.get('instance_error_floor'))}{certified} (iterate, before the read)")
    lines.append(f"read-noise floor {format_number(result['read_noise_floor'])}; "
                 f"write-noise floor {format_number(result['write_noise_floor'])}")
    return "\n".join(lines)


def _vacuous(result: dict[str, Any]) -> str:
    """Why a worst-case floor above the error the tile starts from tells nothing about this tile."""
    floor, start = result.get("theory_error_floor"), result.get("initial_rms_error")
    if floor is None or start is None or not floor > start:
        return ""
    return (f" — above the starting RMS error {format_number(start)}, so the worst case says nothing about this tile "
            "(see the instance bound)")


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
    lines.append(f"simulated latency {format_time_ns(hw['latency_ns'])}, energy {format_energy_pj(hw['energy_pj']['total'])}, "
                 f"MVMs {format_number(hw['total_mvms'])}, ADC conversions {format_number(hw['total_conversions'])}, "
                 f"events {format_number(hw['events'])}")
    for section in ("result", "ground_truth"):
        scalars = {k: v for k, v in summary[section].items() if isinstance(v, (int, float, bool, str))}
        if scalars:
            lines.append(f"{section}: " + ", ".join(
                f"{k}={format_number(v, 4)}" if isinstance(v, (int, float)) else f"{k}={v}" for k, v in scalars.items()))
    lines.append(f"wall time {wall_time_s:.2f} s; results in {out_dir}/")
    return "\n".join(lines)
