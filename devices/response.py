"""Vectorized step laws Δ⁺/Δ⁻, response functions F/G and symmetric points (SPEC §1.2–1.4).

A *law* works on per-cell parameter arrays (`CellParams`, a mapping of name → array that
broadcasts with the conductance `g`), so the same code serves a whole tile, a block of it,
or a list of active cells. Step magnitudes are returned as the mean (noise-free) values;
`noise_std` gives the c2c standard deviation of one pulse. Sign convention: an up pulse adds
Δ⁺(g), a down pulse subtracts Δ⁻(g).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Mapping

import numpy as np

from devices.config import (
    AsymmetricLinearConfig,
    ConstantStepConfig,
    ExpStepConfig,
    LinearStepConfig,
    PiecewiseStepConfig,
    PowStepConfig,
    PulsedDeviceConfig,
    SoftBoundsConfig,
    SoftBoundsReferenceConfig,
)

CellParams = Mapping[str, np.ndarray]

_BISECTION_ITERATIONS = 64


class StepLaw(ABC):
    """Mean step magnitudes and c2c noise of one device family."""

    #: True when Δ± are affine in g (offset + slope·g): pulses run in the compiled affine kernels.
    affine: bool = False
    #: "multiplicative" (σ|Δ|), "additive" (σ·s±) or "complex" (σ(|Δ| + add + slope·|g|)).
    noise_kind: str = "multiplicative"

    def __init__(self, config: PulsedDeviceConfig) -> None:
        self.config = config

    def sample_extra(self, prm: dict[str, np.ndarray], rng: np.random.Generator) -> None:
        """Add family-specific per-cell parameters (d2d) to `prm`, in place."""

    @abstractmethod
    def delta_up(self, g: np.ndarray, prm: CellParams) -> np.ndarray:
        """Mean conductance increase of one up pulse at state g."""

    @abstractmethod
    def delta_down(self, g: np.ndarray, prm: CellParams) -> np.ndarray:
        """Mean conductance decrease (a magnitude) of one down pulse at state g."""

    def noise_std(self, delta: np.ndarray, g: np.ndarray, prm: CellParams, up: bool) -> np.ndarray:
        """Standard deviation of the c2c noise of one pulse whose mean step is `delta`."""
        sigma = self.config.dw_min_std
        if self.noise_kind == "additive":
            return sigma * (prm["s_up"] if up else prm["s_down"])
        if self.noise_kind == "complex":
            cfg = self.config
            return sigma * (np.abs(delta) + cfg.dw_min_std_add + cfg.dw_min_std_slope * np.abs(g))  # type: ignore[attr-defined]
        return sigma * np.abs(delta)

    def closed_form_symmetric_point(self, prm: CellParams) -> np.ndarray | None:
        """Root of Δ⁺ = Δ⁻ in closed form, or None when only a numeric root exists."""
        return None


class AffineLaw(StepLaw):
    """Δ⁺ = up_offset + up_slope·g, Δ⁻ = down_offset + down_slope·g (per cell)."""

    affine = True

    def delta_up(self, g: np.ndarray, prm: CellParams) -> np.ndarray:
        return prm["up_offset"] + prm["up_slope"] * g

    def delta_down(self, g: np.ndarray, prm: CellParams) -> np.ndarray:
        return prm["down_offset"] + prm["down_slope"] * g

    def closed_form_symmetric_point(self, prm: CellParams) -> np.ndarray:
        slope_difference = prm["up_slope"] - prm["down_slope"]
        with np.errstate(divide="ignore", invalid="ignore"):
            root = (prm["down_offset"] - prm["up_offset"]) / slope_difference
        return np.where(slope_difference != 0.0, root, np.nan)


class ConstantStepLaw(AffineLaw):
    def sample_extra(self, prm: dict[str, np.ndarray], rng: np.random.Generator) -> None:
        zero = np.zeros_like(prm["s_up"])
        prm.update(up_offset=prm["s_up"].copy(), up_slope=zero, down_offset=prm["s_down"].copy(),
                   down_slope=zero.copy())


def _nonzero_bound(bound: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Keep a bound used as a divisor away from zero (a degenerate sampled bound)."""
    tiny = 1e-9 * np.maximum(scale, 1e-12)
    return np.where(np.abs(bound) < tiny, np.where(bound < 0, -tiny, tiny), bound)


class LinearStepLaw(AffineLaw):
    """LinearStep (SPEC §1.4): Δ⁺ = s⁺(1 − γ⁺g/r⁺), Δ⁻ = s⁻(1 − γ⁻g/r⁻), r⁻ < 0."""

    def __init__(self, config: PulsedDeviceConfig) -> None:
        super().__init__(config)
        mult = getattr(config, "mult_noise", True)
        self.noise_kind = "multiplicative" if mult else "additive"

    def _gammas(self, shape: tuple[int, ...], rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        cfg = self.config
        assert isinstance(cfg, LinearStepConfig)
        gamma_up = cfg.gamma_up + cfg.gamma_up_dtod * rng.standard_normal(shape)
        gamma_down = cfg.gamma_down + cfg.gamma_down_dtod * rng.standard_normal(shape)
        if not cfg.allow_increasing:
            # Fold negative draws back (|γ|, as AIHWKIT does), not clip them to 0.
            gamma_up = np.abs(gamma_up)
            gamma_down = np.abs(gamma_down)
        return gamma_up, gamma_down

    def _references(self, prm: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        cfg = self.config
        span = prm["b_max"] - prm["b_min"]
        if getattr(cfg, "mean_bound_reference", False):
            r_up = np.full_like(prm["b_max"], cfg.w_max)
            r_down = np.full_like(prm["b_min"], cfg.w_min)
        else:
            r_up, r_down = prm["b_max"], prm["b_min"]
        return _nonzero_bound(r_up, span), _nonzero_bound(r_down, span)

    def sample_extra(self, prm: dict[str, np.ndarray], rng: np.random.Generator) -> None:
        gamma_up, gamma_down = self._gammas(prm["s_up"].shape, rng)
        r_up, r_down = self._references(prm)
        prm.update(
            gamma_up=gamma_up, gamma_down=gamma_down,
            up_offset=prm["s_up"].copy(), up_slope=-gamma_up * prm["s_up"] / r_up,
            down_offset=prm["s_down"].copy(), down_slope=-gamma_down * prm["s_down"] / r_down,
        )


class SoftBoundsLaw(LinearStepLaw):
    """SoftBounds: LinearStep with γ = 1 and each cell's own bounds as r±."""

    def sample_extra(self, prm: dict[str, np.ndarray], rng: np.random.Generator) -> None:
        # SoftBoundsReference's optional extra slope d2d: slope s/b is scaled by |1 + dtod·ξ|,
        # which moves the bound (AIHWKIT); only for consistent cells (b⁻ < 0 < b⁺).
        slope_up_dtod = getattr(self.config, "slope_up_dtod", 0.0)
        slope_down_dtod = getattr(self.config, "slope_down_dtod", 0.0)
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

    def _gammas(self, shape: tuple[int, ...], rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        return np.ones(shape), np.ones(shape)


class AsymmetricLinearLaw(AffineLaw):
    """[W24]: Δ± = s±(1 ∓ (g − c)/τ), symmetric point c when s⁺ = s⁻."""

    def sample_extra(self, prm: dict[str, np.ndarray], rng: np.random.Generator) -> None:
        cfg = self.config
        assert isinstance(cfg, AsymmetricLinearConfig)
        c, tau = cfg.symmetric_point, cfg.tau
        prm.update(
            up_offset=prm["s_up"] * (1.0 + c / tau), up_slope=-prm["s_up"] / tau,
            down_offset=prm["s_down"] * (1.0 - c / tau), down_slope=prm["s_down"] / tau,
        )


class PowStepLaw(StepLaw):
    """PowStep: Δ⁺ = s⁺((b⁺ − g)/R)^γ⁺, Δ⁻ = s⁻((g − b⁻)/R)^γ⁻, R = b⁺ − b⁻ per cell."""

    def sample_extra(self, prm: dict[str, np.ndarray], rng: np.random.Generator) -> None:
        cfg = self.config
        assert isinstance(cfg, PowStepConfig)
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
    def _span(prm: CellParams) -> np.ndarray:
        span = prm["b_max"] - prm["b_min"]
        return np.where(span > 0.0, span, 1.0)

    def delta_up(self, g: np.ndarray, prm: CellParams) -> np.ndarray:
        base = np.clip((prm["b_max"] - g) / self._span(prm), 0.0, None)
        with np.errstate(divide="ignore", invalid="ignore"):
            step = prm["s_up"] * base ** prm["gamma_up"]
        # A cell with no range does not move (AIHWKIT skips it); avoids 0·∞ for γ < 0.
        return np.where(prm["b_max"] > prm["b_min"], step, 0.0)

    def delta_down(self, g: np.ndarray, prm: CellParams) -> np.ndarray:
        base = np.clip((g - prm["b_min"]) / self._span(prm), 0.0, None)
        with np.errstate(divide="ignore", invalid="ignore"):
            step = prm["s_down"] * base ** prm["gamma_down"]
        return np.where(prm["b_max"] > prm["b_min"], step, 0.0)

    def closed_form_symmetric_point(self, prm: CellParams) -> np.ndarray | None:
        equal = prm["gamma_up"] == prm["gamma_down"]
        if not np.all(equal):
            return None
        with np.errstate(divide="ignore", invalid="ignore"):
            q = (prm["s_down"] / prm["s_up"]) ** (1.0 / prm["gamma_up"])
            root = prm["b_max"] - (prm["b_max"] - prm["b_min"]) * q / (1.0 + q)
        return np.where(np.isfinite(root) & (prm["s_up"] > 0), root, np.nan)


class ExpStepLaw(StepLaw):
    """ExpStep: Δ⁺ = s⁺·max(1 − A_up·e^{γ_up z}, 0), Δ⁻ = s⁻·max(1 − A_down·e^{−γ_down z}, 0)."""

    def __init__(self, config: PulsedDeviceConfig) -> None:
        super().__init__(config)
        assert isinstance(config, ExpStepConfig)
        self.noise_kind = "complex" if config.complex_noise else "multiplicative"

    def _z(self, g: np.ndarray, prm: CellParams) -> np.ndarray:
        cfg = self.config
        span = prm["b_max"] - prm["b_min"]
        span = np.where(span > 0.0, span, 1.0)
        return 2.0 * cfg.a * g / span + cfg.b  # type: ignore[attr-defined]

    def delta_up(self, g: np.ndarray, prm: CellParams) -> np.ndarray:
        cfg = self.config
        z = self._z(g, prm)
        return prm["s_up"] * np.maximum(1.0 - cfg.A_up * np.exp(cfg.gamma_up * z), 0.0)  # type: ignore[attr-defined]

    def delta_down(self, g: np.ndarray, prm: CellParams) -> np.ndarray:
        cfg = self.config
        z = self._z(g, prm)
        return prm["s_down"] * np.maximum(1.0 - cfg.A_down * np.exp(-cfg.gamma_down * z), 0.0)  # type: ignore[attr-defined]


class PiecewiseStepLaw(StepLaw):
    """PiecewiseStep: Δ± = s±·interp(v±, g) over nodes equally spaced on the cell's [b⁻, b⁺]."""

    def __init__(self, config: PulsedDeviceConfig) -> None:
        super().__init__(config)
        assert isinstance(config, PiecewiseStepConfig)
        self._up_nodes = np.asarray(config.piecewise_up, dtype=np.float64)
        self._down_nodes = np.asarray(config.piecewise_down, dtype=np.float64)

    def _interp(self, nodes: np.ndarray, g: np.ndarray, prm: CellParams) -> np.ndarray:
        if nodes.size == 1:
            return np.full_like(np.asarray(g, dtype=np.result_type(g, prm["b_min"])), nodes[0])
        span = prm["b_max"] - prm["b_min"]
        span = np.where(span > 0.0, span, 1.0)
        position = np.clip((g - prm["b_min"]) / span, 0.0, 1.0) * (nodes.size - 1)
        index = np.minimum(position.astype(np.int64), nodes.size - 2)
        fraction = position - index
        return nodes[index] * (1.0 - fraction) + nodes[index + 1] * fraction

    def delta_up(self, g: np.ndarray, prm: CellParams) -> np.ndarray:
        return prm["s_up"] * self._interp(self._up_nodes, g, prm)

    def delta_down(self, g: np.ndarray, prm: CellParams) -> np.ndarray:
        return prm["s_down"] * self._interp(self._down_nodes, g, prm)


def law_for(config: PulsedDeviceConfig) -> StepLaw:
    """The step law of a device configuration."""
    if isinstance(config, (SoftBoundsConfig, SoftBoundsReferenceConfig)):
        return SoftBoundsLaw(config)
    if isinstance(config, LinearStepConfig):
        return LinearStepLaw(config)
    if isinstance(config, ConstantStepConfig):
        return ConstantStepLaw(config)
    if isinstance(config, AsymmetricLinearConfig):
        return AsymmetricLinearLaw(config)
    if isinstance(config, PowStepConfig):
        return PowStepLaw(config)
    if isinstance(config, ExpStepConfig):
        return ExpStepLaw(config)
    if isinstance(config, PiecewiseStepConfig):
        return PiecewiseStepLaw(config)
    raise TypeError(f"no step law for device config {type(config).__name__}")


def response_functions(law: StepLaw, g: np.ndarray, prm: CellParams) -> tuple[np.ndarray, np.ndarray]:
    """F (symmetric part) and G (asymmetric part) of the response, in units of dw_min ([DSPT] eq. 5–6)."""
    q_up = law.delta_up(g, prm) / law.config.dw_min
    q_down = law.delta_down(g, prm) / law.config.dw_min
    return 0.5 * (q_down + q_up), 0.5 * (q_down - q_up)


def symmetric_point(law: StepLaw, prm: CellParams) -> tuple[np.ndarray, np.ndarray]:
    """Per-cell point that random ±pulses drive the cell to, and whether it is an interior root.

    Interior root of Δ⁺ = Δ⁻ where one exists (closed form where the law has one, vectorized
    bisection otherwise). Cells without one get the bound they drift to; neutral cells
    (Δ⁺ ≡ Δ⁻, e.g. a symmetric ConstantStep) get the middle of their range, the mean of the
    uniform distribution a reflected random walk settles into. Never NaN.
    """
    b_min = np.asarray(prm["b_min"], dtype=np.float64)
    b_max = np.asarray(prm["b_max"], dtype=np.float64)
    drift_low = law.delta_up(b_min, prm) - law.delta_down(b_min, prm)
    drift_high = law.delta_up(b_max, prm) - law.delta_down(b_max, prm)
    bracketed = (drift_low > 0.0) & (drift_high < 0.0)

    root = law.closed_form_symmetric_point(prm)
    if root is None:
        root = _bisect_drift_root(law, prm, b_min, b_max)
    root = np.broadcast_to(root, b_min.shape)
    interior = bracketed & np.isfinite(root)
    middle = 0.5 * (b_min + b_max)
    upward = (drift_low >= 0.0) & (drift_high >= 0.0) & ((drift_low > 0.0) | (drift_high > 0.0))
    downward = (drift_low <= 0.0) & (drift_high <= 0.0) & ((drift_low < 0.0) | (drift_high < 0.0))
    point = np.where(upward, b_max, np.where(downward, b_min, middle))
    point = np.where(interior, np.clip(np.nan_to_num(root), b_min, b_max), point)
    return point, interior


def _bisect_drift_root(law: StepLaw, prm: CellParams, b_min: np.ndarray, b_max: np.ndarray) -> np.ndarray:
    low, high = b_min.copy(), b_max.copy()
    for _ in range(_BISECTION_ITERATIONS):
        middle = 0.5 * (low + high)
        drift = law.delta_up(middle, prm) - law.delta_down(middle, prm)
        above = drift > 0.0
        low = np.where(above, middle, low)
        high = np.where(above, high, middle)
    return 0.5 * (low + high)
