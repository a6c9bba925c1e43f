"""Every invariant check can fail: each is shown a deliberately broken program, hardware or
result and must raise AssertionError naming what broke."""

from __future__ import annotations

from dataclasses import replace

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from devices import ConstantStepConfig, soft_bounds_with_states
from emulator.algorithms.calibration import zero_shift
from emulator.hardware import (
    Controller,
    Hardware,
    HardwareCosts,
    ObservedResource,
    Parallel,
    PulseCounts,
    ReadCells,
    SignPattern,
    TileSpec,
)
from emulator.hardware.operations import CellPulses, Operation
from emulator.hardware.recorder import Recorder
from emulator.testing import (
    ControllerStateMachine,
    HarnessResult,
    check_all,
    check_calibration_bound,
    check_conductance_bounds,
    check_counters_add_up,
    check_deterministic,
    check_energy_matches_costs,
    check_energy_non_negative,
    check_pulse_budget,
    check_resource_order,
    check_time_monotone,
    command_program,
    run_program,
)

TILES = {"t0": TileSpec(3, 3, {"W": soft_bounds_with_states(50), "P": soft_bounds_with_states(50)})}
MIXED = np.array([[2, -1, 0], [0, -3, 1], [1, 1, -1]])


def healthy() -> HarnessResult:
    commands = [SignPattern("t0", "W", 1), PulseCounts("t0", "P", MIXED), ReadCells("t0", "W")]
    result = run_program(command_program(commands), TILES, seed=2, max_pulses_per_cell=10)
    check_all(result)  # the unbroken run passes every check
    return result


# ------------------------------------------------------------------------------- bounds
def test_bounds_fail_on_a_tampered_state():
    result = healthy()
    device = result.device("t0", "W")
    device.g[1, 2] = device.parameters["b_max"][1, 2] + 0.5
    with pytest.raises(AssertionError, match=r"(?s)conductances out of bounds:.*t0/W .*\(1, 2\)"):
        check_conductance_bounds(result)


def test_bounds_fail_on_a_device_that_forgets_to_clip():
    def unclipped(hardware: Hardware) -> None:
        array = hardware.tile("t0").array("W")
        array.pulse_all = lambda direction: array.g.__iadd__(np.float32(0.4 * direction))  # type: ignore[method-assign]

    result = run_program(command_program([SignPattern("t0", "W", 1)] * 4 + [SignPattern("t0", "W", -1)] * 4),
                         TILES, setup=unclipped)
    with pytest.raises(AssertionError, match=r"(?s)after command #2 \(SignPattern\)"):
        check_conductance_bounds(result)


# ------------------------------------------------------------------------------- counters
def leak_down_pulses(recorder: Recorder) -> None:
    """Break a recorder: it books no down pulses of signed-count writes."""
    observe = recorder.observe

    def leaky(operation: Operation) -> None:
        if operation.kind == "write" and operation.pulses is not None and operation.pulses.counts is not None:
            operation = replace(operation, pulses=CellPulses(counts=np.maximum(operation.pulses.counts, 0)),
                                down_pulses=0)
        observe(operation)

    recorder.observe = leaky  # type: ignore[method-assign]


def test_counters_fail_when_the_recorder_drops_pulses():
    def drop_down_pulses(hardware: Hardware) -> None:
        leak_down_pulses(hardware.recorder)

    result = run_program(command_program([PulseCounts("t0", "P", MIXED)]), TILES, setup=drop_down_pulses)
    with pytest.raises(AssertionError, match=r"(?s)counters do not add up:.*"
                                             r"t0/P: cell \(0, 1\) has 0 down pulses counted "
                                             r"but the commands asked for 1"):
        check_counters_add_up(result)


def test_counters_fail_when_phase_totals_disagree():
    result = healthy()
    result.recorder.phase_pulses[("t0/W", "idle")][0] += 1
    with pytest.raises(AssertionError, match="(?s)per-phase counts sum to"):
        check_counters_add_up(result)


def test_counters_fail_when_reads_are_miscounted():
    result = healthy()
    result.recorder.reads[("t0/W", "idle")][0] += 1
    with pytest.raises(AssertionError, match=r"(?s)t0/W: 4 MVMs counted, the logged reads imply 3\.\.3"):
        check_counters_add_up(result)


# ------------------------------------------------------------------------------- time
def test_time_fails_on_a_command_that_ends_before_it_starts():
    result = healthy()
    record = result.log[1]
    record.end_ps = record.start_ps - 1  # type: ignore[operator]
    with pytest.raises(AssertionError, match=r"(?s)time is not monotone:.*command #1 \(PulseCounts\) finished at"):
        check_time_monotone(result)


def test_time_fails_on_metrics_out_of_order_and_phase_time_gaps():
    result = healthy()
    result.recorder.metrics += [(result.now_ps, "idle", 0, "late", 1.0), (0, "idle", 1, "early", 1.0)]
    result.recorder.phase_time_ps["idle"] -= 5
    with pytest.raises(AssertionError, match=r"(?s)(?s)metrics are not recorded in time order.*phase times sum to"):
        check_time_monotone(result)


# ------------------------------------------------------------------------------- energy
def test_energy_fails_when_negative():
    result = healthy()
    result.recorder.energy_pj[("adc", "idle")] = -1.0
    with pytest.raises(AssertionError, match=r"(?s)energy 'adc' in phase 'idle' is -1.0 pJ"):
        check_energy_non_negative(result)


def test_energy_fails_when_the_books_use_another_cost_model():
    def cheaper_books(hardware: Hardware) -> None:
        hardware.recorder.costs = HardwareCosts(name="other", write_pulse_energy_pj=0.5)

    result = run_program(command_program([SignPattern("t0", "W", 1)]), TILES, setup=cheaper_books)
    check_energy_non_negative(result)
    with pytest.raises(AssertionError, match="(?s)write_pulses energy in phase 'idle' is 4.5 pJ"):
        check_energy_matches_costs(result)


# ------------------------------------------------------------------------------- budget
def test_pulse_budget_fails_when_a_program_overspends():
    result = run_program(zero_shift, TILES, max_pulses_per_cell=10, tile="t0", array="W", steps=12)
    with pytest.raises(AssertionError,
                       match=r"(?s)pulse budget exceeded:.*t0/W: 9 cell\(s\) over budget.*12 pulses > 10"):
        check_pulse_budget(result)
    with pytest.raises(AssertionError, match="(?s)pulse budget exceeded"):
        check_all(result, deterministic=False)
    check_pulse_budget(result, 12)
    with pytest.raises(ValueError, match="(?s)no pulse budget"):
        check_pulse_budget(run_program(zero_shift, TILES, tile="t0", array="W", steps=1))


# ------------------------------------------------------------------------------- determinism
def test_determinism_fails_for_a_program_with_its_own_unseeded_randomness():
    def careless(ctl: Controller, steps: int):
        rng = np.random.default_rng()  # not ctl.rng: differs from run to run
        for _ in range(steps):
            yield SignPattern("t0", "W", rng.random((3, 3)) < 0.5)
        return (yield ReadCells("t0", "W"))

    result = run_program(careless, TILES, seed=4, steps=20)
    with pytest.raises(AssertionError, match=r"(?s)not deterministic under seed 4:.*final device state differs"):
        check_deterministic(result)
    check_deterministic(run_program(zero_shift, TILES, seed=4, tile="t0", array="W", steps=20))


# ------------------------------------------------------------------------------- resources
class _LifoQueue(list):
    def append(self, item: Any) -> None:
        self.insert(0, item)


class _LifoResource(ObservedResource):
    PutQueue = _LifoQueue


def _same_tile_group() -> list[Any]:
    return [Parallel([SignPattern("t0", "W", 1), ReadCells("t0", "W"), PulseCounts("t0", "P", MIXED)])]


def test_resource_order_fails_when_a_tile_serves_two_commands_at_once():
    def double_lock(hardware: Hardware) -> None:
        hardware.tile("t0").lock = ObservedResource(hardware.env, capacity=2)

    result = run_program(command_program(_same_tile_group()), TILES, setup=double_lock)
    with pytest.raises(AssertionError, match=r"(?s)a resource was used out of order:.*t0: command #2 got it at 0 ps "
                                             r"while command #1 \(since 0 ps\) still held it"):
        check_resource_order(result)
    with pytest.raises(AssertionError, match="(?s)was busy"):
        check_time_monotone(result)


def test_resource_order_fails_when_a_tile_serves_the_last_request_first():
    def lifo_lock(hardware: Hardware) -> None:
        hardware.tile("t0").lock = _LifoResource(hardware.env, capacity=1)

    result = run_program(command_program(_same_tile_group()), TILES, setup=lifo_lock)
    with pytest.raises(AssertionError, match="(?s)overtaken by a later request"):
        check_resource_order(result)


def test_resource_order_fails_on_requests_out_of_issue_order():
    result = run_program(command_program(_same_tile_group()), TILES)
    check_resource_order(result)
    first, second = result.log[1], result.log[2]
    first.entry_seq, second.entry_seq = second.entry_seq, first.entry_seq
    with pytest.raises(AssertionError, match="(?s)not the order they were issued"):
        check_resource_order(result)


# ------------------------------------------------------------------------------- all, calibration
def test_check_all_reports_every_broken_invariant():
    result = healthy()
    result.recorder.energy_pj[("adc", "idle")] = -1.0
    result.recorder.phase_pulses[("t0/W", "idle")][0] += 1
    with pytest.raises(AssertionError, match=r"(?s)(?s)counters do not add up.*energy is negative"):
        check_all(result, deterministic=False)


def test_calibration_bound_fails_for_a_routine_that_does_not_calibrate():
    def pump_up(ctl: Controller, steps: int):
        for _ in range(steps):
            yield SignPattern("t0", "W", 1)

    fine = {"t0": TileSpec(3, 3, {"W": soft_bounds_with_states(1000)})}
    result = run_program(pump_up, fine, steps=800)
    with pytest.raises(AssertionError, match=r"(?s)calibration bound \(instance\) violated on t0/W \(stochastic, N = 800\)"):
        check_calibration_bound(result, "t0", "W")
    check_calibration_bound(run_program(zero_shift, fine, tile="t0", array="W", steps=800), "t0", "W")
    constant = {"t0": TileSpec(2, 2, {"W": ConstantStepConfig()})}
    with pytest.raises(ValueError, match="(?s)not monotone"):
        check_calibration_bound(run_program(zero_shift, constant, tile="t0", array="W", steps=5), "t0", "W")


class _MachineWithLeakyCounters(ControllerStateMachine):
    """The protocol machine on hardware whose recorder loses down pulses."""

    tiles = {"t0": TileSpec(2, 2, {"W": soft_bounds_with_states(20), "P": soft_bounds_with_states(20)})}
    costs = HardwareCosts()
    command_kinds = ("PulseCounts",)

    def setup_hardware(self, hardware: Hardware) -> None:
        leak_down_pulses(hardware.recorder)


def test_state_machine_finds_broken_hardware():
    with pytest.raises(AssertionError, match="(?s)counters do not add up"):
        run_state_machine_as_test(_MachineWithLeakyCounters, settings=settings(
            max_examples=20, stateful_step_count=5, deadline=None, derandomize=True, phases=[Phase.generate],
            report_multiple_bugs=False, suppress_health_check=[HealthCheck.too_slow]))
