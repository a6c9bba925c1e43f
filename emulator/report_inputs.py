"""What a results folder holds, read and checked before a report is made from it: every file a
report needs must parse and have the keys or columns it reads, or the report says which and why."""

from __future__ import annotations

import csv
import json
import math
from collections import defaultdict
from pathlib import Path
from typing import Any

Series = dict[str, list[tuple[float, float, float]]]

METRICS_COLUMNS = ("time_ns", "phase", "step", "metric", "value")
RUN_KEYS = ("name", "program", "seed", "cost_model", "package_version", "result", "hardware")
HARDWARE_KEYS = ("latency_ns", "energy_pj", "total_pulses", "total_mvms", "total_conversions", "pulses_by_phase",
                 "pulses", "phase_time_ns", "busy_ns")
SWEEP_KEYS = ("scenario", "params", "seeds")
BUDGET_KEYS = ("device", "rows", "cols", "method", "metric", "target_error")
BUDGET_SWEEP_KEYS = ("study", "sweep_field", "results", "pulses_vs_dw_min_exponent")


class ReportError(Exception):
    """The folder holds nothing a report can be made from, or a file in it is damaged."""


def read_json_object(path: Path, keys: tuple[str, ...]) -> dict[str, Any]:
    """A JSON object with at least `keys`."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise ReportError(f"cannot read {path}: {error}") from None
    except json.JSONDecodeError as error:
        raise ReportError(f"{path} is not valid JSON (damaged or truncated?): {error}") from None
    if not isinstance(data, dict):
        raise ReportError(f"{path} must hold a JSON object, not {type(data).__name__}")
    missing = [key for key in keys if key not in data]
    if missing:
        raise ReportError(f"{path} lacks {', '.join(missing)}: not a result this version of aimc wrote")
    return data


def read_summary(folder: Path) -> dict[str, Any]:
    """summary.json of a run, with the hardware counters a report reads."""
    summary = read_json_object(folder / "summary.json", RUN_KEYS)
    hardware = summary["hardware"]
    missing = [key for key in HARDWARE_KEYS if not isinstance(hardware, dict) or key not in hardware]
    if missing:
        raise ReportError(f"{folder / 'summary.json'}: its hardware section lacks {', '.join(missing)}")
    return summary


def read_table(path: Path, columns: tuple[str, ...] = ()) -> list[dict[str, str]]:
    """The rows of a CSV file whose header has at least `columns`."""
    try:
        with path.open(newline="", encoding="utf-8") as stream:
            reader = csv.DictReader(stream)
            rows = list(reader)
            header = reader.fieldnames or []
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise ReportError(f"cannot read {path}: {error}") from None
    missing = [column for column in columns if column not in header]
    if missing:
        raise ReportError(f"{path} lacks the column(s) {', '.join(missing)} (it has: {', '.join(header) or 'none'})")
    return rows


def number(text: Any) -> float | None:
    """A finite float, or None for anything else."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def read_metrics(path: Path) -> Series:
    """metric name → [(step, time_ns, value)] from metrics.csv (non-finite values are skipped)."""
    series: dict[str, list[tuple[float, float, float]]] = defaultdict(list)
    for line, row in enumerate(read_table(path, METRICS_COLUMNS), start=2):
        step, time_ns = number(row["step"]), number(row["time_ns"])
        if step is None or time_ns is None:
            raise ReportError(f"{path}, line {line}: time_ns and step must be numbers, got "
                              f"{row['time_ns']!r} and {row['step']!r}")
        value = number(row["value"])
        if value is not None:
            series[row["metric"]].append((step, time_ns, value))
    return dict(series)
