"""Compiled (numba) kernels of the device layer: pulses on affine step laws, c2c uniforms.

A pulse train leaves each cell with a run of same-sign pulses, each of which must see the
state the previous one left and be clipped to the cell's bounds. In numpy that is a loop over
pulse index with a shrinking set of cells: about ten array passes and a dozen calls per pulse
index, which dominated training on small tiles and cost ≈17 ns per cell-pulse on large ones.
Here one compiled loop walks the cells once and applies each run in registers
(`apply_affine_runs`); a tile-wide pulse is one pass instead of four to eight numpy passes
(`apply_affine_pulse`).

The arithmetic is written out operation by operation in the state's dtype (no fused
multiply-add: numba's default is strict IEEE), so runs are bit-reproducible and equal the
pulse-by-pulse reference of tests/devices/test_device_affine_kernel.py.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from devices._random import UPDATE_SHIFT, fill_normals


@njit(cache=True, nogil=True)
def total_pulses(counts: np.ndarray) -> int:
    """Σ|n| over a flat array of signed pulse counts (the number of c2c draws a run needs)."""
    total = np.int64(0)
    for i in range(counts.size):
        value = np.int64(counts[i])  # widened first: LLVM vectorizes this form (7× the plain abs sum)
        total += value if value >= 0 else -value
    return int(total)


@njit(cache=True, nogil=True)
def chunk_offsets(counts: np.ndarray, chunks: int) -> tuple[np.ndarray, np.ndarray]:
    """`chunks` equal ranges of the flat cells, bounds[c]:bounds[c + 1], and where each range's
    draws start, offsets[c] = Σ|n| over the cells before it (the last entry is the total)."""
    bounds = np.empty(chunks + 1, dtype=np.int64)
    offsets = np.zeros(chunks + 1, dtype=np.int64)
    for chunk in range(chunks + 1):
        bounds[chunk] = (counts.size * chunk) // chunks
    for chunk in range(chunks):
        offsets[chunk + 1] = offsets[chunk] + total_pulses(counts[bounds[chunk]:bounds[chunk + 1]])
    return bounds, offsets


@njit(cache=True, nogil=True)
def update_offsets(counts: np.ndarray) -> tuple[np.ndarray, int]:
    """Where each update's draws start, offsets[u] = Σ|n| of the updates before u (updates × cells;
    int64, updates + 1 entries, the last the total), and the largest update's Σ|n|."""
    offsets = np.zeros(counts.shape[0] + 1, dtype=np.int64)
    largest = 0
    for update in range(counts.shape[0]):
        pulses = total_pulses(counts[update])
        offsets[update + 1] = offsets[update] + pulses
        largest = max(largest, pulses)
    return offsets, largest


@njit(cache=True, nogil=True)
def apply_affine_runs(
    g: np.ndarray,
    counts: np.ndarray,
    up_a: np.ndarray,
    up_coefficient: np.ndarray,
    down_a: np.ndarray,
    down_coefficient: np.ndarray,
    b_min: np.ndarray,
    b_max: np.ndarray,
    noise: np.ndarray,
    sigma_and_one: np.ndarray,
    up_noise_std: np.ndarray,
    down_noise_std: np.ndarray,
    multiplicative: bool,
    touched: np.ndarray,
) -> None:
    """Apply |counts[i]| pulses (sign of counts[i]) to every flat cell i of g, in place.

    Per pulse, with a the signed offset of the pulse's sign:
    - multiplicative noise: g += (a + s·g)·(1 + σξ), coefficients s (= b − 1);
    - additive noise or none: g = b·g + a (+ σ_s·ξ), coefficients b.
    Then g is clipped to [b_min, b_max]. `noise` holds Σ|counts| draws consumed in cell
    order, or is empty for noise-free runs. `sigma_and_one` is [σ, 1] in g's dtype, so the
    arithmetic stays in that dtype. `touched[i]` is set for every pulsed cell.
    """
    sigma, one = sigma_and_one[0], sigma_and_one[1]
    noisy = noise.size > 0
    k = 0
    for i in range(counts.size):
        n = counts[i]
        if n == 0:  # most cells of a small mini-batch update; predictable there, ≈2 % faster even at 512²
            continue
        # Both sides loaded, then selected: a branch on the sign would mispredict half the time.
        up = n > 0
        runs = n if up else -n
        up_offset, down_offset = up_a[i], down_a[i]
        up_c, down_c = up_coefficient[i], down_coefficient[i]
        a = up_offset if up else down_offset
        c = up_c if up else down_c
        std = sigma
        if up_noise_std.size:
            up_std, down_std = up_noise_std[i], down_noise_std[i]
            std = up_std if up else down_std
        touched[i] = True
        low, high = b_min[i], b_max[i]
        value = g[i]
        for _ in range(runs):
            if multiplicative:
                step = c * value + a
                if noisy:
                    step = (noise[k] * sigma + one) * step
                    k += 1
                value = value + step
            else:
                value = c * value + a
                if noisy:
                    value = value + noise[k] * std
                    k += 1
            value = max(min(value, high), low)
        g[i] = value


@njit(cache=True, nogil=True)
def apply_affine_runs_chunk(
    chunk: int,
    bounds: np.ndarray,
    offsets: np.ndarray,
    g: np.ndarray,
    counts: np.ndarray,
    up_a: np.ndarray,
    up_coefficient: np.ndarray,
    down_a: np.ndarray,
    down_coefficient: np.ndarray,
    b_min: np.ndarray,
    b_max: np.ndarray,
    key0: np.uint64,
    key1: np.uint64,
    update: int,
    draws: np.ndarray,
    sigma_and_one: np.ndarray,
    up_noise_std: np.ndarray,
    down_noise_std: np.ndarray,
    multiplicative: bool,
    touched: np.ndarray,
) -> None:
    """`apply_affine_runs` on the cells bounds[chunk]:bounds[chunk + 1] (see `chunk_offsets`),
    drawing their c2c normals itself: positions offsets[chunk], … of the stream's update
    `update`, into draws[offsets[chunk]:offsets[chunk + 1]] (float32; empty when noise-free).
    The draws of a chunk do not depend on which thread applies it, or when."""
    cells = slice(bounds[chunk], bounds[chunk + 1])
    noise = draws
    if draws.size:
        noise = draws[offsets[chunk]:offsets[chunk + 1]]
        fill_normals(key0, key1, (update << UPDATE_SHIFT) + offsets[chunk], noise)
    # The noise std arrays are empty unless the noise is additive; an empty slice stays empty.
    apply_affine_runs(g[cells], counts[cells], up_a[cells], up_coefficient[cells], down_a[cells],
                      down_coefficient[cells], b_min[cells], b_max[cells], noise, sigma_and_one,
                      up_noise_std[cells], down_noise_std[cells], multiplicative, touched[cells])


@njit(cache=True, nogil=True)
def apply_affine_runs_batch(
    g: np.ndarray,
    counts: np.ndarray,
    up_a: np.ndarray,
    up_coefficient: np.ndarray,
    down_a: np.ndarray,
    down_coefficient: np.ndarray,
    b_min: np.ndarray,
    b_max: np.ndarray,
    noise: np.ndarray,
    noise_offsets: np.ndarray,
    sigma_and_one: np.ndarray,
    up_noise_std: np.ndarray,
    down_noise_std: np.ndarray,
    multiplicative: bool,
    touched: np.ndarray,
) -> None:
    """`apply_affine_runs` for several updates in order (counts: updates × cells); update u
    consumes noise[noise_offsets[u]:noise_offsets[u + 1]] (all empty when noise-free)."""
    noisy = noise.size > 0
    for update in range(counts.shape[0]):
        draws = noise[noise_offsets[update]:noise_offsets[update + 1]] if noisy else noise
        apply_affine_runs(g, counts[update], up_a, up_coefficient, down_a, down_coefficient, b_min, b_max, draws,
                          sigma_and_one, up_noise_std, down_noise_std, multiplicative, touched)


@njit(cache=True, nogil=True)
def apply_affine_pulse(
    g: np.ndarray,
    up: np.ndarray,
    up_a: np.ndarray,
    up_coefficient: np.ndarray,
    down_a: np.ndarray,
    down_coefficient: np.ndarray,
    b_min: np.ndarray,
    b_max: np.ndarray,
    noise: np.ndarray,
    sigma_and_one: np.ndarray,
    up_noise_std: np.ndarray,
    down_noise_std: np.ndarray,
    multiplicative: bool,
) -> None:
    """One pulse on every flat cell of g, up where `up[i]`, in one pass. An empty `up` means
    every cell takes the up_ arguments (the caller passes the side it wants there).

    Same arithmetic and arguments as `apply_affine_runs` with one pulse per cell; `noise` has
    one draw per cell (empty when noise-free). numpy needs four to eight passes over the array
    for the same pulse, and at 512² and up each pass streams from beyond the L2 cache. Each
    case has its own branch-free loop so that LLVM vectorizes it.
    """
    sigma = sigma_and_one[0]
    one = sigma_and_one[1]
    if up.size == 0:
        if noise.size == 0:
            for i in range(g.size):
                g[i] = max(min(up_coefficient[i] * g[i] + up_a[i], b_max[i]), b_min[i])
        elif multiplicative:
            for i in range(g.size):
                value = g[i]
                step = (noise[i] * sigma + one) * (up_coefficient[i] * value + up_a[i])
                g[i] = max(min(value + step, b_max[i]), b_min[i])
        else:
            for i in range(g.size):
                value = (up_coefficient[i] * g[i] + up_a[i]) + noise[i] * up_noise_std[i]
                g[i] = max(min(value, b_max[i]), b_min[i])
        return
    for i in range(g.size):
        choose_up = up[i]
        up_offset, down_offset = up_a[i], down_a[i]
        up_c, down_c = up_coefficient[i], down_coefficient[i]
        a = up_offset if choose_up else down_offset
        c = up_c if choose_up else down_c
        value = g[i]
        if noise.size == 0:
            value = c * value + a
        elif multiplicative:
            value = value + (noise[i] * sigma + one) * (c * value + a)
        else:
            up_std, down_std = up_noise_std[i], down_noise_std[i]
            value = (c * value + a) + noise[i] * (up_std if choose_up else down_std)
        g[i] = max(min(value, b_max[i]), b_min[i])


@njit(cache=True, nogil=True)
def repeated_affine_power(steps: float, first: np.ndarray, second: np.ndarray, log_rate: np.ndarray,
                          log_square: np.ndarray, square_rate: np.ndarray, gap: np.ndarray, same: np.ndarray,
                          square_offset: np.ndarray, cross: np.ndarray, out_first: np.ndarray,
                          out_second: np.ndarray) -> None:
    """The n-th power of per-cell maps m′ = λ·m, M′ = c + b·m + μ·M in closed form, one pass:
    m_n = λⁿ·m, M_n = μⁿ·M + c·(μⁿ − 1)/(μ − 1) + b·m·(λⁿ − μⁿ)/(λ − μ), with λ = e^{log_rate},
    μ = 1 + square_rate = e^{log_square}, gap = λ − μ; the ratios through expm1 where the powers are
    close (and their limits n, n·μ^{n−1} where the rates coincide)."""
    for i in range(first.size):
        lam_n = math.exp(steps * log_rate[i])
        mu_minus_one = math.expm1(steps * log_square[i])
        mu_n = 1.0 + mu_minus_one
        geometric = steps if square_rate[i] == 0.0 else mu_minus_one / square_rate[i]
        exponent = steps * (log_rate[i] - log_square[i])
        if same[i]:
            divided = steps * mu_n / math.exp(log_square[i])
        elif abs(exponent) < 1.0:
            divided = mu_n * math.expm1(exponent) / gap[i]
        else:
            divided = (lam_n - mu_n) / gap[i]
        out_first[i] = lam_n * first[i]
        out_second[i] = mu_n * second[i] + square_offset[i] * geometric + cross[i] * first[i] * divided
