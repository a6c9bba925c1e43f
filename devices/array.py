"""DeviceArray: a sampled array of resistive cells and vectorized pulse application (SPEC §1).

One call moves the whole array (or the cells a command selects); there is never a Python
loop over cells. The array is three parts: the per-cell parameters drawn once
(devices/sampling.py), the cell state g, r and write noise (devices/_state.py), and the pulse
engine that changes g (devices/_pulses.py).

State is float32 by default. Devices with very fine steps (dw_min below 1e-4 of the
conductance range) switch to float64 automatically: with float32 a step of 1e-6 at g ≈ 0.5
is only ~16 ulps and rounding would bias long pulse runs.
"""

from __future__ import annotations

import numpy as np

from devices._pulses import PulseEngine
from devices._state import CellState
from devices.config import PulsedDeviceConfig
from devices.registry import law_for
from devices.response import CellParams, response_functions, symmetric_point
from devices.sampling import sample_cells, state_dtype_for

SeedLike = int | np.random.SeedSequence | None


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
        self.noise_rng = np.random.default_rng(noise_seed)

        cells = sample_cells(config, self.shape, np.random.default_rng(d2d_seed), self.law)
        self.stuck: np.ndarray = cells.stuck
        self.true_symmetric_point: np.ndarray = cells.symmetric_point
        self.sp_interior: np.ndarray = cells.sp_interior
        self._sampled_parameters64 = cells.parameters
        self.parameters: dict[str, np.ndarray] = {}
        """Per-cell parameters in the state dtype, with the pulse kernels' coefficients."""
        self._use_parameters(cells.parameters)
        bounds = (self.parameters["b_min"], self.parameters["b_max"])
        self._state = CellState(config, cells, bounds, self.dtype, self.noise_rng)

    # ------------------------------------------------------------------ reading state
    @property
    def size(self) -> int:
        """Number of cells."""
        return self.shape[0] * self.shape[1]

    @property
    def g(self) -> np.ndarray:
        """Stored conductance of every cell (changed in place by every write)."""
        return self._state.g

    @property
    def reference(self) -> np.ndarray:
        """Per-cell reference r subtracted from g."""
        return self._state.reference

    @property
    def reset_value(self) -> np.ndarray:
        """Mean conductance after a reset, per cell, before clipping to the bounds (the reference
        simulator's reset bias: a reset adds reset_std noise, then clips)."""
        return self._state.reset_value

    def visible(self) -> np.ndarray:
        """The weight the periphery sees: w = g − r (+ write noise, redrawn for touched cells)."""
        return self._state.visible()

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
        self._state.set_conductance(g)

    def set_reference(self, reference: np.ndarray | float) -> None:
        """Set the per-cell reference r (a digital offset or an ideal reference device)."""
        self._state.set_reference(reference)

    def reset(self) -> None:
        """Reset every cell: its mean reset value plus a fresh reset_std draw, clipped to its bounds."""
        self._state.reset()

    def set_visible(self, weights: np.ndarray | float) -> None:
        """Set the visible weights to `weights` exactly where the bounds allow (g = w + r, clipped
        to each cell's bounds); write noise is drawn afresh. The reference simulator's
        `set_weights`: an idealization that programs without pulses, not a hardware operation."""
        self.set_conductance(np.asarray(weights, dtype=np.float64) + self.reference)

    def apply_delta(self, delta: np.ndarray) -> None:
        """Add a floating-point increment to g, clipped (the "no pulses" update type)."""
        self._state.apply_delta(delta)

    def apply_slow_processes(self, steps: float = 1.0) -> None:
        """`steps` steps of the slow processes (diffusion, then decay toward the reset value);
        one step is the reference simulator's per-mini-batch update (see CellState)."""
        self._state.apply_slow_processes(steps)

    # ------------------------------------------------------------------ drift (devices/drift.py)
    def shift_symmetric_point(self, shift: np.ndarray) -> None:
        """Move every cell's visible symmetric point by `shift` (weight units) without moving its
        visible weight, except where a cell ends up beyond a bound of its response and clips."""
        self._state.shift_symmetric_point(np.asarray(shift, dtype=self.dtype))

    def shift_reference(self, shift: np.ndarray) -> None:
        """Add `shift` to every cell's reference r: visible weights and symmetric points move by −shift."""
        self._state.shift_reference(np.asarray(shift, dtype=self.dtype))

    def scale_steps(self, up: np.ndarray | float, down: np.ndarray | float) -> None:
        """Scale every cell's up and down steps by these factors, relative to the steps sampled at
        construction (an operating point such as the temperature); the symmetric point follows,
        the state g does not move. Factors of 1 restore the sampled device."""
        scaled = dict(self._sampled_parameters64)
        for keys, factor in ((self.law.up_step_parameters, up), (self.law.down_step_parameters, down)):
            for key in keys:
                if key in scaled:
                    scaled[key] = scaled[key] * np.asarray(factor, dtype=np.float64)
        self.true_symmetric_point, self.sp_interior = symmetric_point(self.law, scaled)
        self._use_parameters(scaled)

    def _use_parameters(self, parameters64: dict[str, np.ndarray]) -> None:
        """Make these (float64) per-cell parameters the array's: state-dtype copies, pulse engine."""
        self._parameters64 = parameters64
        self.parameters = {name: np.ascontiguousarray(value, dtype=self.dtype) for name, value in parameters64.items()}
        self._engine = PulseEngine(self.law, self.parameters, self.shape, self.dtype, self.noise_rng)

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
        self._engine.pulse_runs(self.g, self._state.touched, np.ascontiguousarray(counts).reshape(-1))

    def pulse_counts_batch(self, counts: np.ndarray) -> None:
        """Several signed-count updates (updates × rows × cols) applied one after another.

        The same result and draws as `pulse_counts` on each in order; small updates of affine
        laws run in one compiled call (a mini-batch's per-sample trains on a small tile).
        """
        counts = np.asarray(counts)
        if counts.ndim != 3 or counts.shape[1:] != self.shape:
            raise ValueError(f"count stack shape {counts.shape} != (updates, *{self.shape})")
        if self._engine.pulse_runs_batch(self.g, self._state.touched, counts):
            return
        for update in counts:
            self.pulse_counts(update)

    def _pulse_every_cell(self, up: bool | np.ndarray) -> None:
        """One pulse on every cell: up or down everywhere (a bool), or up where a mask is True."""
        self._engine.pulse_every_cell(self.g, up)
        self._state.all_touched = True
