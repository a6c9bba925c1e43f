"""The one-call forms of the harness: run a program, replay a run, run a scenario's program."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

from emulator.hardware import Hardware, HardwareCosts, TileSpec
from emulator.hardware.controller import Program
from emulator.testing._harness import HarnessSession
from emulator.testing._records import HarnessResult, ProbeFunction, SetupHook

if TYPE_CHECKING:
    from emulator.scenario import Scenario


def run_program(
    program: Program,
    tiles: Mapping[str, TileSpec] | TileSpec | None = None,
    costs: HardwareCosts | None = None,
    seed: int = 0,
    *,
    trace: bool = False,
    shared_adc_count: int | None = None,
    setup: SetupHook | None = None,
    probe: ProbeFunction | None = None,
    track_bounds: bool = True,
    max_pulses_per_cell: int | None = None,
    log_commands: bool = True,
    **params: Any,
) -> HarnessResult:
    """Build hardware from `tiles` (default: `default_tiles()`), run `program(ctl, **params)`
    to completion and return everything it did.

    `setup(hardware)` runs before the program (e.g. set initial conductances); `probe` is
    called at every `ctl.checkpoint(...)` with ground-truth access; `max_pulses_per_cell` is
    the budget `check_pulse_budget` (and `check_all`) enforce; `log_commands=False` drops
    each command object from the log once it finished (long runs on big tiles), and
    `track_bounds=False` skips the bounds check after every write. Exceptions of the program
    propagate unchanged.
    """
    session = HarnessSession(tiles, costs, seed, trace=trace, shared_adc_count=shared_adc_count, setup=setup,
                             probe=probe, track_bounds=track_bounds, max_pulses_per_cell=max_pulses_per_cell,
                             log_commands=log_commands)
    session.run(program, **params)
    return session.result()


def run_scenario_program(scenario: "Scenario | Mapping[str, Any]", *, track_bounds: bool = True,
                         max_pulses_per_cell: int | None = None, log_commands: bool = True) -> HarnessResult:
    """Run a scenario's registered program under the harness (a `Scenario` or a document dict).

    Tiles, costs, seed and program parameters come from the scenario; the program's probe
    hook fills `probes` and its finalize hook `truth`.
    """
    from emulator.registry import get_program
    from emulator.scenario import Scenario, validate_document

    if not isinstance(scenario, Scenario):
        scenario = validate_document(dict(scenario))
    entry = get_program(scenario.program.name)
    params = scenario.program.resolved_params()
    probe: ProbeFunction | None = None
    if entry.probe is not None:
        entry_probe = entry.probe

        def probe(hardware: Hardware, label: str, step: int, state: Any) -> Mapping[str, float]:
            return entry_probe(hardware, params, label, step, state)

    spec = scenario.hardware.spec()
    session = HarnessSession(spec.tiles, spec.costs, scenario.seed, trace=scenario.output.trace != "none",
                             shared_adc_count=spec.shared_adc_count, probe=probe, track_bounds=track_bounds,
                             max_pulses_per_cell=max_pulses_per_cell, log_commands=log_commands,
                             slow_process_step_ns=spec.slow_process_step_ns)
    session.run(entry.program, params=params)
    result = session.result()
    if entry.finalize is not None:
        result.truth = dict(entry.finalize(result.hardware, params, result.result))
    return result
