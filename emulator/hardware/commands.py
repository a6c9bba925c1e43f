"""Commands a controller program issues to the hardware.

A program is a plain generator: it yields a command and receives the command's result
(e.g. the values of a Read) when the hardware has finished it in simulated time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Sequence

import numpy as np

from emulator.hardware.pulse_trains import UpdateParameters
from emulator.hardware.read_path import IOParameters


class WrittenCounts(np.ndarray):
    """Signed per-cell pulse counts a write applied (int32, rows × cols; for a batch of samples,
    their per-cell sum), carrying the exact numbers of up and down pulses fired: in a batch,
    opposite-sign samples on one cell cancel in the sum but were all fired and paid for."""

    up_pulses: int | None
    down_pulses: int | None

    @classmethod
    def of(cls, counts: np.ndarray, up_pulses: int, down_pulses: int) -> "WrittenCounts":
        result = np.asarray(counts).view(cls)
        result.up_pulses, result.down_pulses = int(up_pulses), int(down_pulses)
        return result

    def __array_finalize__(self, obj: object) -> None:
        # Arrays derived from a result (slices, arithmetic) are plain counts: no totals.
        self.up_pulses = self.down_pulses = None


def fired_pulses(counts: np.ndarray) -> tuple[int, int]:
    """(up, down) pulses behind a write's signed counts: the exact totals a `WrittenCounts`
    carries, else the positive and negative parts of the counts."""
    up, down = getattr(counts, "up_pulses", None), getattr(counts, "down_pulses", None)
    if up is None or down is None:
        signed = np.asarray(counts)
        return int(np.maximum(signed, 0).sum()), int(np.maximum(-signed, 0).sum())
    return up, down


@dataclass
class PulseTrain:
    """Stochastic coincidence update ΔW = −learning_rate·d·xᵀ on one array (SPEC §2.1).

    Result: `WrittenCounts`, the signed per-cell counts that were applied (int32, rows × cols;
    summed over the samples of a batch) with the exact up and down pulse totals.
    """

    tile: str
    array: str
    x: np.ndarray
    d: np.ndarray
    learning_rate: float
    update: UpdateParameters | None = None
    """Override of the tile's update parameters for this train (e.g. desired_bl=1 transfers)."""
    granularity: float | None = None
    """Step the train assumes per pulse; default the array's dw_min."""


@dataclass
class PulseCounts:
    """Deterministic signed per-cell pulse counts (> 0 up, < 0 down). Result: None."""

    tile: str
    array: str
    counts: np.ndarray


@dataclass
class SignPattern:
    """One pulse on every selected cell: +1 up, −1 down, 0 none; an int means the whole array;
    a boolean array pulses every cell, up where True and down where False.

    Up and down cells are driven in two phases, so a mixed pattern takes two slots.
    Result: None.
    """

    tile: str
    array: str
    signs: np.ndarray | int


@dataclass
class Read:
    """Analog read of one array (or a differential pair) through the read path (SPEC §3).

    inputs: a vector or a batch (one row per sample). direction "forward" computes W·x with
    bound management; "backward" computes Wᵀ·d without it. one_hot=True is a transfer read:
    no noise or bound management, still DAC, output noise and ADC. Result: ndarray
    (samples × outputs, or a vector for a vector input).
    """

    tile: str
    array: str
    inputs: np.ndarray
    direction: Literal["forward", "backward"] = "forward"
    one_hot: bool = False
    minus: str | None = None
    """Name of a second array on the same tile read differentially (W_array − W_minus)."""
    perfect: bool = False
    """Ideal read for this command only (diagnostics)."""
    io: IOParameters | None = None
    """Read-path settings for this command (e.g. a transfer read's own periphery); default the tile's."""


@dataclass
class ReadCells:
    """Read every cell of an array column by column (one-hot inputs, `repeats` times each, averaged).

    Result: the estimate of the visible weights (rows × cols, float64).
    """

    tile: str
    array: str
    repeats: int = 1
    minus: str | None = None


@dataclass
class SetWeights:
    """IDEALIZED programming: the visible weights of an array become `values` exactly where the
    cells' bounds allow, without pulses, reads or time (the reference simulator's `set_weights`,
    for comparisons with it). Counted as `ideal_writes` per array, never as pulses. Result: None."""

    tile: str
    array: str
    values: np.ndarray


@dataclass
class SlowProcessStep:
    """One step of the devices' slow processes (decay, diffusion) on every array, the reference
    simulator's per-mini-batch convention. Ignored when the hardware runs them in simulated
    time (`slow_process_step_ns`). Takes no time. Result: None."""

    steps: float = 1.0


@dataclass
class ProgramAndVerify:
    """Program an array's visible weights to `target` by read–pulse–verify (SPEC §2.2).

    Each iteration reads every cell (ReadCells, `reads` repeats) and sends per-cell counts
    toward the target, at most `max_pulses_per_iteration` per cell, until every cell is within
    `tolerance` or `max_iterations` is reached. Result: dict with the final read, iterations,
    and cells still out of tolerance. Everything is counted under the current phase.
    """

    tile: str
    array: str
    target: np.ndarray
    tolerance: float
    max_iterations: int = 20
    max_pulses_per_iteration: int = 1000
    reads: int = 1


@dataclass
class Digital:
    """Digital work of the controller on `elements` values (EMA, buffer, compare). Result: None."""

    elements: int
    operation: str = "op"
    repeats: int = 1


@dataclass
class Wait:
    """Idle for a fixed time. Result: None."""

    duration_ns: float


@dataclass
class SetPhase:
    """Name the phase subsequent work is counted under ("calibration", "training", …)."""

    phase: str


@dataclass
class Parallel:
    """Run several commands at once (on different tiles); result: the list of their results."""

    commands: Sequence["Command"] = field(default_factory=list)


Command = (PulseTrain | PulseCounts | SignPattern | Read | ReadCells | SetWeights | ProgramAndVerify | SlowProcessStep
           | Digital | Wait | SetPhase | Parallel)
"""Every command a program may yield; `Controller.execute` dispatches on exactly these."""
