"""DeviceArray: a sampled array of resistive cells and vectorized pulse application (SPEC §1).

One call moves the whole array (or the cells a command selects); there is never a Python
loop over cells. Pulse runs on one cell are applied one pulse after another, each seeing
the updated state and clipped to the cell's bounds: for affine laws in one compiled pass over
the cells (devices/_kernels.py), for the other laws by a numpy loop over pulse index.

State is float32 by default. Devices with very fine steps (dw_min below 1e-4 of the
conductance range) switch to float64 automatically: with float32 a step of 1e-6 at g ≈ 0.5
is only ~16 ulps and rounding would bias long pulse runs.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Mapping

import numpy as np

from devices._kernels import apply_affine_pulse, apply_affine_runs, apply_affine_runs_batch, total_pulses
from devices._random import standard_normal, standard_normal_runs
from devices.config import PulsedDeviceConfig
from devices.registry import law_for
from devices.response import CellParams, StepLaw, response_functions, symmetric_point

SeedLike = int | np.random.SeedSequence | None

#: Per-sign coefficients (up_<suffix> / down_<suffix>) that mixed-sign numpy pulses select
#: per cell as down + m·diff_<suffix>.
_SIDED_SUFFIXES = ("sigma_s",)
#: The "mask" of a tile-wide pulse of one sign (apply_affine_pulse reads the up_ arguments).
_EVERY_CELL = np.zeros(0, dtype=bool)

#: Per-cell parameters stored for every family (besides the law's own).
_BASE_PARAMETERS = ("s_up", "s_down", "b_min", "b_max")


def state_dtype_for(config: PulsedDeviceConfig) -> type[np.floating]:
    """float32 unless the step is so fine relative to the range that float32 would bias it."""
    magnitude = max(abs(config.w_max), abs(config.w_min), 1e-12)
    return np.float64 if config.dw_min / magnitude < 1e-4 else np.float32


def sample_cell_parameters(
    config: PulsedDeviceConfig, shape: tuple[int, ...], rng: np.random.Generator, law: StepLaw[Any]
) -> dict[str, np.ndarray]:
    """Device-to-device sampling of every per-cell parameter (SPEC §1.3), in float64."""
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

    stuck = rng.random(shape) < config.corrupt_devices_prob
    fraction = rng.random(shape)
    if np.any(stuck):
        # Uniform over [−range, +range] ∩ [b_min, b_max] (AIHWKIT's corrupt-device draw).
        low = np.maximum(np.minimum(b_min, b_max), -config.corrupt_devices_range)
        high = np.minimum(np.maximum(b_min, b_max), config.corrupt_devices_range)
        stuck_value = low + (high - low) * fraction
        s_up = np.where(stuck, 0.0, s_up)
        s_down = np.where(stuck, 0.0, s_down)
        b_min = np.where(stuck, stuck_value, b_min)
        b_max = np.where(stuck, stuck_value, b_max)

    prm = {"s_up": s_up, "s_down": s_down, "b_min": b_min, "b_max": b_max, "stuck": stuck}
    law.sample_extra(prm, rng)
    return prm


def _longest_first(magnitude: np.ndarray) -> np.ndarray:
    """Stable order of decreasing run length, by numpy's radix sort on a small unsigned key."""
    longest = int(magnitude.max())
    key_type = np.uint8 if longest < 256 else np.uint16 if longest < 65536 else np.int64
    return np.argsort((longest - magnitude).astype(key_type), kind="stable")


#: Pulse-run updates of at least this many pulses are split into min(_MAX_CHUNKS, pulses //
#: _CHUNK_PULSES) equal ranges of cells, shared with a helper thread (which also draws the noise).
_PARALLEL_MIN_PULSES = 1 << 16
_CHUNK_PULSES = 1 << 14
_MAX_CHUNKS = 16
_HELPER_POOL: list[ThreadPoolExecutor] = []


class _ChunkClaims:
    """Chunks 0..n−1 handed out once each, from the front (this thread) or the back (helper)."""

    def __init__(self, count: int) -> None:
        self._lock = threading.Lock()
        self._front, self._back = 0, count - 1

    def take(self, from_back: bool) -> int | None:
        with self._lock:
            if self._front > self._back:
                return None
            if from_back:
                self._back -= 1
                return self._back + 1
            self._front += 1
            return self._front - 1


def _helper_pool() -> ThreadPoolExecutor:
    """One helper thread per process for c2c draws and pulse runs (created on first use)."""
    if not _HELPER_POOL:
        _HELPER_POOL.append(ThreadPoolExecutor(max_workers=1, thread_name_prefix="pulse-runs"))
    return _HELPER_POOL[0]


class DeviceArray:
    """A `rows × cols` array of sampled cells: conductance g, reference r, visible w = g − r.

    Construction samples every per-cell parameter once from `seed` (d2d); c2c and write noise
    come from a second, independent stream spawned from the same seed.
    """

    def __init__(
        self,
        config: PulsedDeviceConfig,
        shape: tuple[int, int],
        seed: SeedLike = None,
        dtype: type[np.floating] | None = None,
    ) -> None:
        self.config = config
        self.shape = (int(shape[0]), int(shape[1]))
        self.dtype = np.dtype(dtype if dtype is not None else state_dtype_for(config))
        self.law = law_for(config)
        seed_sequence = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        d2d_seed, noise_seed = seed_sequence.spawn(2)
        d2d_rng = np.random.default_rng(d2d_seed)
        self.noise_rng = np.random.default_rng(noise_seed)

        prm64 = sample_cell_parameters(config, self.shape, d2d_rng, self.law)
        self.stuck: np.ndarray = prm64.pop("stuck")
        self._parameters64 = prm64
        self.parameters: dict[str, np.ndarray] = {
            name: np.ascontiguousarray(value, dtype=self.dtype) for name, value in prm64.items()
        }
        if self.law.affine:
            p = self.parameters
            # Signed affine maps of one pulse: g' = a + b·g (up), g' = a' + b'·g (down).
            p["up_a"], p["up_s"] = p["up_offset"], p["up_slope"]
            p["down_a"], p["down_s"] = -p["down_offset"], -p["down_slope"]
            p["up_b"] = (1.0 + p["up_slope"]).astype(self.dtype)
            p["down_b"] = (1.0 - p["down_slope"]).astype(self.dtype)
        sigma = config.dw_min_std
        self.parameters["up_sigma_s"] = (sigma * self.parameters["s_up"]).astype(self.dtype)
        self.parameters["down_sigma_s"] = (sigma * self.parameters["s_down"]).astype(self.dtype)
        # up − down coefficient differences: a per-cell sign choice becomes down + m·diff with
        # m ∈ {0, 1}, two arithmetic passes instead of np.where (about 10× slower here).
        for suffix in _SIDED_SUFFIXES:
            if f"up_{suffix}" in self.parameters:
                self.parameters[f"diff_{suffix}"] = (
                    self.parameters[f"up_{suffix}"] - self.parameters[f"down_{suffix}"]).astype(self.dtype)

        reset = config.reset + config.reset_dtod * d2d_rng.standard_normal(self.shape)
        reference = config.reference_mean + config.reference_std * d2d_rng.standard_normal(self.shape)
        self.true_symmetric_point, self.sp_interior = symmetric_point(self.law, prm64)
        if config.subtract_symmetry_point:
            reference = reference + self.true_symmetric_point
            reset = reset + self.true_symmetric_point
        self.reset_value = reset.astype(self.dtype)
        """Mean conductance after a reset, per cell, before clipping to the bounds (the reference
        simulator's reset bias: a reset adds reset_std noise, then clips)."""
        self.g: np.ndarray = np.clip(reset, prm64["b_min"], prm64["b_max"]).astype(self.dtype)
        self.reference: np.ndarray = reference.astype(self.dtype)

        self._write_noise_std = config.write_noise_std * config.dw_min
        self._write_noise = np.zeros(self.shape, dtype=self.dtype)
        # Every cell starts freshly written (reset/programmed): its write noise is drawn on first read.
        self._touched = np.zeros(self.shape, dtype=bool)
        self._all_touched = True  # every cell written since the last read (cheaper than filling the mask)
        self._scratch: dict[str, np.ndarray] = {}
        self._sigma_and_one = np.array([config.dw_min_std, 1.0], dtype=self.dtype)  # kernel scalars
        self._no_noise = np.zeros(0, dtype=self.dtype)
        self._multiplicative = config.dw_min_std > 0.0 and self.law.noise_kind == "multiplicative"
        if self.law.affine:
            self._kernel_arrays = self._affine_kernel_arrays()

        lifetime = config.lifetime * (1.0 + config.lifetime_dtod * d2d_rng.standard_normal(self.shape))
        self._decay_scale = np.where(
            config.lifetime > 0, 1.0 - 1.0 / np.maximum(lifetime, 1.0), 1.0
        ).astype(self.dtype)
        diffusion = config.diffusion * (1.0 + config.diffusion_dtod * d2d_rng.standard_normal(self.shape))
        self._diffusion_rate = np.abs(diffusion).astype(self.dtype)

    # ------------------------------------------------------------------ reading state
    @property
    def size(self) -> int:
        return self.shape[0] * self.shape[1]

    def visible(self) -> np.ndarray:
        """The weight the periphery sees: w = g − r (+ write noise, redrawn for touched cells)."""
        if self._write_noise_std > 0.0:
            if self._all_touched:
                self._write_noise[...] = self._write_noise_std * standard_normal(self.noise_rng, self.shape, self.dtype)
                self._all_touched = False
                self._touched[...] = False
            else:
                touched = self._touched
                count = int(np.count_nonzero(touched))
                if count:
                    self._write_noise[touched] = self._write_noise_std * standard_normal(self.noise_rng, count,
                                                                                         self.dtype)
                    touched[...] = False
            return self.g - self.reference + self._write_noise
        return self.g - self.reference

    def symmetric_point(self) -> np.ndarray:
        """Per-cell symmetric point of the stored conductance g (ground truth, float64)."""
        return self.true_symmetric_point

    def visible_symmetric_point(self) -> np.ndarray:
        """Symmetric point as the periphery sees it: w⋄ − r."""
        return self.true_symmetric_point - self.reference.astype(np.float64)

    def delta_up(self, g: np.ndarray | None = None) -> np.ndarray:
        """Mean up step of every cell at state g (current state by default), float64."""
        return self.law.delta_up(self._state64(g), self._parameters64)

    def delta_down(self, g: np.ndarray | None = None) -> np.ndarray:
        """Mean down step magnitude of every cell at state g (current state by default), float64."""
        return self.law.delta_down(self._state64(g), self._parameters64)

    def response(self, g: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """F and G (units of dw_min) of every cell at state g ([DSPT] eq. 5–6)."""
        return response_functions(self.law, self._state64(g), self._parameters64)

    def cell_parameters(self) -> CellParams:
        """Sampled per-cell parameters (float64, read-only by convention)."""
        return self._parameters64

    def _state64(self, g: np.ndarray | None) -> np.ndarray:
        return np.asarray(self.g if g is None else g, dtype=np.float64)

    # ------------------------------------------------------------------ setting state
    def set_conductance(self, g: np.ndarray | float) -> None:
        """Set g directly (test set-up, not a hardware operation), clipped to the bounds."""
        value = np.broadcast_to(np.asarray(g, dtype=self.dtype), self.shape)
        np.clip(value, self.parameters["b_min"], self.parameters["b_max"], out=self.g)
        self._all_touched = True

    def set_reference(self, reference: np.ndarray | float) -> None:
        """Set the per-cell reference r (a digital offset or an ideal reference device)."""
        self.reference[...] = np.broadcast_to(np.asarray(reference, dtype=self.dtype), self.shape)

    def reset(self) -> None:
        """Reset every cell: its mean reset value plus a fresh reset_std draw, clipped to its bounds."""
        self.g[...] = self.reset_value
        if self.config.reset_std > 0:
            self.g += self.config.reset_std * standard_normal(self.noise_rng, self.shape, self.dtype)
        self._clip()
        self._all_touched = True

    def set_visible(self, weights: np.ndarray | float) -> None:
        """Set the visible weights to `weights` exactly where the bounds allow (g = w + r, clipped
        to each cell's bounds); write noise is drawn afresh. The reference simulator's
        `set_weights`: an idealization that programs without pulses, not a hardware operation."""
        self.set_conductance(np.asarray(weights, dtype=np.float64) + self.reference)

    # ------------------------------------------------------------------ pulses
    def pulse_all(self, direction: int) -> None:
        """One pulse on every cell: up if direction > 0, down if < 0."""
        if direction == 0:
            return
        self._pulse_every_cell(direction > 0)

    def pulse_signs(self, signs: np.ndarray) -> None:
        """One pulse per cell with sign +1 (up), −1 (down); 0 leaves the cell alone."""
        signs = np.asarray(signs)
        if signs.shape != self.shape:
            raise ValueError(f"sign mask shape {signs.shape} != array shape {self.shape}")
        if np.all(signs != 0):
            self._pulse_every_cell(signs > 0)
            return
        self.pulse_counts(np.sign(signs).astype(np.int64))

    def pulse_up_mask(self, up: np.ndarray) -> None:
        """One pulse on every cell: up where `up` is True, down elsewhere (e.g. stochastic ZS)."""
        up = np.asarray(up, dtype=bool)
        if up.shape != self.shape:
            raise ValueError(f"up mask shape {up.shape} != array shape {self.shape}")
        self._pulse_every_cell(up)

    def pulse_counts(self, counts: np.ndarray) -> None:
        """Apply signed per-cell pulse counts (n > 0: n up pulses; n < 0: |n| down pulses)."""
        counts = np.asarray(counts)
        if counts.shape != self.shape:
            raise ValueError(f"count array shape {counts.shape} != array shape {self.shape}")
        if counts.dtype not in (np.int32, np.int64):  # the compiled kernels take these two
            if counts.dtype.kind == "f" and not np.array_equal(counts, np.round(counts)):
                raise ValueError("pulse counts must be whole numbers")
            if counts.dtype.kind not in "biuf":
                raise ValueError(f"pulse counts must be integers, not {counts.dtype}")
            counts = counts.astype(np.int64)
        flat_counts = np.ascontiguousarray(counts).reshape(-1)
        if self.law.affine:
            self._apply_affine_runs(flat_counts)
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
                self._apply_sequential(order, np.abs(flat_counts[order]), up)
        self._touched.reshape(-1)[active] = True

    def pulse_counts_batch(self, counts: np.ndarray) -> None:
        """Several signed-count updates (updates × rows × cols) applied one after another.

        The same result and draws as `pulse_counts` on each in order; small updates of affine
        laws run in one compiled call (a mini-batch's per-sample trains on a small tile).
        """
        counts = np.asarray(counts)
        if counts.ndim != 3 or counts.shape[1:] != self.shape:
            raise ValueError(f"count stack shape {counts.shape} != (updates, *{self.shape})")
        if len(counts) > 1 and self.law.affine and counts.dtype in (np.int32, np.int64):
            flat_counts = np.ascontiguousarray(counts).reshape(counts.shape[0], -1)
            totals = np.array([total_pulses(update) for update in flat_counts], dtype=np.int64)
            if totals.max(initial=0) < _PARALLEL_MIN_PULSES:  # else the chunked two-thread path per update
                self._apply_affine_runs_batch(flat_counts, totals)
                return
        for update in counts:
            self.pulse_counts(update)

    def _apply_affine_runs_batch(self, flat_counts: np.ndarray, totals: np.ndarray) -> None:
        """Small affine updates (updates × cells, Σ|n| each in `totals`) in one compiled call."""
        offsets = np.zeros(totals.size + 1, dtype=np.int64)
        np.cumsum(totals, out=offsets[1:])
        noise = self._no_noise
        if self.config.dw_min_std > 0.0 and offsets[-1]:
            noise = standard_normal_runs(self.noise_rng, totals, self.dtype,
                                         self._scratch_flat("run_noise", int(offsets[-1])))
        up_a, up_c, down_a, down_c, b_min, b_max, up_std, down_std = self._kernel_arrays
        apply_affine_runs_batch(self.g.reshape(-1), flat_counts, up_a, up_c, down_a, down_c, b_min, b_max, noise,
                                offsets, self._sigma_and_one, up_std, down_std, self._multiplicative,
                                self._touched.reshape(-1))

    def apply_delta(self, delta: np.ndarray) -> None:
        """Add a floating-point increment to g, clipped (the "no pulses" update type)."""
        self.g += np.asarray(delta, dtype=self.dtype)
        self._clip()
        self._all_touched = True

    def apply_slow_processes(self, steps: float = 1.0) -> None:
        """`steps` steps of the slow processes: diffusion (g += rate·ξ per step), then decay toward
        the reset value (g − reset ← (g − reset)·(1 − 1/lifetime) per step); no-op when both are off.

        One step is exactly the reference simulator's per-mini-batch `diffuse_weights` then
        `decay_weights`, each clipped to the bounds. Other step counts (elapsed simulated time)
        use the closed form of that linear recursion, clipped once at the end.
        """
        decay, diffusion = self.config.lifetime > 0, self.config.diffusion > 0
        if steps <= 0 or not (decay or diffusion):
            return
        if steps == 1.0:
            if diffusion:
                self.g += self._diffusion_rate * standard_normal(self.noise_rng, self.shape, self.dtype)
                self._clip()
            if decay:
                self.g -= self.reset_value
                self.g *= self._decay_scale
                self.g += self.reset_value
                self._clip()
        else:
            scale = self._decay_scale.astype(np.float64)
            factor = scale ** steps
            if decay:
                self.g[...] = ((self.g - self.reset_value) * factor + self.reset_value).astype(self.dtype)
            if diffusion:
                # The walk's steps decay too: variance Σ_k scale^(2k)·rate², k = 1..steps (steps·rate²
                # without decay), added after the decay of the starting state.
                ratio = np.where(scale < 1.0, scale * scale * (1.0 - factor * factor)
                                 / np.maximum(1.0 - scale * scale, 1e-300), steps)
                spread = self._diffusion_rate * np.sqrt(ratio)
                self.g += (spread * standard_normal(self.noise_rng, self.shape, np.float64)).astype(self.dtype)
            self._clip()
        self._all_touched = True

    def _clip(self) -> None:
        np.minimum(self.g, self.parameters["b_max"], out=self.g)
        np.maximum(self.g, self.parameters["b_min"], out=self.g)

    # ------------------------------------------------------------------ kernels
    def _pulse_every_cell(self, up: bool | np.ndarray) -> None:
        """One pulse on every cell: up or down everywhere (a bool), or up where a mask is True."""
        if self.law.affine:
            self._affine_pulse(up)
        else:
            self._step(self.g, self.parameters, up)
        self._all_touched = True

    def _affine_pulse(self, up: bool | np.ndarray) -> None:
        """One pulse on every cell of an affine law, in one compiled pass (devices/_kernels.py)."""
        up_a, up_c, down_a, down_c, b_min, b_max, up_std, down_std = self._kernel_arrays
        if isinstance(up, (bool, np.bool_)):
            mask = _EVERY_CELL  # the kernel reads the up_ arguments: pass the chosen side there
            if not up:
                up_a, up_c, up_std = down_a, down_c, down_std
        else:
            mask = np.ascontiguousarray(up, dtype=bool).reshape(-1)
        noise = self._no_noise
        if self.config.dw_min_std > 0.0:
            noise = standard_normal(self.noise_rng, self.size, self.dtype, out=self._scratch_flat("pulse_noise", self.size))
        apply_affine_pulse(self.g.reshape(-1), mask, up_a, up_c, down_a, down_c, b_min, b_max, noise,
                           self._sigma_and_one, up_std, down_std, self._multiplicative)

    def _step(self, g: np.ndarray, prm: Mapping[str, np.ndarray], up: bool | np.ndarray) -> None:
        """One pulse of a non-affine law on every element of g (in place), with per-element
        parameters prm (the whole array, or the cells still pulsing in `_apply_sequential`)."""
        sigma = self.config.dw_min_std
        law = self.law
        uniform = isinstance(up, (bool, np.bool_))
        # Whole-array pulses reuse preallocated buffers: a fresh megabyte temporary costs page
        # faults on every pulse. Subsets (pulse runs on active cells) allocate their own.
        full = g.shape == self.shape and g.dtype == self.dtype

        def buffer(name: str) -> np.ndarray | None:
            if not full:
                return None
            scratch = self._scratch.get(name)
            if scratch is None:
                scratch = self._scratch[name] = np.empty(self.shape, dtype=self.dtype)
            return scratch

        choose = None  # 1 = up, 0 = down, per element
        if not uniform:
            choose = buffer("choose")
            if choose is None:
                choose = np.asarray(up).astype(self.dtype)
            else:
                np.copyto(choose, up)

        def pick(suffix: str) -> np.ndarray:
            if choose is None:
                return prm[f"up_{suffix}"] if up else prm[f"down_{suffix}"]
            chosen = np.multiply(choose, prm[f"diff_{suffix}"], out=buffer("pick"))
            chosen += prm[f"down_{suffix}"]
            return chosen

        if choose is None:
            signed = law.delta_up(g, prm) if up else -law.delta_down(g, prm)
        else:
            down_step = law.delta_down(g, prm)
            signed = choose * (law.delta_up(g, prm) + down_step) - down_step
        if sigma > 0.0:
            noise = standard_normal(self.noise_rng, g.shape, self.dtype)
            if law.noise_kind == "multiplicative":
                # Δ·(1 + σξ), as the affine path (an infinite step stays a clipped step).
                noise *= sigma
                noise += 1.0
                signed = signed * noise
            else:
                if law.noise_kind == "additive":
                    std = pick("sigma_s")
                else:
                    std = law.noise_std(signed, g, prm, True)
                signed = signed + std * noise
        g += signed.astype(self.dtype, copy=False)
        np.minimum(g, prm["b_max"], out=g)
        np.maximum(g, prm["b_min"], out=g)

    def _kernel_parameters(self, up: bool, down: bool) -> list[str]:
        """Names of the per-cell parameters `_step` reads for non-affine pulses of the given signs."""
        names = ["b_min", "b_max"]
        names += [name for name in self.parameters if not name.startswith(("up_", "down_", "diff_"))]
        if self.config.dw_min_std > 0.0 and self.law.noise_kind == "additive":
            sides = ["diff", "down"] if up and down else ["up"] if up else ["down"]
            names += [f"{side}_sigma_s" for side in sides]
        return list(dict.fromkeys(names))

    def _gather(self, flat_index: np.ndarray, names: list[str]) -> dict[str, np.ndarray]:
        return {name: self.parameters[name].reshape(-1)[flat_index] for name in names}

    def _apply_sequential(self, order: np.ndarray, magnitude: np.ndarray, up: bool) -> None:
        """Same-sign pulse runs applied one pulse at a time; cells sorted by decreasing run
        length so the cells still pulsing at step k are always a prefix (views, no re-gathering)."""
        g_flat = self.g.reshape(-1)
        values = g_flat[order]
        prm = self._gather(order, self._kernel_parameters(up, not up))
        longest = int(magnitude[0])
        # number of cells whose run is at least k long, for k = 1..longest
        still_active = np.cumsum(np.bincount(magnitude, minlength=longest + 1)[::-1])[::-1][1:]
        for k in range(longest):
            m = int(still_active[k])
            prefix = {name: value[:m] for name, value in prm.items()}
            self._step(values[:m], prefix, up)
        g_flat[order] = values

    def _affine_kernel_arrays(self) -> tuple[np.ndarray, ...]:
        """Flat per-cell arrays the compiled affine kernels take, in their order: up offset,
        up coefficient, down offset, down coefficient, b_min, b_max, up and down noise std
        (empty unless the noise is additive). The coefficient is the slope s with
        multiplicative noise, the factor b = 1 + s otherwise (see devices/_kernels.py)."""
        p = {name: value.reshape(-1) for name, value in self.parameters.items()}
        coefficient = "s" if self._multiplicative else "b"
        additive = self.config.dw_min_std > 0.0 and self.law.noise_kind == "additive"
        no_std = np.zeros(0, dtype=self.dtype)
        return (p["up_a"], p[f"up_{coefficient}"], p["down_a"], p[f"down_{coefficient}"], p["b_min"], p["b_max"],
                p["up_sigma_s"] if additive else no_std, p["down_sigma_s"] if additive else no_std)

    def _apply_affine_runs(self, flat_counts: np.ndarray) -> None:
        """Pulse runs of an affine law, cell by cell in one compiled loop (devices/_kernels.py),
        with one c2c draw per pulse in cell order.

        Large updates run in chunks of cells: a helper thread draws every chunk's noise, in
        chunk order, while this one applies the chunks from the front; once the draws are done
        (at once when noise-free) the helper applies chunks from the back. numpy's draws and the
        kernel release the GIL, so both cores work. Each chunk's draws are fixed by the chunk
        order and chunks touch disjoint cells, so the result does not depend on timing.
        """
        up_a, up_c, down_a, down_c, b_min, b_max, up_std, down_std = self._kernel_arrays
        g, touched = self.g.reshape(-1), self._touched.reshape(-1)
        noisy = self.config.dw_min_std > 0.0
        total = int(total_pulses(flat_counts))
        if total == 0:
            return
        buffer = self._scratch_flat("run_noise", total if noisy else 0)
        if total < _PARALLEL_MIN_PULSES:
            noise = standard_normal(self.noise_rng, total, self.dtype, out=buffer) if noisy else self._no_noise
            apply_affine_runs(g, flat_counts, up_a, up_c, down_a, down_c, b_min, b_max, noise,
                              self._sigma_and_one, up_std, down_std, self._multiplicative, touched)
            return
        chunk_count = min(_MAX_CHUNKS, total // _CHUNK_PULSES)
        bounds = np.linspace(0, flat_counts.size, chunk_count + 1).astype(int)
        chunks = [slice(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]
        if noisy:
            offsets = np.cumsum([0] + [int(total_pulses(flat_counts[chunk])) for chunk in chunks])
            pieces = [buffer[a:b] for a, b in zip(offsets[:-1], offsets[1:])]
        else:
            pieces = [self._no_noise] * len(chunks)
        additive = up_std.size > 0

        def apply(index: int) -> None:
            cells, piece = chunks[index], pieces[index]
            apply_affine_runs(g[cells], flat_counts[cells], up_a[cells], up_c[cells], down_a[cells], down_c[cells],
                              b_min[cells], b_max[cells], piece, self._sigma_and_one,
                              up_std[cells] if additive else up_std, down_std[cells] if additive else down_std,
                              self._multiplicative, touched[cells])

        claims = _ChunkClaims(len(chunks))

        def apply_from_the_back() -> None:
            while (index := claims.take(from_back=True)) is not None:
                apply(index)

        pool = _helper_pool()
        drawn = [pool.submit(standard_normal, self.noise_rng, piece.size, self.dtype, piece)
                 for piece in pieces] if noisy else []
        helper = pool.submit(apply_from_the_back)  # after every draw: the pool runs its queue in order
        while (index := claims.take(from_back=False)) is not None:
            if noisy:
                drawn[index].result()
            apply(index)
        helper.result()

    def _scratch_flat(self, name: str, size: int) -> np.ndarray:
        """A reusable 1-D buffer of at least `size` elements (its first `size` returned)."""
        buffer = self._scratch.get(name)
        if buffer is None or buffer.size < size:
            buffer = self._scratch[name] = np.empty(max(size, 1024), dtype=self.dtype)
        return buffer[:size]
