"""ProgramAndVerify (SPEC §2.2): read, pulse toward the target, repeat; every pulse and read counted."""

from __future__ import annotations

import numpy as np
import pytest
from hardware_test_helpers import PERFECT_IO, build, ideal_constant_step, run_commands

from devices import ConstantStepConfig
from emulator.hardware import IOParameters, ProgramAndVerify, SetPhase


def test_converges_in_one_iteration_on_an_ideal_device_and_counts_everything():
    rows, cols, dw = 5, 7, 0.01
    hardware, controller = build({"t0": (rows, cols)}, device=ideal_constant_step(dw_min=dw), io=PERFECT_IO)
    target = np.random.default_rng(3).uniform(-0.3, 0.3, (rows, cols))
    start = hardware.tile("t0").array("W").visible().astype(np.float64).copy()
    (_, result), _ = run_commands(controller, [SetPhase("program"),
                                               ProgramAndVerify("t0", "W", target, tolerance=0.6 * dw)])
    visible = hardware.tile("t0").array("W").visible()
    assert result["cells_out_of_tolerance"] == 0
    assert result["iterations"] == 1
    assert np.abs(visible - target).max() <= 0.6 * dw
    np.testing.assert_allclose(result["estimate"], visible, atol=1e-6)
    expected_pulses = np.rint((target - start) / dw).astype(np.int64)
    recorder = hardware.recorder
    up, down = recorder.arrays["t0/W"].per_cell()
    np.testing.assert_array_equal(up, np.maximum(expected_pulses, 0))
    np.testing.assert_array_equal(down, np.maximum(-expected_pulses, 0))
    summary = recorder.summary()
    assert summary["pulses_by_phase"] == {"program": int(np.abs(expected_pulses).sum())}
    # one initial read of every cell plus one verify read per iteration
    assert summary["reads"]["t0/W|program"]["mvms"] == 2 * cols
    assert summary["commands"]["ReadCells"] == 2
    assert summary["commands"]["PulseCounts"] == 1
    assert summary["commands"]["ProgramAndVerify"] == 1


def test_already_on_target_reads_once_and_pulses_nothing():
    hardware, controller = build({"t0": (3, 3)}, device=ideal_constant_step(), io=PERFECT_IO)
    target = hardware.tile("t0").array("W").visible().astype(np.float64)
    (result,), _ = run_commands(controller, [ProgramAndVerify("t0", "W", target, tolerance=1e-3)])
    assert result["iterations"] == 0
    assert hardware.recorder.total_pulses() == 0
    assert hardware.recorder.summary()["total_mvms"] == 3


def test_converges_on_a_low_noise_device_with_several_iterations():
    rows, cols, dw = 6, 6, 0.005
    device = ConstantStepConfig(dw_min=dw, dw_min_dtod=0.1, dw_min_std=0.05, up_down_dtod=0.02,
                                w_max=1.0, w_min=-1.0, w_max_dtod=0.0, w_min_dtod=0.0)
    hardware, controller = build({"t0": (rows, cols)}, device=device, io=PERFECT_IO, seed=4)
    target = np.random.default_rng(8).uniform(-0.5, 0.5, (rows, cols))
    tolerance = dw
    (result,), times = run_commands(controller, [ProgramAndVerify("t0", "W", target, tolerance=tolerance,
                                                                  max_iterations=30)])
    visible = hardware.tile("t0").array("W").visible()
    assert result["cells_out_of_tolerance"] == 0
    assert np.abs(visible - target).max() <= tolerance
    assert result["iterations"] >= 2  # d2d spread makes the first shot miss
    summary = hardware.recorder.summary()
    assert summary["commands"]["PulseCounts"] == result["iterations"]
    assert summary["commands"]["ReadCells"] == result["iterations"] + 1
    assert summary["total_mvms"] == (result["iterations"] + 1) * cols
    up, down = hardware.recorder.arrays["t0/W"].per_cell()
    assert int(up.sum() + down.sum()) == summary["total_pulses"] > 0
    assert summary["energy_pj"]["by_category"]["write_pulses"] == pytest.approx(
        summary["total_pulses"] * hardware.costs.pulse_energy_pj)


def test_respects_the_pulse_cap_and_iteration_cap():
    rows, cols, dw = 2, 3, 0.01
    hardware, controller = build({"t0": (rows, cols)}, device=ideal_constant_step(dw_min=dw), io=PERFECT_IO)
    target = np.full((rows, cols), 0.5)  # 50 pulses away
    (result,), _ = run_commands(controller, [ProgramAndVerify("t0", "W", target, tolerance=0.001,
                                                              max_iterations=3, max_pulses_per_iteration=10)])
    assert result["iterations"] == 3
    assert result["cells_out_of_tolerance"] == rows * cols
    up, down = hardware.recorder.arrays["t0/W"].per_cell()
    np.testing.assert_array_equal(up, 30)
    assert not down.any()
    np.testing.assert_allclose(hardware.tile("t0").array("W").visible(), 0.3, atol=1e-5)


def test_reads_through_a_noisy_path_are_averaged_and_counted():
    rows, cols, dw = 4, 4, 0.01
    io = IOParameters(out_noise=0.002, out_res=0.0, inp_res=0.0)
    hardware, controller = build({"t0": (rows, cols)}, device=ideal_constant_step(dw_min=dw), io=io, seed=2)
    target = np.random.default_rng(1).uniform(-0.2, 0.2, (rows, cols))
    (result,), _ = run_commands(controller, [ProgramAndVerify("t0", "W", target, tolerance=0.01, reads=4)])
    assert result["cells_out_of_tolerance"] == 0
    assert np.abs(hardware.tile("t0").array("W").visible() - target).max() < 0.02
    assert hardware.recorder.summary()["total_mvms"] == (result["iterations"] + 1) * 4 * cols
