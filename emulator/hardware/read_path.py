"""The analog read path: DAC → crossbar MVM → ADC (SPEC §3, AIHWKIT IOParameters).

numpy and two compiled per-element loops (DAC and ADC codes, in numpy's float32 arithmetic), no
simulated time: the tile wraps it in events and the cost model prices it.
Inputs are batches of vectors, one row per sample; every sample is handled as the
hardware would (its own noise management scale, its own bound-management passes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

import numpy as np
from pydantic import AfterValidator, BaseModel, Field

from devices.inputs import FROZEN_INPUT_CONFIG
from emulator._kernels import adc_codes, dac_codes


LARGEST = 1e6
"""Largest magnitude of a read-path setting in normalized units (outputs are of order 1–100)."""
FINEST_RESOLUTION = 2.0**-30
"""Finest converter step as a fraction of its range: a 30-bit converter; finer is not a converter
(and vanishes in the float32 read path). Use 0 for no quantization."""
Bound = Annotated[float, Field(ge=1e-6, le=LARGEST)]


def _resolution(value: float) -> float:
    if 0.0 < value < FINEST_RESOLUTION:
        raise ValueError("must be 0 (no quantization) or at least 2⁻³⁰ of the range")
    return value


Resolution = Annotated[float, Field(ge=0.0, le=1.0), AfterValidator(_resolution)]


class IOParameters(BaseModel):
    """Read-path settings with the reference simulator's names (SPEC §3)."""

    model_config = FROZEN_INPUT_CONFIG

    is_perfect: bool = False
    """Ideal read: y = W·x exactly (no quantization, noise or clipping)."""
    inp_res: Resolution = 1.0 / 126.0
    """DAC resolution as a fraction of the input range 2·inp_bound (0 = no quantization)."""
    inp_bound: Bound = 1.0
    """DAC clipping bound of the normalized input."""
    inp_noise: Annotated[float, Field(ge=0.0, le=LARGEST)] = 0.0
    """Gaussian noise added to the quantized input (normalized units)."""
    out_res: Resolution = 1.0 / 510.0
    """ADC resolution as a fraction of the output range 2·out_bound (0 = no quantization)."""
    out_bound: Bound = 12.0
    """ADC clipping bound (normalized output units)."""
    out_noise: Annotated[float, Field(ge=0.0, le=LARGEST)] = 0.06
    """Gaussian noise added to the analog output before the ADC."""
    noise_management: Literal["abs_max", "none"] = "abs_max"
    """Scale each input vector by its max |x| before the DAC (and undo it after the ADC)."""
    bound_management: Literal["iterative", "none"] = "iterative"
    """Forward only: redo saturated samples with the input halved, until the reduction exceeds
    max_bm_factor or max_bm_res / DAC step (the reference simulator's rule)."""
    max_bm_factor: Annotated[int, Field(ge=0, le=2**20)] = 1000
    """Largest input reduction of iterative bound management."""
    max_bm_res: Annotated[float, Field(gt=0.0, le=LARGEST)] = 0.25
    """Bound management also stops once the reduction exceeds max_bm_res / DAC step (2·inp_bound·inp_res)."""
    adc_offset: Annotated[float, Field(ge=-LARGEST, le=LARGEST)] = 0.0
    """Fault: constant offset added to every analog output before the ADC (normalized units)."""
    adc_gain: Annotated[float, Field(gt=0.0, le=LARGEST)] = 1.0
    """Fault: gain error of the output path before the ADC (1 = ideal)."""

    @property
    def max_bm_passes(self) -> int:
        """Passes iterative bound management may take: reductions 1, 2, 4, … while the reduction
        of the last pass was at most min(max_bm_factor, max_bm_res / DAC step)."""
        limit = float(self.max_bm_factor)
        if self.inp_res > 0:
            limit = min(limit, self.max_bm_res / (2.0 * self.inp_bound * self.inp_res))
        passes, reduction = 1, 1.0
        while reduction <= limit:
            passes, reduction = passes + 1, reduction * 2.0
        return passes

    @property
    def adc_levels(self) -> int:
        """Number of ADC quantization levels implied by out_res (0 if unquantized)."""
        return int(round(1.0 / self.out_res)) if self.out_res > 0 else 0


@dataclass(frozen=True)
class ReadResult:
    """Outputs of one batched read and what it cost the hardware."""

    values: np.ndarray
    """Digital outputs, shape (samples, outputs)."""
    passes: int
    """MVM passes the slowest sample needed (bound management)."""
    mvm_count: int
    """Analog MVMs performed (one per sample per pass)."""
    conversions: int
    """ADC conversions performed (outputs × MVMs)."""


def analog_mvm(
    weights: np.ndarray,
    inputs: np.ndarray,
    io: IOParameters,
    rng: np.random.Generator,
    transposed: bool = False,
    allow_bound_management: bool = True,
    noise_management: bool = True,
) -> ReadResult:
    """Read `weights` (out × in) with a batch of input vectors through DAC, array and ADC.

    transposed=True is the backward read (Wᵀ·d). `allow_bound_management=False` for backward
    and transfer reads; `noise_management=False` for one-hot transfer reads.
    """
    x = np.atleast_2d(np.asarray(inputs, dtype=np.float32))
    matrix = weights.T if transposed else weights
    samples = x.shape[0]
    outputs = matrix.shape[0]
    if io.is_perfect:
        y = x @ matrix.T
        return ReadResult(y, 1, samples, samples * outputs)

    if noise_management and io.noise_management == "abs_max":
        alpha = np.max(np.abs(x), axis=1)
    else:
        alpha = np.ones(samples, dtype=np.float32)
    safe_alpha = np.where(alpha > 0, alpha, np.float32(1.0))
    y = np.zeros((samples, outputs), dtype=np.float32)
    pending = np.flatnonzero(alpha > 0)
    use_bm = allow_bound_management and io.bound_management == "iterative"
    max_passes = io.max_bm_passes if use_bm else 1
    # Python floats act on an array as scalars of its dtype (NEP 50): the kernels take them so.
    inp_step = np.float32(2.0 * io.inp_bound * io.inp_res)
    no_noise = np.zeros((0, 0), dtype=np.float32)
    reduction = 1.0
    passes = 0
    mvm_count = 0
    while pending.size and passes < max_passes:
        passes += 1
        u = np.empty((pending.size, x.shape[1]), dtype=np.float32)
        dac_codes(x, pending, safe_alpha, np.float32(reduction), inp_step, io.inp_res > 0.0,
                  np.float32(io.inp_bound), u)
        if io.inp_noise > 0:
            u = u + io.inp_noise * rng.standard_normal(u.shape, dtype=np.float32)
        raw = u @ matrix.T
        if io.adc_gain != 1.0:
            raw *= io.adc_gain
        if io.adc_offset != 0.0:
            raw += io.adc_offset
        noise = rng.standard_normal(raw.shape, dtype=np.float32) if io.out_noise > 0 else no_noise
        saturated = np.empty(pending.size, dtype=np.bool_)
        scalar = raw.dtype.type  # float64 when the weights are
        adc_codes(raw, noise, np.float32(io.out_noise), scalar(2.0 * io.out_bound * io.out_res), io.out_res > 0.0,
                  scalar(io.out_bound), pending, safe_alpha, np.float32(reduction), y, saturated)
        mvm_count += pending.size
        if not use_bm:
            break
        pending = pending[saturated]
        reduction *= 2.0
    return ReadResult(y, max(passes, 1), mvm_count, mvm_count * outputs)


def read_every_cell(weights: np.ndarray, io: IOParameters, rng: np.random.Generator) -> ReadResult:
    """One one-hot transfer read per column (no noise or bound management, still DAC, output
    noise and ADC): `values.T` estimates every cell of `weights`."""
    identity = np.eye(weights.shape[1], dtype=np.float32)
    return analog_mvm(weights, identity, io, rng, allow_bound_management=False, noise_management=False)
