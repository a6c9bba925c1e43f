"""Find where a run first went non-finite: an observer that checks the arrays an operation changed.

A normal run never pays for it: the runner attaches it only when replaying a run that produced
NaN or infinite values (runs are reproducible from their seed), to name the first array, cell
and operation where it happened.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Mapping

import numpy as np

from emulator.hardware.operations import Operation
from emulator.units import ps_to_ns

if TYPE_CHECKING:
    from emulator.hardware.tile import Tile

_CHANGES_ARRAYS = ("write", "set", "step")


@dataclass(frozen=True)
class NonFiniteCell:
    """The first non-finite value in an array: where, and the operation that produced it."""

    array: str
    """"tile/array"."""
    cell: tuple[int, int]
    quantity: str
    """"conductance" or "reference"."""
    operation: str
    """The operation's kind and label, e.g. "write (pulse_train)"."""
    phase: str
    time_ns: float
    index: int
    """How many operations the hardware had finished, this one included."""

    def describe(self) -> str:
        row, col = self.cell
        return (f"array {self.array}, cell (row {row}, col {col}): its {self.quantity} became non-finite in "
                f"operation #{self.index}, {self.operation}, phase {self.phase!r} at {self.time_ns:.6g} ns")


class NonFiniteInput(ValueError):
    """A hardware operation was asked to use NaN or infinite values (e.g. a pulse train's x or d)."""


class NonFiniteFound(Exception):
    """Raised by the watch at the first operation that leaves a non-finite value in an array."""

    def __init__(self, found: NonFiniteCell) -> None:
        super().__init__(found.describe())
        self.found = found


class FiniteWatch:
    """Operation observer: after every write, idealized set or slow-process step, check the
    arrays it touched and raise `NonFiniteFound` at the first non-finite value."""

    def __init__(self, tiles: Mapping[str, "Tile"]) -> None:
        self.tiles = tiles
        self.operations = 0

    def observe(self, operation: Operation) -> None:
        self.operations += 1
        if operation.kind not in _CHANGES_ARRAYS:
            return
        for key in self._touched(operation):
            tile_name, array_name = key.split("/", 1)
            array = self.tiles[tile_name].arrays[array_name]
            for quantity, values in (("conductance", array.g), ("reference", array.reference)):
                bad = ~np.isfinite(values)
                if bad.any():
                    row, col = (int(i) for i in np.argwhere(bad)[0])
                    label = f"{operation.kind} ({operation.name})" if operation.name else operation.kind
                    raise NonFiniteFound(NonFiniteCell(key, (row, col), quantity, label, operation.phase,
                                                       ps_to_ns(operation.start_ps), self.operations))

    def _touched(self, operation: Operation) -> list[str]:
        if operation.array is not None:
            return [operation.array]
        tiles = self.tiles.values() if operation.component == "hardware" else \
            [self.tiles[operation.component]] if operation.component in self.tiles else []
        return [tile.key(name) for tile in tiles for name in tile.arrays]
