"""The state of an array's cells: conductance g, reference r, write noise, resets, slow processes.

Pulses change g through the pulse engine (devices/_pulses.py), which marks the cells it
touches in `touched` (or the array sets `all_touched`), so that the write noise of the
visible weight is redrawn for exactly those cells at the next read (SPEC §1.4).
"""

from __future__ import annotations

import numpy as np

from devices._random import NormalStream
from devices.config import PulsedDeviceConfig
from devices.sampling import SampledCells


class CellState:
    """g, r and the write noise of every cell, in the state dtype; all arrays change in place."""

    def __init__(self, config: PulsedDeviceConfig, cells: SampledCells, bounds: tuple[np.ndarray, np.ndarray],
                 dtype: np.dtype, noise_rng: np.random.Generator) -> None:
        self.config = config
        self.dtype = dtype
        self.shape = cells.reset.shape
        self.normals = NormalStream.of_generator(noise_rng)
        """Write noise, resets and diffusion draw from this counter-based stream (one update per draw)."""
        self.b_min, self.b_max = bounds
        self.reset_value = cells.reset.astype(dtype)
        self.g: np.ndarray = np.clip(cells.reset, cells.parameters["b_min"], cells.parameters["b_max"]).astype(dtype)
        self.reference: np.ndarray = cells.reference.astype(dtype)
        self.decay_scale = cells.decay_scale.astype(dtype)
        self.diffusion_rate = cells.diffusion_rate.astype(dtype)
        self.write_noise_std = config.write_noise_std * config.dw_min
        self.write_noise = np.zeros(self.shape, dtype=dtype)
        self.touched = np.zeros(self.shape, dtype=bool)
        """Cells written since the last read (their write noise is redrawn then)."""
        self.all_touched = True
        """Every cell written since the last read (cheaper than filling `touched`); true at first."""

    # ------------------------------------------------------------------ reading
    def visible(self) -> np.ndarray:
        """w = g − r (+ write noise, redrawn for the cells written since the last read)."""
        if self.write_noise_std <= 0.0:
            return self.g - self.reference
        if self.all_touched:
            self.write_noise[...] = self.write_noise_std * self.normals.draw(self.shape, self.dtype)
            self.all_touched = False
            self.touched[...] = False
        else:
            count = int(np.count_nonzero(self.touched))
            if count:
                self.write_noise[self.touched] = self.write_noise_std * self.normals.draw(count, self.dtype)
                self.touched[...] = False
        return self.g - self.reference + self.write_noise

    # ------------------------------------------------------------------ writing
    def set_conductance(self, g: np.ndarray | float) -> None:
        """Set g directly, clipped to the bounds."""
        value = np.broadcast_to(np.asarray(g, dtype=self.dtype), self.shape)
        np.clip(value, self.b_min, self.b_max, out=self.g)
        self.all_touched = True

    def set_reference(self, reference: np.ndarray | float) -> None:
        """Set the per-cell reference r."""
        self.reference[...] = np.broadcast_to(np.asarray(reference, dtype=self.dtype), self.shape)

    def reset(self) -> None:
        """Every cell to its mean reset value plus a fresh reset_std draw, clipped to its bounds."""
        self.g[...] = self.reset_value
        if self.config.reset_std > 0:
            self.g += self.config.reset_std * self.normals.draw(self.shape, self.dtype)
        self.clip()
        self.all_touched = True

    def apply_delta(self, delta: np.ndarray) -> None:
        """Add a floating-point increment to g, clipped."""
        self.g += np.asarray(delta, dtype=self.dtype)
        self.clip()
        self.all_touched = True

    def shift_symmetric_point(self, shift: np.ndarray) -> None:
        """Move each cell's response curve by `shift` along the conductance axis while its
        conductance stays: in the law's coordinates g and r both move by −shift, so the visible
        weight stays (unless the cell now lies beyond a bound of its curve, where it clips) and
        the visible symmetric point moves by +shift."""
        self.g -= shift
        self.clip()
        self.reference -= shift

    def shift_reference(self, shift: np.ndarray) -> None:
        """Add `shift` to every cell's reference r (the visible weight moves by −shift)."""
        self.reference += shift

    def clip(self) -> None:
        """Clip g to each cell's bounds, in place."""
        np.minimum(self.g, self.b_max, out=self.g)
        np.maximum(self.g, self.b_min, out=self.g)

    # ------------------------------------------------------------------ slow processes
    def apply_slow_processes(self, steps: float = 1.0) -> None:
        """`steps` steps of diffusion (g += rate·ξ per step), then decay toward the reset value
        (g − reset ← (g − reset)·(1 − 1/lifetime) per step); no-op when both are off.

        One step is exactly the reference simulator's per-mini-batch `diffuse_weights` then
        `decay_weights`, each clipped to the bounds. Other step counts (elapsed simulated time)
        use the closed form of that linear recursion, clipped once at the end.
        """
        decay, diffusion = self.config.lifetime > 0, self.config.diffusion > 0
        if steps <= 0 or not (decay or diffusion):
            return
        if steps == 1.0:
            self._one_slow_step(decay, diffusion)
        else:
            self._slow_steps(steps, decay, diffusion)
        self.all_touched = True

    def _one_slow_step(self, decay: bool, diffusion: bool) -> None:
        if diffusion:
            self.g += self.diffusion_rate * self.normals.draw(self.shape, self.dtype)
            self.clip()
        if decay:
            self.g -= self.reset_value
            self.g *= self.decay_scale
            self.g += self.reset_value
            self.clip()

    def _slow_steps(self, steps: float, decay: bool, diffusion: bool) -> None:
        scale = self.decay_scale.astype(np.float64)
        factor = scale ** steps
        if decay:
            self.g[...] = ((self.g - self.reset_value) * factor + self.reset_value).astype(self.dtype)
        if diffusion:
            # The walk's steps decay too: variance Σ_k scale^(2k)·rate², k = 1..steps (steps·rate²
            # without decay), added after the decay of the starting state.
            ratio = np.where(scale < 1.0, scale * scale * (1.0 - factor * factor)
                             / np.maximum(1.0 - scale * scale, 1e-300), steps)
            spread = self.diffusion_rate * np.sqrt(ratio)
            self.g += (spread * self.normals.draw(self.shape, np.float64)).astype(self.dtype)
        self.clip()
