"""Zero-shifting convergence bounds of [DSPT] Thm 2.2 and App. C.2–C.4 (SPEC §5).

The constants come from the device's own step laws, evaluated per cell on a grid over its
conductance range: G = (q₋ − q₊)/2 with q± = Δ±/Δw_min, L_q = max G', μ_q the monotonicity
modulus (q₋' ≥ μ_q and q₊' ≤ −μ_q), q_max the largest response. Norms are per-cell mean
squares, so bounds and measurements compare directly whatever the tile size.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from devices import DeviceArray

_GRID_POINTS = 257
_CHUNK_CELLS = 4096


@dataclass(frozen=True)
class ResponseConstants:
    """Constants of the response functions over all cells (the worst case across the array: the
    paper's bounds; emulator/instance_bounds.py keeps them per cell)."""

    dw_min: float
    """Δw_min: the nominal step the bounds are written in."""
    mu_q: float
    """Monotonicity modulus: min over cells and states of min(q₋', −q₊')."""
    l_q: float
    """Smoothness: max over cells and states of G'."""
    q_max: float
    """Largest response max(q₊, q₋) over cells and states."""
    cells: int

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def response_constants(array: DeviceArray, active_only: bool = True) -> ResponseConstants:
    """μ_q, L_q, q_max of an array's cells from their own step laws (stuck cells excluded), the
    worst over all cells: the constants of the paper's worst-case bounds."""
    prm = array.cell_parameters()
    b_min = np.asarray(prm["b_min"], dtype=np.float64).reshape(-1)
    b_max = np.asarray(prm["b_max"], dtype=np.float64).reshape(-1)
    keep = (b_max > b_min) if active_only else np.ones_like(b_min, dtype=bool)
    if not np.any(keep):
        raise ValueError("every cell is stuck: no response to calibrate")
    if array.law.affine:  # q± linear in g: the two ends give the slopes and the extremes
        fraction_axis = np.array([0.0, 1.0])
    else:
        # Uniform grid plus points crowding both bounds, where laws like PowStep (γ > 1) flatten
        # out and the monotonicity modulus is attained.
        edge = np.geomspace(1e-7, 1e-2, 12)
        fraction_axis = np.unique(np.concatenate([np.linspace(0.0, 1.0, _GRID_POINTS), edge, 1.0 - edge]))
    cells = np.flatnonzero(keep)
    mu, l_q, q_max = math.inf, -math.inf, 0.0
    for first in range(0, cells.size, _CHUNK_CELLS):  # bounded memory on large tiles
        chunk = cells[first:first + _CHUNK_CELLS]
        flat = {name: np.asarray(value).reshape(-1)[chunk][:, None] for name, value in prm.items()}
        lows, spacing = flat["b_min"], flat["b_max"] - flat["b_min"]
        grid = lows + spacing * fraction_axis[None, :]
        step = array.config.dw_min
        q_up = array.law.delta_up(grid, flat) / step
        q_down = array.law.delta_down(grid, flat) / step
        dq_up = np.gradient(q_up, fraction_axis, axis=1) / spacing
        dq_down = np.gradient(q_down, fraction_axis, axis=1) / spacing
        mu = min(mu, float(np.min(np.minimum(dq_down, -dq_up))))
        l_q = max(l_q, float(np.max(0.5 * (dq_down - dq_up))))
        q_max = max(q_max, float(np.max(np.maximum(np.abs(q_up), np.abs(q_down)))))
    return ResponseConstants(dw_min=array.config.dw_min, mu_q=mu, l_q=l_q, q_max=q_max, cells=int(keep.sum()))


@dataclass(frozen=True)
class ZeroShiftBound:
    """Predicted last-iterate mean-square error after N steps, its floor and the N for a target."""

    method: str
    contraction_per_step: float
    error_floor: float
    """Stationary mean-square error term (per cell)."""
    floor_delta_min: float
    """Smallest target the bound can certify: 2·(floor term), SPEC's δ_min for stochastic ZS."""

    def for_mean_over(self, cells: int) -> "ZeroShiftBound":
        """The same bound for the error of the mean over `cells` independent cells (floor / cells)."""
        return ZeroShiftBound(self.method, self.contraction_per_step, self.error_floor / cells,
                              self.floor_delta_min / cells)

    def mean_square_error(self, steps: int, initial_mean_square: float) -> float:
        return self.contraction_per_step ** steps * initial_mean_square + self.error_floor

    def steps_for(self, target_mean_square: float, initial_mean_square: float) -> float:
        """Steps N guaranteeing E‖W_N − W⋄‖² ≤ target (inf if below the floor)."""
        if target_mean_square <= self.floor_delta_min or self.contraction_per_step >= 1.0:
            return math.inf
        if initial_mean_square <= target_mean_square / 2:
            return 0.0
        return math.log(2.0 * initial_mean_square / target_mean_square) / -math.log(self.contraction_per_step)


def stochastic_last_iterate(constants: ResponseConstants) -> ZeroShiftBound:
    """E‖W_N − W⋄‖² ≤ (1 − 2Δw·μ)^N ‖W_0 − W⋄‖² + Δw·q_max²/μ  ([DSPT] Thm 2.2)."""
    dw, mu, q = constants.dw_min, constants.mu_q, constants.q_max
    if mu <= 0:
        return ZeroShiftBound("stochastic", 1.0, math.inf, math.inf)
    floor = dw * q * q / mu
    return ZeroShiftBound("stochastic", max(0.0, 1.0 - 2.0 * dw * mu), floor, 2.0 * floor)


def cyclic_last_iterate(constants: ResponseConstants) -> ZeroShiftBound:
    """‖W_2N − W⋄‖² ≤ (1 − 2Δw·μ)^{2N}‖W_0 − W⋄‖² + Δw·q_max²(4 + L²/μ + 2μ)/μ  (App. C.4).

    Written per pulse: N here counts single pulses (2 per up/down cycle).
    """
    dw, mu, q, lq = constants.dw_min, constants.mu_q, constants.q_max, constants.l_q
    if mu <= 0:
        return ZeroShiftBound("cyclic", 1.0, math.inf, math.inf)
    floor = dw * q * q * (4.0 + lq * lq / mu + 2.0 * mu) / mu
    return ZeroShiftBound("cyclic", max(0.0, 1.0 - 2.0 * dw * mu), floor, 2.0 * floor)


def average_iterate_bound(constants: ResponseConstants, steps: int, potential_gap: float) -> float:
    """(1/N)Σ E‖G(W_n)‖² ≤ (φ(W_0) − φ(W⋄))/(N·Δw) + (L_q/2)·Δw·q_max²  (stochastic ZS)."""
    dw = constants.dw_min
    return potential_gap / (max(steps, 1) * dw) + 0.5 * constants.l_q * dw * constants.q_max ** 2


def zero_shift_bound(constants: ResponseConstants, method: str) -> ZeroShiftBound:
    if method == "stochastic":
        return stochastic_last_iterate(constants)
    if method == "cyclic":
        return cyclic_last_iterate(constants)
    raise ValueError(f"unknown zero-shifting method {method!r}")


def potential_gap(array: DeviceArray, start: np.ndarray) -> float:
    """Mean over cells of φ(W_0) − φ(W⋄) with φ' = G, integrated numerically (for the average bound)."""
    prm = array.cell_parameters()
    sp = array.symmetric_point().reshape(-1)
    start = np.asarray(start, dtype=np.float64).reshape(-1)
    flat = {name: np.asarray(value).reshape(-1)[:, None] for name, value in prm.items()}
    fractions = np.linspace(0.0, 1.0, 65)[None, :]
    path = sp[:, None] + (start - sp)[:, None] * fractions
    q_up = array.law.delta_up(path, flat) / array.config.dw_min
    q_down = array.law.delta_down(path, flat) / array.config.dw_min
    g_values = 0.5 * (q_down - q_up)
    integral = np.trapezoid(g_values, path, axis=1)
    return float(np.mean(integral))
