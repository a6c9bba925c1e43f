"""Pydantic device configurations, one per response family (SPEC §1).

Field names follow the reference simulator (AIHWKIT) on purpose, so users can carry
parameter sets over unchanged. All values are in normalized conductance units
(the same units as the visible weight) unless a name says otherwise.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, model_validator

NonNegative = Annotated[float, Field(ge=0.0)]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]


class PulsedDeviceConfig(BaseModel):
    """Parameters shared by every pulsed device (d2d sampling, SPEC §1.3; noise, §1.4)."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

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
    corrupt_devices_range: NonNegative = 0.1
    """Stuck cells sit at a value drawn uniformly in ±this range."""
    write_noise_std: NonNegative = 0.0
    """Write noise on the visible weight, in units of dw_min; redrawn when a cell is touched."""
    reference_mean: float = 0.0
    """Mean of the per-cell reference r subtracted from g (SPEC §1.5)."""
    reference_std: NonNegative = 0.0
    """Device-to-device spread of the reference r."""
    subtract_symmetry_point: bool = False
    """Add each cell's analytic symmetric point to its reference (visible SP ≈ −reference offset)."""
    reset: float = 0.0
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
        if not self.w_min < self.w_max:
            raise ValueError(f"w_min ({self.w_min}) must be smaller than w_max ({self.w_max})")
        if self.w_min > 0.0 or self.w_max < 0.0:
            raise ValueError(
                f"[w_min, w_max] = [{self.w_min}, {self.w_max}] must contain 0 (bounds are signed)"
            )
        return self

    @property
    def number_of_states(self) -> float:
        """Approximate number of distinguishable states, (w_max − w_min)/dw_min."""
        return (self.w_max - self.w_min) / self.dw_min


class ConstantStepConfig(PulsedDeviceConfig):
    """Constant step: Δ± = s±(1 + σξ); no interior symmetric point."""

    model: Literal["ConstantStep"] = "ConstantStep"


class LinearStepConfig(PulsedDeviceConfig):
    """Linear step: Δ± = s±(1 − γ±·g/r±), multiplicative or additive noise."""

    model: Literal["LinearStep"] = "LinearStep"
    gamma_up: float = 0.0
    """Slope of the up-step dependence on g (relative to the bound reference)."""
    gamma_down: float = 0.0
    """Slope of the down-step dependence on g."""
    gamma_up_dtod: NonNegative = 0.05
    """Absolute device-to-device spread of gamma_up: γ⁺ = gamma_up + gamma_up_dtod·ξ."""
    gamma_down_dtod: NonNegative = 0.05
    """Absolute device-to-device spread of gamma_down."""
    allow_increasing: bool = False
    """Keep negative sampled gammas (steps that grow toward the bound); if false, γ ← |γ|."""
    mean_bound_reference: bool = True
    """Use the mean bounds w_max/w_min as r± instead of each cell's own bounds."""
    mult_noise: bool = True
    """Multiplicative c2c noise Δ(1+σξ) if true, additive s·σξ if false."""


class SoftBoundsConfig(PulsedDeviceConfig):
    """Soft bounds: LinearStep with γ = 1 and each cell's own bounds as reference.

    Give `states` to build the common "SoftBounds with N states" device: dw_min is then
    (w_max − w_min)/states.
    """

    model: Literal["SoftBounds"] = "SoftBounds"
    mult_noise: bool = True
    """Multiplicative c2c noise if true, additive if false."""
    states: Annotated[float, Field(gt=0.0)] | None = None
    """If set, overrides dw_min with (w_max − w_min)/states."""

    @model_validator(mode="before")
    @classmethod
    def _dw_min_from_states(cls, data: object) -> object:
        if isinstance(data, dict) and data.get("states") is not None:
            states = data["states"]
            w_max = data.get("w_max", 0.6)
            w_min = data.get("w_min", -0.6)
            if isinstance(states, (int, float)) and states > 0 and isinstance(w_max, (int, float)) \
                    and isinstance(w_min, (int, float)) and w_max > w_min:
                data = {**data, "dw_min": (w_max - w_min) / states}
        return data


class SoftBoundsReferenceConfig(PulsedDeviceConfig):
    """SoftBounds law with additive noise by default and a per-cell reference (SPEC §1.5)."""

    model: Literal["SoftBoundsReference"] = "SoftBoundsReference"
    mult_noise: bool = False
    """Multiplicative c2c noise if true, additive (default) if false."""
    slope_up_dtod: NonNegative = 0.0
    """Extra relative d2d spread of the up slope s⁺/b⁺ (moves b⁺ = s⁺/slope; 0 = off)."""
    slope_down_dtod: NonNegative = 0.0
    """Extra relative d2d spread of the down slope s⁻/|b⁻| (moves b⁻; 0 = off)."""


class PowStepConfig(PulsedDeviceConfig):
    """Power step: Δ+ = s+((b+ − g)/R)^γ+, Δ− = s−((g − b−)/R)^γ−, R = b+ − b−."""

    model: Literal["PowStep"] = "PowStep"
    pow_gamma: Annotated[float, Field(gt=0.0)] = 1.0
    """Exponent of the step dependence on the distance to the bound."""
    pow_gamma_dtod: NonNegative = 0.1
    """Relative device-to-device spread of the exponent."""
    pow_up_down: float = 0.0
    """Up/down asymmetry of the exponent (one-sided like up_down)."""
    pow_up_down_dtod: NonNegative = 0.0
    """Device-to-device spread of the exponent asymmetry."""


class PowStepReferenceConfig(PowStepConfig):
    """PowStep with a per-cell reference (same fields; reference options on the base)."""

    model: Literal["PowStepReference"] = "PowStepReference"  # type: ignore[assignment]


class ExpStepConfig(PulsedDeviceConfig):
    """Exponential step: Δ+ = s+·max(1 − A_up·e^{γ_up z}, 0), Δ− = s−·max(1 − A_down·e^{−γ_down z}, 0).

    z = 2a·g/(b+ − b−) + b. With dw_min_std_add or dw_min_std_slope nonzero the c2c noise is
    the "complex" one: σ(|Δ| + dw_min_std_add + dw_min_std_slope·|g|)·ξ, additive.
    """

    model: Literal["ExpStep"] = "ExpStep"
    A_up: float = 0.00081
    A_down: float = 0.36833
    gamma_up: float = 12.44625
    gamma_down: float = 12.78785
    a: float = 0.244
    b: float = 0.2425
    dw_min_std_add: NonNegative = 0.0
    """Additive part of the complex c2c noise (conductance units)."""
    dw_min_std_slope: NonNegative = 0.0
    """Part of the complex c2c noise proportional to |g|."""

    @property
    def complex_noise(self) -> bool:
        return self.dw_min_std_add > 0.0 or self.dw_min_std_slope > 0.0


class PiecewiseStepConfig(PulsedDeviceConfig):
    """Piecewise-linear step: Δ± = s±·interp(v±, g) over equally spaced nodes on [b−, b+]."""

    model: Literal["PiecewiseStep"] = "PiecewiseStep"
    piecewise_up: list[Annotated[float, Field(ge=0.0)]] = Field(default_factory=lambda: [1.0, 1.0])
    """Relative up-step size at equally spaced nodes from b_min to b_max (one node: constant)."""
    piecewise_down: list[Annotated[float, Field(ge=0.0)]] = Field(default_factory=lambda: [1.0, 1.0])
    """Relative down-step size at the same nodes."""

    @model_validator(mode="after")
    def _check_nodes(self) -> "PiecewiseStepConfig":
        if len(self.piecewise_up) < 1:
            raise ValueError("piecewise_up needs at least 1 node")
        if len(self.piecewise_up) != len(self.piecewise_down):
            raise ValueError(
                f"piecewise_up and piecewise_down must have the same length "
                f"({len(self.piecewise_up)} != {len(self.piecewise_down)})"
            )
        return self


class AsymmetricLinearConfig(PulsedDeviceConfig):
    """Asymmetric linear device of [W24]: q± = 1 ∓ (g − symmetric_point)/tau."""

    model: Literal["AsymmetricLinear"] = "AsymmetricLinear"
    tau: Annotated[float, Field(gt=0.0)] = 1.0
    """Asymmetry scale τ: larger τ means a more symmetric device."""
    symmetric_point: float = 0.0
    """Location of the symmetric point (the c_Lin offset of [W25])."""


DeviceConfig = Annotated[
    Union[
        ConstantStepConfig,
        LinearStepConfig,
        SoftBoundsConfig,
        SoftBoundsReferenceConfig,
        PowStepConfig,
        PowStepReferenceConfig,
        ExpStepConfig,
        PiecewiseStepConfig,
        AsymmetricLinearConfig,
    ],
    Field(discriminator="model"),
]
"""Any device configuration, selected by its `model` field."""

DEVICE_MODELS: dict[str, type[PulsedDeviceConfig]] = {
    "ConstantStep": ConstantStepConfig,
    "LinearStep": LinearStepConfig,
    "SoftBounds": SoftBoundsConfig,
    "SoftBoundsReference": SoftBoundsReferenceConfig,
    "PowStep": PowStepConfig,
    "PowStepReference": PowStepReferenceConfig,
    "ExpStep": ExpStepConfig,
    "PiecewiseStep": PiecewiseStepConfig,
    "AsymmetricLinear": AsymmetricLinearConfig,
}


def soft_bounds_with_states(states: float, **overrides: object) -> SoftBoundsConfig:
    """The plain SoftBounds device on [−1, 1] with the given number of states (dw_min = 2/states)."""
    fields: dict[str, object] = {"w_max": 1.0, "w_min": -1.0, "states": states}
    fields.update(overrides)
    return SoftBoundsConfig(**fields)  # type: ignore[arg-type]
