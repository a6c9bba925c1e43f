"""AsymmetricLinear device of [W24]: q± = 1 ∓ (g − c)/τ (SPEC §1.6), used by the theory."""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from devices.config import PulsedDeviceConfig
from devices.response import AffineLaw


class AsymmetricLinearLaw(AffineLaw["AsymmetricLinearConfig"]):
    """Δ± = s±(1 ∓ (g − c)/τ), symmetric point c when s⁺ = s⁻."""

    def sample_extra(self, prm: dict[str, np.ndarray], rng: np.random.Generator) -> None:
        c, tau = self.config.symmetric_point, self.config.tau
        prm.update(
            up_offset=prm["s_up"] * (1.0 + c / tau), up_slope=-prm["s_up"] / tau,
            down_offset=prm["s_down"] * (1.0 - c / tau), down_slope=prm["s_down"] / tau,
        )


class AsymmetricLinearConfig(PulsedDeviceConfig):
    """Asymmetric linear device of [W24]: q± = 1 ∓ (g − symmetric_point)/tau."""

    law = AsymmetricLinearLaw
    model: Literal["AsymmetricLinear"] = "AsymmetricLinear"
    tau: Annotated[float, Field(gt=0.0)] = 1.0
    """Asymmetry scale τ: larger τ means a more symmetric device."""
    symmetric_point: float = 0.0
    """Location of the symmetric point (the c_Lin offset of [W25])."""
