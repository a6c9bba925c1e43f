"""What the hardware did, as a stream of records: the one seam between the hardware and its
bookkeeping.

Every tile, ADC pool and controller operation emits one `Operation` when it finishes (start and
end time, component, array, phase, pulses, MVMs, conversions, DAC inputs, digital elements, SimPy
events). The recorder (counters, busy time, energy through the cost model's formulas), the trace
writer and the testing kit subscribe to the stream; the components themselves book nothing, and
whether anyone traces never changes what the hardware does.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field
from dataclasses import fields as dataclass_fields
from typing import Any, Literal, Protocol

import numpy as np

OperationKind = Literal["write", "read", "convert", "digital", "set", "wait", "step", "command", "phase"]
"""write: pulses on an array; read: analog MVMs of an array; convert: an ADC pool's conversions;
digital: the controller's digital unit; set: idealized programming; wait: idle time; step: slow
processes; command: the controller accepted a command (`name` is its type); phase: the phase
`name` ended (start..end is its span)."""


@dataclass(frozen=True)
class CellPulses:
    """Which cells of an array got how many pulses, in the cheapest exact form.

    Exactly one of: `uniform` (±1: one pulse of that sign on every cell, `repeat` times), `up_mask`
    (one pulse on every cell, up where True), `counts` (signed per-cell counts, > 0 up; 2-D for one
    update, 3-D samples × rows × cols for a batch).
    """

    uniform: int = 0
    repeat: int = 1
    up_mask: np.ndarray | None = None
    counts: np.ndarray | None = None


@dataclass(frozen=True)
class Operation:
    """One finished operation of one hardware component. Times are integer picoseconds."""

    kind: OperationKind
    component: str
    """What did it: a tile name, an ADC pool ("t0.adc"), "controller.digital", "controller"."""
    start_ps: int
    end_ps: int
    phase: str
    """The phase the operation is counted under."""
    name: str = ""
    """Trace label ("write", "sign_pattern", "read", "convert", the digital operation, …)."""
    array: str | None = None
    """"tile/array" for operations on one array."""
    busy: bool = False
    """Whether the component was occupied from start to end (busy-time bookkeeping)."""
    events: int = 0
    """SimPy events the operation took (a measure of simulation cost)."""
    slots: int = 0
    """Pulse slots of a write."""
    pulses: CellPulses | None = None
    """Per-cell pulses of a write (None for a floating-point update: nothing was pulsed)."""
    up_pulses: int = 0
    down_pulses: int = 0
    """Up and down pulses of a write, every sample together."""
    sample_pulses: tuple[int, ...] = ()
    """Pulses fired per sample (per update) of a write, in order: each is one energy term."""
    slot_pulses: np.ndarray | None = None
    """Cell pulses of each slot of a write, for traces (None when not known)."""
    mvms: int = 0
    conversions: int = 0
    dac_inputs: int = 0
    cells: int = 0
    """Cells of the array an MVM reads (array energy)."""
    elements: int = 0
    """Elements of a digital operation, or cells set by idealized programming."""
    details: dict[str, int] = field(default_factory=dict)
    """Trace arguments beyond the above (e.g. conversions of an ADC round)."""


_OPTIONAL = frozenset(f.name for f in dataclass_fields(Operation) if f.default is not MISSING) | {"details"}


def _operation(kind: OperationKind, component: str, start_ps: int, end_ps: int, phase: str,
               extra: dict[str, Any]) -> Operation:
    """`Operation(kind, component, start_ps, end_ps, phase, **extra)`, built by handing the
    instance its attribute dict: a frozen dataclass's __init__ sets each of its 21 fields through
    object.__setattr__, which made records a visible share of small-tile runs. Fields left at
    their defaults are not in the dict: they read through to the class attributes the dataclass
    keeps for them (all but `details`, a fresh dict in each record)."""
    if not extra.keys() <= _OPTIONAL:
        raise TypeError(f"Operation has no field(s) {sorted(extra.keys() - _OPTIONAL)}")
    operation = object.__new__(Operation)
    object.__setattr__(operation, "__dict__", {"details": {}, "kind": kind, "component": component,
                                               "start_ps": start_ps, "end_ps": end_ps, "phase": phase, **extra})
    return operation


class OperationObserver(Protocol):
    """Anything that wants to see every operation: the recorder, a trace writer, a test's log."""

    def observe(self, operation: Operation) -> None: ...


class OperationStream:
    """The hardware's stream of operations: components emit, observers subscribe.

    It also holds the phase operations are counted under (set by the controller's SetPhase), so
    every record carries it.
    """

    def __init__(self) -> None:
        self.phase = "idle"
        self.observers: list[OperationObserver] = []
        self.wants_slot_pulses = False
        """Whether an observer reads `Operation.slot_pulses`; writes whose per-slot pulses cost
        extra to count (count writes, sign patterns) leave them None when none does."""

    def subscribe(self, observer: OperationObserver) -> None:
        self.observers.append(observer)
        self.wants_slot_pulses = self.wants_slot_pulses or getattr(observer, "wants_slot_pulses", False)

    def emit(self, kind: OperationKind, component: str, start_ps: float, end_ps: float, **fields: Any) -> Operation:
        """Record one finished operation under the current phase and hand it to every observer
        (times are SimPy's `now`, integer picoseconds)."""
        operation = _operation(kind, component, int(start_ps), int(end_ps), self.phase, fields)
        for observer in self.observers:
            observer.observe(operation)
        return operation
