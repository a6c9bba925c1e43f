"""PowStep: Δ⁺ = s⁺((b⁺ − g)/R)^γ⁺, Δ⁻ = s⁻((g − b⁻)/R)^γ⁻, R = b⁺ − b⁻ per cell (SPEC §1.4)."""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from devices.config import NonNegative, PulsedDeviceConfig
from devices.response import CellParams, StepLaw


class PowStepLaw(StepLaw["PowStepConfig"]):
    """Power-law steps with d2d-spread exponents γ±."""

    def sample_extra(self, prm: dict[str, np.ndarray], rng: np.random.Generator) -> None:
        cfg = self.config
        shape = prm["s_up"].shape
        gain = 1.0 + cfg.pow_gamma_dtod * rng.standard_normal(shape)
        spread = cfg.pow_up_down_dtod * rng.standard_normal(shape)
        up_bias = min(cfg.pow_up_down, 0.0)
        down_bias = -max(cfg.pow_up_down, 0.0)
        gamma_up = (up_bias + gain + spread) * cfg.pow_gamma
        gamma_down = (down_bias + gain - spread) * cfg.pow_gamma
        if cfg.enforce_consistency:
            gamma_up, gamma_down = np.abs(gamma_up), np.abs(gamma_down)
        prm.update(gamma_up=gamma_up, gamma_down=gamma_down)

    @staticmethod
    def _power_step(step: np.ndarray, distance: np.ndarray, gamma: np.ndarray, prm: CellParams) -> np.ndarray:
        span = prm["b_max"] - prm["b_min"]
        base = np.clip(distance / np.where(span > 0.0, span, 1.0), 0.0, None)
        with np.errstate(divide="ignore", invalid="ignore"):
            result = step * base ** gamma
        # A cell with no range does not move (AIHWKIT skips it); avoids 0·∞ for γ < 0.
        return np.where(prm["b_max"] > prm["b_min"], result, 0.0)

    def delta_up(self, g: np.ndarray, prm: CellParams) -> np.ndarray:
        return self._power_step(prm["s_up"], prm["b_max"] - g, prm["gamma_up"], prm)

    def delta_down(self, g: np.ndarray, prm: CellParams) -> np.ndarray:
        return self._power_step(prm["s_down"], g - prm["b_min"], prm["gamma_down"], prm)

    def closed_form_symmetric_point(self, prm: CellParams) -> np.ndarray | None:
        equal = prm["gamma_up"] == prm["gamma_down"]
        if not np.all(equal):
            return None
        with np.errstate(divide="ignore", invalid="ignore"):
            q = (prm["s_down"] / prm["s_up"]) ** (1.0 / prm["gamma_up"])
            root = prm["b_max"] - (prm["b_max"] - prm["b_min"]) * q / (1.0 + q)
        return np.where(np.isfinite(root) & (prm["s_up"] > 0), root, np.nan)


class PowStepConfig(PulsedDeviceConfig):
    """Power step: Δ+ = s+((b+ − g)/R)^γ+, Δ− = s−((g − b−)/R)^γ−, R = b+ − b−."""

    law = PowStepLaw
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
