"""Exact first and second moments of a cell under pulses of an affine step law (SPEC §1.2–1.4).

A pulse of an affine law moves a cell's conductance as g' = (1 + S)·g + A + n, where the c2c
noise n has zero mean and a variance that is a quadratic in g (multiplicative noise:
σ²(A + S·g)²; additive: σ_s², a constant). Its effect on the pair (E g, E g²) is affine:

    E g'  = A + (1 + S)·E g
    E g'² = c + b·E g + (1 + d)·E g²,   c = A² + n₀, b = 2A(1 + S) + n₁, d = 2S + S² + n₂

a lower-triangular 3×3 matrix on (1, E g, E g²), one per cell (`MomentMap`). A fixed sequence
of pulses is the product of their maps, a fair random choice between two pulses is their
average, and N repetitions are the N-th power, evaluated here in closed form: its cost does
not depend on N. Rates are stored as λ − 1 and μ − 1, so maps that contract by 1 − 10⁻⁶ per
pulse keep their precision. The moments are exact while no pulse is clipped at a bound (the
caller checks that clipping cannot matter).

`affine_pulse_maps` reads the coefficients exactly as the compiled pulse kernels apply them
(state dtype, devices/_kernels.py), so predictions describe the emulated array itself;
`linearized_pulse_maps` gives the tangent maps of any law at given points (an approximation).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from devices._kernels import repeated_affine_power
from devices.array import DeviceArray

#: Relative distance below which two rates count as equal in the divided difference.
_SAME_RATE = 1e-12


@dataclass(frozen=True)
class MomentMap:
    """Per-cell affine map of (E g, E g²): m' = offset + (1 + rate)·m,
    M' = square_offset + cross·m + (1 + square_rate)·M (arrays broadcast over cells)."""

    offset: np.ndarray
    rate: np.ndarray
    square_offset: np.ndarray
    cross: np.ndarray
    square_rate: np.ndarray

    @classmethod
    def of_pulse(cls, offset: np.ndarray, slope: np.ndarray, noise: tuple[np.ndarray, ...]) -> "MomentMap":
        """One pulse g' = (1 + slope)·g + offset + n with Var n = noise[0] + noise[1]·g + noise[2]·g²."""
        n0, n1, n2 = noise
        return cls(offset, slope, offset * offset + n0, 2.0 * offset * (1.0 + slope) + n1,
                   2.0 * slope + slope * slope + n2)

    def then(self, later: "MomentMap") -> "MomentMap":
        """This map followed by `later` (the matrix product later · self)."""
        lam, mu = 1.0 + later.rate, 1.0 + later.square_rate
        with np.errstate(over="ignore", invalid="ignore"):
            return self._product(later, lam, mu)

    def _product(self, later: "MomentMap", lam: np.ndarray, mu: np.ndarray) -> "MomentMap":
        return MomentMap(
            later.offset + lam * self.offset,
            self.rate + later.rate + self.rate * later.rate,
            later.square_offset + later.cross * self.offset + mu * self.square_offset,
            later.cross * (1.0 + self.rate) + mu * self.cross,
            self.square_rate + later.square_rate + self.square_rate * later.square_rate,
        )

    @staticmethod
    def average(first: "MomentMap", second: "MomentMap") -> "MomentMap":
        """A fair coin between two maps (stochastic zero-shifting's ±1 pulse)."""
        return MomentMap(*(0.5 * (a + b) for a, b in zip(first.fields(), second.fields())))

    def fields(self) -> tuple[np.ndarray, ...]:
        return self.offset, self.rate, self.square_offset, self.cross, self.square_rate

    def select(self, cells: np.ndarray) -> "MomentMap":
        """The maps of some cells (an index into the flat per-cell arrays)."""
        return MomentMap(*(value[cells] for value in self.fields()))

    def apply(self, mean: np.ndarray, variance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and variance after one application of the map."""
        with np.errstate(over="ignore", invalid="ignore"):
            square = variance + mean * mean
            new_mean = self.offset + (1.0 + self.rate) * mean
            new_square = self.square_offset + self.cross * mean + (1.0 + self.square_rate) * square
            return new_mean, new_square - new_mean * new_mean

    def power(self, steps: int) -> "MomentMap":
        """The map applied `steps` times, by repeated squaring (O(log steps) products)."""
        result: MomentMap | None = None
        square = self
        while steps:
            if steps & 1:
                result = square if result is None else result.then(square)
            steps >>= 1
            if steps:
                square = square.then(square)
        if result is None:
            zero = np.zeros_like(self.offset)
            return MomentMap(zero, zero, zero, zero, zero)
        return result


@dataclass(frozen=True)
class RepeatedMap:
    """A map raised to any power in closed form. Cells that contract (λ = 1 + rate ∈ (0, 1),
    μ > 0) are written about their fixed point x*, where m_n = λⁿ·m₀ and
    M_n = μⁿ·M₀ + c·(μⁿ − 1)/(μ − 1) + b·m₀·(λⁿ − μⁿ)/(λ − μ); the others (no contraction, or a
    pulse that overshoots, λ ≤ 0) by repeated squaring."""

    base: MomentMap
    fixed_point: np.ndarray
    """Stationary first moment of each contracting cell (NaN for the others)."""
    shifted: MomentMap
    """The map in coordinates centred on the fixed point (offset 0)."""
    contracting: np.ndarray
    _logs: tuple[np.ndarray, ...]
    _origin: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_origin", np.where(self.contracting, self.fixed_point, 0.0))

    @classmethod
    def of(cls, base: MomentMap) -> "RepeatedMap":
        rate = np.asarray(base.rate, dtype=np.float64)
        square_rate = np.broadcast_to(base.square_rate, rate.shape)
        contracting = (rate < 0.0) & (rate > -1.0) & (square_rate > -1.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            point = np.where(contracting, -base.offset / np.where(contracting, rate, 1.0), np.nan)
            x0 = np.where(contracting, point, 0.0)
            square_offset = base.square_offset + x0 * (base.cross - 2.0 * base.offset) \
                + x0 * x0 * (square_rate - 2.0 * rate)
            cross = base.cross + 2.0 * x0 * (square_rate - rate)
            log_rate, log_square = np.log1p(np.where(contracting, rate, 0.0)), np.log1p(np.where(contracting, square_rate, 0.0))
        gap = rate - square_rate
        same = np.abs(gap) <= _SAME_RATE * np.maximum(np.maximum(np.abs(rate), np.abs(square_rate)), 1e-300)
        shifted = MomentMap(np.zeros_like(rate), rate, np.ascontiguousarray(square_offset, dtype=np.float64),
                            np.ascontiguousarray(cross, dtype=np.float64), np.array(square_rate))
        contiguous = (np.ascontiguousarray(value, dtype=np.float64) for value in (
            log_rate, log_square, np.where(same, 1.0, gap), same, np.where(contracting, square_rate, 0.0)))
        logs = tuple(contiguous)
        return cls(base, point, shifted, contracting, logs)

    def select(self, cells: np.ndarray) -> "RepeatedMap":
        """The same for some cells only (an index into the flat per-cell arrays)."""
        return RepeatedMap(self.base.select(cells), self.fixed_point[cells], self.shifted.select(cells),
                           self.contracting[cells], tuple(value[cells] for value in self._logs))

    def moments(self, steps: int, mean: np.ndarray, variance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and variance of every cell after `steps` applications, from (mean, variance)."""
        x0 = self.origin
        centred = mean - x0
        first, second = self.centred_power(steps, centred, centred * centred + variance)
        with np.errstate(over="ignore", invalid="ignore"):
            second -= first * first
            first += x0
            return first, np.maximum(second, 0.0, out=second)

    @property
    def origin(self) -> np.ndarray:
        """Each cell's centre: its fixed point where it contracts, 0 elsewhere."""
        return self._origin

    def raw(self, steps: int, first: np.ndarray, second: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(m_n, M_n) from (m₀, M₀): the map applied `steps` times to any pair it describes."""
        x0 = self.origin
        new_first, new_second = self.centred_power(steps, first - x0, second - 2.0 * x0 * first + x0 * x0)
        return x0 + new_first, new_second + 2.0 * x0 * new_first + x0 * x0

    def centred_power(self, steps: int, first: np.ndarray, second: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(m_n, M_n) in the coordinates centred on each contracting cell's fixed point (plain
        coordinates for the others)."""
        if steps == 0:
            return first.copy(), second.copy()
        log_rate, log_square, gap, same, square_rate = self._logs
        new_first, new_second = np.empty_like(first), np.empty_like(second)
        repeated_affine_power(float(steps), np.ascontiguousarray(first, dtype=np.float64),
                              np.ascontiguousarray(second, dtype=np.float64), log_rate, log_square, square_rate, gap,
                              same, self.shifted.square_offset, self.shifted.cross, new_first, new_second)
        if not self.contracting.all():
            others = np.flatnonzero(~self.contracting)
            with np.errstate(over="ignore", invalid="ignore"):  # diverging cells: inf/NaN, handled by the caller
                powered = self.base.select(others).power(steps)
                new_first[others] = powered.offset + (1.0 + powered.rate) * first[others]
                new_second[others] = powered.square_offset + powered.cross * first[others] \
                    + (1.0 + powered.square_rate) * second[others]
        return new_first, new_second


# ------------------------------------------------------------------------------ pulse maps
def _noise_terms(offset: np.ndarray, slope: np.ndarray, sigma: float, additive_std: np.ndarray | None
                 ) -> tuple[np.ndarray, ...]:
    """Coefficients (n₀, n₁, n₂) of Var n = n₀ + n₁·g + n₂·g²."""
    zero = np.zeros_like(offset)
    if additive_std is not None:
        return additive_std * additive_std, zero, zero
    s2 = sigma * sigma
    return s2 * offset * offset, 2.0 * s2 * offset * slope, s2 * slope * slope


def affine_pulse_maps(array: DeviceArray, centre: np.ndarray) -> tuple[MomentMap, MomentMap]:
    """Maps of one up and one down pulse of every cell (flat), in coordinates g − centre, with the
    coefficients the compiled kernels use (state dtype; devices/_pulses.py, devices/_kernels.py)."""
    if not array.law.affine:
        raise ValueError(f"{array.config.model} is not an affine law")  # type: ignore[attr-defined]
    p = {name: np.asarray(value, dtype=np.float64).reshape(-1) for name, value in array.parameters.items()}
    sigma = float(np.asarray(array.config.dw_min_std, dtype=array.dtype))
    multiplicative = sigma > 0.0 and array.law.noise_kind == "multiplicative"
    additive = sigma > 0.0 and array.law.noise_kind == "additive"
    centre = np.asarray(centre, dtype=np.float64).reshape(-1)
    maps = []
    for side in ("up", "down"):
        # The kernel's slope: s itself with multiplicative noise, else b − 1 with b as stored.
        slope = p[f"{side}_s"] if multiplicative else p[f"{side}_b"] - 1.0
        offset = p[f"{side}_a"] + slope * centre
        std = p[f"{side}_sigma_s"] if additive else None
        maps.append(MomentMap.of_pulse(offset, slope, _noise_terms(offset, slope, sigma if multiplicative else 0.0, std)))
    return maps[0], maps[1]


def linearized_pulse_maps(array: DeviceArray, centre: np.ndarray, relative_step: float = 1e-6
                          ) -> tuple[MomentMap, MomentMap]:
    """Tangent maps of any law at `centre` (flat, per cell), in coordinates g − centre: Δ±(g) ≈
    Δ±(c) + Δ±'(c)·(g − c), noise of the law's kind about the same tangent. An approximation for
    non-affine laws, accurate while cells stay near `centre`."""
    law = array.law
    prm = {name: np.asarray(value, dtype=np.float64).reshape(-1) for name, value in array.cell_parameters().items()}
    centre = np.asarray(centre, dtype=np.float64).reshape(-1)
    h = relative_step * np.maximum(prm["b_max"] - prm["b_min"], 1e-12)
    multiplicative = law.noise_kind == "multiplicative"
    sigma = float(law.config.dw_min_std)
    maps = []
    for up, sign, law_step in ((True, 1.0, law.delta_up), (False, -1.0, law.delta_down)):
        step = law_step(centre, prm)
        value = sign * step
        slope = sign * (law_step(centre + h, prm) - law_step(centre - h, prm)) / (2.0 * h)
        # Other noise kinds: their std at the centre, held fixed (additive).
        std = None if multiplicative else law.noise_std(step, centre, prm, up) * np.ones_like(value)
        maps.append(MomentMap.of_pulse(value, slope, _noise_terms(value, slope, sigma, std)))
    return maps[0], maps[1]


def first_meeting(meets: Callable[[int], bool], limit: int, period: int = 1, points: int = 16,
                  resolution: float = 1e-3) -> int | None:
    """The fewest steps n (a multiple of `period`, ≤ `limit`) with `meets(n)`, for a predicate that
    turns true once and stays so: a log grid finds the first grid point that meets it, bisection
    the first step before it, to within `resolution`·n (or one period). None if `limit` itself does
    not meet it."""
    limit -= limit % period
    if limit <= 0 or not meets(limit):
        return None
    grid = sorted({int(n) - int(n) % period for n in np.geomspace(period, limit, points)} | {limit})
    low, high = 0, limit
    for n in (n for n in grid if n > 0):
        if meets(n):
            high = n
            break
        low = n
    while high - low > max(period, resolution * high):
        middle = (low + high) // 2
        middle -= middle % period
        if middle <= low:
            break
        if meets(middle):
            high = middle
        else:
            low = middle
    return high
