"""Slow processes against the reference: a Capacitor array relaxing toward its reset value (lifetime
decay with its device-to-device spread, plus diffusion), one step per mini-batch as the reference's
`post_update_step`. Means and spreads across cells at each checkpoint agree within sampling error.
(lifetime_dtod 0.1: with larger spreads 1/lifetime has a heavy tail and the spread across cells
is not a stable statistic to compare.)

The reference draws diffusion from its per-tile table of 32,768 normal numbers (see
test_ref_devices.py), so it runs on several tiles and its spread is compared with a tolerance that
includes the between-tile variation.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from devices import DeviceArray, get_preset

ROWS, COLS, TILES = 32, 32, 10
STEPS = [1, 5, 20, 50, 100, 200]
DEVICE = {"lifetime": 60.0, "lifetime_dtod": 0.1, "diffusion": 0.004, "diffusion_dtod": 0.1,
          "reset": 0.05, "reset_dtod": 0.02}
START = 0.5
ALPHA = 1e-3 / (2 * len(STEPS))  # false-alarm budget of the whole test, split over its comparisons


def emulator_weights() -> np.ndarray:
    array = DeviceArray(get_preset("Capacitor", **DEVICE), (ROWS, COLS * TILES), seed=5, dtype=np.float64)
    array.set_visible(START)
    out, done = [], 0
    for k in STEPS:
        for _ in range(k - done):
            array.apply_slow_processes()
        done = k
        out.append(array.visible().reshape(-1).copy())
    return np.array(out)


def test_capacitor_relaxes_toward_its_reset_value_at_the_reference_rate(oracle):
    reference = oracle("devices_slow", rows=ROWS, cols=COLS, tiles=TILES, steps=STEPS, start=START, device=DEVICE)
    ours = emulator_weights()
    ref = reference["weights"].astype(np.float64)
    z = stats.norm.isf(ALPHA / 2)
    for position, k in enumerate(STEPS):
        a, b = ours[position], ref[position]
        error = np.sqrt(a.var() / a.size + b.var() / b.size)
        assert abs(a.mean() - b.mean()) <= z * error, (k, a.mean(), b.mean(), error)
        # Spread: relative standard error of a std is 1/sqrt(2n) per side.
        relative = z * np.sqrt(1 / (2 * a.size) + 1 / (2 * b.size))
        assert abs(a.std() / b.std() - 1) <= relative, (k, a.std(), b.std())
    # The mean decays as the reference's own per-cell scales say: reset + (start − reset)·scale^k.
    scale, bias = reference["decay_scale"].astype(np.float64), reference["reset_bias"].astype(np.float64)
    for position, k in enumerate(STEPS):
        expected = np.mean(bias + (START - bias) * scale ** k)
        spread = np.sqrt(np.mean(((1 - scale ** (2 * k)) / (1 - scale ** 2)) * scale ** 2) * 0.004 ** 2 / ref[position].size)
        assert abs(ours[position].mean() - expected) <= z * max(spread, 1e-6) + 2e-4, (k, ours[position].mean(), expected)
