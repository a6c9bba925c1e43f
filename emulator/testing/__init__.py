"""Property-testing kit for controller logic on emulated hardware (needs Hypothesis).

Strategies generate valid hardware (devices of every family, presets with perturbations,
tiles, cost models, read-path and update settings), scenario documents and command
sequences; `run_program` runs a controller program (`program(ctl, **params)`, a generator
of commands) on freshly built hardware and returns a `HarnessResult` with the recorder, the
hardware, the program's result and a per-command log; the `check_*` functions are ready
invariants that raise AssertionError with a clear message; `ControllerStateMachine` drives
the controller/tile protocol with random interleaved commands.

    from emulator.testing import run_program, check_all, tile_specs, monotone_device_configs
"""

from __future__ import annotations

try:
    import hypothesis  # noqa: F401
except ModuleNotFoundError as error:  # pragma: no cover - depends on the environment
    raise ModuleNotFoundError(
        "emulator.testing needs Hypothesis: pip install 'aimc-emulator[test]' (or pip install hypothesis)"
    ) from error

from emulator.testing._commands import (
    COMMAND_KINDS,
    PHASES,
    command_program,
    command_sequences,
    commands,
)
from emulator.testing._harness import HarnessSession, default_tiles, replay
from emulator.testing._checks import (
    SNAPSHOT_CHECKS,
    check_all,
    check_calibration_bound,
    check_deterministic,
    check_energy_matches_costs,
    check_energy_non_negative,
    check_pulse_budget,
    check_resource_order,
)
from emulator.testing._drift_strategies import POLICY_KINDS, drift_configs, drifting, recalibration_policies, temperature_schedules
from emulator.testing._invariants import check_conductance_bounds, check_counters_add_up, check_time_monotone
from emulator.testing._phases import check_phase_ledger
from emulator.testing._records import (
    CommandRecord,
    HarnessResult,
    ProbeRecord,
    ResourceUse,
    RunSpec,
)
from emulator.testing._run import run_program, run_scenario_program
from emulator.testing._state_machine import (
    ControllerProtocolTest,
    ControllerStateMachine,
)
from emulator.testing._scenario_strategies import scenario_documents
from emulator.testing._strategies import (
    FAMILIES,
    MONOTONE_FAMILIES,
    device_configs,
    devices,
    hardware_costs,
    io_parameters,
    monotone_device_configs,
    preset_configs,
    preset_overrides,
    tile_layouts,
    tile_specs,
    update_parameters,
)

__all__ = [
    # strategies
    "COMMAND_KINDS", "FAMILIES", "POLICY_KINDS", "MONOTONE_FAMILIES", "PHASES", "command_sequences", "commands", "device_configs",
    "devices", "drift_configs", "drifting", "hardware_costs", "io_parameters", "monotone_device_configs",
    "preset_configs", "preset_overrides", "recalibration_policies", "scenario_documents", "temperature_schedules",
    "tile_layouts", "tile_specs", "update_parameters",
    # harness
    "CommandRecord", "HarnessResult", "HarnessSession", "ProbeRecord", "ResourceUse", "RunSpec", "command_program",
    "default_tiles", "replay", "run_program", "run_scenario_program",
    # invariants
    "SNAPSHOT_CHECKS", "check_all", "check_calibration_bound", "check_conductance_bounds", "check_counters_add_up",
    "check_phase_ledger",
    "check_deterministic", "check_energy_matches_costs", "check_energy_non_negative", "check_pulse_budget",
    "check_resource_order", "check_time_monotone",
    # state machine
    "ControllerProtocolTest", "ControllerStateMachine",
]
