"""The pulse engine: applies pulses to an array's conductance g in place (SPEC §1.2).

Pulse runs on one cell are applied one pulse after another, each seeing the updated state and
clipped to the cell's bounds: for affine laws in one compiled pass over the cells
(devices/_kernels.py), large updates shared with a helper thread (devices/_parallel.py); for
the other laws by a numpy loop over pulse index. There is never a Python loop over cells.
Every c2c draw comes from the array's counter-based `NormalStream` (devices/_random.py): one
update index per pulse-run update or tile-wide pulse, its draws in cell order.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from devices._kernels import (apply_affine_pulse, apply_affine_runs_batch, apply_affine_runs_chunk, chunk_offsets,
                              update_offsets)
from devices._parallel import CHUNKS, PARALLEL_MIN_PULSES, apply_chunks
from devices._random import NormalStream
from devices.response import StepLaw

#: Per-sign coefficients (up_<suffix> / down_<suffix>) that mixed-sign numpy pulses select
#: per cell as down + m·diff_<suffix>.
_SIDED_SUFFIXES = ("sigma_s",)
#: The "mask" of a tile-wide pulse of one sign (apply_affine_pulse reads the up_ arguments).
_EVERY_CELL = np.zeros(0, dtype=bool)


def add_kernel_coefficients(parameters: dict[str, np.ndarray], affine: bool, sigma: float, dtype: np.dtype) -> None:
    """Add the per-cell coefficients the pulse kernels read to `parameters` (state dtype), in place.

    Affine laws get the signed maps of one pulse, g' = a + b·g (up) and a' + b'·g (down), as
    offsets up_a/down_a, slopes up_s/down_s and factors up_b/down_b; every law gets the additive
    noise std σ·s± (up_sigma_s/down_sigma_s) and the up − down differences diff_<suffix>.
    """
    p = parameters
    if affine:
        p["up_a"], p["up_s"] = p["up_offset"], p["up_slope"]
        p["down_a"], p["down_s"] = -p["down_offset"], -p["down_slope"]
        p["up_b"] = (1.0 + p["up_slope"]).astype(dtype)
        p["down_b"] = (1.0 - p["down_slope"]).astype(dtype)
    p["up_sigma_s"] = (sigma * p["s_up"]).astype(dtype)
    p["down_sigma_s"] = (sigma * p["s_down"]).astype(dtype)
    # A per-cell sign choice becomes down + m·diff with m ∈ {0, 1}: two arithmetic passes
    # instead of np.where (about 10× slower here).
    for suffix in _SIDED_SUFFIXES:
        if f"up_{suffix}" in p:
            p[f"diff_{suffix}"] = (p[f"up_{suffix}"] - p[f"down_{suffix}"]).astype(dtype)


def _longest_first(magnitude: np.ndarray) -> np.ndarray:
    """Stable order of decreasing run length, by numpy's radix sort on a small unsigned key."""
    longest = int(magnitude.max())
    key_type = np.uint8 if longest < 256 else np.uint16 if longest < 65536 else np.int64
    return np.argsort((longest - magnitude).astype(key_type), kind="stable")


class PulseEngine:
    """Pulses on one array: its law, per-cell coefficients, c2c noise stream and scratch buffers.

    `g` and `touched` (the cells to redraw write noise for) are the array's state, passed in
    and changed in place. The c2c stream is keyed by a child of `noise_rng`'s seed.
    """

    def __init__(self, law: StepLaw[Any], parameters: dict[str, np.ndarray], shape: tuple[int, int],
                 dtype: np.dtype, noise_rng: np.random.Generator) -> None:
        self.law = law
        self.sigma = law.config.dw_min_std
        self.parameters = parameters
        self.shape, self.size, self.dtype = shape, shape[0] * shape[1], dtype
        self.normals = NormalStream.of_generator(noise_rng)
        add_kernel_coefficients(parameters, law.affine, self.sigma, dtype)
        self._scratch: dict[str, np.ndarray] = {}
        self._sigma_and_one = np.array([self.sigma, 1.0], dtype=dtype)  # kernel scalars
        self._no_noise = np.zeros(0, dtype=dtype)
        self._multiplicative = self.sigma > 0.0 and law.noise_kind == "multiplicative"
        self._kernel_arrays = self._affine_kernel_arrays() if law.affine else ()

    # ------------------------------------------------------------------ entry points
    def pulse_every_cell(self, g: np.ndarray, up: bool | np.ndarray) -> None:
        """One pulse on every cell: up or down everywhere (a bool), or up where a mask is True."""
        if self.law.affine:
            self._affine_pulse(g, up)
        else:
            self._step(g, self.parameters, up)

    def pulse_runs(self, g: np.ndarray, touched: np.ndarray, flat_counts: np.ndarray) -> None:
        """Signed per-cell pulse counts (flat int32/int64); marks the pulsed cells in `touched`."""
        if self.law.affine:
            self._apply_affine_runs(g.reshape(-1), touched.reshape(-1), flat_counts)
            return
        active = np.flatnonzero(flat_counts)
        if active.size == 0:
            return
        # Up runs and down runs separately: each group has one sign, so the kernel needs
        # half the per-cell parameters and no per-element sign select.
        ups = flat_counts[active] > 0
        for group, up in ((active[ups], True), (active[~ups], False)):
            if group.size:
                run = np.abs(flat_counts[group])
                order = group[_longest_first(run)]
                self._apply_sequential(g.reshape(-1), order, np.abs(flat_counts[order]), up)
        touched.reshape(-1)[active] = True

    def pulse_runs_batch(self, g: np.ndarray, touched: np.ndarray, counts: np.ndarray) -> bool:
        """Small updates (updates × rows × cols) of an affine law in one compiled call, with the
        draws of `pulse_runs` on each in order; False (nothing done) where that does not apply."""
        if not len(counts) or not self.law.affine or counts.dtype not in (np.int32, np.int64):
            return False
        flat_counts = np.ascontiguousarray(counts).reshape(counts.shape[0], -1)
        offsets, largest = update_offsets(flat_counts)
        if largest >= PARALLEL_MIN_PULSES:  # the chunked two-thread path, update by update
            return False
        noise = self._no_noise
        if self.sigma > 0.0:  # one update index per update, as pulse_runs takes
            noise = self.normals.fill_updates(offsets, self._scratch_flat("run_noise", int(offsets[-1])))
        up_a, up_c, down_a, down_c, b_min, b_max, up_std, down_std = self._kernel_arrays
        apply_affine_runs_batch(g.reshape(-1), flat_counts, up_a, up_c, down_a, down_c, b_min, b_max, noise,
                                offsets, self._sigma_and_one, up_std, down_std, self._multiplicative,
                                touched.reshape(-1))
        return True

    # ------------------------------------------------------------------ affine laws (compiled)
    def _affine_kernel_arrays(self) -> tuple[np.ndarray, ...]:
        """Flat per-cell arrays the compiled affine kernels take, in their order: up offset,
        up coefficient, down offset, down coefficient, b_min, b_max, up and down noise std
        (empty unless the noise is additive). The coefficient is the slope s with
        multiplicative noise, the factor b = 1 + s otherwise (see devices/_kernels.py)."""
        p = {name: value.reshape(-1) for name, value in self.parameters.items()}
        coefficient = "s" if self._multiplicative else "b"
        additive = self.sigma > 0.0 and self.law.noise_kind == "additive"
        no_std = np.zeros(0, dtype=self.dtype)
        return (p["up_a"], p[f"up_{coefficient}"], p["down_a"], p[f"down_{coefficient}"], p["b_min"], p["b_max"],
                p["up_sigma_s"] if additive else no_std, p["down_sigma_s"] if additive else no_std)

    def _affine_pulse(self, g: np.ndarray, up: bool | np.ndarray) -> None:
        """One pulse on every cell of an affine law, in one compiled pass."""
        up_a, up_c, down_a, down_c, b_min, b_max, up_std, down_std = self._kernel_arrays
        if isinstance(up, (bool, np.bool_)):
            mask = _EVERY_CELL  # the kernel reads the up_ arguments: pass the chosen side there
            if not up:
                up_a, up_c, up_std = down_a, down_c, down_std
        else:
            mask = np.ascontiguousarray(up, dtype=bool).reshape(-1)
        noise = self._no_noise
        if self.sigma > 0.0:
            noise = self.normals.fill(self._scratch_flat("pulse_noise", self.size))
        apply_affine_pulse(g.reshape(-1), mask, up_a, up_c, down_a, down_c, b_min, b_max, noise,
                           self._sigma_and_one, up_std, down_std, self._multiplicative)

    def _apply_affine_runs(self, g: np.ndarray, touched: np.ndarray, flat_counts: np.ndarray) -> None:
        """Pulse runs of an affine law on flat g, cell by cell in compiled loops, with one c2c
        draw per pulse in cell order (one update of the stream), in CHUNKS equal ranges of cells
        that draw their own positions; large updates share the chunks with a helper thread
        (devices/_parallel.py)."""
        noisy = self.sigma > 0.0
        update = self.normals.take() if noisy else 0
        bounds, offsets = chunk_offsets(flat_counts, CHUNKS)
        total = int(offsets[-1])
        if total == 0:
            return
        draws = self._scratch_flat("run_draws", total if noisy else 0, np.float32)
        up_a, up_c, down_a, down_c, b_min, b_max, up_std, down_std = self._kernel_arrays

        def apply(chunk: int, bounds: np.ndarray = bounds, offsets: np.ndarray = offsets) -> None:
            apply_affine_runs_chunk(chunk, bounds, offsets, g, flat_counts, up_a, up_c, down_a, down_c, b_min, b_max,
                                    self.normals.key0, self.normals.key1, update, draws, self._sigma_and_one, up_std,
                                    down_std, self._multiplicative, touched)

        if total < PARALLEL_MIN_PULSES:  # one call for all the cells
            apply(0, np.array([0, flat_counts.size]), np.array([0, total]))
        else:
            apply_chunks(apply, CHUNKS)

    # ------------------------------------------------------------------ other laws (numpy)
    def _step(self, g: np.ndarray, prm: Mapping[str, np.ndarray], up: bool | np.ndarray) -> None:
        """One pulse of the law on every element of g (in place), with per-element parameters
        prm (the whole array, or the cells still pulsing in `_apply_sequential`)."""
        law = self.law
        # Whole-array pulses reuse preallocated buffers: a fresh megabyte temporary costs page
        # faults on every pulse. Subsets (pulse runs on active cells) allocate their own.
        full = g.shape == self.shape and g.dtype == self.dtype
        choose = None if isinstance(up, (bool, np.bool_)) else self._choice(up, full)  # 1 = up, 0 = down
        if choose is None:
            signed = law.delta_up(g, prm) if up else -law.delta_down(g, prm)
        else:
            down_step = law.delta_down(g, prm)
            signed = choose * (law.delta_up(g, prm) + down_step) - down_step
        if self.sigma > 0.0:
            signed = self._with_noise(signed, g, prm, bool(up) if choose is None else True, choose, full)
        g += signed.astype(self.dtype, copy=False)
        np.minimum(g, prm["b_max"], out=g)
        np.maximum(g, prm["b_min"], out=g)

    def _with_noise(self, signed: np.ndarray, g: np.ndarray, prm: Mapping[str, np.ndarray], up: bool,
                    choose: np.ndarray | None, full: bool) -> np.ndarray:
        """The signed steps with one c2c draw each, of the law's noise kind."""
        noise = self.normals.draw(g.shape, self.dtype)
        if self.law.noise_kind == "multiplicative":
            # Δ·(1 + σξ), as the affine path (an infinite step stays a clipped step).
            noise *= self.sigma
            noise += 1.0
            return signed * noise
        if self.law.noise_kind == "additive":
            if choose is None:
                std = prm["up_sigma_s"] if up else prm["down_sigma_s"]
            else:
                std = np.multiply(choose, prm["diff_sigma_s"], out=self._buffer("pick", full))
                std += prm["down_sigma_s"]
        else:
            std = self.law.noise_std(signed, g, prm, True)
        return signed + std * noise

    def _choice(self, up: np.ndarray, full: bool) -> np.ndarray:
        """The up mask as 1.0/0.0 in the state dtype (in a scratch buffer for whole-array pulses)."""
        choose = self._buffer("choose", full)
        if choose is None:
            return np.asarray(up).astype(self.dtype)
        np.copyto(choose, up)
        return choose

    def _buffer(self, name: str, full: bool) -> np.ndarray | None:
        """A reusable buffer of the array's shape for whole-array pulses, else None."""
        if not full:
            return None
        scratch = self._scratch.get(name)
        if scratch is None:
            scratch = self._scratch[name] = np.empty(self.shape, dtype=self.dtype)
        return scratch

    def _kernel_parameters(self, up: bool, down: bool) -> list[str]:
        """Names of the per-cell parameters `_step` reads for pulses of the given signs."""
        names = ["b_min", "b_max"]
        names += [name for name in self.parameters if not name.startswith(("up_", "down_", "diff_"))]
        if self.sigma > 0.0 and self.law.noise_kind == "additive":
            sides = ["diff", "down"] if up and down else ["up"] if up else ["down"]
            names += [f"{side}_sigma_s" for side in sides]
        return list(dict.fromkeys(names))

    def _apply_sequential(self, g: np.ndarray, order: np.ndarray, magnitude: np.ndarray, up: bool) -> None:
        """Same-sign pulse runs on flat g, one pulse at a time; cells sorted by decreasing run
        length so the cells still pulsing at step k are always a prefix (views, no re-gathering)."""
        values = g[order]
        prm = {name: self.parameters[name].reshape(-1)[order] for name in self._kernel_parameters(up, not up)}
        longest = int(magnitude[0])
        # number of cells whose run is at least k long, for k = 1..longest
        still_active = np.cumsum(np.bincount(magnitude, minlength=longest + 1)[::-1])[::-1][1:]
        for k in range(longest):
            m = int(still_active[k])
            prefix = {name: value[:m] for name, value in prm.items()}
            self._step(values[:m], prefix, up)
        g[order] = values

    def _scratch_flat(self, name: str, size: int, dtype: np.dtype | type | None = None) -> np.ndarray:
        """A reusable 1-D buffer of at least `size` elements of `dtype` (the state's by default;
        its first `size` returned)."""
        buffer = self._scratch.get(name)
        if buffer is None or buffer.size < size:
            buffer = self._scratch[name] = np.empty(max(size, 1024), dtype=dtype or self.dtype)
        return buffer[:size]
