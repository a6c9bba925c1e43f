"""Device-to-device sampling statistics (SPEC §1.3) on 200×200 arrays.

Tolerances are ~5 standard errors of the estimated moment, so the tests are deterministic
(fixed seeds) and still sensitive to a wrong mean, spread or bias.
"""

from __future__ import annotations

import numpy as np
import pytest

from devices import (
    ConstantStepConfig,
    DeviceArray,
    LinearStepConfig,
    PowStepConfig,
    SoftBoundsReferenceConfig,
)

SHAPE = (200, 200)
N = SHAPE[0] * SHAPE[1]
Z = 5.0


def _close_mean(sample: np.ndarray, expected: float, std: float) -> None:
    assert abs(sample.mean() - expected) < Z * std / np.sqrt(sample.size) + 1e-15, (sample.mean(), expected)


def _close_std(sample: np.ndarray, expected: float) -> None:
    # standard error of a sample std ≈ σ/√(2N) for Gaussian data
    assert abs(sample.std() - expected) < Z * expected / np.sqrt(2 * sample.size) + 1e-15, (sample.std(), expected)


def test_bounds_mean_and_spread() -> None:
    config = ConstantStepConfig(w_max=0.7, w_min=-0.5, w_max_dtod=0.1, w_min_dtod=0.2)
    p = DeviceArray(config, SHAPE, seed=1).cell_parameters()
    _close_mean(p["b_max"], 0.7, 0.07)
    _close_std(p["b_max"], 0.07)
    _close_mean(p["b_min"], -0.5, 0.1)
    _close_std(p["b_min"], 0.1)
    assert np.all(p["b_max"] > 0) and np.all(p["b_min"] < 0)


def test_enforce_consistency_folds_bounds_and_steps() -> None:
    # Huge spreads: many raw draws have the wrong sign and must be folded back.
    config = ConstantStepConfig(w_max_dtod=1.5, w_min_dtod=1.5, dw_min_dtod=1.5)
    p = DeviceArray(config, SHAPE, seed=2).cell_parameters()
    assert np.all(p["b_max"] >= 0) and np.all(p["b_min"] <= 0)
    assert np.all(p["s_up"] >= 0) and np.all(p["s_down"] >= 0)
    # |1 + 1.5ξ| has mean E|N(1, 1.5²)|
    sigma = 1.5
    from scipy.stats import norm
    folded_mean = sigma * np.sqrt(2 / np.pi) * np.exp(-1 / (2 * sigma**2)) + (1 - 2 * norm.cdf(-1 / sigma))
    assert abs(p["b_max"].mean() / 0.6 - folded_mean) < 0.02


def test_inconsistent_bounds_without_enforcement_switch_cell_off() -> None:
    config = ConstantStepConfig(w_max_dtod=1.5, w_min_dtod=1.5, enforce_consistency=False)
    p = DeviceArray(config, SHAPE, seed=2).cell_parameters()
    assert np.all(p["b_min"] <= p["b_max"])
    assert np.any(p["b_min"] == p["b_max"])


@pytest.mark.parametrize("up_down", [0.0, 0.2, -0.2])
def test_step_sizes_mean_spread_and_up_down_bias(up_down: float) -> None:
    dw, dtod, ud_dtod = 0.002, 0.2, 0.05
    config = ConstantStepConfig(dw_min=dw, dw_min_dtod=dtod, up_down=up_down, up_down_dtod=ud_dtod)
    p = DeviceArray(config, SHAPE, seed=3).cell_parameters()
    spread = dw * np.hypot(dtod, ud_dtod)
    # One-sided bias: up_down > 0 shrinks the down step, < 0 shrinks the up step.
    _close_mean(p["s_up"], dw * (1 + min(up_down, 0.0)), spread)
    _close_mean(p["s_down"], dw * (1 - max(up_down, 0.0)), spread)
    _close_std(p["s_up"], spread)
    _close_std(p["s_down"], spread)
    # Shared gain, opposite asymmetry: cov(s_up, s_down) = dw²(dtod² − up_down_dtod²).
    cov = np.cov(p["s_up"].ravel(), p["s_down"].ravel())[0, 1]
    expected_cov = dw**2 * (dtod**2 - ud_dtod**2)
    assert abs(cov - expected_cov) < 0.05 * expected_cov
    # The difference isolates the asymmetry: s_up − s_down = dw(2rr + bias difference).
    difference = p["s_up"] - p["s_down"]
    _close_mean(difference, dw * (min(up_down, 0.0) + max(up_down, 0.0)), 2 * dw * ud_dtod)
    _close_std(difference, 2 * dw * ud_dtod)


def test_log_normal_gain() -> None:
    dw, dtod = 0.01, 0.7
    config = ConstantStepConfig(dw_min=dw, dw_min_dtod=dtod, dw_min_dtod_log_normal=True, up_down_dtod=0.0)
    p = DeviceArray(config, SHAPE, seed=4).cell_parameters()
    log_gain = np.log(p["s_up"] / dw)
    _close_mean(log_gain, 0.0, dtod)
    _close_std(log_gain, dtod)
    np.testing.assert_allclose(p["s_up"], p["s_down"])
    assert np.all(p["s_up"] > 0)


@pytest.mark.parametrize("prob", [0.0, 0.1, 0.5])
def test_stuck_fraction_and_values(prob: float) -> None:
    config = ConstantStepConfig(corrupt_devices_prob=prob, corrupt_devices_range=0.2)
    array = DeviceArray(config, SHAPE, seed=5)
    p = array.cell_parameters()
    stuck = array.stuck
    assert abs(stuck.mean() - prob) <= Z * np.sqrt(prob * (1 - prob) / N) + 1e-12
    assert np.all(p["s_up"][stuck] == 0) and np.all(p["s_down"][stuck] == 0)
    assert np.all(p["b_min"][stuck] == p["b_max"][stuck])
    assert np.all(p["s_up"][~stuck] > 0)
    if prob > 0:
        values = p["b_min"][stuck]
        assert np.all(np.abs(values) <= 0.2)
        # Uniform on [−0.2, 0.2] (the cells' bounds all contain that interval here).
        _close_mean(values, 0.0, 0.4 / np.sqrt(12))
        assert abs(values.std() - 0.4 / np.sqrt(12)) < 0.01
        # The stuck cell starts (and stays) at its value.
        np.testing.assert_allclose(array.g[stuck], values, rtol=1e-6)


def test_linearstep_gamma_dtod_is_absolute() -> None:
    config = LinearStepConfig(gamma_up=0.5, gamma_down=0.8, gamma_up_dtod=0.05, gamma_down_dtod=0.1)
    p = DeviceArray(config, SHAPE, seed=6).cell_parameters()
    _close_mean(p["gamma_up"], 0.5, 0.05)
    _close_std(p["gamma_up"], 0.05)
    _close_mean(p["gamma_down"], 0.8, 0.1)
    _close_std(p["gamma_down"], 0.1)


def test_linearstep_negative_gamma_draws_fold() -> None:
    """allow_increasing=False folds draws to |γ| (AIHWKIT), allow_increasing keeps the sign."""
    folded = DeviceArray(LinearStepConfig(gamma_up=0.0, gamma_up_dtod=0.1), SHAPE, seed=7).cell_parameters()
    assert np.all(folded["gamma_up"] >= 0)
    assert np.mean(folded["gamma_up"] == 0) < 0.01
    _close_mean(folded["gamma_up"], 0.1 * np.sqrt(2 / np.pi), 0.1)
    signed = DeviceArray(LinearStepConfig(gamma_up=0.0, gamma_up_dtod=0.1, allow_increasing=True),
                         SHAPE, seed=7).cell_parameters()
    _close_mean(signed["gamma_up"], 0.0, 0.1)
    assert np.any(signed["gamma_up"] < 0)


@pytest.mark.parametrize("mean_bound_reference", [True, False])
def test_linearstep_slopes_use_the_right_reference(mean_bound_reference: bool) -> None:
    config = LinearStepConfig(gamma_up=0.5, gamma_down=0.8, mean_bound_reference=mean_bound_reference,
                              dw_min_std=0.0)
    array = DeviceArray(config, (50, 50), seed=8, dtype=np.float64)
    p = array.cell_parameters()
    r_up, r_dn = (config.w_max, config.w_min) if mean_bound_reference else (p["b_max"], p["b_min"])
    # Relative decrease of the step at the reference is exactly γ: Δ⁺(r_up) = s_up(1 − γ_up).
    np.testing.assert_allclose(array.delta_up(np.broadcast_to(r_up, array.shape)),
                               p["s_up"] * (1 - p["gamma_up"]), rtol=1e-12)
    np.testing.assert_allclose(array.delta_down(np.broadcast_to(r_dn, array.shape)),
                               p["s_down"] * (1 - p["gamma_down"]), rtol=1e-12)


def test_powstep_exponent_sampling() -> None:
    config = PowStepConfig(pow_gamma=2.0, pow_gamma_dtod=0.1, pow_up_down=0.2, pow_up_down_dtod=0.05)
    p = DeviceArray(config, SHAPE, seed=9).cell_parameters()
    spread = 2.0 * np.hypot(0.1, 0.05)
    _close_mean(p["gamma_up"], 2.0, spread)
    _close_mean(p["gamma_down"], 2.0 * 0.8, spread)
    _close_std(p["gamma_up"], spread)
    _close_std(p["gamma_down"], spread)


def test_reset_and_reference_sampling() -> None:
    config = SoftBoundsReferenceConfig(reset=0.1, reset_dtod=0.02, reference_mean=-0.05, reference_std=0.03,
                                       w_max_dtod=0.05, w_min_dtod=0.05)
    array = DeviceArray(config, SHAPE, seed=10)
    _close_mean(array.reset_value.astype(np.float64), 0.1, 0.02)
    _close_std(array.reset_value.astype(np.float64), 0.02)
    np.testing.assert_array_equal(array.g, array.reset_value)
    _close_mean(array.reference.astype(np.float64), -0.05, 0.03)
    _close_std(array.reference.astype(np.float64), 0.03)


def test_softbounds_reference_slope_dtod_moves_bounds() -> None:
    base = dict(w_max=1.0, w_min=-1.0, w_max_dtod=0.0, w_min_dtod=0.0, dw_min_dtod=0.0, up_down_dtod=0.0)
    plain = DeviceArray(SoftBoundsReferenceConfig(**base), SHAPE, seed=11).cell_parameters()
    np.testing.assert_array_equal(plain["b_max"], 1.0)
    varied = DeviceArray(SoftBoundsReferenceConfig(**base, slope_up_dtod=0.1, slope_down_dtod=0.05),
                         SHAPE, seed=11).cell_parameters()
    # slope s/b⁺ gets a factor |1 + 0.1ξ|, so 1/b⁺ ~ N(1, 0.1²) here; the steps are unchanged.
    _close_mean(1.0 / varied["b_max"], 1.0, 0.1)
    _close_std(1.0 / varied["b_max"], 0.1)
    _close_std(1.0 / np.abs(varied["b_min"]), 0.05)
    np.testing.assert_array_equal(varied["s_up"], plain["s_up"])
