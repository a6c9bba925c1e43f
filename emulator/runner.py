"""Run a validated scenario: build the hardware, run its program, collect and write results."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from emulator.hardware import Hardware
from emulator.hardware.recorder import Recorder
from emulator.registry import get_program
from emulator.results import check_output_dir, dumps_json, metrics_csv, write_files_atomically
from emulator.scenario import Scenario
from emulator.session import Session, public_result, pulse_and_energy_probe
from emulator.trace import to_perfetto, to_vcd

ProgressCallback = Callable[[int, int], None]


class RunDiverged(Exception):
    """The run produced non-finite values and was stopped."""


@dataclass
class RunResult:
    """Everything one run produced."""

    scenario: Scenario
    summary: dict[str, Any]
    recorder: Recorder
    hardware: Hardware
    wall_time_s: float
    program_result: Any = None
    """What the program returned, unfiltered (summary.json has its public part)."""

    def files(self) -> dict[str, str]:
        """The result files by name (summary.json, metrics.csv, optional trace)."""
        files = {"summary.json": dumps_json(self.summary), "metrics.csv": metrics_csv(self.recorder.metrics)}
        trace = self.scenario.output.trace
        events = self.hardware.tracer.events if self.hardware.tracer is not None else []
        if trace == "vcd":
            files["trace.vcd"] = to_vcd(events, self.recorder.now_ps)
        elif trace == "perfetto":
            files["trace.json"] = to_perfetto(events)
        return files


def run_scenario(scenario: Scenario, progress: ProgressCallback | None = None) -> RunResult:
    """Run the scenario's program to completion and assemble its summary."""
    started = time.perf_counter()
    entry = get_program(scenario.program.name)
    params = scenario.program.resolved_params()
    session = Session(scenario.hardware.spec(), scenario.seed, trace=scenario.output.trace != "none")
    session.controller.progress_callback = progress
    session.probe(pulse_and_energy_probe)
    if entry.probe is not None:
        probe = entry.probe
        session.probe(lambda hardware, label, step, state: probe(hardware, params, label, step, state))
    result = session.run(entry.program, params=params).result
    hardware = session.hardware
    truth = entry.finalize(hardware, params, result) if entry.finalize is not None else {}
    _check_finite(result, truth, hardware.recorder)
    provenance = {"name": scenario.name, "program": scenario.program.name, "seed": scenario.seed,
                  **({"imports": scenario.imports} if scenario.imports else {}),
                  "scenario": scenario.model_dump(mode="json")}
    summary = session.summary(result, truth, provenance)
    return RunResult(scenario, summary, hardware.recorder, hardware, time.perf_counter() - started, result)


def _check_finite(result: Any, truth: dict[str, Any], recorder: Recorder) -> None:
    values: list[float] = [value for _, _, _, _, value in recorder.metrics]
    for container in (public_result(result), truth):
        if isinstance(container, dict):
            values += [float(v) for v in container.values() if isinstance(v, (int, float, np.floating))]
    if values and not np.all(np.isfinite(np.asarray(values, dtype=np.float64))):
        raise RunDiverged("the run produced NaN or infinite values (diverged); results were not written")


def run_to_directory(scenario: Scenario, out_dir: str | Path, progress: ProgressCallback | None = None) -> RunResult:
    """Run and write summary.json, metrics.csv (and the trace) atomically under out_dir."""
    check_output_dir(out_dir)
    run = run_scenario(scenario, progress)
    write_files_atomically(out_dir, run.files())
    return run
