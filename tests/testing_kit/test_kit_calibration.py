"""Our zero-shifting calibration (and the pulse-response experiment) as properties, with the kit:
invariants on generated scenarios, exact pulse and read accounting, and the SPEC §5
last-iterate bound of `emulator.theory` on generated monotone devices."""

from __future__ import annotations

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from emulator.algorithms.calibration import zero_shift
from emulator.hardware import IOParameters, TileSpec
from emulator.scenario import validate_document
from emulator.testing import (
    check_all,
    check_calibration_bound,
    check_pulse_budget,
    monotone_device_configs,
    run_program,
    run_scenario_program,
    scenario_documents,
    tile_specs,
)
from emulator.theory import response_constants, stochastic_last_iterate


@settings(max_examples=25, deadline=None, derandomize=True)
@given(document=scenario_documents(["zero_shift"], max_steps=30, faults=True))
def test_zero_shift_scenarios_keep_every_invariant(document):
    scenario = validate_document(document)
    params = scenario.program.resolved_params()
    tile, array = params.tile, params.array  # type: ignore[attr-defined]
    result = run_scenario_program(scenario)
    check_all(result, deterministic=False)
    key = f"{tile}/{array}"
    check_pulse_budget(result, params.steps, arrays=[key])  # type: ignore[attr-defined]
    up, down = result.recorder.arrays[key].per_cell()
    np.testing.assert_array_equal(up + down, params.steps)  # type: ignore[attr-defined]
    assert set(result.summary["pulses"][key]["by_phase"]) == {"calibration"}
    rows, cols = result.hardware.tile(tile).shape
    calibration_reads = [r for r in result.records("ReadCells") if r.parent is None]
    assert len(calibration_reads) == 1
    assert calibration_reads[0].command.repeats == params.reads  # type: ignore[attr-defined]
    assert result.recorder.reads[(key, "calibration")][0] == params.reads * cols  # type: ignore[attr-defined]
    slots = [r.duration_ps // result.hardware.costs.slot_ps for r in result.records("SignPattern")]
    assert len(slots) == params.steps  # type: ignore[attr-defined]
    if params.method == "cyclic":  # type: ignore[attr-defined]
        assert set(slots) == {1}
    else:
        assert set(slots) <= {1, 2}
    if params.reference == "analog":  # type: ignore[attr-defined]
        verify = result.records("ProgramAndVerify")
        assert len(verify) == 1 and verify[0].phase == "programming"
        assert all(r.parent == verify[0].index for r in result.records("PulseCounts"))
    assert {"rms_error", "iterate_rms_error"} <= set(result.truth)


@settings(max_examples=6, deadline=None, derandomize=True)
@given(document=scenario_documents(["zero_shift", "pulse_response"], max_steps=20))
def test_registered_programs_are_deterministic_under_their_seed(document):
    check_all(run_scenario_program(document))


@settings(max_examples=12, deadline=None, derandomize=True)
@given(document=scenario_documents(["pulse_response"], max_steps=24))
def test_pulse_response_pulses_every_cell_the_same(document):
    scenario = validate_document(document)
    params = scenario.program.resolved_params()
    result = run_scenario_program(scenario)
    check_all(result, deterministic=False)
    up, down = result.recorder.arrays[f"{params.tile}/{params.array}"].per_cell()  # type: ignore[attr-defined]
    per_direction = params.cycles * params.pulses  # type: ignore[attr-defined]
    np.testing.assert_array_equal(up, per_direction)
    np.testing.assert_array_equal(down, per_direction)


PERFECT = IOParameters(is_perfect=True)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    tile=tile_specs(rows=(3, 5), cols=(3, 5), device=monotone_device_configs(), io=st.just(PERFECT)),
    steps=st.integers(1, 400),
    method=st.sampled_from(["stochastic", "cyclic"]),
    seed=st.integers(0, 2**32 - 1),
)
def test_zero_shift_meets_the_last_iterate_bound_of_spec_5(tile, steps, method, seed):
    """E‖W_N − W⋄‖² ≤ (1 − 2Δw·μ_q)^N‖W_0 − W⋄‖² + floor ([DSPT] Thm 2.2 / C.4), for the
    iterate and, with ideal reads, for the residual SP error of the stored reference."""
    result = run_program(zero_shift, {"t0": tile}, seed=seed, max_pulses_per_cell=steps,
                         tile="t0", array="W", steps=steps, method=method)
    device = result.device("t0", "W")
    assume(bool(device.sp_interior.all()))
    check_calibration_bound(result, "t0", "W", steps, method)
    check_all(result, deterministic=False)
    # Ideal reads: the stored estimate is the visible last iterate, so the residual SP error
    # e = (w⋄ − r) − estimate is the iterate error and meets the same bound.
    residual = device.visible_symmetric_point() - result.result
    iterate = device.symmetric_point() - device.g.astype(np.float64)
    np.testing.assert_allclose(residual, iterate, atol=1e-5)


@settings(max_examples=8, deadline=None, derandomize=True)
@given(device=monotone_device_configs(d2d=False, noise=False), seed=st.integers(0, 2**16))
def test_zero_shift_error_is_within_the_bound_at_every_checkpoint(device, seed):
    """Probed at the checkpoints the program announces, the error after n pulses is within
    the stochastic last-iterate bound for n (the error curve stays under the bound curve)."""
    tiles = {"t0": TileSpec(4, 4, {"W": device}, PERFECT)}
    checkpoints = [1, 10, 100, 300]

    def probe(hardware, label, step):
        array = hardware.tile("t0").array("W")
        return {"mse": float(np.mean((array.g.astype(np.float64) - array.symmetric_point()) ** 2))}

    result = run_program(zero_shift, tiles, seed=seed, probe=probe, tile="t0", array="W", steps=300,
                         checkpoints=checkpoints)
    assume(bool(result.device("t0", "W").sp_interior.all()))
    assert [p.step for p in result.probes] == checkpoints
    device_array = result.device("t0", "W")
    bound = stochastic_last_iterate(response_constants(device_array))
    initial = float(np.mean((result.initial_state["t0/W"]["g"] - device_array.symmetric_point()) ** 2))
    for probe_record in result.probes:
        assert probe_record.values["mse"] <= bound.mean_square_error(probe_record.step, initial)
