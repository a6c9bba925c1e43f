"""Instance bounds for zero-shifting: the last-iterate argument of [DSPT] Thm 2.2 / App. C run per
cell with that cell's own constants, then averaged over the cells (SPEC §5).

The paper's bounds (emulator/theory.py) take μ_q, L_q and q_max over every cell and the whole
conductance range: on a tile of 262,144 cells with a bound spread, the worst cell decides and the
floor says nothing (the **worst-case** bound). Here each cell i keeps its own constants, from its
own step laws over its own range [b⁻, b⁺] (with e = g − w⋄, G = (q⁻ − q⁺)/2, q = Δ/Δw):
μᵢ = min G′, Lᵢ = max |G′|, Kᵢ = max |G″| (0 for affine laws), L⁻ᵢ = max |q⁻′|, and the c2c noise
of the law as it applies it (its variance v±(g) per pulse).

Stochastic ZS, one step (E[e′ | e] = e − Δw·G, eG ≥ μe²):
    E e′² ≤ (1 − 2Δw·μ)·e² + Δw²·Q,           Q = max_g ½(q⁺² + q⁻² + (v⁺ + v⁻)/Δw²)
    |E e′| ≤ |1 − Δw·G′(w⋄)|·|E e| + ½Δw·K·E e²
Cyclic ZS, one up/down cycle (h = e − 2Δw·G, δ = Δ⁻(g₁) − Δ⁻(g), |δ| ≤ Δw·L⁻·|U|, Young with Δw·μ):
    E e₂² ≤ (1 + Δw·μ)(1 − 4Δw·μ + 4Δw²L²)·e² + Δw²[(ν⁺ + Δw·L⁻·u)² + ν⁻²] + Δw³·(L⁻u)²/μ
    |E e₂| ≤ |1 − 2Δw·G′(w⋄)|·|E e| + Δw·K·E e² + Δw²·L⁻·u
with u² = max E U²/Δw², ν±² = max v±/Δw²; an odd last pulse adds one up step. Each recursion is
a per-cell affine map of (B₂, B₁) raised to the N-th power in closed form (devices/moments.py).
Clipping at a bound only shortens e (the bound B₂ holds with it); B₁ assumes no clipping.
Averaged: E[mean eᵢ²] ≤ mean B₂ᵢ and E[(mean eᵢ)²] ≤ (mean B₁ᵢ)² + mean B₂ᵢ / cells.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from devices import DeviceArray
from devices.moments import MomentMap, RepeatedMap, first_meeting

_GRID_POINTS = 129
_CHUNK_CELLS = 4096


@dataclass(frozen=True)
class CellConstants:
    """Per-cell constants of the response over each cell's own range (flat arrays)."""

    dw_min: float
    mu: np.ndarray
    """min G′: the contraction modulus."""
    slope_at_sp: np.ndarray
    """G′ at the cell's symmetric point."""
    lipschitz: np.ndarray
    """max |G′|."""
    curvature: np.ndarray
    """max |G″| (0 for an affine law)."""
    down_lipschitz: np.ndarray
    """max |q⁻′|."""
    step_square: np.ndarray
    """Q = max ½(q⁺² + q⁻² + (v⁺ + v⁻)/Δw²): mean square step of a random ±1 pulse."""
    up_square: np.ndarray
    """u² = max (q⁺² + v⁺/Δw²)."""
    up_noise: np.ndarray
    """ν⁺² = max v⁺/Δw²."""
    down_noise: np.ndarray
    """ν⁻² = max v⁻/Δw²."""
    up_step: np.ndarray
    """max q⁺."""
    span: np.ndarray
    """b⁺ − b⁻: |e| never exceeds it, which caps every bound."""


def cell_constants(array: DeviceArray) -> CellConstants:
    """The constants of every active cell (b⁺ > b⁻) of `array`, from its step laws on a grid over its
    range (the two ends suffice for affine laws, whose q± are linear and noise variance convex)."""
    prm = array.cell_parameters()
    active = np.flatnonzero((np.asarray(prm["b_max"]) > np.asarray(prm["b_min"])).reshape(-1))
    fractions = np.array([0.0, 1.0]) if array.law.affine else np.linspace(0.0, 1.0, _GRID_POINTS)
    parts = [_chunk_constants(array, active[i:i + _CHUNK_CELLS], fractions)
             for i in range(0, max(active.size, 1), _CHUNK_CELLS)]
    fields = {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}
    return CellConstants(dw_min=array.config.dw_min, **fields)


def _chunk_constants(array: DeviceArray, cells: np.ndarray, fractions: np.ndarray) -> dict[str, np.ndarray]:
    law, dw = array.law, array.config.dw_min
    prm = {name: np.asarray(value, dtype=np.float64).reshape(-1)[cells][:, None]
           for name, value in array.cell_parameters().items()}
    low, span = prm["b_min"], prm["b_max"] - prm["b_min"]
    grid = low + span * fractions[None, :]
    sp = array.symmetric_point().reshape(-1)[cells][:, None]
    q_up, q_down = law.delta_up(grid, prm) / dw, law.delta_down(grid, prm) / dw
    v_up = law.noise_std(q_up * dw, grid, prm, True) ** 2 / dw ** 2
    v_down = law.noise_std(q_down * dw, grid, prm, False) ** 2 / dw ** 2
    if law.affine:
        dq_up = np.broadcast_to((q_up[:, 1:] - q_up[:, :1]) / span, q_up.shape)
        dq_down = np.broadcast_to((q_down[:, 1:] - q_down[:, :1]) / span, q_down.shape)
        curvature = np.zeros(cells.size)
        slope_at_sp = 0.5 * (dq_down[:, 0] - dq_up[:, 0])
    else:
        dq_up = np.gradient(q_up, fractions, axis=1) / span
        dq_down = np.gradient(q_down, fractions, axis=1) / span
        g_slope = 0.5 * (dq_down - dq_up)
        curvature = np.max(np.abs(np.gradient(g_slope, fractions, axis=1) / span), axis=1)
        eps = 1e-6 * span
        g_of = (lambda x: 0.5 * (law.delta_down(x, prm) - law.delta_up(x, prm)) / dw)
        slope_at_sp = ((g_of(sp + eps) - g_of(sp - eps)) / (2 * eps))[:, 0]
    g_slope = 0.5 * (dq_down - dq_up)
    return {
        "mu": np.min(g_slope, axis=1), "slope_at_sp": slope_at_sp, "lipschitz": np.max(np.abs(g_slope), axis=1),
        "curvature": curvature, "down_lipschitz": np.max(np.abs(dq_down), axis=1),
        "step_square": np.max(0.5 * (q_up ** 2 + q_down ** 2 + v_up + v_down), axis=1),
        "up_square": np.max(q_up ** 2 + v_up, axis=1), "up_noise": np.max(v_up, axis=1),
        "down_noise": np.max(v_down, axis=1), "up_step": np.max(np.abs(q_up), axis=1), "span": span[:, 0],
    }


class InstanceBound:
    """Per-cell bounds B₂ ≥ E e², B₁ ≥ |E e| after N steps of stochastic or cyclic ZS from given
    start errors, and their averages over the cells."""

    def __init__(self, constants: CellConstants, start_error: np.ndarray, method: str) -> None:
        c, dw = constants, constants.dw_min
        self.method, self.cells = method, start_error.size
        self.valid = bool(np.all(c.mu > 0))
        mu = np.maximum(c.mu, 1e-300)
        if method == "stochastic":
            first = (np.maximum(1.0 - 2.0 * dw * mu, 0.0) - 1.0, dw * dw * c.step_square)
            second = (np.abs(1.0 - dw * c.slope_at_sp) - 1.0, 0.5 * dw * c.curvature, np.zeros_like(mu))
        else:
            contraction = (1.0 + dw * mu) * np.maximum(1.0 - 4.0 * dw * mu + 4.0 * dw * dw * c.lipschitz ** 2, 0.0)
            u = np.sqrt(c.up_square)
            noise = dw * dw * ((np.sqrt(c.up_noise) + dw * c.down_lipschitz * u) ** 2 + c.down_noise) \
                + dw ** 3 * (c.down_lipschitz * u) ** 2 / mu
            first = (contraction - 1.0, noise)
            second = (np.abs(1.0 - 2.0 * dw * c.slope_at_sp) - 1.0, dw * c.curvature, dw * dw * c.down_lipschitz * u)
        # (B₂, B₁) as (first, second) moments of a map: B₂′ = off + (1 + rate)·B₂, B₁′ = off₂ + cross·B₂ + (1 + rate₂)·B₁
        self.repeated = RepeatedMap.of(MomentMap(first[1], first[0], second[2], second[1], second[0]))
        self.start = (start_error ** 2, np.abs(start_error))
        self.up_square, self.up_step, self.dw, self.span = c.up_square, c.up_step, dw, c.span

    def per_cell(self, steps: int) -> tuple[np.ndarray, np.ndarray]:
        """B₂ and B₁ of every cell after `steps` pulses (each at most the cell's range, squared)."""
        with np.errstate(over="ignore", invalid="ignore"):
            if self.method == "stochastic":
                square, first = self.repeated.raw(steps, *self.start)
            else:
                square, first = self.repeated.raw(steps // 2, *self.start)
                if steps % 2:  # one more up pulse
                    square = (np.sqrt(square) + self.dw * np.sqrt(self.up_square)) ** 2
                    first = first + self.dw * self.up_step
        square = np.where(np.isfinite(square), np.minimum(square, self.span ** 2), self.span ** 2)
        first = np.where(np.isfinite(first), np.minimum(first, self.span), self.span)
        return square, first

    def mean_square(self, steps: int) -> float:
        """Bound on E[mean over cells of e²]."""
        return float(np.mean(self.per_cell(steps)[0])) if self.valid else math.inf

    def relative_mean(self, steps: int, sp_mean: float) -> float:
        """Bound on √E[(mean over cells of e)²] / |mean SP|."""
        if not self.valid or sp_mean == 0:
            return math.inf
        square, first = self.per_cell(steps)
        return math.sqrt(float(np.mean(first)) ** 2 + float(np.mean(square)) / self.cells) / abs(sp_mean)

    def steps_for(self, target: float, metric: str, sp_mean: float, limit: int) -> int | None:
        """The fewest steps after which the bound certifies `target` (RMS or relative mean)."""
        if not self.valid:
            return None
        period = 1 if self.method == "stochastic" else 2
        if metric == "rms":
            return first_meeting(lambda n: self.mean_square(n) <= target * target, limit, period)
        return first_meeting(lambda n: self.relative_mean(n, sp_mean) <= target, limit, period)
