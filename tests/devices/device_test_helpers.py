"""Shared helpers for the device tests: one representative config per step-law family and
independent (test-side) implementations of the SPEC §1.4 step laws.

The expected-step functions below are written from SPEC §1.4 directly, using only the sampled
per-cell parameters (`DeviceArray.cell_parameters()`) and the config; they deliberately do not
call into `devices.response`.
"""

from __future__ import annotations

import numpy as np

from devices import (
    AsymmetricLinearConfig,
    ConstantStepConfig,
    DeviceArray,
    ExpStepConfig,
    LinearStepConfig,
    PiecewiseStepConfig,
    PowStepConfig,
    SoftBoundsConfig,
    SoftBoundsReferenceConfig,
)

# Common d2d settings: visible spread, no cell stuck, bounds well away from 0.
_COMMON = dict(dw_min=0.004, dw_min_dtod=0.2, up_down=0.05, up_down_dtod=0.05,
               w_max=0.8, w_min=-0.6, w_max_dtod=0.1, w_min_dtod=0.1)


def family_configs(sigma: float = 0.3) -> dict[str, object]:
    """One config per family / noise variant, all with c2c noise `sigma`."""
    c = dict(_COMMON, dw_min_std=sigma)
    return {
        "ConstantStep": ConstantStepConfig(**c),
        "LinearStep-mult": LinearStepConfig(**c, gamma_up=0.4, gamma_down=0.7, gamma_up_dtod=0.05,
                                            gamma_down_dtod=0.05, mult_noise=True),
        "LinearStep-add": LinearStepConfig(**c, gamma_up=0.4, gamma_down=0.7, gamma_up_dtod=0.05,
                                           gamma_down_dtod=0.05, mult_noise=False),
        "LinearStep-ownbounds": LinearStepConfig(**c, gamma_up=0.3, gamma_down=0.5,
                                                 mean_bound_reference=False),
        "SoftBounds": SoftBoundsConfig(**c),
        "SoftBounds-add": SoftBoundsConfig(**c, mult_noise=False),
        "SoftBoundsReference": SoftBoundsReferenceConfig(**c, reference_mean=0.1, reference_std=0.05),
        "PowStep": PowStepConfig(**c, pow_gamma=1.7, pow_gamma_dtod=0.1, pow_up_down=0.2,
                                 pow_up_down_dtod=0.05),
        "ExpStep-simple": ExpStepConfig(**c, a=-0.5, b=-0.5, gamma_up=5.0, gamma_down=5.0,
                                        A_up=-1.18445, A_down=-0.081404),
        "ExpStep-complex": ExpStepConfig(**c, a=-0.5, b=-0.5, gamma_up=2.5, gamma_down=2.5,
                                         A_up=-2.0, A_down=-0.5, dw_min_std_add=0.002,
                                         dw_min_std_slope=0.01),
        "PiecewiseStep": PiecewiseStepConfig(**c, piecewise_up=[1.6, 1.2, 0.9, 0.5, 0.2],
                                             piecewise_down=[0.3, 0.6, 1.0, 1.1, 1.7]),
        "AsymmetricLinear": AsymmetricLinearConfig(**c, tau=0.9, symmetric_point=0.1),
    }


FAMILY_NAMES = list(family_configs())


def noise_kind(config: object) -> str:
    """The c2c noise model SPEC §1.4 prescribes for a config."""
    if isinstance(config, ExpStepConfig) and (config.dw_min_std_add > 0 or config.dw_min_std_slope > 0):
        return "complex"
    if isinstance(config, SoftBoundsReferenceConfig):
        return "multiplicative" if config.mult_noise else "additive"
    if isinstance(config, (LinearStepConfig, SoftBoundsConfig)):
        return "multiplicative" if config.mult_noise else "additive"
    return "multiplicative"


def expected_steps(config: object, prm: dict[str, np.ndarray], g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean (Δ⁺, Δ⁻) at state g from SPEC §1.4, Δ⁻ a magnitude."""
    s_up, s_dn = prm["s_up"], prm["s_down"]
    b_hi, b_lo = prm["b_max"], prm["b_min"]
    if isinstance(config, ConstantStepConfig):
        return s_up + 0 * g, s_dn + 0 * g
    if isinstance(config, (SoftBoundsConfig, SoftBoundsReferenceConfig)):
        return s_up * (1 - g / b_hi), s_dn * (1 - g / b_lo)
    if isinstance(config, LinearStepConfig):
        if config.mean_bound_reference:
            r_up, r_dn = config.w_max, config.w_min
        else:
            r_up, r_dn = b_hi, b_lo
        return (s_up * (1 - prm["gamma_up"] * g / r_up), s_dn * (1 - prm["gamma_down"] * g / r_dn))
    if isinstance(config, PowStepConfig):
        span = b_hi - b_lo
        return (s_up * ((b_hi - g) / span) ** prm["gamma_up"],
                s_dn * ((g - b_lo) / span) ** prm["gamma_down"])
    if isinstance(config, ExpStepConfig):
        z = 2 * config.a * g / (b_hi - b_lo) + config.b
        return (s_up * np.maximum(1 - config.A_up * np.exp(config.gamma_up * z), 0),
                s_dn * np.maximum(1 - config.A_down * np.exp(-config.gamma_down * z), 0))
    if isinstance(config, PiecewiseStepConfig):
        x = (g - b_lo) / (b_hi - b_lo)
        nodes = np.linspace(0.0, 1.0, len(config.piecewise_up))
        up = np.interp(x, nodes, config.piecewise_up)
        dn = np.interp(x, nodes, config.piecewise_down)
        return s_up * up, s_dn * dn
    if isinstance(config, AsymmetricLinearConfig):
        x = (g - config.symmetric_point) / config.tau
        return s_up * (1 - x), s_dn * (1 + x)
    raise TypeError(type(config).__name__)


def expected_noise_std(config: object, prm: dict[str, np.ndarray], g: np.ndarray,
                       delta: np.ndarray, up: bool) -> np.ndarray:
    """Std of the c2c noise of one pulse (SPEC §1.4)."""
    sigma = config.dw_min_std  # type: ignore[attr-defined]
    kind = noise_kind(config)
    if kind == "additive":
        return sigma * (prm["s_up"] if up else prm["s_down"])
    if kind == "complex":
        return sigma * (np.abs(delta) + config.dw_min_std_add  # type: ignore[attr-defined]
                        + config.dw_min_std_slope * np.abs(g))  # type: ignore[attr-defined]
    return sigma * np.abs(delta)


def interior_state(array: DeviceArray, fraction: float | np.ndarray) -> np.ndarray:
    """Per-cell state at a given fraction of each cell's own range, float64."""
    prm = array.cell_parameters()
    return prm["b_min"] + np.asarray(fraction) * (prm["b_max"] - prm["b_min"])

