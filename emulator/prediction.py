"""An exact, fast predictor of zero-shifting (SPEC §5) beside the emulation: each cell's mean and
variance after N pulses, the residual SP error after a k-read, and the pulses to a target.

Per cell, one pulse of an affine step law is a moment transfer matrix (devices/moments.py);
stochastic ZS applies the average of the up and down matrices each step, cyclic ZS the product
of an up and a down pulse each cycle; N steps are the N-th power in closed form, so a prediction
costs the same at N = 10³ and 10⁹. The per-cell parameters are the array's own sampled ones
(d2d) and the c2c noise enters as the law applies it (multiplicative or additive). The k-read
goes through the read path's moments (emulator/hardware/read_moments.py). The predictions are
exact (within float64) for affine laws while no pulse is clipped at a bound: `clipping` bounds how
far clipping can move them (a coupling argument, emulator/clipped_cells.py), and cells whose
pulse overshoots their fixed point (a bound a pulse away) are emulated with replicas instead.
Non-affine laws are linearized at each cell's symmetric point (`exact` is then False): their
transient far from the SP is approximate.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

from devices import DeviceArray
from devices.moments import MomentMap, RepeatedMap, affine_pulse_maps, first_meeting, linearized_pulse_maps
from emulator.clipped_cells import MAX_EMULATED_CELLS, EmulatedCells, overshooting, pulse_gain, shift_bound
from emulator.hardware.read_moments import read_moments
from emulator.hardware.read_path import IOParameters

Metric = Literal["rms", "relative-mean"]
#: Share of the target the clipped cells may move the metric by, at most, for "negligible".
CLIP_TOLERANCE = 0.1


def _normal_cdf(z: float) -> float:
    return 0.5 * math.erfc(-z / math.sqrt(2.0))


def error_summary(mean: np.ndarray, variance: np.ndarray, sp_mean: float, target: float | None = None,
                  metric: Metric = "relative-mean", read_variance: np.ndarray | None = None) -> dict[str, float]:
    """What a calibration's residual errors e (per cell: mean, variance; cells independent) give
    for the paper's summaries: RMS over cells, mean, spread, and |mean|/|mean SP| (its expectation
    and SD, the mean over cells being normal). With a `target`: the probability that the read of a
    chip whose state is typical meets it (only `read_variance`, the part the read adds, is left to
    chance; default: all of it, for a known state), and `state_sd`, the chip-to-chip SD of the
    metric that the rest of the variance (the state's) causes."""
    cells = mean.size
    square = mean * mean + variance
    mean_square = float(np.mean(square))
    mean_error = float(np.mean(mean))
    mean_sd = math.sqrt(float(np.mean(variance)) / cells)
    folded, folded_sd = _folded_normal(mean_error, mean_sd)
    scale = abs(sp_mean) if sp_mean else math.inf
    summary = {"rms_error": math.sqrt(mean_square), "mean_error": mean_error,
               "std_error": math.sqrt(max(mean_square - mean_error ** 2, 0.0)),
               "relative_mean_error": folded / scale, "relative_mean_error_sd": folded_sd / scale}
    if target is None:
        return summary
    read = variance if read_variance is None else read_variance
    state = np.maximum(variance - read, 0.0)
    if metric == "rms":
        # Mean over cells of e², normal; per cell Var(e² | state) = 2r² + 4(μ² + v_state)·r.
        spread = math.sqrt(float(np.mean(2 * read ** 2 + 4 * (mean * mean + state) * read)) / cells)
        gap = target ** 2 - mean_square
        chance = (1.0 if gap >= 0 else 0.0) if spread == 0 else _normal_cdf(gap / spread)
        state_sd = math.sqrt(float(np.mean(2 * state ** 2 + 4 * mean * mean * state)) / cells) \
            / (2 * max(math.sqrt(mean_square), 1e-300))
    else:
        bound, read_sd = target * scale, math.sqrt(float(np.mean(read)) / cells)
        if read_sd == 0:
            chance = 1.0 if abs(mean_error) <= bound else 0.0
        else:
            chance = _normal_cdf((bound - mean_error) / read_sd) - _normal_cdf((-bound - mean_error) / read_sd)
        state_sd = math.sqrt(float(np.mean(state)) / cells) / scale
    summary.update(probability_met=chance, state_sd=state_sd)
    return summary


def _folded_normal(mean: float, sd: float) -> tuple[float, float]:
    """Mean and SD of |X| for X ~ N(mean, sd²)."""
    if sd <= 0:
        return abs(mean), 0.0
    folded = sd * math.sqrt(2 / math.pi) * math.exp(-mean ** 2 / (2 * sd ** 2)) + mean * (1 - 2 * _normal_cdf(-mean / sd))
    return folded, math.sqrt(max(mean ** 2 + sd ** 2 - folded ** 2, 0.0))


@dataclass(frozen=True)
class ClippingReport:
    """How clipping at the bounds can change the predicted summaries after some steps."""

    emulated_cells: int
    """Cells whose pulse overshoots their fixed point, emulated with replicas instead."""
    bounded_cells: int
    """Overshooting cells beyond the emulation's limit: only kept within their range."""
    affected_cells: int
    """Other cells whose moments clipping can move by more than 10⁻⁹ (see emulator/clipped_cells.py)."""
    mean_error_shift: float
    """Largest shift of the mean error over cells that clipping can cause."""
    mean_square_shift: float
    """Largest shift of the mean-square error over cells that clipping can cause."""

    def matters(self, target: float, metric: Metric, sp_mean: float) -> bool:
        """Whether clipping can move the metric by more than CLIP_TOLERANCE of the target."""
        if metric == "rms":
            return self.mean_square_shift > CLIP_TOLERANCE * target ** 2
        return self.mean_error_shift > CLIP_TOLERANCE * target * abs(sp_mean)

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


class ZeroShiftPredictor:
    """Moments of every cell of `array` under N steps of stochastic or cyclic ZS from its current
    state (or `start`, flat conductances), then a k-read through `io`."""

    def __init__(self, array: DeviceArray, method: Literal["stochastic", "cyclic"], io: IOParameters,
                 reads: int = 1, start: np.ndarray | None = None, seed: int = 0) -> None:
        self.array, self.method, self.io, self.reads = array, method, io, reads
        self.shape = array.shape
        self.sp = array.symmetric_point().astype(np.float64).reshape(-1)
        self.reference = array.reference.astype(np.float64).reshape(-1)
        self.sp_mean = float(np.mean(self.sp - self.reference))
        g0 = array.g if start is None else start
        self.start = np.asarray(g0, dtype=np.float64).reshape(-1) - self.sp
        self.exact = bool(array.law.affine)
        self.model = "exact moments (affine law)" if self.exact else "linearized at each cell's symmetric point"
        up, down = affine_pulse_maps(array, self.sp) if self.exact else linearized_pulse_maps(array, self.sp)
        self.up, self.down = up, down
        self.period = 1 if method == "stochastic" else 2
        self.repeated = RepeatedMap.of(MomentMap.average(up, down) if method == "stochastic" else up.then(down))
        write_noise = array.config.write_noise_std * array.config.dw_min
        self.write_variance = write_noise * write_noise
        self.read_regime = read_moments(np.zeros((1, 1)), np.zeros((1, 1)), io, reads).regime
        prm = array.cell_parameters()
        self.b_min = np.asarray(prm["b_min"], dtype=np.float64).reshape(-1)
        self.b_max = np.asarray(prm["b_max"], dtype=np.float64).reshape(-1)
        self._emulate_overshooting_cells(seed)

    # ------------------------------------------------------------------ per-cell moments
    def iterate(self, steps: int) -> tuple[np.ndarray, np.ndarray]:
        """Mean and variance of e = g − SP of every cell (flat) after `steps` ZS steps: the moment
        maps, with the overshooting cells emulated (or kept within their range beyond the limit)."""
        mean, variance = self._unclipped(steps)
        if self.emulated is not None:
            mean[self.emulated.cells], variance[self.emulated.cells] = self.emulated.moments(steps)
        bounded = self.bounded
        if bounded.size:
            low, high = self.b_min[bounded] - self.sp[bounded], self.b_max[bounded] - self.sp[bounded]
            mean[bounded], variance[bounded] = 0.5 * (low + high), 0.25 * (high - low) ** 2
        return mean, variance

    def _unclipped(self, steps: int, cells: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The moment maps' exact moments of the process without clipping (of some cells)."""
        repeated, up, start = self.repeated, self.up, self.start
        if cells is not None:
            repeated, up, start = repeated.select(cells), up.select(cells), start[cells]
        zero = np.zeros_like(start)
        if self.method == "stochastic":
            return repeated.moments(steps, start, zero)
        mean, variance = repeated.moments(steps // 2, start, zero)
        return up.apply(mean, variance) if steps % 2 else (mean, variance)

    def residual(self, steps: int) -> tuple[np.ndarray, np.ndarray]:
        """Mean and variance of the residual SP error e = (w⋄ − r) − estimate after a k-read."""
        mean, variance = self.iterate(steps)
        return residual_moments(self.sp + mean - self.reference, variance + self.write_variance, self.sp - self.reference,
                                self.io, self.reads, self.shape)

    # ------------------------------------------------------------------ summaries
    def iterate_statistics(self, steps: int) -> dict[str, float]:
        """Predicted mean over cells of e and of e², with the standard errors of those means over the
        cells (cells independent; Var e² = 2v² + 4m²v under a Gaussian closure of each cell)."""
        mean, variance = self.iterate(steps)
        cells = mean.size
        return {"mean_error": float(np.mean(mean)), "mean_square": float(np.mean(mean * mean + variance)),
                "mean_error_se": math.sqrt(float(np.mean(variance)) / cells),
                "mean_square_se": math.sqrt(float(np.mean(2 * variance ** 2 + 4 * mean ** 2 * variance)) / cells)}

    def summary(self, steps: int, target: float | None = None, metric: Metric = "relative-mean") -> dict[str, Any]:
        """Predicted iterate and residual summaries after `steps` steps; with a `target`, the chance a
        chip in its typical state meets it after the read, and the chip-to-chip SD of the metric."""
        mean, variance = self.iterate(steps)
        iterate = error_summary(mean, variance, self.sp_mean)
        visible_mean, visible_sp = self.sp + mean - self.reference, self.sp - self.reference
        residual_mean, residual_variance = residual_moments(visible_mean, variance + self.write_variance, visible_sp,
                                                            self.io, self.reads, self.shape)
        read_variance = None
        if target is not None:  # what the read adds to a known state
            read_variance = residual_moments(visible_mean, self.write_variance, visible_sp, self.io, self.reads,
                                             self.shape)[1]
        result: dict[str, Any] = {"pulses": steps, **error_summary(residual_mean, residual_variance, self.sp_mean,
                                                                   target, metric, read_variance)}
        result.update({"iterate_rms_error": iterate["rms_error"], "iterate_mean_error": iterate["mean_error"],
                       "iterate_relative_mean_error": abs(iterate["mean_error"]) / abs(self.sp_mean)
                       if self.sp_mean else math.inf})
        return result

    def pulses_spread(self, steps: int, target: float, metric: Metric) -> float:
        """Chip-to-chip SD of the pulses to the target around `steps`: the state's SD of the metric
        over the metric's slope there (a central difference over ±2 % of the steps)."""
        key = "rms_error" if metric == "rms" else "relative_mean_error"
        width = max(self.period, int(0.02 * steps) - int(0.02 * steps) % self.period)
        ahead, behind = (self.summary(steps + width)[key], self.summary(max(steps - width, 0))[key])
        slope = abs(ahead - behind) / (steps + width - max(steps - width, 0))
        state_sd = self.summary(steps, target, metric)["state_sd"]
        return state_sd / slope if slope > 0 else math.inf

    def read_saturation(self, steps: int) -> bool:
        """Whether some cell's read after `steps` steps could reach the ADC bound (not modelled)."""
        mean, variance = self.iterate(steps)
        return read_moments((self.sp + mean - self.reference).reshape(self.shape),
                            (variance + self.write_variance).reshape(self.shape), self.io, self.reads).saturation_possible

    def horizon(self) -> int:
        """Steps after which every contracting cell has forgotten its start (λⁿ < e⁻⁴⁰)."""
        rates = -self.repeated.base.rate[self.repeated.contracting]
        if rates.size == 0:
            return 0
        slowest = float(np.min(rates))
        return int(min(math.ceil(40.0 / max(slowest, 1e-300)) * self.period, 10 ** 12))

    def pulses_to_target(self, target: float, metric: Metric, confidence: float = 0.5,
                         cap: int | None = None) -> int | None:
        """The fewest steps (whole cycles for cyclic ZS) after which the k-read meets `target`
        with probability ≥ `confidence`; None if not by `cap` (default: the horizon)."""
        limit = cap if cap is not None else max(self.horizon(), self.period)
        return first_meeting(lambda n: self.summary(n, target, metric)["probability_met"] >= confidence,
                             limit, self.period)

    # ------------------------------------------------------------------ clipping
    def _emulate_overshooting_cells(self, seed: int) -> None:
        """Cells whose pulse overshoots their fixed point: emulated with replicas (up to a limit)."""
        base = self.repeated.base
        flags = overshooting(self.up, self.down, base) & (self.b_max > self.b_min)
        cells = np.flatnonzero(flags)
        self.emulated: EmulatedCells | None = None
        self.bounded = np.zeros(0, dtype=np.int64)
        if 0 < cells.size <= MAX_EMULATED_CELLS:
            self.emulated = EmulatedCells(self.array, cells, self.start + self.sp, self.sp, self.method, seed)
        elif cells.size:
            self.bounded = cells
        self._regular = ~flags
        gains = (pulse_gain(self.up), pulse_gain(self.down))
        self._gain = 0.5 * (gains[0] + gains[1]) if self.method == "stochastic" else np.maximum(*gains)

    def clipping(self, steps: int) -> ClippingReport:
        """How far clipping at the bounds can move the summaries after `steps` steps: the coupling
        bound of emulator/clipped_cells.py on the regular cells, each bounded cell's whole range."""
        shift = shift_bound(self._unclipped, steps, self.sp, self.b_min, self.b_max, self._gain)
        span = self.b_max - self.b_min
        shift = np.where(self._regular, shift, 0.0)
        shift[self.bounded] = span[self.bounded]
        shift = np.minimum(shift, span)  # a clipped cell stays in its range
        square_shift = 3.0 * span * shift  # see emulator/clipped_cells.py
        cells = shift.size
        return ClippingReport(0 if self.emulated is None else int(self.emulated.cells.size), int(self.bounded.size),
                              int(np.count_nonzero(self._regular & (shift > 1e-9))), float(np.sum(shift)) / cells,
                              float(np.sum(np.nan_to_num(square_shift, nan=np.inf))) / cells)


def residual_moments(visible_mean: np.ndarray, visible_variance: np.ndarray | float, visible_sp: np.ndarray,
                     io: IOParameters, reads: int, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance of e = (w⋄ − r) − estimate per cell (flat), for cells whose visible weight
    has the given moments when read `reads` times through `io`."""
    read = read_moments(visible_mean.reshape(shape), np.broadcast_to(visible_variance, visible_mean.shape).reshape(shape),
                        io, reads, check_saturation=False)
    return visible_sp - read.mean.reshape(-1), read.variance.reshape(-1)
