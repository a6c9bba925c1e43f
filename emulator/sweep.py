"""Parameter sweeps: the Cartesian grid of a scenario's runs, run with joblib (loky processes,
or a Dask distributed cluster through joblib's Dask backend), resumable.

Every run's seed is a child of the sweep's SeedSequence (by seed index), so results do not
depend on the backend, the worker count or the order runs finish in. Each run writes its own
folder atomically; a run whose folder holds summary.json is finished and is never redone.
results.csv is rebuilt from the run folders in grid order after every sweep.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Callable

import numpy as np

from emulator.results import check_output_dir, rows_csv, write_files_atomically
from emulator.scenario import ScenarioError, apply_overrides, parse_assignment, read_document, validate_document

RUNS_FOLDER = "runs"


@dataclass(frozen=True)
class SweepRun:
    """One point of the grid with one seed."""

    index: int
    run_id: str
    assignments: tuple[tuple[str, Any], ...]
    seed_index: int
    seed: int

    def overrides(self) -> list[str]:
        """--set assignments of this run; a key "a.b+c.d" sets both fields (tied parameters)."""
        return [f"{part}={json.dumps(value)}" for key, value in self.assignments for part in key.split("+")] \
            + [f"seed={self.seed}"]


def parse_param(text: str) -> tuple[str, list[Any]]:
    """'a.b=v1,v2,...' → ('a.b', [v1, v2, ...]); each value read as a TOML literal when it is one.

    'a.b+c.d=v1,v2' ties fields: both take the same value at every grid point.
    """
    if "=" not in text:
        raise ScenarioError([(text, "--param needs the form dotted.key=v1,v2,...")])
    key, raw = text.split("=", 1)
    values = [parse_assignment(f"{key}={part}")[1] for part in _split_values(raw)]
    if not values:
        raise ScenarioError([(key, "--param needs at least one value")])
    return key.strip(), values


def _split_values(raw: str) -> list[str]:
    """Split on commas outside brackets and quotes (so list and string values survive)."""
    parts: list[str] = []
    current: list[str] = []
    depth, quote = 0, ""
    for char in raw:
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    if "".join(current).strip():
        parts.append("".join(current).strip())
    return [part for part in parts if part]


def sweep_seeds(base_seed: int, count: int) -> list[int]:
    """Seeds of the runs: children of SeedSequence(base_seed), one per seed index."""
    return [int(child.generate_state(1)[0]) for child in np.random.SeedSequence(base_seed).spawn(count)]


def plan_sweep(document: dict[str, Any], params: list[tuple[str, list[Any]]], seeds: int) -> list[SweepRun]:
    """The grid in a fixed order: parameters (first varies slowest), then seed index."""
    base_seed = int(document.get("seed", 0))
    seed_values = sweep_seeds(base_seed, seeds)
    keys = [key for key, _ in params]
    runs: list[SweepRun] = []
    grid = itertools.product(*(values for _, values in params))
    for point in grid:
        for seed_index, seed in enumerate(seed_values):
            assignments = tuple(zip(keys, point))
            label = json.dumps([list(assignments), seed_index], sort_keys=True, default=str)
            digest = hashlib.sha1(label.encode()).hexdigest()[:8]
            runs.append(SweepRun(len(runs), f"{len(runs):04d}-{digest}", assignments, seed_index, seed))
    return runs


def validate_runs(document: dict[str, Any], runs: list[SweepRun]) -> None:
    """Validate every grid point before any work starts; errors name the assignment."""
    for run in runs:
        try:
            validate_document(apply_overrides(document, run.overrides()))
        except ScenarioError as error:
            where = ", ".join(f"{key}={value}" for key, value in run.assignments)
            raise ScenarioError([(f"[{where}] {path}", reason) for path, reason in error.problems]) from None


def run_is_finished(out_dir: Path, run: SweepRun) -> bool:
    return (out_dir / RUNS_FOLDER / run.run_id / "summary.json").is_file()


def execute_run(document: dict[str, Any], run: SweepRun, out_dir: str) -> str:  # picklable for the workers
    """Worker task: run one grid point into its own folder (atomic). Returns the run id."""
    from emulator.runner import run_to_directory

    scenario = validate_document(apply_overrides(document, run.overrides()))
    run_to_directory(scenario, Path(out_dir) / RUNS_FOLDER / run.run_id)
    return run.run_id


def _flatten(prefix: str, data: dict[str, Any]) -> dict[str, Any]:
    flat = {}
    for key, value in data.items():
        if isinstance(value, (int, float, bool, str)) or value is None:
            flat[f"{prefix}{key}"] = value
    return flat


def headline(summary: dict[str, Any]) -> dict[str, Any]:
    """The numbers of a run summary that go into results.csv."""
    hw = summary["hardware"]
    row = {
        "latency_ns": hw["latency_ns"],
        "energy_pj": hw["energy_pj"]["total"],
        "total_pulses": hw["total_pulses"],
        "total_mvms": hw["total_mvms"],
        "total_conversions": hw["total_conversions"],
    }
    for phase, count in sorted(hw.get("pulses_by_phase", {}).items()):
        row[f"pulses.{phase}"] = count
    row.update(_flatten("result.", summary.get("result", {})))
    row.update(_flatten("truth.", summary.get("ground_truth", {})))
    return row


def collect_results(out_dir: Path, runs: list[SweepRun]) -> list[dict[str, Any]]:
    """One row per finished run, in grid order."""
    rows = []
    for run in runs:
        path = out_dir / RUNS_FOLDER / run.run_id / "summary.json"
        if not path.is_file():
            continue
        summary = json.loads(path.read_text())
        row: dict[str, Any] = {"run_id": run.run_id}
        row.update({key: value for key, value in run.assignments})
        row.update({"seed_index": run.seed_index, "seed": run.seed})
        row.update(headline(summary))
        rows.append(row)
    return rows


def run_sweep(
    scenario_path: str,
    params: list[str],
    seeds: int,
    out_dir: str,
    jobs: int = 1,
    backend: str = "loky",
    scheduler: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Run (or resume) a sweep; returns counts and the path of results.csv.

    Stopped by SIGTERM, SIGINT or SIGHUP, or by losing its Dask scheduler, it stops its workers,
    writes results.csv for the runs that finished and raises `SweepStopped` saying what was kept.
    """
    from emulator.sweep_execution import SweepStopped, run_pending

    out = check_output_dir(out_dir)
    document = read_document(scenario_path)
    grid = [parse_param(text) for text in params]
    runs = plan_sweep(document, grid, seeds)
    validate_runs(document, runs)
    pending = [run for run in runs if not run_is_finished(out, run)] if out.is_dir() else list(runs)
    if progress is not None:
        progress(len(runs) - len(pending), len(runs))
    try:
        run_pending(partial(execute_run, document, out_dir=str(out)), pending, out, len(runs), jobs, backend,
                    scheduler, progress)
    except SweepStopped as stopped:
        kept = sum(run_is_finished(out, run) for run in runs) if out.is_dir() else 0
        if out.is_dir():
            _write_index(out, scenario_path, grid, seeds, runs)
        where = f"kept in {out} (results.csv lists them; the same command resumes)" if kept else "nothing was kept"
        raise SweepStopped(f"sweep {stopped}: {kept} of {len(runs)} runs finished, {where}; workers stopped") from None
    _write_index(out, scenario_path, grid, seeds, runs)
    finished = sum(run_is_finished(out, run) for run in runs)
    return {"runs": len(runs), "finished": finished, "skipped": len(runs) - len(pending),
            "results": str(out / "results.csv")}


def _write_index(out: Path, scenario_path: str, grid: list[tuple[str, list[Any]]], seeds: int,
                 runs: list[SweepRun]) -> None:
    """results.csv (the finished runs, in grid order) and sweep.json (the plan)."""
    rows = collect_results(out, runs)
    manifest = {"scenario": str(scenario_path), "params": grid, "seeds": seeds,
                "runs": [{"run_id": r.run_id, "assignments": dict(r.assignments), "seed_index": r.seed_index,
                          "seed": r.seed} for r in runs]}
    write_files_atomically(out, {"results.csv": rows_csv(rows), "sweep.json": json.dumps(manifest, indent=2,
                                                                                          default=str) + "\n"},
                           replace=False)
