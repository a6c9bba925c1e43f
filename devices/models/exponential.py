"""ExpStep: Δ⁺ = s⁺·max(1 − A_up·e^{γ_up z}, 0), Δ⁻ = s⁻·max(1 − A_down·e^{−γ_down z}, 0),
z = 2a·g/(b⁺ − b⁻) + b, with the "complex" c2c noise of the PCM preset (SPEC §1.4)."""

from __future__ import annotations

from typing import Literal

import numpy as np

from devices.config import NonNegative, PulsedDeviceConfig
from devices.response import CellParams, StepLaw


class ExpStepLaw(StepLaw["ExpStepConfig"]):
    """Exponential steps; complex noise σ(|Δ| + add + slope·|g|) when either extra term is set."""

    def __init__(self, config: ExpStepConfig) -> None:
        super().__init__(config)
        self.noise_kind = "complex" if config.complex_noise else "multiplicative"

    def _step(self, step: np.ndarray, amplitude: float, rate: float, g: np.ndarray, prm: CellParams) -> np.ndarray:
        span = prm["b_max"] - prm["b_min"]
        z = 2.0 * self.config.a * g / np.where(span > 0.0, span, 1.0) + self.config.b
        return step * np.maximum(1.0 - amplitude * np.exp(rate * z), 0.0)

    def delta_up(self, g: np.ndarray, prm: CellParams) -> np.ndarray:
        return self._step(prm["s_up"], self.config.A_up, self.config.gamma_up, g, prm)

    def delta_down(self, g: np.ndarray, prm: CellParams) -> np.ndarray:
        return self._step(prm["s_down"], self.config.A_down, -self.config.gamma_down, g, prm)

    def noise_std(self, delta: np.ndarray, g: np.ndarray, prm: CellParams, up: bool) -> np.ndarray:
        if self.noise_kind != "complex":
            return super().noise_std(delta, g, prm, up)
        cfg = self.config
        return cfg.dw_min_std * (np.abs(delta) + cfg.dw_min_std_add + cfg.dw_min_std_slope * np.abs(g))


class ExpStepConfig(PulsedDeviceConfig):
    """Exponential step: Δ+ = s+·max(1 − A_up·e^{γ_up z}, 0), Δ− = s−·max(1 − A_down·e^{−γ_down z}, 0).

    z = 2a·g/(b+ − b−) + b. With dw_min_std_add or dw_min_std_slope nonzero the c2c noise is
    the "complex" one: σ(|Δ| + dw_min_std_add + dw_min_std_slope·|g|)·ξ, additive.
    """

    law = ExpStepLaw
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
        """True when the c2c noise is the complex (PCM) one."""
        return self.dw_min_std_add > 0.0 or self.dw_min_std_slope > 0.0
