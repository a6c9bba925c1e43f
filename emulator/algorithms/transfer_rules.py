"""Digital update rules of the transfer-based algorithms (SPEC §6), as pure numpy.

These are the controller's arithmetic only: no commands, no simulated time. The training
programs call them and charge every operation with a `Digital` command. Keeping them pure
makes each rule checkable by hand (tests/training/test_update_rules.py).

Conventions: a *chunk* is a set of distinct columns `J` of one layer read in one transfer
event; per-column state is stored as rows × cols arrays and updated on `[:, J]`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


def buffer_threshold(
    buffer: np.ndarray,
    signal: np.ndarray,
    learning_rate: float,
    threshold: float,
    max_steps: int,
    momentum: float = 0.0,
    forget_buffer: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """TT-v2 buffer step: H += lr·signal; fire trunc(H/θ) pulses (capped) where |H| ≥ θ.

    After firing, `forget_buffer` keeps momentum·H (the reference simulator's default);
    otherwise the fired amount is subtracted, H −= (1 − momentum)·n·θ. Returns the new
    buffer and the signed pulse counts n (int64), both the shape of `buffer`.
    """
    h = buffer + learning_rate * signal
    scaled = h / threshold
    fire = np.abs(scaled) >= 1.0
    steps = np.where(fire, np.clip(np.trunc(scaled), -max_steps, max_steps), 0.0)
    if forget_buffer:
        h = np.where(fire, momentum * h, h)
    else:
        h = h - (1.0 - momentum) * steps * threshold
    return h, steps.astype(np.int64)


def buffer_granularity(weight_granularity: float, thres_scale: float, auto_granularity: float,
                       columns: int, transfer_every: float) -> float:
    """Threshold θ of the transfer buffer in weight units.

    θ = thres_scale · granularity, scaled by auto_granularity / (columns · transfer_every)
    when auto_granularity > 0 (the reference simulator's rule: about auto_granularity
    reads of a column to cross the threshold at unit signal).
    """
    theta = thres_scale * weight_granularity
    if auto_granularity > 0:
        theta *= auto_granularity / (columns * transfer_every)
    return theta


@dataclass
class AutoScale:
    """Running max |x| and max |d| (the reference simulator's `auto_scale`).

    The fast array then gets count_lr = fast_lr · desired_bl · granularity / (m_x · m_d): a
    train of about fast_lr · desired_bl pulses at the largest element, whatever the raw
    gradient magnitude.
    """

    auto_momentum: float = 0.99
    m_x: float = 0.0
    m_d: float = 0.0

    def update(self, x_max: float, d_max: float, batch_size: int) -> None:
        tau = (1.0 - self.auto_momentum) / max(batch_size, 1)
        if x_max > 0:
            self.m_x = x_max if self.m_x <= 0 else (1.0 - tau) * self.m_x + tau * x_max
        if d_max > 0:
            self.m_d = d_max if self.m_d <= 0 else (1.0 - tau) * self.m_d + tau * d_max

    def count_lr(self, fast_lr: float, desired_bl: int, granularity: float) -> float:
        lr = fast_lr * desired_bl * granularity
        if self.m_x > 0 and self.m_d > 0:
            lr /= self.m_x * self.m_d
        return lr


def chopper_period(in_chop_prob: float) -> int:
    """N = max(⌈1/in_chop_prob⌉, 2): reads of a column per (regular) chopper period."""
    if in_chop_prob <= 0:
        return 2
    return max(math.ceil(1.0 / in_chop_prob - 1e-9), 2)


@dataclass
class Choppers:
    """Per-column sign choppers c ∈ {±1}: flipped after a column's read.

    Random: each read flips with probability `in_chop_prob`. Regular (periodic): every
    column flips at its read in every N-th sweep (N = chopper_period), i.e. once per
    N reads of that column. `in_chop_prob` = 0 keeps c ≡ +1 (no chopping).
    """

    columns: int
    in_chop_prob: float
    random: bool
    signs: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.signs = np.ones(self.columns)

    @property
    def period(self) -> int:
        return chopper_period(self.in_chop_prob)

    def flips(self, columns: np.ndarray, sweep: int, rng: np.random.Generator) -> np.ndarray:
        """Which of the just-read `columns` flip now (bool mask), and flip them."""
        if self.in_chop_prob <= 0:
            return np.zeros(columns.size, dtype=bool)
        if self.random:
            mask = rng.random(columns.size) < self.in_chop_prob
        else:
            mask = np.full(columns.size, (sweep % self.period) + 1 == self.period)
        self.signs[columns[mask]] *= -1.0
        return mask


@dataclass
class AgadFilter:
    """AGAD's per-cell statistics ([R24], reference simulator's DynamicTransfer).

    μ: EMA of raw reads, β = min(tail_weightening/N, 1). μ_past: set to μ at the first read
    after the column's chopper flipped. Transfer signal c·(v − μ_past).
    """

    rows: int
    columns: int
    beta: float
    mu: np.ndarray = field(init=False)
    mu_past: np.ndarray = field(init=False)
    switched: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.mu = np.zeros((self.rows, self.columns))
        self.mu_past = np.zeros((self.rows, self.columns))
        self.switched = np.zeros(self.columns, dtype=bool)

    def signal(self, columns: np.ndarray, reads: np.ndarray, signs: np.ndarray) -> np.ndarray:
        """Transfer signal for reads (rows × len(columns)) under the current chopper signs."""
        refresh = columns[self.switched[columns]]
        self.mu_past[:, refresh] = self.mu[:, refresh]
        self.switched[columns] = False
        signal = signs[columns] * (reads - self.mu_past[:, columns])
        self.mu[:, columns] += self.beta * (reads - self.mu[:, columns])
        return signal

    def mark_flipped(self, columns: np.ndarray) -> None:
        self.switched[columns] = True


@dataclass
class SymmetricPointTracker:
    """RIDER's digital SP estimate Q of the fast array: Q ← (1 − η)·Q + η·read (per column).

    `frozen` is Q̃, E-RIDER's copy of Q refreshed only when a column's chopper flips.
    """

    rows: int
    columns: int
    eta: float
    q: np.ndarray = field(init=False)
    frozen: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.q = np.zeros((self.rows, self.columns))
        self.frozen = np.zeros((self.rows, self.columns))

    def rider_signal(self, columns: np.ndarray, reads: np.ndarray) -> np.ndarray:
        """RIDER: signal read − Q_old, then Q ← EMA with the read."""
        signal = reads - self.q[:, columns]
        self.q[:, columns] += self.eta * (reads - self.q[:, columns])
        return signal

    def erider_signal(self, columns: np.ndarray, reads: np.ndarray, signs: np.ndarray) -> np.ndarray:
        """E-RIDER: signal c·(read − Q̃), then Q ← EMA with the read."""
        signal = signs[columns] * (reads - self.frozen[:, columns])
        self.q[:, columns] += self.eta * (reads - self.q[:, columns])
        return signal

    def sync(self, columns: np.ndarray) -> np.ndarray:
        """Q̃ ← Q on the given columns; returns the new Q̃ columns (rows × len(columns))."""
        self.frozen[:, columns] = self.q[:, columns]
        return self.frozen[:, columns]
