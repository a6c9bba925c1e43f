"""Drift of symmetric points and references, and the operating point (devices/drift.py).

Each process is checked against its closed form over time: the change of every cell's visible
symmetric point (or reference) after time t has mean a·t and variance dtod²·t² + σ²(1 + d²)·t
across cells, whether the time passes in one call or in many (the step-by-step process), within
sampling error (5 standard errors; 40,000 cells).
"""

from __future__ import annotations

import numpy as np
import pytest

from devices import (
    AsymmetricLinearConfig,
    DeviceArray,
    DriftConfig,
    DriftProcess,
    SoftBoundsConfig,
    soft_bounds_with_states,
)

SHAPE = (200, 200)
N = SHAPE[0] * SHAPE[1]
TIMES_S = [0.004, 0.02, 0.1]


def _wide_device() -> AsymmetricLinearConfig:
    """Bounds far from the state, so clipping never acts and the closed form is exact."""
    return AsymmetricLinearConfig(tau=3.0, symmetric_point=0.2, w_max=50.0, w_min=-50.0, w_max_dtod=0.0,
                                  w_min_dtod=0.0, dw_min=0.01, reference_mean=0.1, reference_std=0.05)


def _checkpoints(process: DriftProcess, array: DeviceArray, quantity: str, stepwise: bool) -> list[np.ndarray]:
    """The change of `quantity` ("sp" or "reference") at each of TIMES_S, reached in one call per
    checkpoint or in many short calls of random length."""
    def value() -> np.ndarray:
        return array.visible_symmetric_point() if quantity == "sp" else array.reference.astype(np.float64)

    start = value()
    steps = np.random.default_rng(3)
    changes, now = [], 0.0
    for target in TIMES_S:
        while now < target:
            elapsed = min(target - now, steps.uniform(0.0002, 0.002)) if stepwise else target - now
            process.advance(elapsed)
            now += elapsed
        changes.append(value() - start)
    return changes


def _assert_moments(change: np.ndarray, mean: float, variance: float) -> None:
    assert abs(change.mean() - mean) <= 5 * np.sqrt(variance / N) + 1e-12, (change.mean(), mean)
    assert abs(change.var() / variance - 1) <= 5 * np.sqrt(2 / N), (change.var(), variance)


@pytest.mark.parametrize("stepwise", [False, True], ids=["one_call", "step_by_step"])
def test_symmetric_point_drift_matches_its_closed_form_and_keeps_the_weights(stepwise: bool) -> None:
    trend, spread, walk, walk_dtod = 3.0, 1.5, 0.4, 0.3
    array = DeviceArray(_wide_device(), SHAPE, seed=1, dtype=np.float64)
    array.set_conductance(np.random.default_rng(0).uniform(-0.5, 0.5, SHAPE))
    weights = array.visible().copy()
    process = DriftProcess(array, DriftConfig(sp_trend_per_s=trend, sp_trend_dtod_per_s=spread,
                                              sp_walk_per_sqrt_s=walk, sp_walk_dtod=walk_dtod), seed=2)
    for t, change in zip(TIMES_S, _checkpoints(process, array, "sp", stepwise)):
        _assert_moments(change, trend * t, spread ** 2 * t ** 2 + walk ** 2 * (1 + walk_dtod ** 2) * t)
    np.testing.assert_allclose(array.visible(), weights, atol=1e-12)


@pytest.mark.parametrize("stepwise", [False, True], ids=["one_call", "step_by_step"])
def test_reference_drift_matches_its_closed_form_and_moves_the_weights(stepwise: bool) -> None:
    trend, spread, walk = -2.0, 0.5, 0.25
    array = DeviceArray(_wide_device(), SHAPE, seed=4, dtype=np.float64)
    weights = array.visible().copy()
    sp = array.visible_symmetric_point().copy()
    process = DriftProcess(array, DriftConfig(reference_trend_per_s=trend, reference_trend_dtod_per_s=spread,
                                              reference_walk_per_sqrt_s=walk), seed=5)
    changes = _checkpoints(process, array, "reference", stepwise)
    for t, change in zip(TIMES_S, changes):
        _assert_moments(change, trend * t, spread ** 2 * t ** 2 + walk ** 2 * t)
    np.testing.assert_allclose(array.visible(), weights - changes[-1], atol=1e-12)
    np.testing.assert_allclose(array.visible_symmetric_point(), sp - changes[-1], atol=1e-12)


def test_a_drifted_symmetric_point_is_where_random_pulses_now_lead() -> None:
    """The shifted curve is the device's: stochastic zero-shifting settles at the moved SP."""
    config = soft_bounds_with_states(200, dw_min_dtod=0.0, up_down_dtod=0.0, w_max_dtod=0.0, w_min_dtod=0.0,
                                     dw_min_std=0.0)
    array = DeviceArray(config, (50, 50), seed=6, dtype=np.float64)
    DriftProcess(array, DriftConfig(sp_trend_per_s=0.25), seed=7).advance(1.0)
    np.testing.assert_allclose(array.visible_symmetric_point(), 0.25, atol=1e-12)
    rng = np.random.default_rng(8)
    for _ in range(3000):
        array.pulse_up_mask(rng.random(array.shape) < 0.5)
    assert abs(array.visible().mean() - 0.25) < 0.01


def test_stuck_cells_keep_their_point_and_drift_is_off_by_default() -> None:
    config = SoftBoundsConfig(corrupt_devices_prob=0.3)
    array = DeviceArray(config, (40, 40), seed=9, dtype=np.float64)
    before = array.visible().copy()
    process = DriftProcess(array, DriftConfig(sp_trend_per_s=1.0, sp_walk_per_sqrt_s=0.5), seed=10)
    process.advance(0.05)
    np.testing.assert_array_equal(array.visible()[array.stuck], before[array.stuck])
    quiet = DeviceArray(config, (40, 40), seed=9, dtype=np.float64)
    state, updates = quiet.noise_rng.bit_generator.state, quiet._state.normals.updates
    off = DriftProcess(quiet, DriftConfig(), seed=10)
    assert not (off.config.moves_sp or off.config.moves_reference or off.config.temperature_sensitive)
    off.advance(10.0)
    off.set_temperature(30.0)
    np.testing.assert_array_equal(quiet.visible(), before)
    assert quiet.noise_rng.bit_generator.state == state
    assert quiet._state.normals.updates == updates  # write noise and diffusion draw from this stream


def test_operating_point_scales_the_steps_and_moves_the_symmetric_point() -> None:
    """At ΔT the steps are exp(k±·ΔT) times the sampled ones (k± with their d2d spread) and the
    SP is the closed form of the scaled SoftBounds law; ΔT = 0 restores the device exactly."""
    config = SoftBoundsConfig(w_max=1.0, w_min=-1.0, dw_min=0.01, up_down_dtod=0.02)
    array = DeviceArray(config, SHAPE, seed=11, dtype=np.float64)
    g = np.full(SHAPE, 0.1)
    up0, down0, sp0 = array.delta_up(g), array.delta_down(g), array.symmetric_point().copy()
    drift = DriftConfig(step_up_per_kelvin=0.01, step_down_per_kelvin=-0.005, step_per_kelvin_dtod=0.2)
    process = DriftProcess(array, drift, seed=12)
    process.set_temperature(20.0)
    k_up = np.log(array.delta_up(g) / up0) / 20.0
    k_down = np.log(array.delta_down(g) / down0) / 20.0
    for k, nominal in ((k_up, 0.01), (k_down, -0.005)):
        assert abs(k.mean() / nominal - 1) < 5 * 0.2 / np.sqrt(N)
        assert abs(k.std() / abs(nominal) / 0.2 - 1) < 5 * np.sqrt(2 / N)
    prm = array.cell_parameters()
    s_up, s_down = prm["s_up"], prm["s_down"]
    expected = (s_up - s_down) / (s_up / prm["b_max"] + s_down / np.abs(prm["b_min"]))
    np.testing.assert_allclose(array.symmetric_point(), expected, atol=1e-12)
    assert array.symmetric_point().mean() - sp0.mean() > 0.05  # up steps grew, down steps shrank
    process.set_temperature(0.0)
    np.testing.assert_array_equal(array.delta_up(g), up0)
    np.testing.assert_array_equal(array.symmetric_point(), sp0)


def test_scaled_steps_are_what_the_pulses_apply() -> None:
    config = SoftBoundsConfig(w_max=1.0, w_min=-1.0, dw_min=0.01, dw_min_std=0.0)
    array = DeviceArray(config, (30, 30), seed=13)
    array.set_conductance(0.2)
    array.scale_steps(1.5, 0.5)
    expected = array.g.astype(np.float64) + array.delta_up()
    array.pulse_all(1)
    np.testing.assert_allclose(array.g, expected, rtol=1e-6)
