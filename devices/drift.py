"""Drift: the symmetric point and the reference of each cell move in time, and an operating point
(temperature) scales the up and down steps (beside the slow processes of devices/_state.py).

Every process is given per array by a `DriftConfig`, with its own device-to-device spread, and
acts through `DriftProcess` over a *duration* the caller passes (seconds); devices keep no clock
(the hardware layer applies it lazily from its simulated time, emulator/hardware/aging.py).

- Symmetric-point drift: each cell's response curve slides along the conductance axis by
  δ(t) = a·t + σ·W(t) (a per-cell trend, a per-cell Brownian motion W). The conductance stays, so
  the visible weight stays and the visible SP moves by δ (`DeviceArray.shift_symmetric_point`).
- Reference drift: r(t) = r₀ + a_r·t + σ_r·W_r(t); the visible weight and SP move by −(r − r₀).
- Operating point: at a temperature offset ΔT (kelvin from the calibration point) each cell's
  up steps are multiplied by exp(k⁺·ΔT) and its down steps by exp(k⁻·ΔT); unequal k⁺, k⁻ move
  the symmetric point (`DeviceArray.scale_steps`).

Both motions have Gaussian increments, a·Δt + σ·√Δt·ξ over any Δt: the closed form is exact, so
one call over a long idle time and many short calls are the same process.
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import BaseModel, Field

from devices.array import DeviceArray
from devices.inputs import FROZEN_INPUT_CONFIG

MAX_RATE_PER_S = 1e6
"""Largest drift rate or walk (weight units per second, or per √s): a weight range per µs."""
MAX_PER_KELVIN = 0.1
"""Largest step sensitivity to the operating point (exp(0.1 × 300 K) is still finite)."""
MAX_RELATIVE_DTOD = 10.0
"""Largest relative device-to-device spread."""

Rate = Annotated[float, Field(ge=-MAX_RATE_PER_S, le=MAX_RATE_PER_S, allow_inf_nan=False)]
NonNegative = Annotated[float, Field(ge=0.0, le=MAX_RATE_PER_S, allow_inf_nan=False)]
Relative = Annotated[float, Field(ge=0.0, le=MAX_RELATIVE_DTOD, allow_inf_nan=False)]
PerKelvin = Annotated[float, Field(ge=-MAX_PER_KELVIN, le=MAX_PER_KELVIN, allow_inf_nan=False)]


class DriftConfig(BaseModel):
    """Drift of one array's cells in time and its sensitivity to the operating point (all off by default).

    Rates are per second of the run's simulated time, in weight (conductance) units.
    """

    model_config = FROZEN_INPUT_CONFIG

    sp_trend_per_s: Rate = 0.0
    """Mean rate a at which each cell's symmetric point moves (weight units per second)."""
    sp_trend_dtod_per_s: NonNegative = 0.0
    """Device-to-device spread (std) of that rate: a cell's rate is a + this·ξ."""
    sp_walk_per_sqrt_s: NonNegative = 0.0
    """Random walk of the symmetric point: std of its increment over one second (grows as √t)."""
    sp_walk_dtod: Relative = 0.0
    """Relative device-to-device spread of the walk's std."""
    reference_trend_per_s: Rate = 0.0
    """Mean rate at which each cell's reference r moves (weight units per second)."""
    reference_trend_dtod_per_s: NonNegative = 0.0
    """Device-to-device spread (std) of the reference's rate."""
    reference_walk_per_sqrt_s: NonNegative = 0.0
    """Random walk of the reference: std of its increment over one second."""
    reference_walk_dtod: Relative = 0.0
    """Relative device-to-device spread of the reference walk's std."""
    step_up_per_kelvin: PerKelvin = 0.0
    """Sensitivity k⁺ of the up steps to the operating point: Δ⁺ × exp(k⁺·ΔT), ΔT in kelvin."""
    step_down_per_kelvin: PerKelvin = 0.0
    """Sensitivity k⁻ of the down steps: Δ⁻ × exp(k⁻·ΔT)."""
    step_per_kelvin_dtod: Relative = 0.0
    """Relative device-to-device spread of both sensitivities."""

    @property
    def moves_sp(self) -> bool:
        """Whether the symmetric point moves in time."""
        return self.sp_trend_per_s != 0 or self.sp_trend_dtod_per_s > 0 or self.sp_walk_per_sqrt_s > 0

    @property
    def moves_reference(self) -> bool:
        """Whether the reference moves in time."""
        return (self.reference_trend_per_s != 0 or self.reference_trend_dtod_per_s > 0
                or self.reference_walk_per_sqrt_s > 0)

    @property
    def temperature_sensitive(self) -> bool:
        """Whether the steps depend on the operating point."""
        return self.step_up_per_kelvin != 0 or self.step_down_per_kelvin != 0


class DriftProcess:
    """The drift of one `DeviceArray`: per-cell rates drawn once (d2d), increments drawn when advanced.

    `seed` gives both (an independent stream: the array's own draws are untouched). Stuck cells
    keep their symmetric point (their response is a single value); their reference drifts.
    """

    def __init__(self, array: DeviceArray, config: DriftConfig, seed: int | np.random.SeedSequence | None) -> None:
        self.array = array
        self.config = config
        sequence = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        d2d_seed, walk_seed = sequence.spawn(2)
        self.walk_rng = np.random.default_rng(walk_seed)
        xi = np.random.default_rng(d2d_seed).standard_normal((6,) + array.shape)
        free = ~array.stuck
        self.sp_rate_per_s = np.where(free, config.sp_trend_per_s + config.sp_trend_dtod_per_s * xi[0], 0.0)
        self.sp_walk_per_sqrt_s = np.where(free, config.sp_walk_per_sqrt_s * np.abs(1.0 + config.sp_walk_dtod * xi[1]),
                                           0.0)
        self.reference_rate_per_s = config.reference_trend_per_s + config.reference_trend_dtod_per_s * xi[2]
        self.reference_walk_per_sqrt_s = config.reference_walk_per_sqrt_s * np.abs(1.0 + config.reference_walk_dtod
                                                                                   * xi[3])
        self.up_per_kelvin = config.step_up_per_kelvin * (1.0 + config.step_per_kelvin_dtod * xi[4])
        self.down_per_kelvin = config.step_down_per_kelvin * (1.0 + config.step_per_kelvin_dtod * xi[5])
        self.kelvin = 0.0
        """The operating point the steps are set for (kelvin from the calibration point)."""

    def increment(self, rate_per_s: np.ndarray, walk_per_sqrt_s: np.ndarray, elapsed_s: float,
                  walks: bool) -> np.ndarray:
        """One Gaussian increment a·Δt + σ·√Δt·ξ per cell (ξ drawn only if the walk is on)."""
        shift = rate_per_s * elapsed_s
        if walks:
            shift = shift + walk_per_sqrt_s * np.sqrt(elapsed_s) * self.walk_rng.standard_normal(self.array.shape)
        return shift

    def advance(self, elapsed_s: float) -> None:
        """Move the symmetric points and references by their increments over `elapsed_s` seconds."""
        if elapsed_s <= 0:
            return
        config = self.config
        if config.moves_sp:
            self.array.shift_symmetric_point(self.increment(self.sp_rate_per_s, self.sp_walk_per_sqrt_s, elapsed_s,
                                                            config.sp_walk_per_sqrt_s > 0))
        if config.moves_reference:
            self.array.shift_reference(self.increment(self.reference_rate_per_s, self.reference_walk_per_sqrt_s,
                                                      elapsed_s, config.reference_walk_per_sqrt_s > 0))

    def set_temperature(self, kelvin: float) -> None:
        """Set the operating point: steps scaled by exp(k±·ΔT) from the sampled ones (a no-op if unchanged
        or the array is insensitive)."""
        if kelvin == self.kelvin or not self.config.temperature_sensitive:
            return
        self.kelvin = kelvin
        self.array.scale_steps(np.exp(self.up_per_kelvin * kelvin), np.exp(self.down_per_kelvin * kelvin))
