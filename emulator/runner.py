"""Run a validated scenario: build the hardware, run its program, collect and write results."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from emulator.hardware import Hardware
from emulator.hardware.finite_watch import FiniteWatch, NonFiniteFound, NonFiniteInput
from emulator.hardware.recorder import Recorder
from emulator.registry import get_program
from emulator.results import check_output_dir, dumps_json, metrics_csv, write_files_atomically
from emulator.scenario import Scenario
from emulator.session import Session, public_result, pulse_and_energy_probe
from emulator.trace import to_perfetto, to_vcd
from emulator.units import ps_to_ns

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
    """Run the scenario's program to completion and assemble its summary; a run that produces
    NaN or infinite values raises RunDiverged naming where it first happened."""
    try:
        return _run(scenario, progress)
    except (RunDiverged, NonFiniteInput) as error:
        raise RunDiverged(f"the run produced NaN or infinite values (diverged); results were not written. "
                          f"{_locate_divergence(scenario, error)}") from None


def _run(scenario: Scenario, progress: ProgressCallback | None = None, *, watch: bool = False) -> RunResult:
    started = time.perf_counter()
    entry = get_program(scenario.program.name)
    params = scenario.program.resolved_params()
    session = Session(scenario.hardware.spec(), scenario.seed, trace=scenario.output.trace != "none")
    if watch:
        session.hardware.stream.subscribe(FiniteWatch(session.hardware.tiles))
    session.controller.progress_callback = progress
    session.probe(pulse_and_energy_probe)
    if entry.probe is not None:
        probe = entry.probe
        session.probe(lambda hardware, label, step, state: probe(hardware, params, label, step, state))
    result = session.run(entry.program, params=params).result
    hardware = session.hardware
    truth = entry.finalize(hardware, params, result) if entry.finalize is not None else {}
    _check_finite(result, truth, hardware)
    provenance = {"name": scenario.name, "program": scenario.program.name, "seed": scenario.seed,
                  **({"imports": scenario.imports} if scenario.imports else {}),
                  "scenario": scenario.model_dump(mode="json")}
    summary = session.summary(result, truth, provenance)
    return RunResult(scenario, summary, hardware.recorder, hardware, time.perf_counter() - started, result)


def _check_finite(result: Any, truth: dict[str, Any], hardware: Hardware) -> None:
    for time_ps, phase, step, name, value in hardware.recorder.metrics:
        if not math.isfinite(value):
            raise RunDiverged(f"The first non-finite value was metric {name!r} at step {step}, phase {phase!r}, "
                              f"{ps_to_ns(time_ps):.6g} ns.")
    for section, container in (("result", public_result(result)), ("ground_truth", truth)):
        for key, value in (container.items() if isinstance(container, dict) else ()):
            if isinstance(value, (int, float, np.floating)) and not math.isfinite(float(value)):
                raise RunDiverged(f"The first non-finite value was {section}.{key} at the end of the run.")
    for tile in hardware.tiles.values():
        for name, array in tile.arrays.items():
            if not (np.isfinite(array.g).all() and np.isfinite(array.reference).all()):
                raise RunDiverged(f"Array {tile.key(name)} held non-finite values at the end of the run.")


def _locate_divergence(scenario: Scenario, error: Exception) -> str:
    """Replay the run (it is reproducible from its seed) with a watch on every array to name the
    first array, cell and operation that went non-finite; else say what did."""
    try:
        _run(scenario, watch=True)
    except NonFiniteFound as found:
        return f"First non-finite value (found by replaying the run): {found}."
    except (RunDiverged, NonFiniteInput):
        pass
    if isinstance(error, NonFiniteInput):
        return f"The arrays stayed finite; {error}."
    return f"The arrays stayed finite. {error}"


def run_to_directory(scenario: Scenario, out_dir: str | Path, progress: ProgressCallback | None = None) -> RunResult:
    """Run and write summary.json, metrics.csv (and the trace) atomically under out_dir."""
    check_output_dir(out_dir)
    run = run_scenario(scenario, progress)
    write_files_atomically(out_dir, run.files())
    return run
