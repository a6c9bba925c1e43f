"""The read path DAC → crossbar → ADC (SPEC §3): analog_mvm and Read/ReadCells on a tile."""

from __future__ import annotations

import numpy as np
import pytest
from hardware_test_helpers import PERFECT_IO, build, ideal_constant_step, run_commands

from emulator.hardware import IOParameters, Read, ReadCells, analog_mvm

QUIET = dict(out_noise=0.0, inp_noise=0.0)


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


# ---------------------------------------------------------------------------- DAC
@pytest.mark.parametrize(("inp_res", "inp_bound"), [(1 / 10, 1.0), (1 / 126, 1.0), (1 / 20, 2.0)])
def test_dac_quantizes_with_step_two_bound_res_and_clips_at_bound(inp_res, inp_bound):
    """Identity weights, no noise management, no ADC: the output is the DAC'd input."""
    io = IOParameters(inp_res=inp_res, inp_bound=inp_bound, out_res=0.0, out_bound=100.0,
                      noise_management="none", bound_management="none", **QUIET)
    step = 2 * inp_bound * inp_res
    # values placed away from half steps so rint is unambiguous
    x = np.array([0.3, 1.2, -2.4, 3.7, -0.1, 6.8, 14.1, -25.3, 0.0]) * step
    x = np.append(x, [1.7 * inp_bound, -5.0 * inp_bound])  # beyond the bound
    result = analog_mvm(np.eye(x.size, dtype=np.float32), x, io, rng())
    expected = np.clip(np.rint(x / step) * step, -inp_bound, inp_bound)
    np.testing.assert_allclose(result.values[0], expected, atol=1e-5 * inp_bound)
    assert result.passes == 1 and result.mvm_count == 1 and result.conversions == x.size
    # the quantized levels really are multiples of the step (except at the clipped bound)
    inside = np.abs(expected) < inp_bound
    np.testing.assert_allclose(result.values[0][inside] / step, np.rint(expected[inside] / step), atol=1e-3)


def test_dac_sees_input_normalized_by_its_max_under_noise_management():
    """With abs_max noise management the DAC works on x/max|x|: the result is the quantized
    normalized input scaled back, i.e. never clipped however large x is."""
    io = IOParameters(inp_res=1 / 10, out_res=0.0, out_bound=100.0, bound_management="none", **QUIET)
    x = np.array([50.0, -20.0, 3.0, 0.0])
    result = analog_mvm(np.eye(4, dtype=np.float32), x, io, rng())
    u = x / 50.0
    expected = np.rint(u / 0.2) * 0.2 * 50.0
    np.testing.assert_allclose(result.values[0], expected, rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------------------- ADC
@pytest.mark.parametrize(("out_res", "out_bound"), [(1 / 20, 3.0), (1 / 510, 12.0), (1 / 64, 1.0)])
def test_adc_quantizes_with_step_two_bound_res_and_clips_at_bound(out_res, out_bound):
    io = IOParameters(inp_res=0.0, inp_bound=1000.0, out_res=out_res, out_bound=out_bound,
                      noise_management="none", bound_management="none", **QUIET)
    step = 2 * out_bound * out_res
    y = np.array([0.2, 1.3, -2.6, 4.9, -7.1, 0.0]) * step
    y = np.append(y, [1.5 * out_bound, -3 * out_bound])
    result = analog_mvm(np.eye(y.size, dtype=np.float32), y, io, rng())
    expected = np.clip(np.rint(y / step) * step, -out_bound, out_bound)
    np.testing.assert_allclose(result.values[0], expected, atol=1e-5 * out_bound)


def test_unquantized_path_is_exact_matrix_product_without_noise():
    io = IOParameters(inp_res=0.0, out_res=0.0, out_bound=1000.0, bound_management="none", **QUIET)
    weights = rng(1).uniform(-1, 1, (5, 7)).astype(np.float32)
    x = rng(2).uniform(-1, 1, (3, 7)).astype(np.float32)
    result = analog_mvm(weights, x, io, rng())
    np.testing.assert_allclose(result.values, x @ weights.T, rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------- output noise
@pytest.mark.parametrize("alpha", [0.25, 1.0, 8.0])
def test_output_noise_std_scales_with_max_abs_input(alpha):
    """Noise is added in normalized units before the ADC, so the output std is out_noise·max|x|."""
    io = IOParameters(inp_res=0.0, out_res=0.0, out_noise=0.06, bound_management="none")
    weights = np.zeros((400, 3), dtype=np.float32)
    x = np.tile([alpha, -0.5 * alpha, 0.1 * alpha], (50, 1))
    result = analog_mvm(weights, x, io, rng(3))
    values = result.values.ravel()
    assert values.std() == pytest.approx(0.06 * alpha, rel=0.03)
    assert abs(values.mean()) < 4 * 0.06 * alpha / np.sqrt(values.size)


def test_output_noise_does_not_scale_without_noise_management():
    io = IOParameters(inp_res=0.0, out_res=0.0, out_noise=0.06, inp_bound=100.0, bound_management="none")
    weights = np.zeros((400, 2), dtype=np.float32)
    x = np.tile([8.0, 0.0], (50, 1))
    result = analog_mvm(weights, x, io, rng(4), noise_management=False)
    assert result.values.std() == pytest.approx(0.06, rel=0.03)


def test_zero_input_reads_zero_with_no_mvm():
    io = IOParameters()
    result = analog_mvm(np.ones((3, 4), np.float32), np.zeros((2, 4)), io, rng())
    np.testing.assert_array_equal(result.values, 0.0)
    assert result.mvm_count == 0 and result.conversions == 0


# ---------------------------------------------------------------------------- bound management
def saturating_setup(max_bm_factor: int = 16) -> tuple[np.ndarray, IOParameters]:
    """Weights of 1 on 64 inputs: a full-scale input sums to 64 against out_bound 12.
    The DAC is left unquantized so that only bound management and the ADC act."""
    io = IOParameters(out_noise=0.0, inp_res=0.0, max_bm_factor=max_bm_factor)
    return np.ones((4, 64), dtype=np.float32), io


def test_iterative_bound_management_halves_the_input_until_nothing_saturates():
    weights, io = saturating_setup()
    result = analog_mvm(weights, np.ones(64), io, rng())
    # pass 1: 64 ≥ 12, pass 2: 32, pass 3: 16, pass 4: 8 < 12 → done
    assert result.passes == 4
    assert result.mvm_count == 4
    assert result.conversions == 4 * 4
    adc_step = 2 * 12 / 510
    np.testing.assert_allclose(result.values[0], np.rint(8.0 / adc_step) * adc_step * 8, rtol=1e-6)


def test_bound_management_with_dac_quantization_of_the_reduced_input():
    """The halved input goes through the DAC again: 1/8 is quantized to the nearest 2/126."""
    weights, _ = saturating_setup()
    io = IOParameters(out_noise=0.0)
    result = analog_mvm(weights, np.ones(64), io, rng())
    assert result.passes == 4
    dac_step, adc_step = 2 / 126, 2 * 12 / 510
    u = np.rint(0.125 / dac_step) * dac_step
    np.testing.assert_allclose(result.values[0], np.rint(64 * u / adc_step) * adc_step * 8, rtol=1e-5)


def test_bound_management_pass_limits_follow_the_reference_rule():
    """Reductions 1, 2, 4, … until the last one exceeded min(max_bm_factor, max_bm_res / DAC step)."""
    assert IOParameters().max_bm_passes == 5                      # 0.25 / (2/126) = 15.75: 1 … 16
    assert IOParameters(inp_res=1 / 254).max_bm_passes == 6       # 31.75: 1 … 32
    assert IOParameters(inp_res=0.0, max_bm_factor=1000).max_bm_passes == 11  # 1 … 1024
    assert IOParameters(max_bm_factor=1).max_bm_passes == 2
    assert IOParameters(max_bm_factor=0).max_bm_passes == 1


def test_bound_management_stops_at_max_passes_and_stays_clipped():
    weights, io = saturating_setup(max_bm_factor=1)
    result = analog_mvm(weights, np.ones(64), io, rng())
    assert result.passes == 2
    assert result.mvm_count == 2
    # pass 2 input halved: clipped output 12 scaled back by α·red = 2
    np.testing.assert_allclose(result.values[0], 24.0, rtol=1e-6)


def test_bound_management_redoes_only_saturated_samples():
    weights, io = saturating_setup()
    x = np.zeros((3, 64))
    x[0] = 1.0            # saturates: 4 passes
    x[1, :4] = 1.0        # sums to 4: 1 pass
    x[2, :20] = -1.0      # sums to −20: 2 passes (−10 after halving)
    result = analog_mvm(weights, x, io, rng())
    assert result.passes == 4
    assert result.mvm_count == 4 + 1 + 2
    assert result.conversions == (4 + 1 + 2) * 4
    np.testing.assert_allclose(result.values[:, 0], [64.0, 4.0, -20.0], atol=0.4)


def test_bound_management_off_clips_in_one_pass():
    weights, _ = saturating_setup()
    io = IOParameters(out_noise=0.0, inp_res=0.0, bound_management="none")
    result = analog_mvm(weights, np.ones(64), io, rng())
    assert result.passes == 1 and result.mvm_count == 1
    np.testing.assert_allclose(result.values[0], 12.0, rtol=1e-6)


def test_backward_read_uses_transpose_and_no_bound_management():
    weights = np.ones((64, 4), dtype=np.float32)   # Wᵀ is the saturating 4 × 64 matrix
    io = IOParameters(out_noise=0.0)
    result = analog_mvm(weights, np.ones(64), io, rng(), transposed=True, allow_bound_management=False)
    assert result.values.shape == (1, 4)
    assert result.passes == 1 and result.mvm_count == 1
    np.testing.assert_allclose(result.values[0], 12.0, rtol=1e-6)


def test_backward_read_on_a_tile_is_w_transpose_d_and_not_bound_managed():
    hardware, controller = build({"t0": (64, 4)}, device=ideal_constant_step(bound=2.0),
                                 io=IOParameters(out_noise=0.0))
    array = hardware.tile("t0").array("W")
    array.set_conductance(1.0)
    d = np.ones(64)
    forward_x = np.ones(4)
    backward, forward = run_commands(controller, [
        Read("t0", "W", d, direction="backward"),
        Read("t0", "W", forward_x),
    ])[0]
    assert backward.shape == (4,) and forward.shape == (64,)
    np.testing.assert_allclose(backward, 12.0, rtol=1e-6)          # clipped, one pass
    np.testing.assert_allclose(forward, 4.0, atol=0.05)
    reads = hardware.recorder.summary()["reads"]["t0/W|idle"]
    assert reads["mvms"] == 2
    assert reads["conversions"] == 4 + 64

    # with a perfect read of the backward direction the result is exactly Wᵀ·d
    w = np.arange(12, dtype=np.float32).reshape(3, 4) / 8
    hardware, controller = build({"t0": (3, 4)}, device=ideal_constant_step(bound=4.0), io=PERFECT_IO)
    hardware.tile("t0").array("W").set_conductance(w)
    d = np.array([0.5, -1.0, 0.25], dtype=np.float32)
    (values,), _ = run_commands(controller, [Read("t0", "W", d, direction="backward")])
    np.testing.assert_array_equal(values, w.T @ d)


# ---------------------------------------------------------------------------- one-hot and perfect reads
def test_one_hot_read_has_no_noise_management_but_still_dac_and_adc():
    w = np.array([[0.5, -0.25], [0.125, 0.75]], dtype=np.float32)
    io = IOParameters(out_noise=0.0)
    hardware, controller = build({"t0": (2, 2)}, io=io)
    hardware.tile("t0").array("W").set_conductance(w)
    x = np.array([3.0, 0.0])
    one_hot, managed = run_commands(controller, [Read("t0", "W", x, one_hot=True), Read("t0", "W", x)])[0]
    step = 2 * 12 / 510
    # no noise management: the DAC clips 3 → inp_bound 1, so the column comes back unscaled
    np.testing.assert_allclose(one_hot, np.rint(w[:, 0] / step) * step, atol=1e-6)
    # with noise management: 3 is normalized to 1 and scaled back by 3
    np.testing.assert_allclose(managed, 3 * np.rint(w[:, 0] / step) * step, atol=1e-5)


def test_one_hot_read_output_noise_is_not_scaled():
    io = IOParameters(out_noise=0.06, out_res=0.0)
    hardware, controller = build({"t0": (300, 2)}, io=io, device=ideal_constant_step(bound=1.0))
    hardware.tile("t0").array("W").set_conductance(0.0)
    x = np.tile([0.25, 0.0], (40, 1))
    one_hot, managed = run_commands(controller, [Read("t0", "W", x, one_hot=True),
                                                 Read("t0", "W", x)])[0]
    assert one_hot.std() == pytest.approx(0.06, rel=0.04)
    assert managed.std() == pytest.approx(0.06 * 0.25, rel=0.04)


def test_perfect_read_equals_w_x_exactly():
    w = (np.arange(20, dtype=np.float64).reshape(4, 5) - 9) / 16      # dyadic: sums are exact
    x = np.array([[0.5, -1.0, 2.0, 0.25, -0.125], [3.0, 0.0, -0.5, 1.0, 8.0]])
    result = analog_mvm(w, x, PERFECT_IO, rng())
    np.testing.assert_array_equal(result.values, x @ w.T)
    np.testing.assert_array_equal(result.values[0], w @ x[0])
    assert result.passes == 1 and result.mvm_count == 2 and result.conversions == 8

    hardware, controller = build({"t0": (4, 5)}, device=ideal_constant_step(bound=2.0))
    hardware.tile("t0").array("W").set_conductance(w)
    values, _ = run_commands(controller, [Read("t0", "W", x[0], perfect=True),
                                          ReadCells("t0", "W")])
    np.testing.assert_array_equal(values[0], w @ x[0])
    # default io is not perfect: ReadCells carries noise and quantization, but stays close
    assert np.abs(values[1] - w).max() < 0.5


def test_read_cells_with_perfect_io_returns_the_visible_weights_and_averages_repeats():
    w = (np.arange(12, dtype=np.float64).reshape(3, 4) - 5) / 32
    hardware, controller = build({"t0": (3, 4)}, device=ideal_constant_step(bound=2.0), io=PERFECT_IO)
    hardware.tile("t0").array("W").set_conductance(w)
    values, _ = run_commands(controller, [ReadCells("t0", "W", repeats=3)])
    np.testing.assert_array_equal(values[0], w)
    reads = hardware.recorder.summary()["reads"]["t0/W|idle"]
    assert reads == {"mvms": 3 * 4, "conversions": 3 * 4 * 3, "dac_conversions": 3 * 4 * 4}


def test_read_cells_averaging_reduces_noise():
    io = IOParameters(out_noise=0.06, out_res=0.0)
    spreads = []
    for repeats in (1, 16):
        hardware, controller = build({"t0": (40, 40)}, io=io, device=ideal_constant_step(bound=1.0), seed=5)
        hardware.tile("t0").array("W").set_conductance(0.0)
        values, _ = run_commands(controller, [ReadCells("t0", "W", repeats=repeats)])
        spreads.append(values[0].std())
    assert spreads[0] == pytest.approx(0.06, rel=0.06)
    assert spreads[1] == pytest.approx(0.06 / 4, rel=0.06)


def test_differential_read_subtracts_the_minus_array():
    hardware, controller = build({"t0": (2, 3)}, arrays=("P", "R"), io=PERFECT_IO,
                                 device=ideal_constant_step(bound=2.0))
    tile = hardware.tile("t0")
    tile.array("P").set_conductance(np.array([[0.5, 0.25, 0.0], [1.0, -0.5, 0.125]]))
    tile.array("R").set_conductance(0.125)
    values, _ = run_commands(controller, [Read("t0", "P", np.array([1.0, 1.0, 1.0]), minus="R"),
                                          ReadCells("t0", "P", minus="R")])
    np.testing.assert_array_equal(values[0], [0.75 - 0.375, 0.625 - 0.375])
    np.testing.assert_array_equal(values[1], np.array([[0.5, 0.25, 0.0], [1.0, -0.5, 0.125]]) - 0.125)
