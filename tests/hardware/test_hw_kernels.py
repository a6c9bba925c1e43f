"""Compiled emulator kernels (emulator/_kernels.py) against the numpy they replace."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator._kernels import FIRING_KEY, accumulate_signed_counts, pack_firing_bits, signed_coincidences
from emulator.hardware.read_path import IOParameters, analog_mvm

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True)


def _firing_uniforms(key: int, offset: int, slots: int, lines: int) -> np.ndarray:
    """The firing uniforms of a train, slots × lines, in numpy: SplitMix64's finalizer of
    (key + position·γ) ⊕ FIRING_KEY, top 24 bits × 2⁻²⁴."""
    position = np.arange(offset, offset + slots * lines, dtype=np.uint64)
    z = (np.uint64(key) + position * np.uint64(0x9E3779B97F4A7C15)) ^ FIRING_KEY
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return ((z >> np.uint64(40)).astype(np.float32) * np.float32(2.0 ** -24)).reshape(slots, lines)


@SETTINGS
@given(rows=st.integers(1, 9), cols=st.integers(1, 9), slots=st.integers(1, 200), seed=st.integers(0, 2**16))
def test_signed_coincidences_equal_the_matrix_product_of_firing_bits(rows, cols, slots, seed) -> None:
    """Any number of slots (several 64-bit words included): lines fire where their counter-hashed
    uniform is below their probability, n_ij = s_i·s_j·Σ_t r_ti·c_tj exactly, and the lines
    fired per slot are counted."""
    rng = np.random.default_rng(seed)
    key = int(rng.integers(0, 2**63))
    row_probability = rng.random(rows, dtype=np.float32)
    column_probability = rng.random(cols, dtype=np.float32)
    row_sign = rng.choice([-1, 1], rows).astype(np.int32)
    column_sign = rng.choice([-1, 1], cols).astype(np.int32)
    row_fires = _firing_uniforms(key, 0, slots, rows) < row_probability
    column_fires = _firing_uniforms(key, slots * rows, slots, cols) < column_probability
    row_words, rows_fired = pack_firing_bits(np.uint64(key), 0, slots, row_probability)
    column_words, columns_fired = pack_firing_bits(np.uint64(key), slots * rows, slots, column_probability)
    counts = np.empty((rows, cols), np.int32)
    up, down = signed_coincidences(row_words, column_words, row_sign, column_sign, counts)
    expected = (row_fires.astype(np.int64).T @ column_fires.astype(np.int64)) * np.outer(row_sign, column_sign)
    np.testing.assert_array_equal(counts, expected)
    assert (up, down) == (expected[expected > 0].sum(), -expected[expected < 0].sum())
    np.testing.assert_array_equal(rows_fired, row_fires.sum(axis=1))
    np.testing.assert_array_equal(columns_fired, column_fires.sum(axis=1))


def test_firing_uniforms_are_uniform_and_independent_across_keys() -> None:
    """2²⁰ draws of one key: uniform on [0, 1) at 24 bits (KS), mean ½, lag-1 correlation ≈ 0; two
    neighbouring keys are uncorrelated."""
    from scipy import stats

    draws = _firing_uniforms(12345, 0, 1024, 1024).ravel().astype(np.float64)
    assert stats.kstest(draws, "uniform").pvalue > 1e-3
    tolerance = 5.0 / np.sqrt(draws.size)
    assert abs(draws.mean() - 0.5) < tolerance * np.sqrt(1 / 12)
    assert abs(np.corrcoef(draws[:-1], draws[1:])[0, 1]) < tolerance
    other = _firing_uniforms(12346, 0, 1024, 1024).ravel()
    assert abs(np.corrcoef(draws, other)[0, 1]) < tolerance


@SETTINGS
@given(shape=st.tuples(st.integers(1, 8), st.integers(1, 8)), seed=st.integers(0, 2**16),
       dtype=st.sampled_from([np.int32, np.int64]))
def test_signed_counts_accumulate_into_up_and_down(shape, seed, dtype) -> None:
    rng = np.random.default_rng(seed)
    up, down = rng.integers(0, 5, shape), rng.integers(0, 5, shape)
    counts = rng.integers(-40, 41, shape).astype(dtype)
    expected_up, expected_down = up + np.maximum(counts, 0), down + np.maximum(-counts, 0)
    totals = accumulate_signed_counts(counts.reshape(-1), up.reshape(-1), down.reshape(-1))
    np.testing.assert_array_equal(up, expected_up)
    np.testing.assert_array_equal(down, expected_down)
    assert totals == (int(np.maximum(counts, 0).sum()), int(np.maximum(-counts, 0).sum()))


def _numpy_read(weights, inputs, io, rng, transposed=False, allow_bound_management=True, noise_management=True):
    """The read path as plain numpy array operations (what `dac_codes`/`adc_codes` replace)."""
    def quantize(values, resolution, bound):
        if resolution > 0.0:
            step = 2.0 * bound * resolution
            values = np.rint(values / step) * step
        return np.clip(values, -bound, bound)

    x = np.atleast_2d(np.asarray(inputs, dtype=np.float32))
    matrix = weights.T if transposed else weights
    if noise_management and io.noise_management == "abs_max":
        alpha = np.max(np.abs(x), axis=1, keepdims=True)
    else:
        alpha = np.ones((x.shape[0], 1), dtype=np.float32)
    safe_alpha = np.where(alpha > 0, alpha, 1.0).astype(np.float32)
    y = np.zeros((x.shape[0], matrix.shape[0]), dtype=np.float32)
    pending = np.flatnonzero(alpha[:, 0] > 0)
    use_bm = allow_bound_management and io.bound_management == "iterative"
    reduction, passes = 1.0, 0
    while pending.size and passes < (io.max_bm_passes if use_bm else 1):
        passes += 1
        u = quantize(x[pending] / (safe_alpha[pending] * reduction), io.inp_res, io.inp_bound)
        if io.inp_noise > 0:
            u = u + io.inp_noise * rng.standard_normal(u.shape, dtype=np.float32)
        raw = u @ matrix.T
        if io.adc_gain != 1.0:
            raw *= io.adc_gain
        if io.adc_offset != 0.0:
            raw += io.adc_offset
        if io.out_noise > 0:
            raw += io.out_noise * rng.standard_normal(raw.shape, dtype=np.float32)
        saturated = np.any(np.abs(raw) >= io.out_bound, axis=1)
        y[pending] = quantize(raw, io.out_res, io.out_bound) * (safe_alpha[pending] * reduction)
        if not use_bm:
            break
        pending = pending[saturated]
        reduction *= 2.0
    return y


READ_IOS = [IOParameters(), IOParameters(inp_noise=0.01, adc_gain=1.1, adc_offset=0.02, out_bound=0.3),
            IOParameters(inp_res=0.0, out_res=0.0, out_noise=0.0, out_bound=0.7),
            IOParameters(noise_management="none", out_bound=2.5), IOParameters(bound_management="none", out_bound=0.1)]


@SETTINGS
@given(io=st.sampled_from(READ_IOS), float64=st.booleans(), seed=st.integers(0, 2**16),
       kind=st.sampled_from(["forward", "backward", "one-hot"]))
def test_read_kernels_equal_the_numpy_read_path(io, float64, seed, kind) -> None:
    """DAC and ADC codes in the compiled loops carry numpy's arithmetic bit for bit (float32
    inputs; float32 or float64 weights), bound-management passes and noise draws included."""
    data = np.random.default_rng(seed)
    weights = data.normal(0, 0.5, (7, 9)).astype(np.float64 if float64 else np.float32)
    inputs = data.normal(0, 1, (5, 7 if kind == "backward" else 9)) * (data.random((5, 1)) > 0.2)
    options = {"forward": {}, "backward": {"transposed": True, "allow_bound_management": False},
               "one-hot": {"allow_bound_management": False, "noise_management": False}}[kind]
    expected = _numpy_read(weights, inputs, io, np.random.default_rng(seed), **options)
    result = analog_mvm(weights, inputs, io, np.random.default_rng(seed), **options)
    np.testing.assert_array_equal(result.values, expected)
