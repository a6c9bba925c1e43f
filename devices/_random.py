"""Fast standard-normal draws for the c2c noise hot paths.

numpy's ziggurat `standard_normal` does not vectorize (≈ 8.5 ns per float32 normal here);
the Box–Muller transform on float32 uniforms uses numpy's SIMD log/sqrt/sin/cos and is about
4× faster. Each pair of 24-bit uniforms comes from one float64 uniform of the same `Generator`
(its 53 random bits), so a run stays bit-reproducible from its seed. Because the radius uniform
is at least 2⁻²⁴, |ξ| is at most ≈ 5.77: tails beyond that (probability < 10⁻⁸ per draw) are
not produced — irrelevant for pulse-to-pulse noise, and float64 arrays use numpy's exact
`standard_normal`.
"""

from __future__ import annotations

import math

import numpy as np

from devices._kernels import split_uniform_pairs

_TWO_PI = np.float32(2.0 * np.pi)
#: Below this many draws numpy's ziggurat is faster (fewer calls); Box–Muller wins above.
_BOX_MULLER_MIN = 2048


def standard_normal(
    rng: np.random.Generator,
    size: int | tuple[int, ...],
    dtype: np.dtype | type,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Standard normal draws of `size` in `dtype` (Box–Muller for float32, numpy's otherwise).

    `out` (float32, contiguous, of `size`) receives the draws without any large allocation,
    which matters in per-pulse loops: fresh megabyte arrays cost page faults every time.
    """
    dtype = np.dtype(dtype)
    shape = (size,) if isinstance(size, (int, np.integer)) else tuple(size)
    count = math.prod(shape)
    if dtype != np.float32 or count < _BOX_MULLER_MIN:  # small draws: numpy's call overhead is lower
        if out is not None:
            return rng.standard_normal(dtype=dtype, out=out.reshape(shape))
        return rng.standard_normal(shape, dtype=dtype)
    half = count // 2
    result = out.reshape(-1) if out is not None else np.empty(count, dtype=np.float32)
    radius, angle = result[:half], result[half:2 * half]
    split_uniform_pairs(rng.random(half), radius, angle)
    np.log(radius, out=radius)
    radius *= np.float32(-2.0)
    np.sqrt(radius, out=radius)
    cosine = np.cos(angle)
    np.sin(angle, out=angle)
    angle *= radius
    radius *= cosine
    if count % 2:  # the odd one out: its own Box–Muller pair, one half used
        u1, u2 = rng.random(2, dtype=np.float32)
        result[-1] = np.sqrt(np.float32(-2.0) * np.log(np.float32(1.0) - u1)) * np.cos(_TWO_PI * u2)
    return result.reshape(shape)


def standard_normal_runs(rng: np.random.Generator, sizes: np.ndarray, dtype: np.dtype | type,
                         out: np.ndarray) -> np.ndarray:
    """Into `out` (contiguous, of Σsizes): the draws of `standard_normal` called once per size,
    in order. Neighbouring sizes that numpy's ziggurat serves are drawn in one call: its stream
    does not depend on how the draws are split."""
    out = out.reshape(-1)
    float32 = np.dtype(dtype) == np.float32
    start = 0
    pending = 0  # start of the ziggurat draws not yet made
    for size in sizes:
        size = int(size)
        if float32 and size >= _BOX_MULLER_MIN:
            if start > pending:
                rng.standard_normal(dtype=out.dtype, out=out[pending:start])
            standard_normal(rng, size, dtype, out=out[start:start + size])
            pending = start + size
        start += size
    if start > pending:
        rng.standard_normal(dtype=out.dtype, out=out[pending:start])
    return out
