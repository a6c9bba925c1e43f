"""What a k-read of every cell returns, in distribution: the read path of SPEC §3 (one-hot
transfer reads: DAC of the unit input, output noise, ADC) applied to cells whose visible weight
has a known mean and variance. The companion of `read_every_cell` for predictions.

Three regimes, chosen from the read path's settings:
- **perfect** reads return the visible weight itself;
- **dithered** ADC (output noise σ ≥ 0.8 of the ADC step Δ, the default 0.06 vs 0.047, or no
  quantization): a read of a cell at x averages to x and scatters by σ² + Δ²/12 whatever x is,
  within Δ·e^{−2π²σ²/Δ²}/π (≤ 4·10⁻⁶ Δ) — exact for any distribution of the cell;
- otherwise (fine ADC noise): Gaussian closure of the cell's weight, quantization levels summed
  with their Gaussian probabilities (`emulator._kernels.quantized_read_moments`).
The k reads share the cell's state and its write noise; their output noise is independent.
ADC saturation at ±out_bound is not modelled (`saturation_possible` says when it could matter).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from emulator._kernels import dac_codes, quantized_read_moments
from emulator.hardware.read_path import IOParameters

#: Output noise / ADC step from which the dithered formulas hold (bias ≤ Δ·e^{−2π²·0.64}/π).
DITHER_RATIO = 0.8
_HERMITE_NODES = 24


@dataclass(frozen=True)
class ReadMoments:
    """Per-cell mean and variance of the averaged read, and how they were computed."""

    mean: np.ndarray
    variance: np.ndarray
    regime: str
    """"perfect", "dithered" (exact) or "gaussian-closure"."""
    saturation_possible: bool
    """Some cell's read could reach the ADC bound (its outputs would be clipped)."""


def unit_input(io: IOParameters) -> float:
    """The DAC's code for the one-hot input 1 (float32, as `analog_mvm` makes it)."""
    if io.is_perfect:
        return 1.0
    out = np.empty((1, 1), dtype=np.float32)
    dac_codes(np.ones((1, 1), dtype=np.float32), np.zeros(1, dtype=np.int64), np.ones(1, dtype=np.float32),
              np.float32(1.0), np.float32(2.0 * io.inp_bound * io.inp_res), io.inp_res > 0.0,
              np.float32(io.inp_bound), out)
    return float(out[0, 0])


def adc_step(io: IOParameters) -> float:
    """Δ = 2·out_bound·out_res (0 without quantization)."""
    return 2.0 * io.out_bound * io.out_res if io.out_res > 0 else 0.0


def read_moments(mean: np.ndarray, variance: np.ndarray, io: IOParameters, reads: int,
                 check_saturation: bool = True) -> ReadMoments:
    """Mean and variance of the average of `reads` one-hot reads of cells whose visible weight
    (write noise included) has per-cell `mean` and `variance` (rows × cols)."""
    mean = np.asarray(mean, dtype=np.float64)
    variance = np.asarray(variance, dtype=np.float64)
    if io.is_perfect:
        return ReadMoments(mean, variance, "perfect", False)
    gain = io.adc_gain * unit_input(io)
    x_mean = mean if gain == 1.0 and io.adc_offset == 0.0 else gain * mean + io.adc_offset
    x_variance = variance if gain == 1.0 else gain * gain * variance
    # DAC input noise lands on every input of a one-hot read, so a cell's read carries
    # (gain·inp_noise)²·Σ over its row of w² (its correlation across the row is not modelled).
    row_power = np.sum(mean * mean + variance, axis=-1, keepdims=True) if io.inp_noise > 0 else 0.0
    noise = io.out_noise ** 2 + (gain * io.inp_noise) ** 2 * row_power
    step = adc_step(io)
    saturation = check_saturation and bool(np.any(np.abs(x_mean) + 8.0 * np.sqrt(x_variance + noise) + step
                                                   > io.out_bound))
    if step == 0.0 or io.out_noise >= DITHER_RATIO * step:
        quantization = step * step / 12.0
        return ReadMoments(x_mean, x_variance + (noise + quantization) / reads, "dithered", saturation)
    out_mean = np.empty_like(x_mean)
    out_variance = np.empty_like(x_mean)
    nodes, weights = np.polynomial.hermite.hermgauss(_HERMITE_NODES)
    quantized_read_moments(np.ascontiguousarray(x_mean.reshape(-1)), np.ascontiguousarray(x_variance.reshape(-1)),
                           np.ascontiguousarray(np.broadcast_to(noise, x_mean.shape).reshape(-1)), step, io.out_bound,
                           reads, nodes, weights / math.sqrt(math.pi), out_mean.reshape(-1), out_variance.reshape(-1))
    return ReadMoments(out_mean, out_variance, "gaussian-closure", saturation)
