"""The run kernel: build hardware from a spec and a seed, attach observers and probes, run a
program to completion or until a probe asks to stop, and assemble the summary.

`aimc run` (runner.py), `aimc budget` (budget.py) and the testing kit are clients of `Session`;
nothing else in the package builds `Hardware`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

from emulator import __version__
from emulator.hardware import Controller, Hardware, HardwareSpec
from emulator.hardware.controller import Program
from emulator.hardware.operations import OperationObserver
from emulator.hardware.streams import SeedLike

CheckpointProbe = Callable[[Hardware, str, int, Any], Mapping[str, float] | None]
"""Ground truth at a program's `ctl.checkpoint(label, step, state)`: (hardware, label, step, the
state the program passed) → values to record as metrics (or None)."""
StopRule = Callable[[str, int, Mapping[str, float]], bool]
"""After a checkpoint's probes: (label, step, their values) → whether the run should end there."""


class StopRun(Exception):
    """Raised at a checkpoint to end the run there (a stop rule said so)."""

    def __init__(self, label: str, step: int) -> None:
        super().__init__(f"run stopped at checkpoint {label!r}, step {step}")
        self.label, self.step = label, step


@dataclass
class RunOutcome:
    """How a program run ended."""

    result: Any
    """What the program returned (None if it was stopped)."""
    stopped_at: StopRun | None = None
    """The checkpoint a stop rule ended the run at, if any."""


class Session:
    """One emulated chip and its controller, for one run (or, in the testing kit, several)."""

    def __init__(self, spec: HardwareSpec, seed: SeedLike = 0, *, trace: bool = False,
                 observers: tuple[OperationObserver, ...] = (),
                 controller_factory: Callable[[Hardware], Controller] = Controller) -> None:
        self.spec = spec
        self.hardware = Hardware(dict(spec.tiles), costs=spec.costs, seed=seed, trace=trace,
                                 shared_adc_count=spec.shared_adc_count,
                                 slow_process_step_ns=spec.slow_process_step_ns)
        for observer in observers:
            self.hardware.stream.subscribe(observer)
        self.controller = controller_factory(self.hardware)
        self._probes: list[CheckpointProbe] = []
        self._stop: StopRule | None = None
        self.controller.probes.append(self._checkpoint)

    @property
    def recorder(self) -> Any:
        return self.hardware.recorder

    def probe(self, probe: CheckpointProbe) -> None:
        """Run `probe` at every checkpoint the program announces; its values become metrics."""
        self._probes.append(probe)

    def stop_when(self, rule: StopRule) -> None:
        """End the run at the first checkpoint where `rule` holds."""
        self._stop = rule

    def run(self, program: Program, **params: Any) -> RunOutcome:
        """Run `program(ctl, **params)` to completion, or until the stop rule holds."""
        try:
            return RunOutcome(self.controller.run(program, **params))
        except StopRun as stop:
            return RunOutcome(None, stop)

    def _checkpoint(self, label: str, step: int) -> None:
        recorder = self.hardware.recorder
        values: dict[str, float] = {}
        for probe in self._probes:
            found = probe(self.hardware, label, step, self.controller.checkpoint_state)
            if found:
                values.update(found)
        for name, value in values.items():
            recorder.metric(name, value, step)
        if self._stop is not None and self._stop(label, step, values):
            raise StopRun(label, step)

    def summary(self, result: Any, truth: Mapping[str, Any], provenance: Mapping[str, Any]) -> dict[str, Any]:
        """summary.json: provenance (name, program, seed, scenario, …), the package version, the
        cost model, the program's result, ground truth, faults and the hardware's counters."""
        costs = self.hardware.costs
        return {
            **{key: provenance[key] for key in ("name", "program", "seed") if key in provenance},
            "package_version": __version__,
            "cost_model": costs.name,
            "cost_model_parameters": costs.model_dump(),
            **{key: value for key, value in provenance.items() if key not in ("name", "program", "seed")},
            "result": public_result(result),
            "ground_truth": dict(truth),
            "faults": self.hardware.fault_report(),
            "hardware": self.hardware.recorder.summary(),
        }


def public_result(result: Any) -> dict[str, Any]:
    """The program's result for the summary: keys starting with "_" are kept out (bulk data)."""
    if not isinstance(result, dict):
        return {"value": result}
    return {key: value for key, value in result.items() if not str(key).startswith("_")}


def pulse_and_energy_probe(hardware: Hardware, label: str, step: int, state: Any) -> dict[str, float]:
    """Total pulses and energy so far, at every checkpoint (every scenario run records them)."""
    recorder = hardware.recorder
    return {"total_pulses": recorder.total_pulses(), "energy_pj": recorder.total_energy_pj()}
