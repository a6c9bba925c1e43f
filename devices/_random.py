"""Random normals for the device layer: counter-based streams (c2c noise, write noise, resets).

**c2c noise (`NormalStream`).** Every pulse's cycle-to-cycle draw is a pure function of the
array's key and the draw's position: draw m of update u is the standard normal at position
p = u·2³² + m. A position pair (p = 2i, 2i + 1) is one Box–Muller pair made from one 64-bit
hash h(i) = mix64((k₀ + i·γ) ⊕ k₁) (SplitMix64's Weyl step γ and finalizer, keys k₀, k₁ from
the array's noise seed): the high 32 bits give the radius uniform u₁ ∈ (0, 1], the low 32 bits
the angle. Any range of positions can be drawn by any thread in any order with the same bits,
so a large update is drawn and applied chunk by chunk on both cores and the result never
depends on timing. The arithmetic is float32 with polynomial log, sin and cos (Cephes
coefficients, ≤ 1 ulp for log, ≤ 1.1e-7 absolute for sin/cos), written without fused
multiply-adds so that the vectorized and the scalar loops give the same bits. Because
u₁ ≥ 2⁻³², |ξ| ≤ 6.66: tails of probability < 3·10⁻¹¹ per draw are not produced.

**Other draws.** Write noise, resets and slow processes draw from a stream of their own, keyed
by another child of the array's noise seed (devices/_state.py): numpy's float32 ziggurat took
≈9 ns per normal, a visible share of the small-tile read path, where written cells redraw
their write noise.
"""

from __future__ import annotations

import math
from typing import Any, Callable, cast

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

#: Draws of one update occupy positions u·2³² … u·2³² + 2³² − 1 of the stream.
UPDATE_SHIFT = 32


# ---------------------------------------------------------------------- the counter-based stream
def _bitcast(source: types.Type, target: types.Type, target_ir: ir.Type) -> Callable[[Any], Any]:
    """A compiled-code reinterpretation of a `source` value's bits as `target` (an LLVM bitcast)."""
    @intrinsic
    def reinterpret(typingctx, value):
        def codegen(context, builder, signature, args):
            return builder.bitcast(args[0], target_ir)
        return target(source), codegen
    return cast(Callable[[Any], Any], reinterpret)


_bits_of = _bitcast(types.float32, types.int32, ir.IntType(32))
"""The bits of a float32 as an int32."""
_float_of = _bitcast(types.int32, types.float32, ir.FloatType())
"""The float32 whose bits are an int32."""


@njit(inline="always")
def counter_hash(key0: np.uint64, key1: np.uint64, pair: np.uint64) -> np.uint64:
    """64 random bits of pair `pair`: SplitMix64's finalizer of (k₀ + pair·γ) ⊕ k₁."""
    z = (key0 + pair * np.uint64(0x9E3779B97F4A7C15)) ^ key1
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@njit(inline="always")
def _log(x: np.float32) -> np.float32:
    """Natural log of a positive, normal float32 (Cephes logf), branch-free."""
    bits = _bits_of(x)
    mantissa_bits = (bits & np.int32(0x7FFFFF)) | np.int32(0x3F800000)  # a float in [1, 2)
    big = np.int32(mantissa_bits > np.int32(0x3FB504F3))  # above √2: halve it, one more in the exponent
    mantissa = _float_of(mantissa_bits - (big << np.int32(23)))
    e = np.float32((bits >> np.int32(23)) - np.int32(127) + big)
    f = mantissa - np.float32(1.0)
    z = f * f
    y = np.float32(7.0376836292e-2) * f + np.float32(-1.1514610310e-1)
    y = y * f + np.float32(1.1676998740e-1)
    y = y * f + np.float32(-1.2420140846e-1)
    y = y * f + np.float32(1.4249322787e-1)
    y = y * f + np.float32(-1.6668057665e-1)
    y = y * f + np.float32(2.0000714765e-1)
    y = y * f + np.float32(-2.4999993993e-1)
    y = y * f + np.float32(3.3333331174e-1)
    y = y * f * z
    y = y + e * np.float32(-2.12194440e-4)
    y = y - np.float32(0.5) * z
    return (f + y) + e * np.float32(0.693359375)


@njit(inline="always")
def _normal_pair(h: np.uint64) -> tuple[np.float32, np.float32]:
    """Box–Muller: (r·cos θ, r·sin θ) with r = √(−2 ln u₁), u₁ from the high 32 bits of h,
    θ = 2π·(low 32 bits)/2³², reduced to [0, π/4] by integer arithmetic; branch-free (selects
    and sign flips on the bits), so scalar loops do not mispredict and vector loops vectorize."""
    radius_bits = np.int64(h >> np.uint64(32)) + 1  # 1 … 2³²
    radius = np.sqrt(np.float32(-2.0) * _log(np.float32(radius_bits) * np.float32(2.0 ** -32)))
    angle = np.int64(h & np.uint64(0xFFFFFFFF))
    octant = angle >> 29
    odd = octant & 1
    within = angle & 0x1FFFFFFF  # odd octants run backwards: (2²⁹ − within) from the octant's end
    x = np.float32(within + odd * ((1 << 29) - 2 * within)) * np.float32(0.78539816339744831 * 2.0 ** -29)
    z = x * x
    sine = ((np.float32(-1.9515295891e-4) * z + np.float32(8.3321608736e-3)) * z
            + np.float32(-1.6666654611e-1)) * z * x + x
    cosine = (((np.float32(2.443315711809948e-5) * z + np.float32(-1.388731625493765e-3)) * z
               + np.float32(4.166664568298827e-2)) * z * z - np.float32(0.5) * z + np.float32(1.0))
    quadrant = octant >> 1
    swap = np.int32(-((quadrant & 1) ^ odd))  # all ones: cos θ is the polynomial sine
    sine_bits, cosine_bits = _bits_of(sine), _bits_of(cosine)
    cos_bits = (sine_bits & swap) | (cosine_bits & ~swap)
    sin_bits = (cosine_bits & swap) | (sine_bits & ~swap)
    cos_sign = np.int32(((quadrant + 1) >> 1) & 1) << np.int32(31)  # negative in quadrants 1, 2
    sin_sign = np.int32((quadrant >> 1) & 1) << np.int32(31)  # negative in quadrants 2, 3
    return radius * _float_of(cos_bits ^ cos_sign), radius * _float_of(sin_bits ^ sin_sign)


@njit(cache=True, nogil=True)
def fill_normals(key0: np.uint64, key1: np.uint64, position: int, out: np.ndarray) -> None:
    """out[j] = the stream's normal at position + j (even positions: a pair's cosine half, odd
    positions: its sine half); out is float32."""
    size = out.size
    if size == 0:
        return
    start = 0
    if position & 1:
        out[0] = _normal_pair(counter_hash(key0, key1, np.uint64(position >> 1)))[1]
        start = 1
    first = np.uint64((position + start) >> 1)
    pairs = (size - start) // 2
    for p in range(pairs):
        cos_value, sin_value = _normal_pair(counter_hash(key0, key1, first + np.uint64(p)))
        out[start + 2 * p] = cos_value
        out[start + 2 * p + 1] = sin_value
    if (size - start) % 2:
        out[size - 1] = _normal_pair(counter_hash(key0, key1, first + np.uint64(pairs)))[0]


@njit(cache=True, nogil=True)
def fill_normals_updates(key0: np.uint64, key1: np.uint64, first_update: int, offsets: np.ndarray,
                         out: np.ndarray) -> None:
    """The draws of consecutive updates first_update, first_update + 1, …: update u's
    draws (from its position 0) fill out[offsets[u]:offsets[u + 1]]."""
    for u in range(offsets.size - 1):
        fill_normals(key0, key1, (first_update + u) << UPDATE_SHIFT, out[offsets[u]:offsets[u + 1]])


class NormalStream:
    """An array's counter-based c2c stream: keys from a seed, and the next update's index.

    Each consumer (a pulse-run update, a tile-wide pulse, one pulse index of the numpy path)
    takes the next update index and draws its normals from positions 0, 1, … of it.
    """

    def __init__(self, seed: np.random.SeedSequence) -> None:
        key0, key1 = seed.generate_state(2, np.uint64)
        self.key0, self.key1 = np.uint64(key0), np.uint64(key1)
        self.updates = 0

    @classmethod
    def of_generator(cls, rng: np.random.Generator) -> NormalStream:
        """The stream of an array whose other draws come from `rng`: keyed by a child of rng's
        seed (independent of rng's own stream), or by two draws of rng if it has no seed."""
        seed = getattr(rng.bit_generator, "seed_seq", None)
        if isinstance(seed, np.random.SeedSequence):
            return cls(seed.spawn(1)[0])
        return cls(np.random.SeedSequence(rng.integers(0, 2**63, size=4).tolist()))

    def take(self, count: int = 1) -> int:
        """Reserve `count` consecutive update indices; returns the first."""
        first = self.updates
        self.updates += count
        if self.updates >= 1 << (63 - UPDATE_SHIFT):
            raise OverflowError("c2c stream exhausted (2³¹ updates)")
        return first

    def fill(self, out: np.ndarray, update: int | None = None, offset: int = 0) -> np.ndarray:
        """Fill `out` (1-D, contiguous) with draws offset, offset + 1, … of `update` (by default
        a fresh update); returns out. float64 receives the float32 draws, converted."""
        if out.size >= 1 << UPDATE_SHIFT:
            raise ValueError(f"{out.size} draws exceed one update's 2³² positions")
        update = self.take() if update is None else update
        target = out if out.dtype == np.float32 else np.empty(out.size, np.float32)
        fill_normals(self.key0, self.key1, (update << UPDATE_SHIFT) + offset, target)
        if target is not out:
            out[...] = target
        return out

    def fill_updates(self, offsets: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Fresh consecutive updates, one per piece out[offsets[u]:offsets[u + 1]]; returns out."""
        first = self.take(offsets.size - 1)
        target = out if out.dtype == np.float32 else np.empty(out.size, np.float32)
        fill_normals_updates(self.key0, self.key1, first, offsets, target)
        if target is not out:
            out[...] = target
        return out

    def draw(self, shape: int | tuple[int, ...], dtype: np.dtype | type) -> np.ndarray:
        """A fresh update's first draws as a new array of `shape`."""
        out = np.empty(math.prod((shape,) if isinstance(shape, int) else shape), dtype=dtype)
        return self.fill(out).reshape(shape)
