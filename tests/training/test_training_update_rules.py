"""Hand-checked steps of the digital update rules (SPEC §6): buffer, choppers, the chopper/filter
block of AGAD and E-RIDER, RIDER's tracker."""

from __future__ import annotations

import numpy as np
import pytest

from emulator.algorithms.transfer_rules import (
    AutoScale,
    ChopperFilter,
    Choppers,
    ReadAverage,
    buffer_granularity,
    buffer_threshold,
    chopper_period,
)


def test_ttv2_buffer_thresholding_by_hand() -> None:
    # θ = 0.1; H starts at [0.05, -0.02, 0.0, 0.3]; lr·signal adds [0.06, -0.09, 0.05, 0.0].
    h0 = np.array([0.05, -0.02, 0.0, 0.3])
    signal = np.array([0.6, -0.9, 0.5, 0.0])
    h, n = buffer_threshold(h0, signal, learning_rate=0.1, threshold=0.1, max_steps=1, momentum=0.0)
    # H = [0.11, -0.11, 0.05, 0.3] → trunc(H/θ) = [1, -1, 0, 3] capped at ±1 → [1, -1, 0, 1].
    np.testing.assert_array_equal(n, [1, -1, 0, 1])
    # forget_buffer with momentum 0: every cell that fired is reset to 0, the rest keeps H.
    np.testing.assert_allclose(h, [0.0, 0.0, 0.05, 0.0], atol=1e-12)


def test_ttv2_buffer_momentum_and_subtract_modes() -> None:
    h0 = np.array([0.25, -0.05])
    signal = np.zeros(2)
    h, n = buffer_threshold(h0, signal, 1.0, threshold=0.1, max_steps=5, momentum=0.1, forget_buffer=True)
    np.testing.assert_array_equal(n, [2, 0])
    np.testing.assert_allclose(h, [0.025, -0.05])  # 0.1 × 0.25 kept; the other untouched
    h, n = buffer_threshold(h0, signal, 1.0, threshold=0.1, max_steps=5, momentum=0.1, forget_buffer=False)
    # subtract (1 − momentum)·n·θ = 0.9 × 2 × 0.1 = 0.18 from 0.25
    np.testing.assert_allclose(h, [0.07, -0.05])


def test_buffer_granularity_auto_scaling() -> None:
    # θ = thres_scale · dw_min · auto_granularity / (cols · transfer_every)
    assert buffer_granularity(0.002, 1.0, 1000, 65, 1.0) == pytest.approx(0.002 * 1000 / 65)
    assert buffer_granularity(0.002, 0.8, 0.0, 65, 1.0) == pytest.approx(0.0016)


def test_auto_scale_count_lr() -> None:
    scale = AutoScale(auto_momentum=0.99)
    scale.update(2.0, 0.5, batch_size=1)  # first value initializes
    assert (scale.m_x, scale.m_d) == (2.0, 0.5)
    scale.update(4.0, 0.5, batch_size=1)  # τ = 0.01
    assert scale.m_x == pytest.approx(0.99 * 2.0 + 0.01 * 4.0)
    # count_lr = fast_lr · BL · g / (m_x · m_d): fast_lr·BL pulses at the max element
    assert scale.count_lr(0.5, 31, 0.002) == pytest.approx(0.5 * 31 * 0.002 / (scale.m_x * 0.5))


def test_chopper_period_and_regular_flips() -> None:
    assert chopper_period(0.02) == 50
    assert chopper_period(0.05) == 20
    assert chopper_period(0.9) == 2
    choppers = Choppers(columns=4, in_chop_prob=0.5, random=False)  # period 2
    rng = np.random.default_rng(0)
    columns = np.arange(4)
    assert not choppers.flips(columns, sweep=0, rng=rng).any()  # (0 % 2) + 1 != 2
    assert choppers.flips(columns, sweep=1, rng=rng).all()
    np.testing.assert_array_equal(choppers.signs, -1.0)


def test_random_choppers_flip_at_the_given_rate() -> None:
    choppers = Choppers(columns=1000, in_chop_prob=0.1, random=True)
    flipped = choppers.flips(np.arange(1000), sweep=0, rng=np.random.default_rng(1))
    assert 60 < flipped.sum() < 140
    assert np.all(choppers.signs[flipped] == -1.0) and np.all(choppers.signs[~flipped] == 1.0)


def agad_block(columns: int = 1, in_chop_prob: float = 0.5) -> ChopperFilter:
    """The chopper/filter block as AGAD uses it (β = 0.5, regular choppers of period 2)."""
    return ChopperFilter(1, columns, 0.5, choppers=Choppers(columns, in_chop_prob, random=False),
                         gate="after_more_than_period", hold="at_next_read")


def test_agad_mu_past_refresh_at_first_read_after_flip() -> None:
    # One row, one column; β = 0.5. Reads 1.0, 3.0 under c = +1, flip, then read 5.0 under c = −1.
    agad = agad_block()
    col = np.array([0])
    rng = np.random.default_rng(0)
    s1 = agad.signal(col, np.array([[1.0]]))            # μ_past = 0: signal 1; μ = 0.5
    s2 = agad.signal(col, np.array([[3.0]]))            # signal 3; μ = 0.5·0.5 + 0.5·3 = 1.75
    assert (s1[0, 0], s2[0, 0]) == (1.0, 3.0)
    assert agad.mean[0, 0] == pytest.approx(1.75) and agad.held[0, 0] == 0.0
    np.testing.assert_array_equal(agad.flip(col, sweep=1, rng=rng), col)  # period 2: flips in sweep 1
    assert agad.choppers.signs[0] == -1.0 and agad.held[0, 0] == 0.0     # μ_past not taken yet
    s3 = agad.signal(col, np.array([[5.0]]))            # refresh: μ_past ← μ = 1.75 (before this read)
    assert agad.held[0, 0] == pytest.approx(1.75)
    assert s3[0, 0] == pytest.approx(-1.0 * (5.0 - 1.75))
    assert agad.mean[0, 0] == pytest.approx(0.5 * 1.75 + 0.5 * 5.0)
    s4 = agad.signal(col, np.array([[5.0]]))            # no flip since: μ_past stays
    assert agad.held[0, 0] == pytest.approx(1.75) and s4[0, 0] == pytest.approx(-3.25)


def test_write_gates_of_agad_and_erider() -> None:
    """No W writes in the first chopper period: AGAD once sweeps > N, E-RIDER once sweeps ≥ N."""
    agad = agad_block(in_chop_prob=0.02)  # N = 50
    erider = ChopperFilter(1, 1, 0.5, choppers=Choppers(1, 0.02, random=False), gate="after_period", hold="at_flip")
    assert [agad.writes_allowed(s) for s in (49, 50, 51)] == [False, False, True]
    assert [erider.writes_allowed(s) for s in (49, 50, 51)] == [False, True, True]


def test_rider_signal_uses_old_q() -> None:
    tracker = ReadAverage(rows=2, columns=3, rate=0.25)
    tracker.mean[:, 1] = [0.4, -0.4]
    signal = tracker.residual(np.array([1]), np.array([[1.0], [0.0]]))
    np.testing.assert_allclose(signal[:, 0], [0.6, 0.4])                # read − Q_old
    np.testing.assert_allclose(tracker.mean[:, 1], [0.55, -0.3])        # Q ← 0.75 Q + 0.25 read


def test_erider_signal_and_sync() -> None:
    block = ChopperFilter(1, 2, 0.5, choppers=Choppers(2, 0.5, random=False), gate="after_period", hold="at_flip")
    block.choppers.signs[1] = -1.0
    block.held[0] = [0.2, 0.2]
    signal = block.signal(np.array([0, 1]), np.array([[1.0, 1.0]]))
    np.testing.assert_allclose(signal, [[0.8, -0.8]])                   # c·(read − Q̃)
    np.testing.assert_allclose(block.mean, [[0.5, 0.5]])                # Q is the EMA of raw reads
    np.testing.assert_allclose(block.held, [[0.2, 0.2]])                # Q̃ unchanged until a flip
    flipped = block.flip(np.array([1]), sweep=1, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(flipped, [1])
    np.testing.assert_allclose(block.held, [[0.2, 0.5]])                # synced at the flip
