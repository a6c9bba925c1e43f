"""Device-to-device sampling: every per-cell quantity drawn once when an array is built (SPEC §1.3).

All draws come from one `Generator` in a fixed order: the shared parameters (bounds, steps,
stuck cells), the family's own (`StepLaw.sample_extra`), then reset values, references,
lifetimes and diffusion rates. Everything here is float64; the array casts to its state dtype.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from devices.config import PulsedDeviceConfig
from devices.response import StepLaw, symmetric_point


def state_dtype_for(config: PulsedDeviceConfig) -> type[np.floating]:
    """float32 unless the step is so fine relative to the range that float32 would bias it."""
    magnitude = max(abs(config.w_max), abs(config.w_min), 1e-12)
    return np.float64 if config.dw_min / magnitude < 1e-4 else np.float32


def sample_cell_parameters(
    config: PulsedDeviceConfig, shape: tuple[int, ...], rng: np.random.Generator, law: StepLaw[Any]
) -> dict[str, np.ndarray]:
    """Device-to-device sampling of every per-cell parameter (SPEC §1.3), in float64.

    Returns s_up, s_down, b_min, b_max, the boolean mask `stuck` and the law's own parameters.
    """
    xi = rng.standard_normal((4,) + shape)
    b_max = config.w_max * (1.0 + config.w_max_dtod * xi[0])
    b_min = config.w_min * (1.0 + config.w_min_dtod * xi[1])
    if config.dw_min_dtod_log_normal:
        gain = np.exp(config.dw_min_dtod * xi[2])
    else:
        gain = 1.0 + config.dw_min_dtod * xi[2]
    asymmetry = config.up_down_dtod * xi[3]
    s_up = config.dw_min * (gain + asymmetry + min(config.up_down, 0.0))
    s_down = config.dw_min * (gain - asymmetry - max(config.up_down, 0.0))
    if config.enforce_consistency:
        s_up, s_down = np.abs(s_up), np.abs(s_down)
        swap = b_min > b_max
        b_min, b_max = np.where(swap, b_max, b_min), np.where(swap, b_min, b_max)
        b_max, b_min = np.abs(b_max), -np.abs(b_min)
    else:
        # Inconsistent bounds switch the cell off: both bounds at their midpoint (as AIHWKIT).
        crossed = b_min > b_max
        middle = 0.5 * (b_min + b_max)
        b_min, b_max = np.where(crossed, middle, b_min), np.where(crossed, middle, b_max)
    prm = {"s_up": s_up, "s_down": s_down, "b_min": b_min, "b_max": b_max}
    prm["stuck"] = _stick_cells(config, prm, rng)
    law.sample_extra(prm, rng)
    return prm


def _stick_cells(config: PulsedDeviceConfig, prm: dict[str, np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """Draw the stuck cells and freeze them in `prm` (no steps, both bounds at one value); the mask."""
    shape = prm["s_up"].shape
    stuck = rng.random(shape) < config.corrupt_devices_prob
    fraction = rng.random(shape)
    if np.any(stuck):
        # Uniform over [−range, +range] ∩ [b_min, b_max] (AIHWKIT's corrupt-device draw).
        b_min, b_max = prm["b_min"], prm["b_max"]
        low = np.maximum(np.minimum(b_min, b_max), -config.corrupt_devices_range)
        high = np.minimum(np.maximum(b_min, b_max), config.corrupt_devices_range)
        stuck_value = low + (high - low) * fraction
        prm["s_up"] = np.where(stuck, 0.0, prm["s_up"])
        prm["s_down"] = np.where(stuck, 0.0, prm["s_down"])
        prm["b_min"] = np.where(stuck, stuck_value, b_min)
        prm["b_max"] = np.where(stuck, stuck_value, b_max)
    return stuck


@dataclass(frozen=True)
class SampledCells:
    """Every per-cell quantity of an array drawn at construction, in float64."""

    parameters: dict[str, np.ndarray]
    """The law's per-cell parameters: s_up, s_down, b_min, b_max and the family's own."""
    stuck: np.ndarray
    """Cells that do not respond to pulses."""
    symmetric_point: np.ndarray
    """Each cell's symmetric point of g (ground truth)."""
    sp_interior: np.ndarray
    """Whether that point is an interior root of Δ⁺ = Δ⁻."""
    reset: np.ndarray
    """Mean conductance after a reset (the reset bias, before clipping to the bounds)."""
    reference: np.ndarray
    """The reference r subtracted from g."""
    decay_scale: np.ndarray
    """Per-step factor 1 − 1/lifetime of g − reset (1 where decay is off)."""
    diffusion_rate: np.ndarray
    """Std of the random walk per slow-process step."""


def sample_cells(
    config: PulsedDeviceConfig, shape: tuple[int, ...], rng: np.random.Generator, law: StepLaw[Any]
) -> SampledCells:
    """All device-to-device draws of an array of `shape` (SPEC §1.3, §1.5 and the slow processes)."""
    parameters = sample_cell_parameters(config, shape, rng, law)
    stuck = parameters.pop("stuck")
    reset = config.reset + config.reset_dtod * rng.standard_normal(shape)
    reference = config.reference_mean + config.reference_std * rng.standard_normal(shape)
    point, interior = symmetric_point(law, parameters)
    if config.subtract_symmetry_point:
        reference = reference + point
        reset = reset + point
    lifetime = config.lifetime * (1.0 + config.lifetime_dtod * rng.standard_normal(shape))
    decay_scale = np.where(config.lifetime > 0, 1.0 - 1.0 / np.maximum(lifetime, 1.0), 1.0)
    diffusion = config.diffusion * (1.0 + config.diffusion_dtod * rng.standard_normal(shape))
    return SampledCells(parameters=parameters, stuck=stuck, symmetric_point=point, sp_interior=interior,
                        reset=reset, reference=reference, decay_scale=decay_scale,
                        diffusion_rate=np.abs(diffusion))
