"""A device model of your own: a cell whose up and down steps shrink toward each other like
tanh (a saturating response, not affine, so pulses run the general numpy path)."""

from typing import Literal

import numpy as np

from devices import PulsedDeviceConfig, StepLaw, register_device


class TanhStepLaw(StepLaw["TanhStepConfig"]):
    """Δ⁺ = s⁺·(1 − tanh(g/width)), Δ⁻ = s⁻·(1 + tanh(g/width)): equal at g = 0 for s⁺ = s⁻."""

    def delta_up(self, g, prm):
        return prm["s_up"] * (1.0 - np.tanh(g / self.config.width))

    def delta_down(self, g, prm):
        return prm["s_down"] * (1.0 + np.tanh(g / self.config.width))


@register_device
class TanhStepConfig(PulsedDeviceConfig):
    """Saturating step: Δ± = s±·(1 ∓ tanh(g/width))."""

    law = TanhStepLaw
    model: Literal["TanhStep"] = "TanhStep"
    width: float = 0.5
    """How far from g = 0 the steps become unequal."""
