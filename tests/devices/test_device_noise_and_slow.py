"""Write noise on the visible weight, slow processes (decay, diffusion), state dtype (SPEC §1.4)."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from devices import (
    ConstantStepConfig,
    DeviceArray,
    LinearStepConfig,
    SoftBoundsConfig,
    get_preset,
    soft_bounds_with_states,
    state_dtype_for,
)

SHAPE = (200, 200)
N = SHAPE[0] * SHAPE[1]


def _write_noise(array: DeviceArray) -> np.ndarray:
    visible = array.visible().astype(np.float64)
    return visible - (array.g.astype(np.float64) - array.reference.astype(np.float64))


def test_write_noise_distribution_redraw_and_persistence() -> None:
    dw, wn = 0.002, 5.0
    config = SoftBoundsConfig(dw_min=dw, dw_min_std=0.0, write_noise_std=wn, reference_mean=0.05,
                              reference_std=0.01)
    array = DeviceArray(config, SHAPE, seed=1, dtype=np.float64)
    std = wn * dw
    first = _write_noise(array)
    # Present from construction (cells start freshly written), N(0, (wn·dw_min)²).
    assert abs(first.mean()) < 5 * std / np.sqrt(N)
    assert abs(first.std() - std) < 5 * std / np.sqrt(2 * N)
    # Reading again without touching: identical noise.
    np.testing.assert_array_equal(_write_noise(array), first)

    # Touch half of the cells: only those are redrawn, independently of their old noise.
    touched = np.zeros(SHAPE, dtype=bool)
    touched[:, ::2] = True
    g_before = array.g.copy()
    array.pulse_signs(np.where(touched, 1, 0))
    second = _write_noise(array)
    np.testing.assert_array_equal(second[~touched], first[~touched])
    np.testing.assert_array_equal(array.g[~touched], g_before[~touched])
    assert np.all(second[touched] != first[touched])
    assert abs(second[touched].std() - std) < 5 * std / np.sqrt(2 * touched.sum())
    assert abs(np.corrcoef(first[touched], second[touched])[0, 1]) < 5 / np.sqrt(touched.sum())
    # The stored g does not carry write noise: the pulse moved g by exactly the law's step.
    np.testing.assert_allclose(array.g[touched] - g_before[touched],
                               array.delta_up(g_before)[touched], rtol=1e-9)


@pytest.mark.parametrize("operation", ["pulse_all", "pulse_counts", "set_conductance", "reset",
                                       "apply_delta"])
def test_every_write_redraws_write_noise(operation: str) -> None:
    array = DeviceArray(ConstantStepConfig(write_noise_std=3.0), (30, 30), seed=2)
    before = _write_noise(array)
    if operation == "pulse_all":
        array.pulse_all(-1)
    elif operation == "pulse_counts":
        array.pulse_counts(np.full(array.shape, 4))
    elif operation == "set_conductance":
        array.set_conductance(0.1)
    elif operation == "reset":
        array.reset()
    else:
        array.apply_delta(np.full(array.shape, 0.01))
    after = _write_noise(array)
    assert np.all(after != before)


def test_no_write_noise_by_default() -> None:
    array = DeviceArray(SoftBoundsConfig(reference_mean=0.1), (20, 20), seed=3)
    array.pulse_all(1)
    np.testing.assert_array_equal(array.visible(), array.g - array.reference)


def test_untouched_pulse_counts_zero_leave_noise() -> None:
    array = DeviceArray(ConstantStepConfig(write_noise_std=3.0), (20, 20), seed=4)
    before = _write_noise(array)
    array.pulse_counts(np.zeros(array.shape, dtype=int))
    array.pulse_signs(np.zeros(array.shape, dtype=int))
    np.testing.assert_array_equal(_write_noise(array), before)


# ---------------------------------------------------------------------------- slow processes
def test_slow_processes_off_by_default() -> None:
    config = SoftBoundsConfig()
    assert config.lifetime == 0.0 and config.diffusion == 0.0
    array = DeviceArray(config, (30, 30), seed=5)
    array.set_conductance(0.2)
    g = array.g.copy()
    state, updates = array.noise_rng.bit_generator.state, array._state.normals.updates
    array.apply_slow_processes()
    np.testing.assert_array_equal(array.g, g)
    assert array.noise_rng.bit_generator.state == state
    assert array._state.normals.updates == updates  # diffusion draws from this stream: nothing drawn


def test_decay_toward_reset() -> None:
    lifetime = 50.0
    config = SoftBoundsConfig(lifetime=lifetime, reset=0.05, w_max=1.0, w_min=-1.0, w_max_dtod=0.0,
                              w_min_dtod=0.0)
    array = DeviceArray(config, (30, 30), seed=6, dtype=np.float64)
    array.set_conductance(np.linspace(-0.9, 0.9, 900).reshape(30, 30))
    g0 = array.g.copy()
    for step in range(1, 4):
        array.apply_slow_processes()
        np.testing.assert_allclose(array.g - 0.05, (g0 - 0.05) * (1 - 1 / lifetime) ** step, rtol=1e-12)


def test_decay_lifetime_dtod_and_preset() -> None:
    config = get_preset("Capacitor")
    array = DeviceArray(config, (100, 100), seed=7, dtype=np.float64)
    array.set_conductance(0.5)
    array.apply_slow_processes()
    factor = (array.g - array.reset_value) / (0.5 - array.reset_value)
    lifetimes = 1 / (1 - factor)
    assert abs(np.median(lifetimes) / 1e6 - 1) < 0.02
    assert np.std(1 / (1 - factor)) / 1e6 == pytest.approx(0.3, rel=0.1)


def test_diffusion_std() -> None:
    rate = 0.003
    config = ConstantStepConfig(diffusion=rate, w_max=1.0, w_min=-1.0, w_max_dtod=0.0, w_min_dtod=0.0)
    array = DeviceArray(config, SHAPE, seed=8, dtype=np.float64)
    array.set_conductance(0.0)
    array.apply_slow_processes()
    step = array.g.copy()
    assert abs(step.mean()) < 5 * rate / np.sqrt(N)
    assert abs(step.std() - rate) < 5 * rate / np.sqrt(2 * N)
    array.apply_slow_processes()
    second = array.g - step
    assert abs(np.corrcoef(step.ravel(), second.ravel())[0, 1]) < 5 / np.sqrt(N)


def test_slow_processes_respect_bounds() -> None:
    config = ConstantStepConfig(diffusion=0.5)
    array = DeviceArray(config, (30, 30), seed=9)
    for _ in range(5):
        array.apply_slow_processes()
        assert np.all((array.g >= array.parameters["b_min"]) & (array.g <= array.parameters["b_max"]))


def test_one_step_is_the_reference_order_diffuse_then_decay() -> None:
    """One step: g ← clip(g + ρ·ξ); g ← clip((g − b)·(1 − 1/τ) + b), the reference simulator's
    post_update_step (diffuse_weights, then decay_weights)."""
    config = LinearStepConfig(lifetime=20.0, diffusion=0.01, reset=0.1, w_max=0.5, w_min=-0.5,
                              w_max_dtod=0.0, w_min_dtod=0.0)
    array = DeviceArray(config, (40, 40), seed=11, dtype=np.float64)
    array.set_conductance(np.linspace(-0.5, 0.5, 1600).reshape(40, 40))
    g0 = array.g.copy()
    xi = copy.deepcopy(array._state.normals).draw((40, 40), np.float64)  # the draws the step will make
    array.apply_slow_processes()
    diffused = np.clip(g0 + array._state.diffusion_rate * xi, -0.5, 0.5)
    expected = np.clip((diffused - array.reset_value) * array._state.decay_scale + array.reset_value, -0.5, 0.5)
    np.testing.assert_allclose(array.g, expected, rtol=0, atol=1e-15)


@pytest.mark.parametrize("steps", [7.0, 30.5])
def test_many_steps_at_once_match_the_step_by_step_process(steps: float) -> None:
    """The closed form for elapsed steps (decay + diffusion, an Ornstein–Uhlenbeck recursion): mean
    and variance across cells equal those of stepping one at a time (integer part), within
    sampling error; away from the bounds, where clipping does not act."""
    config = LinearStepConfig(lifetime=25.0, diffusion=0.004, reset=0.05, w_max=5.0, w_min=-5.0,
                              w_max_dtod=0.0, w_min_dtod=0.0)
    at_once = DeviceArray(config, SHAPE, seed=12, dtype=np.float64)
    at_once.set_conductance(0.6)
    at_once.apply_slow_processes(steps)
    scale = 1 - 1 / 25.0
    mean = 0.05 + (0.6 - 0.05) * scale ** steps
    variance = 0.004 ** 2 * scale ** 2 * (1 - scale ** (2 * steps)) / (1 - scale ** 2)
    assert abs(at_once.g.mean() - mean) < 5 * np.sqrt(variance / N)
    assert abs(at_once.g.var() / variance - 1) < 5 * np.sqrt(2 / N)
    if steps == int(steps):
        stepped = DeviceArray(config, SHAPE, seed=13, dtype=np.float64)
        stepped.set_conductance(0.6)
        for _ in range(int(steps)):
            stepped.apply_slow_processes()
        assert abs(stepped.g.mean() - mean) < 5 * np.sqrt(variance / N)
        assert abs(stepped.g.var() / variance - 1) < 5 * np.sqrt(2 / N)


def test_reset_value_includes_the_symmetric_point_and_each_reset_draws_reset_std() -> None:
    config = get_preset("ReRamSB", subtract_symmetry_point=True, reset_std=0.02)
    array = DeviceArray(config, SHAPE, seed=14, dtype=np.float64)
    inside = (array.true_symmetric_point > array.parameters["b_min"]) & (
        array.true_symmetric_point < array.parameters["b_max"])
    np.testing.assert_allclose(array.reset_value[inside], array.true_symmetric_point[inside], atol=1e-12)
    # A new array sits at its mean reset value, clipped to its bounds.
    np.testing.assert_array_equal(array.g, np.clip(array.reset_value, array.parameters["b_min"],
                                                   array.parameters["b_max"]))
    array.reset()
    spread = (array.g - array.reset_value)[inside]
    assert abs(spread.std() - 0.02) < 5 * 0.02 / np.sqrt(2 * spread.size)
    assert abs(spread.mean()) < 5 * 0.02 / np.sqrt(spread.size)
    plain = DeviceArray(get_preset("ReRamSB"), (10, 10), seed=14)
    assert np.all(np.abs(plain.reset_value) == 0)


def test_set_visible_is_exact_within_the_bounds_and_redraws_write_noise() -> None:
    config = SoftBoundsConfig(write_noise_std=10.0, reference_mean=0.3, reference_std=0.2)
    array = DeviceArray(config, SHAPE, seed=15, dtype=np.float64)
    before = _write_noise(array)
    target = np.random.default_rng(1).uniform(-0.3, 0.3, SHAPE)
    array.set_visible(target)
    hidden = target + array.reference
    inside = (hidden > array.parameters["b_min"]) & (hidden < array.parameters["b_max"])
    np.testing.assert_allclose((array.g - array.reference)[inside], target[inside], atol=1e-12)
    after = _write_noise(array)
    assert abs(np.corrcoef(before.ravel(), after.ravel())[0, 1]) < 5 / np.sqrt(N)


# ---------------------------------------------------------------------------- dtype
def test_state_dtype_auto_selection() -> None:
    assert state_dtype_for(soft_bounds_with_states(2000)) is np.float32
    assert state_dtype_for(soft_bounds_with_states(1e5)) is np.float64   # dw_min 2e-5 on [−1, 1]
    assert state_dtype_for(LinearStepConfig(dw_min=1e-5)) is np.float64
    assert state_dtype_for(LinearStepConfig(dw_min=1e-3)) is np.float32
    for name in ("Idealized", "EcRamMO", "PCM"):
        assert state_dtype_for(get_preset(name)) is np.float32
    fine = DeviceArray(soft_bounds_with_states(1e5), (4, 4), seed=0)
    assert fine.dtype == np.float64 and fine.g.dtype == np.float64
    assert all(value.dtype == np.float64 for value in fine.parameters.values())
    coarse = DeviceArray(soft_bounds_with_states(100), (4, 4), seed=0)
    assert coarse.dtype == np.float32 and coarse.g.dtype == np.float32
    assert coarse.visible().dtype == np.float32
    forced = DeviceArray(soft_bounds_with_states(100), (4, 4), seed=0, dtype=np.float64)
    assert forced.g.dtype == np.float64


def test_float64_state_resolves_tiny_steps() -> None:
    """With dw_min 1e-6 at g ≈ 0.5 a float32 state would round most steps away."""
    config = ConstantStepConfig(dw_min=1e-6, dw_min_std=0.0, dw_min_dtod=0.0, up_down_dtod=0.0,
                                w_max=1.0, w_min=-1.0, w_max_dtod=0.0, w_min_dtod=0.0)
    array = DeviceArray(config, (4, 4), seed=0)
    assert array.dtype == np.float64
    array.set_conductance(0.5)
    for _ in range(1000):
        array.pulse_all(1)
    np.testing.assert_allclose(array.g, 0.5 + 1e-3, rtol=1e-9)
