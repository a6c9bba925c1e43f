"""LinearStep: Δ± = s±(1 − γ±·g/r±), r⁻ < 0 (SPEC §1.4), and the coefficient helpers that
SoftBounds shares."""

from __future__ import annotations

from typing import Literal

import numpy as np

from devices.config import NonNegative, PulsedDeviceConfig
from devices.response import AffineLaw


def nonzero_bound(bound: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Keep a bound used as a divisor away from zero (a degenerate sampled bound)."""
    tiny = 1e-9 * np.maximum(scale, 1e-12)
    return np.where(np.abs(bound) < tiny, np.where(bound < 0, -tiny, tiny), bound)


def bound_references(prm: dict[str, np.ndarray], mean_bounds: tuple[float, float] | None = None
                     ) -> tuple[np.ndarray, np.ndarray]:
    """r⁺, r⁻ of the linear law: the mean bounds (w_max, w_min) if given, else each cell's own."""
    span = prm["b_max"] - prm["b_min"]
    if mean_bounds is not None:
        r_up = np.full_like(prm["b_max"], mean_bounds[0])
        r_down = np.full_like(prm["b_min"], mean_bounds[1])
    else:
        r_up, r_down = prm["b_max"], prm["b_min"]
    return nonzero_bound(r_up, span), nonzero_bound(r_down, span)


def add_linear_coefficients(prm: dict[str, np.ndarray], gamma_up: np.ndarray, gamma_down: np.ndarray,
                            r_up: np.ndarray, r_down: np.ndarray) -> None:
    """Store γ± and the affine offsets/slopes of Δ± = s±(1 − γ±·g/r±) in `prm`."""
    prm.update(
        gamma_up=gamma_up, gamma_down=gamma_down,
        up_offset=prm["s_up"].copy(), up_slope=-gamma_up * prm["s_up"] / r_up,
        down_offset=prm["s_down"].copy(), down_slope=-gamma_down * prm["s_down"] / r_down,
    )


class LinearStepLaw(AffineLaw["LinearStepConfig"]):
    """LinearStep: d2d-spread γ±, references r± from the mean or the cell's own bounds."""

    def __init__(self, config: LinearStepConfig) -> None:
        super().__init__(config)
        self.noise_kind = "multiplicative" if config.mult_noise else "additive"

    def sample_extra(self, prm: dict[str, np.ndarray], rng: np.random.Generator) -> None:
        cfg = self.config
        shape = prm["s_up"].shape
        gamma_up = cfg.gamma_up + cfg.gamma_up_dtod * rng.standard_normal(shape)
        gamma_down = cfg.gamma_down + cfg.gamma_down_dtod * rng.standard_normal(shape)
        if not cfg.allow_increasing:
            # Fold negative draws back (|γ|, as AIHWKIT does), not clip them to 0.
            gamma_up = np.abs(gamma_up)
            gamma_down = np.abs(gamma_down)
        mean_bounds = (cfg.w_max, cfg.w_min) if cfg.mean_bound_reference else None
        add_linear_coefficients(prm, gamma_up, gamma_down, *bound_references(prm, mean_bounds))


class LinearStepConfig(PulsedDeviceConfig):
    """Linear step: Δ± = s±(1 − γ±·g/r±), multiplicative or additive noise."""

    law = LinearStepLaw
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
