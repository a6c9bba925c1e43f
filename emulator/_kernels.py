"""Compiled (numba) kernels of the emulator's per-cell passes: pulse counting, coincidences, read-path moments.

Each replaces several numpy passes over a tile by one: at 512² a numpy pass costs ≈0.1–0.3 ms,
and a training step did about ten of them besides the device update itself.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from devices._random import counter_hash


@njit(cache=True, nogil=True)
def accumulate_signed_counts(counts: np.ndarray, up_cells: np.ndarray, down_cells: np.ndarray) -> tuple[int, int]:
    """up_cells += max(n, 0), down_cells += max(−n, 0) over flat arrays; returns (Σup, Σdown)."""
    up_total = 0
    down_total = 0
    for i in range(counts.size):
        n = int(counts[i])
        up = n if n > 0 else 0
        down = -n if n < 0 else 0
        up_cells[i] += up
        down_cells[i] += down
        up_total += up
        down_total += down
    return up_total, down_total


@njit(cache=True, nogil=True)
def accumulate_signed_counts_batch(counts: np.ndarray, up_cells: np.ndarray, down_cells: np.ndarray,
                                   totals: np.ndarray) -> None:
    """`accumulate_signed_counts` for several updates (updates × cells); totals[u] = (Σup, Σdown)."""
    for update in range(counts.shape[0]):
        totals[update, 0], totals[update, 1] = accumulate_signed_counts(counts[update], up_cells, down_cells)


@njit(cache=True, nogil=True)
def _popcount64(word: np.uint64) -> np.uint64:
    # SWAR popcount; LLVM turns this idiom into the popcnt instruction.
    word = word - ((word >> np.uint64(1)) & np.uint64(0x5555555555555555))
    word = (word & np.uint64(0x3333333333333333)) + ((word >> np.uint64(2)) & np.uint64(0x3333333333333333))
    word = (word + (word >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return (word * np.uint64(0x0101010101010101)) >> np.uint64(56)


@njit(cache=True, nogil=True)
def signed_coincidences(row_words: np.ndarray, column_words: np.ndarray, row_sign: np.ndarray,
                        column_sign: np.ndarray, out: np.ndarray) -> tuple[int, int]:
    """out[i, j] = row_sign[i]·column_sign[j]·Σ_w popcount(row_words[w, i] & column_words[w, j]);
    returns the up and down pulses, (Σ positive, Σ |negative|) of out.

    Words hold the firing bits of 64 slots each (words × rows and words × cols, uint64): a row
    of column words is contiguous, so the popcounts of a row vectorize.
    """
    words, rows = row_words.shape
    cols = column_words.shape[1]
    up = 0
    down = 0
    for i in range(rows):
        sign = row_sign[i]
        if words == 1:  # BL ≤ 64, the usual case: one popcount per cell, vectorized
            row_word = row_words[0, i]
            for j in range(cols):
                out[i, j] = np.int32(_popcount64(row_word & column_words[0, j])) * (sign * column_sign[j])
        else:
            for j in range(cols):
                total = np.uint64(0)
                for w in range(words):
                    total += _popcount64(row_words[w, i] & column_words[w, j])
                out[i, j] = np.int32(total) * (sign * column_sign[j])
        for j in range(cols):
            value = out[i, j]
            up += value if value > 0 else 0
            down -= value if value < 0 else 0
    return up, down


#: Second key of every train's firing draws (the first is the train's own, drawn from the tile's
#: train generator): SplitMix64's finalizer of (key + position·γ) ⊕ FIRING_KEY.
FIRING_KEY = np.uint64(0xD1B54A32D192ED03)


@njit(cache=True, nogil=True)
def pack_firing_bits(key: np.uint64, offset: int, slots: int, probability: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which lines fire in each slot, as bits: ⌈slots/64⌉ × lines uint64 words (slot t is bit
    t mod 64 of word t // 64), and the number of lines fired per slot.

    Line j fires in slot t when its uniform, position offset + t·lines + j of the train `key`,
    is below probability[j] (float32). The uniform is the top 24 bits of the position's
    counter hash times 2⁻²⁴: numpy's float32 resolution, drawn here in a vectorized loop at a
    quarter of the cost of `Generator.random`, by any position in any order.
    """
    lines = probability.size
    words = np.zeros(((slots + 63) // 64, lines), dtype=np.uint64)
    fired = np.zeros(slots, dtype=np.int64)
    scale = np.float32(1.0 / 16777216.0)
    uniforms = np.empty(lines, dtype=np.float32)
    for t in range(slots):
        first = np.uint64(offset + t * lines)
        for j in range(lines):
            uniforms[j] = np.float32(counter_hash(key, FIRING_KEY, first + np.uint64(j)) >> np.uint64(40)) * scale
        word = t // 64
        shift = np.uint64(t % 64)
        count = 0
        for j in range(lines):
            fire = uniforms[j] < probability[j]
            words[word, j] |= np.uint64(fire) << shift
            count += fire
        fired[t] = count
    return words, fired


@njit(cache=True, nogil=True)
def firing_plans(xs: np.ndarray, ds: np.ndarray, learning_rate: float, granularity: float, desired_bl: int,
                 bl_management: bool, update_management: bool
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Slots and per-slot firing probabilities of one stochastic train per sample (SPEC §2.1).

    Per sample (rows of xs and ds): k = |lr|·max|x|·max|d|/granularity, BL = min(⌈k⌉,
    desired_bl) (at least 1) with bl management, else desired_bl; 0 when x, d or lr is zero.
    q_i = min(1, a·|d_i|), p_j = min(1, b·|x_j|) with a = b = √(|lr|/(granularity·BL)), balanced
    by √(max|x|/max|d|) under update management (max|d| scaled down by desired_bl/k when the
    train saturates), which bl management implies, as in the reference simulator. A cell pulses down where x_j·d_i > 0 (ΔW = −lr·d·xᵀ) when lr > 0, up
    when lr < 0. Returns slots, q, p and the row and column signs; non-finite x or d raise.
    """
    samples, cols = xs.shape
    rows = ds.shape[1]
    slots = np.zeros(samples, dtype=np.int64)
    row_probability = np.zeros((samples, rows))
    column_probability = np.zeros((samples, cols))
    row_sign = np.zeros((samples, rows), dtype=np.int32)
    column_sign = np.zeros((samples, cols), dtype=np.int32)
    lr = abs(learning_rate)
    for s in range(samples):
        x_max = 0.0
        for j in range(cols):
            if not np.isfinite(xs[s, j]):
                raise ValueError("pulse train inputs x must be finite")
            x_max = max(x_max, abs(xs[s, j]))
        d_max = 0.0
        for i in range(rows):
            if not np.isfinite(ds[s, i]):
                raise ValueError("pulse train errors d must be finite")
            d_max = max(d_max, abs(ds[s, i]))
        if x_max == 0.0 or d_max == 0.0 or learning_rate == 0.0:
            continue
        k = lr * x_max * d_max / granularity
        bl = int(max(1, min(int(np.ceil(min(k, 1e18))), desired_bl))) if bl_management else desired_bl
        slots[s] = bl
        scale_a = scale_b = np.sqrt(lr / (granularity * bl))
        if update_management or bl_management:
            d_max_managed = d_max * desired_bl / k if k > desired_bl else d_max
            scale_a *= np.sqrt(x_max / d_max_managed)
            scale_b *= np.sqrt(d_max_managed / x_max)
        for i in range(rows):
            row_probability[s, i] = min(1.0, scale_a * abs(ds[s, i]))
            sign = np.int32((ds[s, i] > 0) - (ds[s, i] < 0))
            row_sign[s, i] = -sign if learning_rate > 0 else sign
        for j in range(cols):
            column_probability[s, j] = min(1.0, scale_b * abs(xs[s, j]))
            column_sign[s, j] = np.int32((xs[s, j] > 0) - (xs[s, j] < 0))
    return slots, row_probability, column_probability, row_sign, column_sign


@njit(cache=True, nogil=True)
def stochastic_counts(key: np.uint64, slots: int, row_probability: np.ndarray, column_probability: np.ndarray,
                      row_sign: np.ndarray, column_sign: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Signed coincidence counts of one stochastic train of `slots` slots into `out`; returns the
    cell pulses of each slot. The train's firing draws (`pack_firing_bits`): rows at positions
    0 … slots·rows − 1, then columns; probabilities rounded to float32."""
    rows = row_probability.size
    row_words, rows_fired = pack_firing_bits(key, 0, slots, row_probability.astype(np.float32))
    column_words, columns_fired = pack_firing_bits(key, slots * rows, slots, column_probability.astype(np.float32))
    signed_coincidences(row_words, column_words, row_sign, column_sign, out)
    return rows_fired * columns_fired


@njit(cache=True, nogil=True)
def stochastic_counts_batch(keys: np.ndarray, slots: np.ndarray, row_probability: np.ndarray,
                            column_probability: np.ndarray, row_sign: np.ndarray, column_sign: np.ndarray,
                            out: np.ndarray, slot_pulses: np.ndarray, totals: np.ndarray) -> None:
    """`stochastic_counts` for several trains (one per sample) into out (samples × rows × cols),
    the cell pulses of every slot, sample after sample, into slot_pulses (Σ slots), and each
    sample's (up, down) pulses into totals (samples × 2).

    keys[k] is the k-th train's key, counting only the samples with slots (as `plan_pulse_train`
    draws one per train that fires); samples with no slots get zero counts.
    """
    samples, rows, cols = out.shape
    train = 0
    slot = 0
    for s in range(samples):
        bl = slots[s]
        totals[s, 0] = totals[s, 1] = 0
        if bl == 0:
            out[s] = 0
            continue
        key = keys[train]
        train += 1
        row_words, rows_fired = pack_firing_bits(key, 0, bl, row_probability[s].astype(np.float32))
        column_words, columns_fired = pack_firing_bits(key, bl * rows, bl, column_probability[s].astype(np.float32))
        totals[s, 0], totals[s, 1] = signed_coincidences(row_words, column_words, row_sign[s], column_sign[s], out[s])
        for t in range(bl):
            slot_pulses[slot + t] = rows_fired[t] * columns_fired[t]
        slot += bl


@njit(cache=True, nogil=True)
def signed_totals(counts: np.ndarray, totals: np.ndarray) -> None:
    """Up and down pulses of every update: totals[u] = (Σ positive, Σ |negative|) of counts[u]
    (updates × cells)."""
    for update in range(counts.shape[0]):
        up = 0
        down = 0
        for cell in range(counts.shape[1]):
            value = counts[update, cell]
            if value > 0:
                up += value
            else:
                down -= value
        totals[update, 0] = up
        totals[update, 1] = down


@njit(cache=True, nogil=True)
def input_scales(x: np.ndarray, noise_management: bool) -> tuple[np.ndarray, np.ndarray]:
    """Noise-management scale of each input vector (rows of float32 x): max|x| (as numpy's max,
    NaN propagating) or 1; returned with zeros (and NaNs) replaced by 1, and the rows whose
    scale is > 0 (the ones that are read)."""
    samples = x.shape[0]
    scales = np.ones(samples, dtype=np.float32)
    pending = np.empty(samples, dtype=np.int64)
    count = 0
    for s in range(samples):
        scale = np.float32(1.0)
        if noise_management:
            scale = np.float32(0.0)
            for j in range(x.shape[1]):
                magnitude = abs(x[s, j])
                if magnitude > scale or magnitude != magnitude:
                    scale = magnitude
                if scale != scale:
                    break
        if scale > 0:
            scales[s] = scale
            pending[count] = s
            count += 1
    return scales, pending[:count]


@njit(cache=True, nogil=True)
def dac_codes(x: np.ndarray, rows: np.ndarray, scale: np.ndarray, reduction: np.float32, step: np.float32,
              quantize: bool, bound: np.float32, out: np.ndarray) -> None:
    """DAC of a read pass, in float32 as numpy does it: out[k] = clip(rint(x[r]/(scale[r]·reduction)
    / step)·step, ±bound) for r = rows[k] (no rounding when `quantize` is false)."""
    for k in range(rows.size):
        r = rows[k]
        divisor = scale[r] * reduction
        for j in range(x.shape[1]):
            value = x[r, j] / divisor
            if quantize:
                value = np.rint(value / step) * step
            out[k, j] = min(max(value, -bound), bound)


@njit(cache=True, nogil=True)
def adc_codes(raw: np.ndarray, noise: np.ndarray, noise_std: np.float32, step: np.float32, quantize: bool,
              bound: np.float32, rows: np.ndarray, scale: np.ndarray, reduction: np.float32, y: np.ndarray,
              saturated: np.ndarray) -> None:
    """ADC of a read pass, in float32 as numpy does it: output noise (noise_std·noise, when
    `noise` is not empty), q = rint(v/step)·step, saturation flags (|q| > bound, tested after the
    quantization as the reference simulator does), then y[r] = clip(q, ±bound)·scale[r]·reduction
    for r = rows[k]."""
    noisy = noise.size > 0
    for k in range(rows.size):
        r = rows[k]
        factor = scale[r] * reduction
        hit = False
        for j in range(raw.shape[1]):
            value = raw[k, j]
            if noisy:
                value = value + noise_std * noise[k, j]
            if quantize:
                value = np.rint(value / step) * step
            if abs(value) > bound:
                hit = True
            y[r, j] = min(max(value, -bound), bound) * factor
        saturated[k] = hit


@njit(cache=True, nogil=True)
def _quantized_gaussian(mean: float, std: float, step: float, bound: float) -> tuple[float, float]:
    """E[q] and E[q²] of q = clip(rint(y/step)·step, ±bound) for y ~ N(mean, std²), summing the
    quantization levels within 9 std of the mean with their Gaussian probabilities."""
    if std <= 0.0:
        q = min(max(np.rint(mean / step) * step, -bound), bound)
        return q, q * q
    scale = 1.0 / (std * math.sqrt(2.0))
    low = math.floor((mean - 9.0 * std) / step)
    high = math.ceil((mean + 9.0 * std) / step)
    first = 0.0
    second = 0.0
    below = 0.5 * math.erfc(-((low - 0.5) * step - mean) * scale)
    for level in range(low, high + 1):
        above = 0.5 * math.erfc(-((level + 0.5) * step - mean) * scale)
        q = min(max(level * step, -bound), bound)
        first += (above - below) * q
        second += (above - below) * q * q
        below = above
    return first, second


@njit(cache=True, nogil=True)
def quantized_read_moments(x_mean: np.ndarray, x_variance: np.ndarray, noise_variance: np.ndarray, step: float,
                           bound: float, reads: int, nodes: np.ndarray, weights: np.ndarray, out_mean: np.ndarray,
                           out_variance: np.ndarray) -> None:
    """Mean and variance of the average of `reads` ADC reads of cells x ~ N(x_mean, x_variance)
    (Gaussian closure), each read adding independent output noise of `noise_variance`. The reads
    share x: E[r̂²] = E[q²]/k + (1 − 1/k)·E_x[m(x)²], m(x) = E[q | x], with the last expectation by
    Gauss–Hermite quadrature (nodes, weights normalized to sum to 1)."""
    for i in range(x_mean.size):
        total = math.sqrt(x_variance[i] + noise_variance[i])
        first, second = _quantized_gaussian(x_mean[i], total, step, bound)
        shared = second
        if reads > 1 and noise_variance[i] > 0.0:
            read_std = math.sqrt(noise_variance[i])
            spread = math.sqrt(2.0 * x_variance[i])
            shared = 0.0
            for k in range(nodes.size):
                level = _quantized_gaussian(x_mean[i] + spread * nodes[k], read_std, step, bound)[0]
                shared += weights[k] * level * level
        mean_square = second / reads + (1.0 - 1.0 / reads) * shared
        out_mean[i] = first
        out_variance[i] = max(mean_square - first * first, 0.0)
