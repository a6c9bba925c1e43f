"""The fields every pulsed device shares (SPEC §1.3–1.5); each family adds its own in devices/models/.

Field names follow the reference simulator (AIHWKIT) on purpose, so users can carry
parameter sets over unchanged. All values are in normalized conductance units
(the same units as the visible weight) unless a name says otherwise.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, Field, model_validator

from devices.inputs import FROZEN_INPUT_CONFIG, FieldError
from devices.response import StepLaw

MAX_BOUND = 1e3
"""Largest |w_max|, |w_min| (and reference offset) a device may have: conductances are normalized
so weights are of order 1; values far beyond are a unit mistake (and overflow the float32 state)."""
NonNegative = Annotated[float, Field(ge=0.0)]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]
Conductance = Annotated[float, Field(ge=-MAX_BOUND, le=MAX_BOUND)]
ConductanceSpread = Annotated[float, Field(ge=0.0, le=MAX_BOUND)]


class PulsedDeviceConfig(BaseModel):
    """Parameters shared by every pulsed device (d2d sampling, SPEC §1.3; noise, §1.4).

    A device family subclasses it once: a `model: Literal["Name"] = "Name"` field names the
    model, the class attribute `law` its step law (devices/registry.py registers the pair).
    """

    model_config = FROZEN_INPUT_CONFIG

    law: ClassVar[type[StepLaw[Any]] | None] = None
    """The step law of the family (set by each registered subclass)."""

    dw_min: Annotated[float, Field(gt=0.0)] = 0.001
    """Mean step size of one pulse at the symmetric point (conductance units)."""
    dw_min_dtod: NonNegative = 0.3
    """Device-to-device spread of the step size (relative)."""
    dw_min_dtod_log_normal: bool = False
    """Sample the step-size gain log-normally (exp(dtod·ξ)) instead of 1 + dtod·ξ."""
    dw_min_std: NonNegative = 0.3
    """Cycle-to-cycle noise of one pulse (relative to the step, or to s for additive noise)."""
    up_down: float = 0.0
    """Systematic up/down step asymmetry; > 0 makes down steps smaller."""
    up_down_dtod: NonNegative = 0.01
    """Device-to-device spread of the up/down asymmetry."""
    w_max: float = 0.6
    """Mean upper bound of the conductance."""
    w_min: float = -0.6
    """Mean lower bound of the conductance."""
    w_max_dtod: NonNegative = 0.3
    """Relative device-to-device spread of the upper bound."""
    w_min_dtod: NonNegative = 0.3
    """Relative device-to-device spread of the lower bound."""
    enforce_consistency: bool = True
    """Make sampled steps positive and bounds ordered with b_min ≤ 0 ≤ b_max."""
    corrupt_devices_prob: Probability = 0.0
    """Probability that a cell is stuck (no response to pulses)."""
    corrupt_devices_range: ConductanceSpread = 0.1
    """Stuck cells sit at a value drawn uniformly in ±this range."""
    write_noise_std: NonNegative = 0.0
    """Write noise on the visible weight, in units of dw_min; redrawn when a cell is touched."""
    reference_mean: Conductance = 0.0
    """Mean of the per-cell reference r subtracted from g (SPEC §1.5)."""
    reference_std: ConductanceSpread = 0.0
    """Device-to-device spread of the reference r."""
    subtract_symmetry_point: bool = False
    """Add each cell's analytic symmetric point to its reference (visible SP ≈ −reference offset)."""
    reset: Conductance = 0.0
    """Conductance value after a reset (also the initial state); with subtract_symmetry_point the
    cell's symmetric point is added, as the reference simulator adds it to its reset bias."""
    reset_dtod: NonNegative = 0.0
    """Device-to-device spread of the reset value (absolute)."""
    reset_std: NonNegative = 0.01
    """Cycle-to-cycle spread of each reset (absolute; the reference simulator's default 0.01)."""
    diffusion: NonNegative = 0.0
    """Std of the random walk added per slow-process step (0 = off). A step is one mini-batch
    (the reference simulator's convention) or `hardware.slow_process_step_ns` of simulated time."""
    diffusion_dtod: NonNegative = 0.0
    """Relative device-to-device spread of the diffusion rate."""
    lifetime: NonNegative = 0.0
    """Decay time constant toward the reset value, in slow-process steps (0 = off): each step
    multiplies g − reset by 1 − 1/lifetime."""
    lifetime_dtod: NonNegative = 0.0
    """Relative device-to-device spread of the lifetime."""

    @model_validator(mode="after")
    def _check_bounds(self) -> "PulsedDeviceConfig":
        if self.w_max < 0.0:
            raise FieldError("w_max", f"must be ≥ 0 (bounds are signed and contain 0), got {self.w_max}")
        if self.w_min > 0.0:
            raise FieldError("w_min", f"must be ≤ 0 (bounds are signed and contain 0), got {self.w_min}")
        if not self.w_min < self.w_max:
            raise FieldError("w_min", f"must be smaller than w_max ({self.w_max}), got {self.w_min}")
        for name in ("w_max", "w_min"):
            if abs(getattr(self, name)) > MAX_BOUND:
                raise FieldError(name, f"must be within ±{MAX_BOUND:g} (normalized conductance units, where "
                                       f"weights are of order 1), got {getattr(self, name)}")
        if self.dw_min > self.w_max - self.w_min:
            raise FieldError("dw_min", f"one pulse must not step further than the whole range w_max − w_min "
                                       f"({self.w_max - self.w_min:g}), got {self.dw_min}")
        return self

    @property
    def number_of_states(self) -> float:
        """Approximate number of distinguishable states, (w_max − w_min)/dw_min."""
        return (self.w_max - self.w_min) / self.dw_min
