"""Symmetric points (SPEC §1.2, §1.4): closed forms, numeric roots, and convergence of
alternating noise-free up/down pulses."""

from __future__ import annotations

import numpy as np
import pytest

from devices import (
    AsymmetricLinearConfig,
    ConstantStepConfig,
    DeviceArray,
    ExpStepConfig,
    LinearStepConfig,
    PiecewiseStepConfig,
    PowStepConfig,
    SoftBoundsConfig,
    SoftBoundsReferenceConfig,
)

from device_test_helpers import expected_steps

_D2D = dict(dw_min_dtod=0.2, up_down=0.1, up_down_dtod=0.1, w_max=0.8, w_min=-0.6,
            w_max_dtod=0.1, w_min_dtod=0.1, dw_min_std=0.0)

CONVERGENCE_CONFIGS = {
    "SoftBounds": SoftBoundsConfig(dw_min=0.004, **_D2D),
    "LinearStep": LinearStepConfig(dw_min=0.004, gamma_up=0.6, gamma_down=0.9, **_D2D),
    "PowStep": PowStepConfig(dw_min=0.004, pow_gamma=1.5, pow_up_down=0.2, pow_up_down_dtod=0.05,
                             **_D2D),
    "ExpStep": ExpStepConfig(dw_min=0.004, a=-0.5, b=-0.5, gamma_up=5.0, gamma_down=5.0,
                             A_up=-1.18445, A_down=-0.081404, **_D2D),
    "AsymmetricLinear": AsymmetricLinearConfig(dw_min=0.004, tau=0.7, symmetric_point=0.05, **_D2D),
}


@pytest.mark.parametrize("name", list(CONVERGENCE_CONFIGS))
def test_alternating_pulses_converge_to_symmetric_point(name: str) -> None:
    config = CONVERGENCE_CONFIGS[name]
    array = DeviceArray(config, (40, 40), seed=4, dtype=np.float64)
    prm = array.cell_parameters()
    sp = array.symmetric_point()
    assert np.isfinite(sp).all()
    # Start half the cells at their lower bound, half at the upper one.
    start = np.where(np.arange(array.size).reshape(array.shape) % 2 == 0, prm["b_min"], prm["b_max"])
    array.set_conductance(start)
    for _ in range(6000):
        array.pulse_all(1)
        array.pulse_all(-1)
    after_down = array.g.copy()
    array.pulse_all(1)
    middle = 0.5 * (after_down + array.g)
    step = np.maximum(prm["s_up"], prm["s_down"])
    assert np.all(np.abs(middle - sp) <= 3 * step), np.abs((middle - sp) / step).max()


def test_softbounds_closed_form() -> None:
    array = DeviceArray(SoftBoundsConfig(dw_min=0.002, **_D2D), (60, 60), seed=2)
    p = array.cell_parameters()
    expected = (p["s_up"] - p["s_down"]) / (p["s_up"] / p["b_max"] + p["s_down"] / np.abs(p["b_min"]))
    np.testing.assert_allclose(array.symmetric_point(), expected, rtol=1e-10, atol=1e-14)
    assert array.sp_interior.all()


def test_softbounds_reference_closed_form_and_subtraction() -> None:
    config = SoftBoundsReferenceConfig(dw_min=0.002, reference_mean=0.1, reference_std=0.05,
                                       subtract_symmetry_point=True, **_D2D)
    array = DeviceArray(config, (100, 100), seed=8)
    p = array.cell_parameters()
    sp = (p["s_up"] - p["s_down"]) / (p["s_up"] / p["b_max"] + p["s_down"] / np.abs(p["b_min"]))
    np.testing.assert_allclose(array.symmetric_point(), sp, rtol=1e-10, atol=1e-14)
    # r = reference_mean + reference_std·ξ + SP, so the visible SP is −(reference_mean + std·ξ).
    offset = array.reference.astype(np.float64) - sp
    assert abs(offset.mean() - 0.1) < 5 * 0.05 / 100
    assert abs(offset.std() - 0.05) < 0.003
    np.testing.assert_allclose(array.visible_symmetric_point(), -offset, atol=1e-6)


@pytest.mark.parametrize("mean_bound_reference", [True, False])
def test_linearstep_closed_form(mean_bound_reference: bool) -> None:
    config = LinearStepConfig(dw_min=0.002, gamma_up=0.5, gamma_down=0.8,
                              mean_bound_reference=mean_bound_reference, **_D2D)
    array = DeviceArray(config, (60, 60), seed=3)
    p = array.cell_parameters()
    r_up, r_dn = (config.w_max, config.w_min) if mean_bound_reference else (p["b_max"], p["b_min"])
    expected = (p["s_up"] - p["s_down"]) / (p["gamma_up"] * p["s_up"] / r_up
                                            + p["gamma_down"] * p["s_down"] / np.abs(r_dn))
    inside = (expected > p["b_min"]) & (expected < p["b_max"])
    assert inside.mean() > 0.95
    np.testing.assert_allclose(array.symmetric_point()[inside], expected[inside], rtol=1e-10, atol=1e-14)


def test_powstep_equal_exponents_closed_form() -> None:
    config = PowStepConfig(dw_min=0.002, pow_gamma=2.0, pow_gamma_dtod=0.1, **_D2D)
    array = DeviceArray(config, (60, 60), seed=6)
    p = array.cell_parameters()
    np.testing.assert_array_equal(p["gamma_up"], p["gamma_down"])
    q = (p["s_down"] / p["s_up"]) ** (1.0 / p["gamma_up"])
    span = p["b_max"] - p["b_min"]
    expected = p["b_max"] - span * q / (1 + q)
    np.testing.assert_allclose(array.symmetric_point(), expected, rtol=1e-10, atol=1e-14)


def test_asymmetric_linear_closed_form() -> None:
    config = AsymmetricLinearConfig(dw_min=0.002, tau=0.7, symmetric_point=0.05, **_D2D)
    array = DeviceArray(config, (60, 60), seed=6)
    p = array.cell_parameters()
    expected = 0.05 + 0.7 * (p["s_up"] - p["s_down"]) / (p["s_up"] + p["s_down"])
    inside = (expected > p["b_min"]) & (expected < p["b_max"])
    assert inside.mean() > 0.99
    np.testing.assert_array_equal(array.sp_interior, inside)
    np.testing.assert_allclose(array.symmetric_point()[inside], expected[inside], rtol=1e-10, atol=1e-14)
    # Outside its range the SP is the bound the cell drifts to.
    np.testing.assert_array_equal(array.symmetric_point()[expected >= p["b_max"]],
                                  p["b_max"][expected >= p["b_max"]])
    np.testing.assert_array_equal(array.symmetric_point()[expected <= p["b_min"]],
                                  p["b_min"][expected <= p["b_min"]])
    # With identical up/down steps the SP is exactly the configured c.
    flat = DeviceArray(AsymmetricLinearConfig(tau=0.7, symmetric_point=0.05, up_down_dtod=0.0),
                       (10, 10), seed=1)
    np.testing.assert_allclose(flat.symmetric_point(), 0.05, atol=1e-12)


NUMERIC_CONFIGS = {
    "ExpStep": ExpStepConfig(dw_min=0.002, a=-0.5, b=-0.5, gamma_up=5.0, gamma_down=5.0,
                             A_up=-1.18445, A_down=-0.081404, **_D2D),
    "ExpStep-default": ExpStepConfig(dw_min=0.002, **_D2D),
    "PiecewiseStep": PiecewiseStepConfig(dw_min=0.002, piecewise_up=[1.6, 1.2, 0.9, 0.5, 0.2],
                                         piecewise_down=[0.3, 0.6, 1.0, 1.1, 1.7], **_D2D),
    "PowStep-unequal": PowStepConfig(dw_min=0.002, pow_gamma=1.5, pow_up_down=0.3,
                                     pow_up_down_dtod=0.1, **_D2D),
}


@pytest.mark.parametrize("name", list(NUMERIC_CONFIGS))
def test_numeric_symmetric_point_balances_steps(name: str) -> None:
    config = NUMERIC_CONFIGS[name]
    array = DeviceArray(config, (60, 60), seed=12)
    p = array.cell_parameters()
    sp, interior = array.symmetric_point(), array.sp_interior
    assert np.isfinite(sp).all()
    assert interior.mean() > 0.5
    d_up, d_down = expected_steps(config, p, sp)
    scale = np.maximum(p["s_up"], p["s_down"])
    assert np.all(np.abs(d_up - d_down)[interior] <= 1e-9 * scale[interior])
    # Non-interior cells sit at the bound they drift to.
    drift_low = np.subtract(*expected_steps(config, p, p["b_min"]))
    drift_high = np.subtract(*expected_steps(config, p, p["b_max"]))
    up = ~interior & (drift_low >= 0) & (drift_high >= 0) & ((drift_low > 0) | (drift_high > 0))
    down = ~interior & (drift_low <= 0) & (drift_high <= 0) & ((drift_low < 0) | (drift_high < 0))
    np.testing.assert_array_equal(sp[up], p["b_max"][up])
    np.testing.assert_array_equal(sp[down], p["b_min"][down])


def test_constant_step_symmetric_point_is_a_bound_or_the_middle() -> None:
    drifting = DeviceArray(ConstantStepConfig(up_down=0.0, up_down_dtod=0.05), (50, 50), seed=1)
    p = drifting.cell_parameters()
    sp = drifting.symmetric_point()
    assert not np.isnan(sp).any()
    assert not drifting.sp_interior.any()
    np.testing.assert_array_equal(sp[p["s_up"] > p["s_down"]], p["b_max"][p["s_up"] > p["s_down"]])
    np.testing.assert_array_equal(sp[p["s_up"] < p["s_down"]], p["b_min"][p["s_up"] < p["s_down"]])
    assert (p["s_up"] > p["s_down"]).any() and (p["s_up"] < p["s_down"]).any()

    neutral = DeviceArray(ConstantStepConfig(up_down=0.0, up_down_dtod=0.0), (20, 20), seed=1)
    q = neutral.cell_parameters()
    np.testing.assert_array_equal(q["s_up"], q["s_down"])
    np.testing.assert_allclose(neutral.symmetric_point(), 0.5 * (q["b_min"] + q["b_max"]))
    assert not neutral.sp_interior.any()

    biased = DeviceArray(ConstantStepConfig(up_down=0.3, up_down_dtod=0.0, dw_min_dtod=0.1), (20, 20),
                         seed=1)
    np.testing.assert_array_equal(biased.symmetric_point(), biased.cell_parameters()["b_max"])


def test_stuck_cells_symmetric_point_is_their_value() -> None:
    array = DeviceArray(SoftBoundsConfig(corrupt_devices_prob=1.0), (10, 10), seed=0)
    p = array.cell_parameters()
    np.testing.assert_array_equal(array.symmetric_point(), p["b_min"])
    assert not array.sp_interior.any()
