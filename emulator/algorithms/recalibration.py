"""Recalibration policies: when a training program re-runs zero-shifting of its fast arrays while
it trains, because their symmetric points move (drift, issue 18).

Between mini-batches a policy may pause training and recalibrate P of every layer: ZS with
`recalibration_steps` pulses per cell, a read, then the reference (residual learning: the digital
offset or the analog R; RIDER/E-RIDER: their SP estimates Q, Q̃ start again from the read).
- periodic: every `recalibrate_every_ns` of simulated time or every `recalibrate_every_samples`
  training samples since the last calibration;
- monitored: every `monitor_every_samples` samples, the spare cells of a monitor tile (devices
  like P's, drifting alike, outside the network) get `monitor_pulses` stochastic ZS pulses, which
  keep them near their symmetric point, and are read; when their mean read moved by more than
  `monitor_threshold` since the last calibration, recalibrate. At the start the spare cells get
  `monitor_settle_steps` ZS pulses; a read then, and after every recalibration, is the baseline.
Phases: "recalibration" (ZS pulses and reads of P), "monitor" (everything on the spare cells);
the reference's programming stays "programming". Without any of the three settings a program
runs exactly as it did before policies existed.
"""

from __future__ import annotations

from typing import Annotated, Any, Generator, Literal, Protocol, Sequence

import numpy as np
from pydantic import BaseModel, Field

from devices.inputs import INPUT_CONFIG
from emulator.algorithms.calibration import zero_shift, zero_shift_pulses
from emulator.hardware import Controller, Digital, ReadCells
from emulator.registry import TileLayout
from emulator.workloads import LayerSpec

Gen = Generator[Any, Any, Any]


class CalibratedTrainer(Protocol):
    """What a policy needs of the training program it pauses (a `TransferTrainer` with a reference of P)."""

    ctl: Controller
    phase: str | None
    step: int
    samples: int

    @property
    def layers(self) -> Sequence[LayerSpec]:
        """The workload's layers (layer l on tile `layer{l}`)."""

    def set_phase(self, phase: str) -> Gen:
        """Switch the phase work is booked under."""

    def recalibrate(self) -> Gen:
        """Zero-shift P of every layer and restart the reference (or SP estimates) from the reads."""


class RecalibrationParams(BaseModel):
    """When to recalibrate the fast arrays during training, and how (all off by default)."""

    model_config = INPUT_CONFIG

    recalibrate_every_ns: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = None
    """Recalibrate P once this much simulated time has passed since the last calibration."""
    recalibrate_every_samples: Annotated[int, Field(gt=0)] | None = None
    """Recalibrate P after this many training samples since the last calibration."""
    recalibration_steps: Annotated[int, Field(gt=0, le=10_000_000)] = 1000
    """ZS pulses per cell of one recalibration."""
    recalibration_method: Literal["stochastic", "cyclic"] = "stochastic"
    recalibration_reads: Annotated[int, Field(gt=0, le=10_000)] = 4
    """Reads averaged for each recalibration's SP estimate (each counted)."""
    monitor_every_samples: Annotated[int, Field(gt=0)] | None = None
    """Check the monitor's spare cells every this many training samples (None: no monitor)."""
    monitor_tile: str = "monitor"
    """Tile holding the spare cells (devices like P's, outside the network)."""
    monitor_array: str = "P"
    monitor_pulses: Annotated[int, Field(ge=0, le=1_000_000)] = 100
    """Stochastic ZS pulses on the spare cells before each check."""
    monitor_reads: Annotated[int, Field(gt=0, le=10_000)] = 4
    """Reads of the spare cells averaged per check."""
    monitor_threshold: Annotated[float, Field(gt=0, allow_inf_nan=False)] = 0.03
    """Recalibrate when the spare cells' mean read moved by more than this (weight units)."""
    monitor_settle_steps: Annotated[int, Field(ge=0, le=10_000_000)] = 1000
    """ZS pulses on the spare cells at the start, before the first baseline read (they keep near
    their symmetric point afterwards through the pulses of every check)."""

    def recalibrates(self) -> bool:
        """Whether any policy is set."""
        return (self.recalibrate_every_ns is not None or self.recalibrate_every_samples is not None
                or self.monitor_every_samples is not None)


def monitor_problems(params: RecalibrationParams, layout: TileLayout) -> list[tuple[str, str]]:
    """(field path, reason) if the monitor's tile or array is missing."""
    if params.monitor_every_samples is None:
        return []
    if params.monitor_tile not in layout:
        return [("program.params.monitor_tile", f"no tile {params.monitor_tile!r} for the monitor's spare cells "
                                                f"(tiles: {', '.join(sorted(layout))})")]
    arrays = layout[params.monitor_tile][2]
    if params.monitor_array not in arrays:
        return [("program.params.monitor_array", f"tile {params.monitor_tile!r} has no array "
                                                 f"{params.monitor_array!r} (has {', '.join(sorted(arrays))})")]
    return []


def calibrate_fast_arrays(trainer: CalibratedTrainer, steps: int, method: Literal["stochastic", "cyclic"], reads: int,
                          reference: Literal["digital", "analog"], phase: str) -> Gen:
    """ZS of P on every layer tile (`steps` pulses per cell, then the reference: a digital offset
    or the analog array R), booked under `phase`; returns the SP estimates (rows × cols per layer)."""
    estimates = []
    for layer in trainer.layers:
        trainer.phase = phase  # zero_shift sets its own phases
        if steps > 0:
            estimate = yield from zero_shift(trainer.ctl, layer.name, "P", steps, method, reads, reference,
                                             "R" if reference == "analog" else None, phase=phase)
        else:
            estimate = np.zeros(layer.shape)
        estimates.append(np.asarray(estimate, dtype=np.float64))
    return estimates


class RecalibrationPolicy:
    """The schedule and the monitor of one training run; `between_steps` runs at every step boundary."""

    def __init__(self, params: RecalibrationParams) -> None:
        self.p = params
        self.started = False
        self.last_ns = 0.0
        self.last_samples = 0
        self.last_check_samples = 0
        self.baseline = 0.0
        self.recalibrations = 0
        self.monitor_checks = 0
        self.monitor_triggers = 0

    def between_steps(self, trainer: CalibratedTrainer) -> Gen:
        """Start the clocks (and the monitor's baseline) once; then recalibrate when due."""
        if not self.started:
            self.started = True
            yield from self._mark(trainer, settle=True)
            return
        p, now_ns = self.p, trainer.ctl.now_ns
        due = ((p.recalibrate_every_ns is not None and now_ns - self.last_ns >= p.recalibrate_every_ns)
               or (p.recalibrate_every_samples is not None
                   and trainer.samples - self.last_samples >= p.recalibrate_every_samples))
        if not due and p.monitor_every_samples is not None \
                and trainer.samples - self.last_check_samples >= p.monitor_every_samples:
            self.last_check_samples = trainer.samples
            due = yield from self._monitor_moved(trainer)
            self.monitor_triggers += int(due)
        if due:
            yield from trainer.recalibrate()
            self.recalibrations += 1
            trainer.ctl.metric("recalibrations", self.recalibrations, trainer.step)
            yield from self._mark(trainer, settle=False)

    def _mark(self, trainer: CalibratedTrainer, settle: bool) -> Gen:
        """A calibration just ended (or training starts): restart the clocks; read the spare cells'
        baseline, after settling them first if `settle`."""
        if self.p.monitor_every_samples is not None:
            yield from trainer.set_phase("monitor")
            if settle:
                yield from zero_shift_pulses(trainer.ctl, self.p.monitor_tile, self.p.monitor_array,
                                             self.p.monitor_settle_steps, progress=False)
            self.baseline = yield from self._read_monitor(trainer)
        self.last_ns, self.last_samples = trainer.ctl.now_ns, trainer.samples
        self.last_check_samples = trainer.samples

    def _monitor_moved(self, trainer: CalibratedTrainer) -> Gen:
        """One check: ZS pulses on the spare cells, a read; whether their mean moved past the threshold."""
        yield from trainer.set_phase("monitor")
        yield from zero_shift_pulses(trainer.ctl, self.p.monitor_tile, self.p.monitor_array, self.p.monitor_pulses,
                                     progress=False)
        value = yield from self._read_monitor(trainer)
        self.monitor_checks += 1
        trainer.ctl.metric("monitor_shift", value - self.baseline, trainer.step)
        return abs(value - self.baseline) > self.p.monitor_threshold

    def _read_monitor(self, trainer: CalibratedTrainer) -> Gen:
        reads = yield ReadCells(self.p.monitor_tile, self.p.monitor_array, self.p.monitor_reads)
        yield Digital(np.size(reads), "monitor_mean")
        return float(np.mean(reads))

    def summary(self) -> dict[str, int]:
        """What the policy did, for the run's result."""
        summary = {"recalibrations": self.recalibrations}
        if self.p.monitor_every_samples is not None:
            summary.update(monitor_checks=self.monitor_checks, monitor_triggers=self.monitor_triggers)
        return summary
