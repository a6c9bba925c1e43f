"""The counter-based c2c normal stream (devices/_random.py): a pure function of key and position,
so any split of a range of positions (chunks on two threads) gives the same bits; normal to
within sampling error; independent across positions, updates and arrays."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from devices import DeviceArray, SoftBoundsConfig
from devices._random import NormalStream, fill_normals_updates

from test_device_properties import PROPERTY_SETTINGS


def _stream(seed: int = 0) -> NormalStream:
    return NormalStream(np.random.SeedSequence(seed))


@PROPERTY_SETTINGS
@given(update=st.integers(0, 2**31 - 2), offset=st.integers(0, 1000), size=st.integers(0, 3000),
       cuts=st.lists(st.integers(0, 3000), max_size=5), seed=st.integers(0, 2**16))
def test_any_split_of_positions_gives_the_same_bits(update, offset, size, cuts, seed) -> None:
    stream = _stream(seed)
    whole = stream.fill(np.empty(size, np.float32), update, offset)
    pieces = np.empty(size, np.float32)
    bounds = sorted({0, size, *(cut for cut in cuts if cut < size)})
    for start, stop in zip(bounds[:-1], bounds[1:]):  # odd and even starts, in any order
        stream.fill(pieces[start:stop], update, offset + start)
    np.testing.assert_array_equal(pieces, whole)
    np.testing.assert_array_equal(stream.fill(np.empty(size), update, offset).astype(np.float32), whole)


def test_updates_in_one_call_equal_one_fill_per_update() -> None:
    stream = _stream(3)
    sizes = np.array([0, 5, 1, 4096, 7, 0, 33])
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    together = np.empty(int(offsets[-1]), np.float32)
    fill_normals_updates(stream.key0, stream.key1, 10, offsets, together)
    one_by_one = [stream.fill(np.empty(size, np.float32), 10 + u) for u, size in enumerate(sizes)]
    np.testing.assert_array_equal(together, np.concatenate(one_by_one))


def test_draws_are_standard_normal() -> None:
    """Moments, the KS distance and the tails of 4 M draws, at 5 standard errors."""
    stream = _stream(7)
    n = 1 << 22
    x = stream.draw(n, np.float32).astype(np.float64)
    assert abs(x.mean()) < 5 / np.sqrt(n)
    assert abs(x.var() - 1.0) < 5 * np.sqrt(2.0 / n)
    assert abs(stats.skew(x)) < 5 * np.sqrt(6.0 / n)
    assert abs(stats.kurtosis(x)) < 5 * np.sqrt(24.0 / n)
    assert stats.kstest(x[: 1 << 20], "norm").pvalue > 1e-4
    tail = 2 * stats.norm.sf(3.5)
    assert abs(np.mean(np.abs(x) > 3.5) - tail) < 5 * np.sqrt(tail / n)
    assert np.abs(x).max() <= 6.67  # u₁ ≥ 2⁻³²


def test_neighbouring_draws_updates_and_streams_are_uncorrelated() -> None:
    n = 1 << 20
    bound = 5 / np.sqrt(n)
    first, second = _stream(1), _stream(2)
    a = first.draw(n + 1, np.float32).astype(np.float64)
    b = first.draw(n, np.float32).astype(np.float64)  # the next update
    c = second.draw(n + 1, np.float32).astype(np.float64)  # another array's stream
    for x, y in ((a[:-1], a[1:]), (a[0:-1:2], a[1::2]), (a[:n], b), (a, c)):
        assert abs(np.corrcoef(x, y)[0, 1]) < bound
    # Pairs of one hash (cos, sin halves) are independent as a 2-D normal: radius² ~ χ²₂.
    assert stats.kstest(a[0:-1:2] ** 2 + a[1::2] ** 2, "chi2", args=(2,)).pvalue > 1e-4


def test_arrays_seeded_alike_draw_alike_and_each_update_is_fresh() -> None:
    config = SoftBoundsConfig(dw_min_std=0.3)
    one, two, other = (DeviceArray(config, (8, 8), seed=seed) for seed in (4, 4, 5))
    assert (one._engine.normals.key0, one._engine.normals.key1) == (two._engine.normals.key0,
                                                                     two._engine.normals.key1)
    assert one._engine.normals.key0 != other._engine.normals.key0
    first = one._engine.normals.draw(16, np.float32)
    assert not np.array_equal(first, one._engine.normals.draw(16, np.float32))
    np.testing.assert_array_equal(first, two._engine.normals.draw(16, np.float32))


def test_one_update_holds_at_most_two_to_the_32_draws() -> None:
    stream = _stream()
    with pytest.raises(ValueError, match="exceed"):
        stream.fill(np.lib.stride_tricks.as_strided(np.empty(1, np.float32), (1 << 32,), (0,)))
