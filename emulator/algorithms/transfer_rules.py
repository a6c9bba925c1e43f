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
from typing import Literal

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


ChopperPath = Literal["cpu", "cuda"]
"""Which of the reference simulator's code paths regular choppers follow: its CPU path flips a
column at its read in sweeps N−1, 2N−1, … (`transfer_counter % N + 1 == N`); its CUDA path, which
the [DSPT] authors ran, in sweeps 0, N, 2N, … (`(weight output / columns) % ⌈1/p⌉ == 0`,
pwu_kernel.h `updateChopper`), so the first chopper period lasts one sweep."""


@dataclass
class Choppers:
    """Per-column sign choppers c ∈ {±1}: flipped after a column's read.

    Random: each read flips with probability `in_chop_prob`. Regular (periodic): every
    column flips at its read in every N-th sweep (N = chopper_period), i.e. once per
    N reads of that column; `path` says in which sweeps (`ChopperPath`). `in_chop_prob` = 0
    keeps c ≡ +1 (no chopping).
    """

    columns: int
    in_chop_prob: float
    random: bool
    path: ChopperPath = "cpu"
    signs: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.signs = np.ones(self.columns)

    @property
    def period(self) -> int:
        return chopper_period(self.in_chop_prob)

    def regular_flip(self, sweep: int) -> bool:
        """Whether regular choppers flip at their reads in sweep `sweep` (0-based)."""
        if self.path == "cuda":  # ⌈1/p⌉ without the CPU path's floor of 2
            return sweep % max(math.ceil(1.0 / self.in_chop_prob - 1e-9), 1) == 0
        return (sweep % self.period) + 1 == self.period

    def flips(self, columns: np.ndarray, sweep: int, rng: np.random.Generator) -> np.ndarray:
        """Which of the just-read `columns` flip now (bool mask), and flip them."""
        if self.in_chop_prob <= 0:
            return np.zeros(columns.size, dtype=bool)
        if self.random:
            mask = rng.random(columns.size) < self.in_chop_prob
        else:
            mask = np.full(columns.size, self.regular_flip(sweep))
        self.signs[columns[mask]] *= -1.0
        return mask


WriteGate = Literal["after_period", "after_more_than_period"]
"""When the chopper/filter block lets transfers write W: once N sweeps are done (E-RIDER,
`sweeps ≥ N`) or once more than N are (AGAD, `sweeps > N`, the reference simulator's CPU path)."""
HoldMode = Literal["at_flip", "at_next_read"]
"""When the held copy of the mean is taken after a column's chopper flips: at the flip (E-RIDER's
Q̃, which the effective weight uses) or at that column's next read (AGAD's μ_past, as the
reference simulator's state shows it; the signals are the same)."""


@dataclass
class ReadAverage:
    """EMA of a layer's column reads of P, per cell: mean ← (1 − rate)·mean + rate·read.

    RIDER's digital SP estimate Q (rate η); the base of the chopper/filter block.
    """

    rows: int
    columns: int
    rate: float
    mean: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.mean = np.zeros((self.rows, self.columns))

    def update(self, columns: np.ndarray, reads: np.ndarray) -> None:
        """Fold the reads (rows × len(columns)) of those columns into the mean."""
        self.mean[:, columns] += self.rate * (reads - self.mean[:, columns])

    def residual(self, columns: np.ndarray, reads: np.ndarray) -> np.ndarray:
        """RIDER's signal: read − mean as it was before this read; then the read goes into the mean."""
        signal = reads - self.mean[:, columns]
        self.update(columns, reads)
        return signal


@dataclass
class ChopperFilter(ReadAverage):
    """The chopper/filter block AGAD and E-RIDER share, for one layer ([R24], [DSPT] Alg. 3).

    Per-column choppers c; `mean`, the EMA of raw reads (AGAD's μ, E-RIDER's Q); `held`, the
    mean as it was at the column's last chopper flip (AGAD's μ_past, E-RIDER's Q̃). Transfer
    signal c·(read − held), then the read goes into the mean. No writes to W during the first
    chopper period (`gate`).
    """

    choppers: Choppers = field(kw_only=True)
    gate: WriteGate = field(kw_only=True)
    hold: HoldMode = field(kw_only=True)
    held: np.ndarray = field(init=False)
    pending: np.ndarray = field(init=False)
    """Columns flipped whose held copy is taken at their next read (hold = "at_next_read")."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.held = np.zeros((self.rows, self.columns))
        self.pending = np.zeros(self.columns, dtype=bool)

    def signal(self, columns: np.ndarray, reads: np.ndarray) -> np.ndarray:
        """Transfer signal for reads (rows × len(columns)) under the current chopper signs."""
        refresh = columns[self.pending[columns]]
        self.held[:, refresh] = self.mean[:, refresh]
        self.pending[columns] = False
        signal = self.choppers.signs[columns] * (reads - self.held[:, columns])
        self.update(columns, reads)
        return signal

    def writes_allowed(self, sweeps: int) -> bool:
        """Whether transfers may write W after `sweeps` completed sweeps of the columns."""
        period = self.choppers.period
        return sweeps > period if self.gate == "after_more_than_period" else sweeps >= period

    def flip(self, columns: np.ndarray, sweep: int, rng: np.random.Generator) -> np.ndarray:
        """Flip the choppers of the just-read `columns` that flip now; returns those columns."""
        flipped = columns[self.choppers.flips(columns, sweep, rng)]
        if self.hold == "at_flip":
            self.held[:, flipped] = self.mean[:, flipped]
        else:
            self.pending[flipped] = True
        return flipped
