"""The exact moment predictor of zero-shifting (emulator/prediction.py) against the emulation.

Hypothesis generates devices of every affine family (the kit's `device_configs`: d2d spread,
c2c noise of both kinds, write noise, references), tiles, start states, methods and seeds; the
`zero_shift` program runs on the emulated hardware and, at every checkpoint, the measured mean
over cells of e = g − w⋄ and of e² must equal the predicted ones within sampling error: the
empirical standard error of the per-cell residuals (measured − predicted), the replicas' own
sampling error for the cells the predictor emulates, and the predictor's bound on what clipping
can shift (which these tests thereby check too). The read through the ADC is checked the same way.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from calibration_test_helpers import build, soft_bounds
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from devices import DeviceArray, PowStepConfig, SoftBoundsReferenceConfig
from devices.moments import MomentMap, RepeatedMap, affine_pulse_maps
from emulator.algorithms.calibration import residual_error, zero_shift
from emulator.budget import apply_initial_state
from emulator.clipped_cells import REPLICAS
from emulator.hardware import IOParameters
from emulator.prediction import ZeroShiftPredictor, error_summary
from emulator.testing import device_configs

AFFINE = ("ConstantStep", "LinearStep", "SoftBounds", "SoftBoundsReference", "AsymmetricLinear")
#: |measured − predicted| ≤ Z·SE (+ the clipping bound): ~10 comparisons an example, 30 examples.
Z = 4.5


def _checkpoints(steps: int, period: int) -> list[int]:
    marks = {int(n) for n in np.geomspace(1, steps, 7)} | {steps}
    return sorted({n + (n % period) for n in marks if 0 < n + (n % period) <= steps})


def _replica_error(predictor: ZeroShiftPredictor, steps: int, cells: int) -> tuple[float, float]:
    """Standard errors the replicas of the emulated cells add to the predicted means over cells."""
    if predictor.emulated is None:
        return 0.0, 0.0
    mean, variance = predictor.emulated.moments(steps)
    return (math.sqrt(float(np.sum(variance)) / REPLICAS) / cells,
            math.sqrt(float(np.sum(2 * variance ** 2 + 4 * mean ** 2 * variance)) / REPLICAS) / cells)


def _compare(array: DeviceArray, predictor: ZeroShiftPredictor, step: int) -> dict[str, float]:
    error = array.g.astype(np.float64).reshape(-1) - predictor.sp
    mean, variance = predictor.iterate(step)
    square = mean * mean + variance
    cells = error.size
    se_mean = float(np.std(error - mean)) / math.sqrt(cells)
    se_square = float(np.std(error ** 2 - square)) / math.sqrt(cells)
    replica_mean, replica_square = _replica_error(predictor, step, cells)
    clipping = predictor.clipping(step)
    # The emulation's own rounding (float32 state): a few ulps of the largest conductance per cell.
    rounding = 64 * float(np.finfo(array.dtype).eps) * float(np.max(np.abs(predictor.b_max - predictor.b_min)))
    return {"mean_gap": abs(float(np.mean(error)) - float(np.mean(mean))),
            "mean_allowed": Z * math.hypot(se_mean, replica_mean) + clipping.mean_error_shift + rounding,
            "square_gap": abs(float(np.mean(error ** 2)) - float(np.mean(square))),
            "square_allowed": Z * math.hypot(se_square, replica_square) + clipping.mean_square_shift
            + 2 * rounding * (float(np.max(np.abs(error))) + rounding),
            "clipping": clipping.mean_error_shift}


@settings(max_examples=30, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(device=device_configs(AFFINE, min_states=30, max_states=400),
       method=st.sampled_from(["stochastic", "cyclic"]),
       start=st.sampled_from([None, "reset", "-0.3", "0.2", "sp+0.1", "sp-0.05"]),
       size=st.integers(24, 48), seed=st.integers(0, 2 ** 16), length=st.floats(0.2, 3.0))
def test_predicted_iterate_moments_agree_with_the_emulation(device: Any, method: str, start: str | None, size: int,
                                                            seed: int, length: float) -> None:
    hardware, controller = build(device, size, size, seed=seed)
    array = hardware.tile("t0").array("W")
    apply_initial_state(array, start)
    predictor = ZeroShiftPredictor(array, method, IOParameters(is_perfect=True), seed=seed)
    steps = max(4, int(length * (device.w_max - device.w_min) / device.dw_min))
    period = predictor.period
    results: dict[int, dict[str, float]] = {}
    controller.probes.append(lambda label, step: results.__setitem__(step, _compare(array, predictor, step)))
    controller.run(zero_shift, tile="t0", array="W", steps=steps + steps % period, method=method,
                   checkpoints=_checkpoints(steps, period))
    assert results
    event("clipping negligible" if max(r["clipping"] for r in results.values()) < 1e-6 else "clipping bounded")
    for step, result in results.items():
        assert result["mean_gap"] <= result["mean_allowed"], (step, result, predictor.clipping(step))
        assert result["square_gap"] <= result["square_allowed"], (step, result, predictor.clipping(step))


@pytest.mark.parametrize("io", [IOParameters(), IOParameters(out_noise=0.005), IOParameters(out_noise=0.0),
                                IOParameters(out_noise=0.02, inp_noise=0.03)],
                         ids=["dithered", "fine-noise", "noise-free-adc", "input-noise"])
@pytest.mark.parametrize("method", ["stochastic", "cyclic"])
def test_predicted_residual_after_the_read_agrees_with_the_emulation(io: IOParameters, method: str) -> None:
    """The k-read through DAC, output noise and ADC: predicted residual mean and mean square vs the
    stored estimate's, over independent seeds (each a fresh tile and read)."""
    device = SoftBoundsReferenceConfig(dw_min=0.01, up_down=0.3, w_max=1, w_min=-1, dw_min_std=1.0,
                                       reference_mean=0.05, write_noise_std=2.0, w_max_dtod=0.05, w_min_dtod=0.05)
    gaps = []
    for seed in range(4):
        hardware, controller = build(device, 48, 48, io=io, seed=seed)
        array = hardware.tile("t0").array("W")
        predictor = ZeroShiftPredictor(array, method, io, reads=3, seed=seed)
        estimate = controller.run(zero_shift, tile="t0", array="W", steps=300, method=method, reads=3)
        measured = residual_error(hardware, "t0", "W", estimate)
        error = (predictor.sp - predictor.reference) - estimate.reshape(-1)
        mean, variance = predictor.residual(300)
        cells = error.size
        se_mean = math.sqrt(float(np.mean(variance)) / cells)
        se_square = math.sqrt(float(np.mean(2 * variance ** 2 + 4 * mean ** 2 * variance)) / cells)
        predicted = error_summary(mean, variance, predictor.sp_mean)
        gaps.append(((measured["mean_error"] - predicted["mean_error"]) / se_mean,
                     (measured["rms_error"] ** 2 - predicted["rms_error"] ** 2) / se_square))
        assert float(np.mean(error)) == pytest.approx(measured["mean_error"], abs=1e-12)
    assert np.max(np.abs(gaps)) <= Z, gaps


def test_noise_free_cyclic_zs_is_predicted_to_float32_rounding() -> None:
    """No c2c noise and cyclic pulses: every cell is deterministic, the prediction its exact path."""
    device = soft_bounds(200, 0.2, 0.0, spread=dict(dw_min_dtod=0.2, up_down_dtod=0.02, w_max_dtod=0.1,
                                                     w_min_dtod=0.1))
    hardware, controller = build(device, 16, 16, seed=3)
    array = hardware.tile("t0").array("W")
    predictor = ZeroShiftPredictor(array, "cyclic", IOParameters(is_perfect=True))
    controller.run(zero_shift, tile="t0", array="W", steps=801, method="cyclic")
    mean, variance = predictor.iterate(801)
    assert np.max(variance) < 1e-15  # rounding of M − m² only
    np.testing.assert_allclose(array.g.astype(np.float64).reshape(-1) - predictor.sp, mean, atol=2e-6)


@pytest.mark.parametrize("method", ["stochastic", "cyclic"])
def test_closed_form_equals_repeated_squaring_at_the_papers_scale(method: str) -> None:
    """Δw_min = 1.6·10⁻⁶ and N up to 10⁷: the closed form agrees with the exact matrix power."""
    device = SoftBoundsReferenceConfig(dw_min=1.6e-6, up_down=0.4, w_max=1, w_min=-1)
    array = DeviceArray(device, (8, 8), seed=1)
    up, down = affine_pulse_maps(array, array.symmetric_point())
    base = MomentMap.average(up, down) if method == "stochastic" else up.then(down)
    repeated = RepeatedMap.of(base)
    start = np.linspace(-0.5, 0.5, 64)
    spread = np.full(64, 1e-4)
    for steps in (1, 17, 1000, 654_321, 10_000_000):
        exact = base.power(steps).apply(start, spread)
        closed = repeated.moments(steps, start, spread)
        np.testing.assert_allclose(closed[0], exact[0], rtol=1e-9, atol=1e-15)
        np.testing.assert_allclose(closed[1], exact[1], rtol=1e-7, atol=1e-15)


def test_stationary_variance_matches_the_analytic_soft_bounds_value() -> None:
    """Symmetric SoftBounds on ±1: the stochastic-ZS stationary variance Δw(1+σ²)/(2 − Δw(1+σ²))."""
    device = soft_bounds(2000, 0.0, 0.3)
    array = DeviceArray(device, (2, 2), seed=0)
    predictor = ZeroShiftPredictor(array, "stochastic", IOParameters(is_perfect=True))
    _, variance = predictor.iterate(10 ** 7)
    gain = 1 + 0.3 ** 2
    assert variance == pytest.approx(np.full(4, 1e-3 * gain / (2 - 1e-3 * gain)), rel=1e-6)


@pytest.mark.parametrize("wrong_noise", [1.0, 1.1])
def test_the_comparison_resolves_a_tenth_of_the_c2c_variance(wrong_noise: float) -> None:
    """Power of the comparison above: on a noisy device (ReRamSB-like additive c2c, σ = 3.75) at
    96×96 (the device's own pulse engine, stochastic ZS), the true predictor passes and one whose
    c2c variance is 10 % too large (a twin array: same seed, same d2d draws) fails."""
    device = SoftBoundsReferenceConfig(dw_min=0.004, up_down=0.2, w_max=1, w_min=-1, dw_min_std=3.75,
                                       w_max_dtod=0.05, w_min_dtod=0.05)
    array = DeviceArray(device, (96, 96), seed=5)
    twin = DeviceArray(device.model_copy(update={"dw_min_std": 3.75 * math.sqrt(wrong_noise)}), (96, 96), seed=5)
    np.testing.assert_array_equal(twin.cell_parameters()["b_max"], array.cell_parameters()["b_max"])
    predictor = ZeroShiftPredictor(twin, "stochastic", IOParameters(is_perfect=True))
    rng = np.random.default_rng(6)
    worst = 0.0
    for step in range(1, 1501):
        array.pulse_up_mask(rng.random(array.shape) < 0.5)
        if step % 500 == 0:
            result = _compare(array, predictor, step)
            worst = max(worst, result["square_gap"] / result["square_allowed"])
    assert (worst <= 1.0) == (wrong_noise == 1.0), worst


@pytest.mark.parametrize(("gamma", "tolerance"), [(0.5, 0.2), (2.0, 0.1)])
def test_non_affine_laws_are_linearized_with_their_error_measured(gamma: float, tolerance: float) -> None:
    """PowStep is not affine: the predictor linearizes each cell's law at its SP and says so
    (`exact` False). Measured against the emulation (docs/budgets.md has the table), the RMS
    distance to the SP is within `tolerance` (relative) over 1.5 decades of pulses from a far start."""
    device = PowStepConfig(dw_min=0.004, pow_gamma=gamma, w_max=1, w_min=-1, up_down=0.2)
    array = DeviceArray(device, (64, 64), seed=2)
    array.set_visible(-0.5)
    predictor = ZeroShiftPredictor(array, "stochastic", IOParameters(is_perfect=True))
    assert not predictor.exact and "linearized" in predictor.model
    rng = np.random.default_rng(1)
    for step in range(1, 1501):
        array.pulse_up_mask(rng.random(array.shape) < 0.5)
        if step in (38, 241, 1500):
            error = array.g.astype(np.float64).reshape(-1) - predictor.sp
            mean, variance = predictor.iterate(step)
            measured, predicted = math.sqrt(float(np.mean(error ** 2))), math.sqrt(float(np.mean(mean ** 2 + variance)))
            assert abs(predicted - measured) <= tolerance * measured, (step, measured, predicted)
