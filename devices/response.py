"""Step laws Δ⁺/Δ⁻ (the base classes), response functions F/G and symmetric points (SPEC §1.2–1.4).

Each family's law lives beside its config in devices/models/. A *law* works on per-cell
parameter arrays (`CellParams`, a mapping of name → array that broadcasts with the
conductance `g`), so the same code serves a whole tile, a block of it, or a list of active
cells. Step magnitudes are returned as the mean (noise-free) values;
`noise_std` gives the c2c standard deviation of one pulse. Sign convention: an up pulse adds
Δ⁺(g), a down pulse subtracts Δ⁻(g).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Mapping, TypeVar

import numpy as np

if TYPE_CHECKING:
    from devices.config import PulsedDeviceConfig

CellParams = Mapping[str, np.ndarray]
ConfigT = TypeVar("ConfigT", bound="PulsedDeviceConfig")

_BISECTION_ITERATIONS = 64


class StepLaw(ABC, Generic[ConfigT]):
    """Mean step magnitudes and c2c noise of one device family, for its config type."""

    #: True when Δ± are affine in g (offset + slope·g): pulses run in the compiled affine kernels.
    affine: ClassVar[bool] = False
    #: "multiplicative" (σ|Δ|), "additive" (σ·s±), or another kind whose law overrides
    #: `noise_std` (ExpStep's "complex": σ(|Δ| + add + slope·|g|)).
    noise_kind: str = "multiplicative"
    #: Per-cell parameters Δ⁺ is proportional to, and those of Δ⁻: scaling them scales the steps
    #: and their c2c noise (an operating point, `DeviceArray.scale_steps`). A law whose steps
    #: scale with other parameters names them here.
    up_step_parameters: ClassVar[tuple[str, ...]] = ("s_up", "up_offset", "up_slope")
    down_step_parameters: ClassVar[tuple[str, ...]] = ("s_down", "down_offset", "down_slope")

    def __init__(self, config: ConfigT) -> None:
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
        return sigma * np.abs(delta)

    def closed_form_symmetric_point(self, prm: CellParams) -> np.ndarray | None:
        """Root of Δ⁺ = Δ⁻ in closed form, or None when only a numeric root exists."""
        return None


class AffineLaw(StepLaw[ConfigT]):
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


def response_functions(law: StepLaw[Any], g: np.ndarray, prm: CellParams) -> tuple[np.ndarray, np.ndarray]:
    """F (symmetric part) and G (asymmetric part) of the response, in units of dw_min ([DSPT] eq. 5–6)."""
    q_up = law.delta_up(g, prm) / law.config.dw_min
    q_down = law.delta_down(g, prm) / law.config.dw_min
    return 0.5 * (q_down + q_up), 0.5 * (q_down - q_up)


def symmetric_point(law: StepLaw[Any], prm: CellParams) -> tuple[np.ndarray, np.ndarray]:
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


def _bisect_drift_root(law: StepLaw[Any], prm: CellParams, b_min: np.ndarray, b_max: np.ndarray) -> np.ndarray:
    low, high = b_min.copy(), b_max.copy()
    for _ in range(_BISECTION_ITERATIONS):
        middle = 0.5 * (low + high)
        drift = law.delta_up(middle, prm) - law.delta_down(middle, prm)
        above = drift > 0.0
        low = np.where(above, middle, low)
        high = np.where(above, high, middle)
    return 0.5 * (low + high)
