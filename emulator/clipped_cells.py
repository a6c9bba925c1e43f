"""Clipping at the bounds, for the moment predictor (emulator/prediction.py): how far it can move
each cell's moments, and the cells emulated instead because their moments mean nothing unclipped.

**Shift bound.** Couple the clipped and the unclipped process of a cell (same pulse signs, same
c2c draws). A pulse maps their gap d by the factor 1 + S(1 + σξ) (its mean absolute value is at
most κ = √((1 + S)² + n₂), n₂ the noise's g² coefficient), and clipping adds at most the amount
by which the unclipped value lies beyond a bound (projection onto an interval is non-expansive
toward its points). So E|d_N| ≤ Σ_{n<N} κ^{N−1−n}·E[o_n], o_n the unclipped state's excess beyond
the bounds after pulse n. E[o_n] is bounded under a Gaussian closure of the unclipped state
(Mills' ratio, exp only), on a grid of n (dense at first, log-spaced after), each grid segment
counted at the larger of its two ends. The mean error moves by at most the mean of E|d_N|; the
mean square by at most 3·span·E|d_N| per cell (|E e_c² − E e_u²| = |E d·(e_c + e_u)|, with
|e_c| ≤ span and, while the unclipped state stays within a range of the bounds, |d| ≤ span).

**Emulated cells.** A cell whose single pulse overshoots its fixed point (λ ≤ 0, e.g. a sampled
bound a pulse away from the symmetric point) has diverging unclipped moments: `REPLICAS` copies
of it are pulsed by the device's own pulse engine, their moments recorded at every pulse up to
`MIXING_PULSES` (such cells forget their start in a few pulses) and held stationary after.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from devices import DeviceArray
from devices.moments import MomentMap

REPLICAS = 64
MIXING_PULSES = 256
#: At most this many cells are emulated (further overshooting cells are only kept in range).
MAX_EMULATED_CELLS = 4096
_INV_SQRT_2PI = 1.0 / np.sqrt(2.0 * np.pi)
_DENSE_STEPS = 16
_LOG_POINTS = 32
_FAR = 12.0

Moments = Callable[[int, np.ndarray | None], tuple[np.ndarray, np.ndarray]]
"""(steps, cells or None for all) → the unclipped mean and variance of g − centre of those cells."""


def overshooting(*maps: MomentMap) -> np.ndarray:
    """Cells for which a map flips or blows up the state instead of contracting it (λ ≤ 0 or μ ≤ 0)."""
    flags = np.zeros(np.shape(maps[0].rate), dtype=bool)
    for map_ in maps:
        flags |= (map_.rate <= -1.0) | (map_.square_rate <= -1.0) | ~np.isfinite(map_.rate)
    return flags


def pulse_gain(map_: MomentMap) -> np.ndarray:
    """κ ≥ E|1 + S(1 + σξ)|: how much one pulse can stretch the gap between two copies of a cell."""
    slope = map_.rate
    noise_square = map_.square_rate - 2.0 * slope - slope * slope  # n₂ of d = 2S + S² + n₂
    return np.sqrt((1.0 + slope) ** 2 + np.maximum(noise_square, 0.0))


def expected_excess(mean: np.ndarray, variance: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Upper bound of E[(X − high)⁺ + (low − X)⁺] for X ~ N(mean, variance): s·φ(z)/(1 + z²) when
    the bound is z > 0 standard deviations s away (Mills' ratio), else the distance plus s·φ(0)."""
    std = np.sqrt(np.maximum(variance, 0.0))
    total = np.zeros_like(mean)
    for distance in (high - mean, mean - low):
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            z = distance / std
            tail = std * _INV_SQRT_2PI * np.exp(-0.5 * z * z) / (1.0 + z * z)
        inside = np.where(std > 0, tail, 0.0)
        total += np.where(distance > 0, inside, -distance + std * _INV_SQRT_2PI)
    return np.nan_to_num(total, nan=np.inf)


def shift_bound(moments: Moments, steps: int, centre: np.ndarray, low: np.ndarray, high: np.ndarray,
                gain: np.ndarray) -> np.ndarray:
    """Per-cell bound on E|g_clipped − g_unclipped| after `steps` pulses (see the module docstring);
    `moments(n, cells)` gives the unclipped moments of g − centre after n pulses. Cells more than
    `_FAR` standard deviations from both bounds on a coarse grid are skipped (bound < 10⁻³⁰)."""
    grid = sorted({n for n in range(1, min(steps, _DENSE_STEPS) + 1)}
                  | {int(n) for n in np.geomspace(1, max(steps, 1), _LOG_POINTS)} | {steps})
    grid = [n for n in grid if 1 <= n <= steps]
    near = np.zeros(centre.shape, dtype=bool)
    for n in grid[::4] + [grid[-1]] if grid else []:
        mean, variance = moments(n, None)
        g = centre + mean
        with np.errstate(invalid="ignore"):
            near |= ~(np.minimum(high - g, g - low) > _FAR * np.sqrt(variance))
    cells = np.flatnonzero(near)
    total = np.zeros_like(centre)
    if cells.size == 0:
        return total
    pick = (centre[cells], low[cells], high[cells], gain[cells])
    excess = {}
    for n in grid:
        mean, variance = moments(n, cells)
        excess[n] = expected_excess(pick[0] + mean, variance, pick[1], pick[2])
    part = np.zeros(cells.size)
    previous = 0
    with np.errstate(over="ignore", invalid="ignore"):
        for n in grid:
            worst = np.maximum(excess[n], excess.get(previous, excess[n]))
            # pulses previous+1 … n, each stretched by κ^{steps − k} ≤ κ^{steps − n} (κ ≤ 1) or κ^{steps − previous}
            stretch = np.where(pick[3] <= 1.0, pick[3] ** (steps - n), pick[3] ** (steps - previous))
            part += (n - previous) * worst * stretch
            previous = n
    total[cells] = np.nan_to_num(part, nan=np.inf)
    return total


class EmulatedCells:
    """Per-pulse mean and variance of e = g − SP of some cells, from replicas of each."""

    def __init__(self, array: DeviceArray, cells: np.ndarray, start: np.ndarray, symmetric_point: np.ndarray,
                 method: str, seed: int = 0) -> None:
        self.cells = cells
        self.period = 1 if method == "stochastic" else 2
        count = cells.size
        replicas = DeviceArray(array.config, (count * REPLICAS, 1), seed=np.random.SeedSequence([seed, 7]))
        for name, value in replicas.parameters.items():
            value[...] = np.repeat(array.parameters[name].reshape(-1)[cells], REPLICAS).reshape(value.shape)
        replicas.set_conductance(np.repeat(start[cells], REPLICAS).reshape(-1, 1))
        rng = np.random.default_rng(np.random.SeedSequence([seed, 8]))
        sp = symmetric_point[cells][:, None]
        self.mean = np.empty((MIXING_PULSES + 1, count))
        self.variance = np.empty((MIXING_PULSES + 1, count))
        self._record(0, replicas, sp)
        for step in range(1, MIXING_PULSES + 1):
            if method == "cyclic":
                replicas.pulse_all(1 if step % 2 else -1)
            else:
                replicas.pulse_up_mask(rng.random(replicas.shape) < 0.5)
            self._record(step, replicas, sp)

    def _record(self, step: int, replicas: DeviceArray, sp: np.ndarray) -> None:
        error = replicas.g.astype(np.float64).reshape(-1, REPLICAS) - sp
        self.mean[step] = error.mean(axis=1)
        self.variance[step] = error.var(axis=1, ddof=1)

    def moments(self, steps: int) -> tuple[np.ndarray, np.ndarray]:
        """The recorded moments after `steps` pulses (the last recorded of the same parity after)."""
        if steps > MIXING_PULSES:
            steps = MIXING_PULSES - (MIXING_PULSES - steps) % self.period
        return self.mean[steps], self.variance[steps]
