"""The testing kit's own count of what the logged commands asked for: pulses per cell and phase,
and MVMs per array, counted from the commands and their results, independently of the recorder."""

from __future__ import annotations

from typing import Any

import numpy as np

from emulator.hardware import (
    Hardware,
    PulseCounts,
    PulseTrain,
    Read,
    ReadCells,
    SignPattern,
)
from emulator.hardware.commands import fired_pulses
from emulator.testing._records import CommandedPulses, CommandedReads, CommandRecord

#: Commands that change pulse counters.
WRITE_COMMANDS = (PulseTrain, PulseCounts, SignPattern)


def failed_write(commanded: dict[str, CommandedPulses], command: Any) -> None:
    """A write that failed part-way may have counted some pulses: its array's tally is a bound."""
    if isinstance(command, WRITE_COMMANDS):
        tally = commanded.get(f"{command.tile}/{command.array}")
        if tally is not None:
            tally.exact = tally.phases_exact = False

def tally_write(hardware: Hardware, commanded: dict[str, CommandedPulses], record: CommandRecord, command: Any,
                result: Any) -> None:
    """Add what a finished write asked for to its array's tally (exact totals where the result has them)."""
    tile = hardware.tile(command.tile)
    array = tile.array(command.array)
    tally = commanded[tile.key(command.array)]
    up: np.ndarray | int
    down: np.ndarray | int
    exact = True
    fired: tuple[int, int] | None = None  # exact totals, when the command's result has them
    if isinstance(command, SignPattern):
        signs = command.signs
        if isinstance(signs, (int, np.integer)):
            direction = int(np.sign(signs))
            up, down = int(direction > 0), int(direction < 0)
        elif np.asarray(signs).dtype == bool:
            mask = np.asarray(signs)
            up, down = mask.astype(np.int64), (~mask).astype(np.int64)
        else:
            signs = np.asarray(signs)
            up, down = (signs > 0).astype(np.int64), (signs < 0).astype(np.int64)
    elif isinstance(command, PulseCounts):
        counts = np.asarray(command.counts, dtype=np.int64)
        up, down = np.maximum(counts, 0), np.maximum(-counts, 0)
    else:  # PulseTrain: the result is the per-cell sum of the samples' signed counts
        params = command.update or tile.update
        signed = np.asarray(result, dtype=np.int64)
        if params.pulse_type == "none":
            signed = np.zeros(array.shape, np.int64)
        samples = np.atleast_2d(np.asarray(command.x)).shape[0]
        exact = params.pulse_type == "none" or samples == 1
        up, down = np.maximum(signed, 0), np.maximum(-signed, 0)
        fired = fired_pulses(result)
    up_cells = np.broadcast_to(np.asarray(up, dtype=np.int64), array.shape)
    down_cells = np.broadcast_to(np.asarray(down, dtype=np.int64), array.shape)
    tally.up += up_cells
    tally.down += down_cells
    tally.exact = tally.exact and exact
    phase = tally.by_phase.setdefault(record.end_phase or hardware.recorder.phase, [0, 0])
    if fired is None:
        fired = (int(up_cells.sum()), int(down_cells.sum()))
    phase[0] += fired[0]
    phase[1] += fired[1]

def tally_read(hardware: Hardware, commanded_reads: dict[str, CommandedReads], command: Read | ReadCells) -> None:
    """Add the MVMs a finished read implies (a range, with bound management) to its array's tally."""
    tile = hardware.tile(command.tile)
    rows, cols = tile.shape
    # Per array, not per phase: a ReadCells spans several reads and a concurrent SetPhase
    # may split them between phases.
    reads = commanded_reads.setdefault(tile.key(command.array), CommandedReads())
    if isinstance(command, ReadCells):
        mvms = max(1, command.repeats) * cols
        reads.min_mvms += mvms
        reads.max_mvms += mvms
        return
    samples = np.atleast_2d(np.asarray(command.inputs)).shape[0]
    io = tile.io
    bound_managed = (command.direction == "forward" and not command.one_hot and not command.perfect
                     and not io.is_perfect and io.bound_management == "iterative")
    reads.max_mvms += samples * (io.max_bm_passes if bound_managed else 1)



def commanded_snapshot(commanded: dict[str, CommandedPulses], log: list[CommandRecord]) -> dict[str, CommandedPulses]:
    """Copies of the tallies; arrays with a write still running are only a lower bound."""
    running = {(r.tile, r.array) for r in log
               if r.entered and not r.done and r.error is None and isinstance(r.command, WRITE_COMMANDS)}
    snapshot = {}
    for key, tally in commanded.items():
        tile, _, array = key.partition("/")
        settled = (tile, array) not in running
        snapshot[key] = CommandedPulses(tally.up.copy(), tally.down.copy(),
                                        {p: list(v) for p, v in tally.by_phase.items()},
                                        tally.exact and settled, tally.phases_exact and settled)
    return snapshot

