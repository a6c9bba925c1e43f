"""The harness: what run_program logs, and that it only observes the hardware."""

from __future__ import annotations

import numpy as np
import pytest

from devices import ConstantStepConfig, soft_bounds_with_states
from emulator.hardware import (
    Controller,
    Digital,
    Hardware,
    HardwareCosts,
    IOParameters,
    Parallel,
    PulseCounts,
    PulseTrain,
    ReadCells,
    SetPhase,
    SignPattern,
    TileSpec,
    Wait,
)
from emulator.testing import (
    HarnessSession,
    check_all,
    check_resource_order,
    command_program,
    default_tiles,
    run_program,
    run_scenario_program,
)

COSTS = HardwareCosts(name="test", pulse_width_ns=7.0, mvm_integration_ns=33.0, adc_bits=6, adc_bit_time_ns=1.0,
                      columns_per_adc=8, digital_op_ns=3.0, digital_lanes=16)
IDEAL = ConstantStepConfig(dw_min=0.01, dw_min_dtod=0.0, dw_min_std=0.0, up_down_dtod=0.0, w_max=1.0, w_min=-1.0,
                           w_max_dtod=0.0, w_min_dtod=0.0)


def two_tiles() -> dict[str, TileSpec]:
    return {name: TileSpec(2, 3, {"W": IDEAL, "P": IDEAL}, IOParameters(is_perfect=True)) for name in ("t0", "t1")}


def test_log_has_issue_start_end_and_phase_of_every_command():
    commands = [SetPhase("calibration"), SignPattern("t0", "W", 1), Wait(10.0), Digital(40, "ema"),
                ReadCells("t0", "W")]
    result = run_program(command_program(commands), two_tiles(), COSTS)
    log = result.log
    assert [r.kind for r in log] == ["SetPhase", "SignPattern", "Wait", "Digital", "ReadCells"]
    assert [r.phase for r in log] == ["idle", "calibration", "calibration", "calibration", "calibration"]
    slot = 7_000
    assert (log[1].start_ps, log[1].end_ps) == (0, slot)
    assert (log[2].issue_ps, log[2].end_ps) == (slot, slot + 10_000)
    assert log[3].duration_ps == 3 * 3_000  # 40 elements on 16 lanes: 3 rounds of 3 ns
    reads = 3 * 33_000 + 3 * 2 * 7_000  # an MVM per column, then 2 outputs on the tile's single ADC
    assert log[4].duration_ps == reads and log[4].end_ps == result.now_ps
    assert all(r.parent is None and r.issuer == 0 for r in log)
    assert log[1].tile == "t0" and log[1].array == "W"
    np.testing.assert_allclose(result.result[-1], 0.01, rtol=1e-6)
    check_all(result)


def test_parallel_children_link_to_their_parent_and_share_tiles_in_order():
    group = Parallel([SignPattern("t0", "W", 1), SignPattern("t1", "W", -1), SignPattern("t0", "P", 1)])
    result = run_program(command_program([group]), two_tiles(), COSTS)
    parent, first, other_tile, same_tile = result.log
    assert parent.kind == "Parallel" and {first.parent, other_tile.parent, same_tile.parent} == {parent.index}
    assert first.start_ps == other_tile.start_ps == 0  # different tiles run at once
    assert same_tile.start_ps == first.end_ps == 7_000  # the same tile waits its turn
    assert parent.end_ps == same_tile.end_ps
    assert [use.record for use in result.resources["t0"]] == [first.index, same_tile.index]
    check_all(result)


def test_probes_setup_and_initial_state():
    def setup(hardware: Hardware) -> None:
        hardware.tile("t0").array("W").set_conductance(0.25)

    def program(ctl: Controller, pulses: int):
        for step in range(pulses):
            yield SignPattern("t0", "W", 1)
            ctl.checkpoint("pulse", step)
        return pulses

    def probe(hardware: Hardware, label: str, step: int) -> dict[str, float]:
        return {"g": float(hardware.tile("t0").array("W").g.mean())}

    result = run_program(program, two_tiles(), COSTS, setup=setup, probe=probe, pulses=3)
    assert result.result == 3
    np.testing.assert_allclose(result.initial_state["t0/W"]["g"], 0.25)
    assert [(p.label, p.step, p.time_ps) for p in result.probes] == [("pulse", i, 7_000 * (i + 1)) for i in range(3)]
    assert [p.values["g"] for p in result.probes] == pytest.approx([0.26, 0.27, 0.28])
    check_all(result)


def test_single_tile_spec_and_defaults():
    result = run_program(command_program([SignPattern("t0", "W", -1)]), TileSpec(2, 2, {"W": IDEAL}))
    assert list(result.hardware.tiles) == ["t0"]
    default = run_program(command_program([]))
    assert list(default.hardware.tiles) == list(default_tiles()) and default.now_ps == 0
    check_all(default)


def test_batched_trains_are_lower_bounds_per_cell_but_exact_per_phase():
    x = np.array([[1.0, 0.5, -0.5], [1.0, -0.5, 0.5]])
    d = np.array([[1.0, -1.0], [-1.0, 1.0]])
    result = run_program(command_program([PulseTrain("t0", "W", x, d, 0.05), PulseTrain("t1", "W", x[0], d[0], 0.05)]),
                         two_tiles(), COSTS)
    batched = result.commanded["t0/W"]
    assert not batched.exact and batched.phases_exact
    assert result.commanded["t1/W"].exact and result.commanded["t0/P"].exact
    recorded = result.recorder.arrays["t0/W"].totals()
    assert tuple(sum(v[i] for v in batched.by_phase.values()) for i in (0, 1)) == recorded
    assert int(batched.up.sum()) + int(batched.down.sum()) < sum(recorded)  # the per-cell sums cancel
    check_all(result)


def test_rerun_replays_the_same_run():
    commands = [SignPattern("t0", "W", np.array([[True, False, True], [False, True, False]])),
                PulseTrain("t1", "P", np.ones(3), np.ones(2), 0.02), ReadCells("t1", "P", repeats=2)]
    tiles = {name: TileSpec(2, 3, {"W": soft_bounds_with_states(40), "P": soft_bounds_with_states(40)})
             for name in ("t0", "t1")}
    result = run_program(command_program(commands), tiles, seed=5)
    again = result.rerun()
    assert again.summary == result.summary
    np.testing.assert_array_equal(again.result[-1], result.result[-1])


def test_session_runs_concurrent_issuers_in_fifo_order():
    session = HarnessSession(two_tiles(), COSTS, seed=1)
    first = session.issue(PulseCounts("t0", "W", np.full((2, 3), 4)))
    second = session.issue(ReadCells("t0", "W"))
    session.advance(10.0)
    assert first.is_alive and second.is_alive and len(session.pending) == 2
    session.drain()
    result = session.result()
    assert result.finished and not session.pending
    a, b = result.log
    assert a.issuer != b.issuer and b.start_ps == a.end_ps == 4 * 7_000
    check_resource_order(result)
    check_all(result)


def test_errors_propagate_and_are_logged():
    session = HarnessSession(two_tiles(), COSTS)
    with pytest.raises(ValueError, match="counts shape"):
        session.execute(PulseCounts("t0", "W", np.ones((3, 3), np.int64)))
    assert session.log[-1].error is not None and "counts shape" in session.log[-1].error

    def bad_program(ctl: Controller):
        yield SignPattern("nowhere", "W", 1)

    with pytest.raises(KeyError, match="no tile 'nowhere'"):
        run_program(bad_program, two_tiles())


def test_scenario_programs_run_under_the_harness():
    document = {
        "seed": 3,
        "hardware": {"tiles": {"t0": {"rows": 3, "cols": 2, "arrays": {"W": {"preset": "ReRamSB"}}}}},
        "program": {"name": "zero_shift", "params": {"steps": 30, "checkpoints": 3}},
    }
    result = run_scenario_program(document)
    assert result.summary["pulses"]["t0/W"]["total"] == 30 * 6
    assert {"rms_error", "iterate_rms_error"} <= set(result.truth)
    assert [p.step for p in result.probes] == [1, 5, 30] and "iterate_rms_error" in result.probes[0].values
    check_all(result, max_pulses_per_cell=30)
