"""Run a validated scenario: build the hardware, run its program, collect and write results."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from emulator import __version__
from emulator.hardware import Controller, Hardware
from emulator.recorder import Recorder
from emulator.registry import get_program
from emulator.results import check_output_dir, dumps_json, metrics_csv, write_files_atomically
from emulator.scenario import Scenario
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
        if trace == "vcd":
            files["trace.vcd"] = to_vcd(self.recorder.trace_events, self.recorder.now_ps)
        elif trace == "perfetto":
            files["trace.json"] = to_perfetto(self.recorder.trace_events)
        return files


def build_hardware(scenario: Scenario) -> Hardware:
    """The emulated chip a scenario describes, seeded from the scenario seed."""
    return Hardware(
        scenario.hardware.tile_specs(),
        costs=scenario.hardware.resolved_costs(),
        seed=scenario.seed,
        trace=scenario.output.trace != "none",
        shared_adc_count=scenario.hardware.shared_adc_count,
        slow_process_step_ns=scenario.hardware.slow_process_step_ns,
    )


def run_scenario(scenario: Scenario, progress: ProgressCallback | None = None) -> RunResult:
    """Run the scenario's program to completion and assemble its summary."""
    started = time.perf_counter()
    entry = get_program(scenario.program.name)
    params = scenario.program.resolved_params()
    hardware = build_hardware(scenario)
    controller = Controller(hardware)
    controller.progress_callback = progress
    probe = entry.probe

    def run_probe(label: str, step: int) -> None:
        recorder = hardware.recorder
        recorder.metric("total_pulses", recorder.total_pulses(), step)
        recorder.metric("energy_pj", recorder.total_energy_pj(), step)
        if probe is not None:
            for name, value in probe(hardware, params, label, step, controller.checkpoint_state).items():
                recorder.metric(name, value, step)

    controller.probes.append(run_probe)
    result = controller.run(entry.program, params=params)
    truth = entry.finalize(hardware, params, result) if entry.finalize is not None else {}
    recorder = hardware.recorder
    _check_finite(result, truth, recorder)
    costs = hardware.costs
    summary = {
        "name": scenario.name,
        "program": scenario.program.name,
        "seed": scenario.seed,
        "package_version": __version__,
        "cost_model": costs.name,
        "cost_model_parameters": costs.model_dump(),
        "scenario": scenario.model_dump(mode="json"),
        "result": public_result(result),
        "ground_truth": truth,
        "faults": hardware.fault_report(),
        "hardware": recorder.summary(),
    }
    return RunResult(scenario, summary, recorder, hardware, time.perf_counter() - started, result)


def public_result(result: Any) -> dict[str, Any]:
    """The program's result for the summary: keys starting with "_" are kept out (bulk data)."""
    if not isinstance(result, dict):
        return {"value": result}
    return {key: value for key, value in result.items() if not str(key).startswith("_")}


def _check_finite(result: Any, truth: dict[str, Any], recorder: Recorder) -> None:
    values = [value for _, _, _, _, value in recorder.metrics]
    for container in (public_result(result), truth):
        if isinstance(container, dict):
            values += [v for v in container.values() if isinstance(v, (int, float, np.floating))]
    if values and not np.all(np.isfinite(np.asarray(values, dtype=np.float64))):
        raise RunDiverged("the run produced NaN or infinite values (diverged); results were not written")


def run_to_directory(scenario: Scenario, out_dir: str | Path, progress: ProgressCallback | None = None) -> RunResult:
    """Run and write summary.json, metrics.csv (and the trace) atomically under out_dir."""
    check_output_dir(out_dir)
    run = run_scenario(scenario, progress)
    write_files_atomically(out_dir, run.files())
    return run
