"""Single-pulse step laws against the SPEC §1.4 closed forms (written independently in conftest).

Many cells (each with its own sampled d2d parameters) are put at a known interior state and
given one pulse. With c2c noise off the measured step must equal the formula exactly; with
noise on, the per-cell residual normalized by the expected noise std must have mean 0 and
std 1 within sampling error.
"""

from __future__ import annotations

import numpy as np
import pytest

from devices import DeviceArray

from device_test_helpers import expected_noise_std, expected_steps, family_configs, interior_state

SHAPE = (200, 200)
N = SHAPE[0] * SHAPE[1]
FRACTIONS = (0.2, 0.5, 0.8)


def _one_pulse(config, up: bool, fraction: float, seed: int, dtype=np.float64, how: str = "all"):
    array = DeviceArray(config, SHAPE, seed=seed, dtype=dtype)
    g0 = interior_state(array, fraction)
    array.set_conductance(g0)
    g0 = array.g.astype(np.float64)  # exactly what the array holds
    if how == "all":
        array.pulse_all(1 if up else -1)
    elif how == "signs":
        array.pulse_signs(np.full(SHAPE, 1 if up else -1))
    else:
        array.pulse_counts(np.full(SHAPE, 1 if up else -1))
    return array, g0, array.g.astype(np.float64) - g0


@pytest.mark.parametrize("up", [True, False], ids=["up", "down"])
@pytest.mark.parametrize("fraction", FRACTIONS)
def test_noise_free_step_is_exact(family: str, up: bool, fraction: float) -> None:
    config = family_configs(sigma=0.0)[family]
    array, g0, measured = _one_pulse(config, up, fraction, seed=11)
    d_up, d_down = expected_steps(config, array.cell_parameters(), g0)
    expected = d_up if up else -d_down
    np.testing.assert_allclose(measured, expected, rtol=1e-9, atol=1e-15)
    # ...and the array's own accessors report the same mean steps.
    np.testing.assert_allclose(array.delta_up(g0), d_up, rtol=1e-12, atol=1e-18)
    np.testing.assert_allclose(array.delta_down(g0), d_down, rtol=1e-12, atol=1e-18)


@pytest.mark.parametrize("how", ["all", "signs", "counts"])
def test_noise_free_step_float32_all_paths(family: str, how: str) -> None:
    config = family_configs(sigma=0.0)[family]
    for up in (True, False):
        array, g0, measured = _one_pulse(config, up, 0.5, seed=5, dtype=np.float32, how=how)
        d_up, d_down = expected_steps(config, array.cell_parameters(), g0)
        expected = d_up if up else -d_down
        # float32 state: error a few ulps of |g| plus the relative error of float32 parameters.
        tolerance = 4 * np.finfo(np.float32).eps * (np.abs(g0) + np.abs(expected))
        assert np.all(np.abs(measured - expected) <= tolerance + 1e-9)


@pytest.mark.parametrize("up", [True, False], ids=["up", "down"])
@pytest.mark.parametrize("fraction", [0.3, 0.7])
def test_noisy_step_mean_and_std(family: str, up: bool, fraction: float) -> None:
    config = family_configs(sigma=0.3)[family]
    array, g0, measured = _one_pulse(config, up, fraction, seed=23, how="all")
    prm = array.cell_parameters()
    d_up, d_down = expected_steps(config, prm, g0)
    mean = d_up if up else -d_down
    std = expected_noise_std(config, prm, g0, mean, up)
    # No cell may have been clipped, otherwise the moments are not those of the law.
    assert np.all((array.g > prm["b_min"]) & (array.g < prm["b_max"]))
    z = (measured - mean) / std
    assert abs(z.mean()) < 5.0 / np.sqrt(N), z.mean()
    assert abs(z.std() - 1.0) < 0.02, z.std()


def test_noisy_mixed_signs_use_the_right_law(family: str) -> None:
    """pulse_signs with a checkerboard of ±1: each cell follows its own direction's law."""
    config = family_configs(sigma=0.3)[family]
    array = DeviceArray(config, SHAPE, seed=3, dtype=np.float64)
    g0 = interior_state(array, 0.5)
    array.set_conductance(g0)
    rows, cols = np.indices(SHAPE)
    signs = np.where((rows + cols) % 2 == 0, 1, -1)
    array.pulse_signs(signs)
    prm = array.cell_parameters()
    d_up, d_down = expected_steps(config, prm, g0)
    up = signs > 0
    mean = np.where(up, d_up, -d_down)
    std = np.where(up, expected_noise_std(config, prm, g0, d_up, True),
                   expected_noise_std(config, prm, g0, -d_down, False))
    z = (array.g - g0 - mean) / std
    for mask in (up, ~up):
        assert abs(z[mask].mean()) < 5.0 / np.sqrt(mask.sum())
        assert abs(z[mask].std() - 1.0) < 0.03


def test_noise_is_per_pulse_not_per_cell() -> None:
    """Two consecutive noisy pulses on the same cell get independent noise draws."""
    config = family_configs(sigma=0.3)["ConstantStep"]
    array = DeviceArray(config, SHAPE, seed=9, dtype=np.float64)
    array.set_conductance(interior_state(array, 0.3))
    g0 = array.g.copy()
    array.pulse_all(1)
    g1 = array.g.copy()
    array.pulse_all(1)
    s_up = array.cell_parameters()["s_up"]
    z1 = ((g1 - g0) - s_up) / (0.3 * s_up)
    z2 = ((array.g - g1) - s_up) / (0.3 * s_up)
    assert abs(np.corrcoef(z1.ravel(), z2.ravel())[0, 1]) < 5.0 / np.sqrt(N)


def test_clip_after_every_pulse() -> None:
    """A pulse run into the bound stops at the bound, and the next opposite pulse moves off it."""
    config = family_configs(sigma=0.0)["ConstantStep"]
    array = DeviceArray(config, (20, 20), seed=1, dtype=np.float64)
    prm = array.cell_parameters()
    steps_to_top = int(np.ceil(((prm["b_max"] - array.g) / prm["s_up"]).max())) + 5
    array.pulse_counts(np.full((20, 20), steps_to_top))
    np.testing.assert_array_equal(array.g, prm["b_max"])
    array.pulse_all(-1)
    np.testing.assert_allclose(array.g, prm["b_max"] - prm["s_down"], rtol=1e-12)


def test_pulse_up_mask_matches_pulse_signs(family: str) -> None:
    """pulse_up_mask(up) is one pulse per cell, up where True and down elsewhere."""
    config = family_configs(sigma=0.3)[family]
    masked = DeviceArray(config, (30, 30), seed=17)
    signed = DeviceArray(config, (30, 30), seed=17)
    up = np.random.default_rng(0).random((30, 30)) < 0.5
    masked.pulse_up_mask(up)
    signed.pulse_signs(np.where(up, 1, -1))
    np.testing.assert_array_equal(masked.g, signed.g)
    with pytest.raises(ValueError):
        masked.pulse_up_mask(np.ones((3, 3), dtype=bool))


def test_shape_mismatch_rejected() -> None:
    array = DeviceArray(family_configs()["ConstantStep"], (4, 5), seed=0)
    with pytest.raises(ValueError):
        array.pulse_signs(np.ones((5, 4), dtype=int))
    with pytest.raises(ValueError):
        array.pulse_counts(np.ones((4, 4), dtype=int))
