"""SoftBounds and SoftBoundsReference: LinearStep with γ = 1 and each cell's own bounds as r±
(SPEC §1.4–1.5), and the "SoftBounds with N states" device."""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import Field, model_validator

from devices.config import NonNegative, PulsedDeviceConfig
from devices.models.linear import add_linear_coefficients, bound_references
from devices.response import AffineLaw


class SoftBoundsLaw(AffineLaw["SoftBoundsConfig | SoftBoundsReferenceConfig"]):
    """Δ± = s±(1 − g/b±) with the cell's own bounds b±."""

    def __init__(self, config: SoftBoundsConfig | SoftBoundsReferenceConfig) -> None:
        super().__init__(config)
        self.noise_kind = "multiplicative" if config.mult_noise else "additive"

    def sample_extra(self, prm: dict[str, np.ndarray], rng: np.random.Generator) -> None:
        shape = prm["s_up"].shape
        add_linear_coefficients(prm, np.ones(shape), np.ones(shape), *bound_references(prm))


class SoftBoundsReferenceLaw(SoftBoundsLaw):
    """SoftBounds with an optional extra d2d spread of the slopes s±/|b±|."""

    config: SoftBoundsReferenceConfig

    def sample_extra(self, prm: dict[str, np.ndarray], rng: np.random.Generator) -> None:
        # The slope s/b is scaled by |1 + dtod·ξ|, which moves the bound (AIHWKIT); only for
        # consistent cells (b⁻ < 0 < b⁺).
        slope_up_dtod, slope_down_dtod = self.config.slope_up_dtod, self.config.slope_down_dtod
        if slope_up_dtod > 0.0 or slope_down_dtod > 0.0:
            shape = prm["s_up"].shape
            consistent = (prm["b_max"] > 0.0) & (prm["b_min"] < 0.0)
            down_factor = np.abs(1.0 + slope_down_dtod * rng.standard_normal(shape))
            up_factor = np.abs(1.0 + slope_up_dtod * rng.standard_normal(shape))
            with np.errstate(divide="ignore", invalid="ignore"):
                b_max = prm["b_max"] / up_factor
                b_min = prm["b_min"] / down_factor
            prm["b_max"] = np.where(consistent & np.isfinite(b_max), b_max, prm["b_max"])
            prm["b_min"] = np.where(consistent & np.isfinite(b_min), b_min, prm["b_min"])
        super().sample_extra(prm, rng)


class SoftBoundsConfig(PulsedDeviceConfig):
    """Soft bounds: LinearStep with γ = 1 and each cell's own bounds as reference.

    Give `states` to build the common "SoftBounds with N states" device: dw_min is then
    (w_max − w_min)/states.
    """

    law = SoftBoundsLaw
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
            w_max = data.get("w_max", cls.model_fields["w_max"].default)
            w_min = data.get("w_min", cls.model_fields["w_min"].default)
            if isinstance(states, (int, float)) and states > 0 and isinstance(w_max, (int, float)) \
                    and isinstance(w_min, (int, float)) and w_max > w_min:
                data = {**data, "dw_min": (w_max - w_min) / states}
        return data


class SoftBoundsReferenceConfig(PulsedDeviceConfig):
    """SoftBounds law with additive noise by default and a per-cell reference (SPEC §1.5)."""

    law = SoftBoundsReferenceLaw
    model: Literal["SoftBoundsReference"] = "SoftBoundsReference"
    mult_noise: bool = False
    """Multiplicative c2c noise if true, additive (default) if false."""
    slope_up_dtod: NonNegative = 0.0
    """Extra relative d2d spread of the up slope s⁺/b⁺ (moves b⁺ = s⁺/slope; 0 = off)."""
    slope_down_dtod: NonNegative = 0.0
    """Extra relative d2d spread of the down slope s⁻/|b⁻| (moves b⁻; 0 = off)."""


def soft_bounds_with_states(states: float, **overrides: object) -> SoftBoundsConfig:
    """The plain SoftBounds device on [−1, 1] with the given number of states (dw_min = 2/states)."""
    fields: dict[str, object] = {"w_max": 1.0, "w_min": -1.0, "states": states}
    fields.update(overrides)
    return SoftBoundsConfig(**fields)  # type: ignore[arg-type]
