"""Compiled emulator kernels (emulator/_kernels.py) against the numpy they replace."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator._kernels import accumulate_signed_counts, pack_firing_bits, signed_coincidences

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True)


@SETTINGS
@given(rows=st.integers(1, 9), cols=st.integers(1, 9), slots=st.integers(1, 200), seed=st.integers(0, 2**16))
def test_signed_coincidences_equal_the_matrix_product_of_firing_bits(rows, cols, slots, seed) -> None:
    """Any number of slots (several 64-bit words included): n_ij = s_i·s_j·Σ_t r_ti·c_tj exactly,
    and the lines fired per slot are counted."""
    rng = np.random.default_rng(seed)
    row_uniforms = rng.random((slots, rows), dtype=np.float32)
    column_uniforms = rng.random((slots, cols), dtype=np.float32)
    row_probability = rng.random(rows, dtype=np.float32)
    column_probability = rng.random(cols, dtype=np.float32)
    row_sign = rng.choice([-1, 1], rows).astype(np.int32)
    column_sign = rng.choice([-1, 1], cols).astype(np.int32)
    row_fires = row_uniforms < row_probability
    column_fires = column_uniforms < column_probability
    row_words, rows_fired = pack_firing_bits(row_uniforms, row_probability)
    column_words, columns_fired = pack_firing_bits(column_uniforms, column_probability)
    counts = np.empty((rows, cols), np.int32)
    signed_coincidences(row_words, column_words, row_sign, column_sign, counts)
    expected = (row_fires.astype(np.int64).T @ column_fires.astype(np.int64)) * np.outer(row_sign, column_sign)
    np.testing.assert_array_equal(counts, expected)
    np.testing.assert_array_equal(rows_fired, row_fires.sum(axis=1))
    np.testing.assert_array_equal(columns_fired, column_fires.sum(axis=1))


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
