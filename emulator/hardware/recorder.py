"""Counters, energy and metrics of one run, kept by observing the hardware's operations.

Counters are exact int64 and add up by construction: each write operation adds the same
numbers to the per-cell arrays, to its (array, phase) total and so to the run total; the
test suite keeps it so. Tile-wide pulses are counted as a scalar per array (one pulse on
every cell) so that counting never costs a full pass over the array.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from emulator._kernels import accumulate_signed_counts_batch
from emulator.units import ps_to_ns

if TYPE_CHECKING:
    from emulator.hardware.costs import HardwareCosts
    from emulator.hardware.operations import Operation

_INT32_HEADROOM = 1 << 31
"""Pending int32 pulse counts are flushed before they could hold this many pulses."""


@dataclass
class ArrayPulseCounter:
    """Per-cell pulse counts of one array: explicit arrays plus tile-wide counts."""

    shape: tuple[int, int]
    up_cells: np.ndarray = field(init=False)
    down_cells: np.ndarray = field(init=False)
    uniform_up: int = 0
    uniform_down: int = 0
    mixed_patterns: int = 0
    """Tile-wide patterns where every cell got one pulse, up or down (`mixed_up_cells` says which)."""
    mixed_up_cells: np.ndarray = field(init=False)
    _pending_up: np.ndarray = field(init=False, repr=False)
    _pending_patterns: int = 0
    _pending_up_counts: np.ndarray = field(init=False, repr=False)
    _pending_down_counts: np.ndarray = field(init=False, repr=False)
    _pending_bound: int = 0

    def __post_init__(self) -> None:
        self.up_cells = np.zeros(self.shape, dtype=np.int64)
        self.down_cells = np.zeros(self.shape, dtype=np.int64)
        self.mixed_up_cells = np.zeros(self.shape, dtype=np.int64)
        # Up pulses of mixed patterns accumulate in uint16 (a quarter of the memory traffic of
        # int64) and are flushed, exactly, before 65 535 patterns or any read of the counters.
        self._pending_up = np.zeros(self.shape, dtype=np.uint16)
        # Pulse counts accumulate in int32 (half the memory traffic of int64, which at 512² is
        # most of the cost) while the pulses they hold, a bound on any cell's, stay below 2³¹.
        self._pending_up_counts = np.zeros(self.shape, dtype=np.int32)
        self._pending_down_counts = np.zeros(self.shape, dtype=np.int32)

    def add_counts(self, counts: np.ndarray, pulses: int) -> None:
        """Signed per-cell counts of one or more updates (updates × rows × cols) that fire
        `pulses` pulses in all."""
        flat = np.ascontiguousarray(counts).reshape(counts.shape[0], -1)
        totals = np.empty((flat.shape[0], 2), dtype=np.int64)
        if pulses >= _INT32_HEADROOM:
            accumulate_signed_counts_batch(flat, self.up_cells.reshape(-1), self.down_cells.reshape(-1), totals)
            return
        if self._pending_bound + pulses >= _INT32_HEADROOM:
            self.flush()
        accumulate_signed_counts_batch(flat, self._pending_up_counts.reshape(-1),
                                       self._pending_down_counts.reshape(-1), totals)
        self._pending_bound += pulses

    def add_up_mask(self, up: np.ndarray) -> None:
        """One mixed pattern: every cell one pulse, up where `up` is True."""
        np.add(self._pending_up, up, out=self._pending_up, casting="unsafe")
        self._pending_patterns += 1
        self.mixed_patterns += 1
        if self._pending_patterns == np.iinfo(np.uint16).max:
            self.flush()

    def flush(self) -> None:
        """Move pending mask and pulse counts into the int64 counters."""
        if self._pending_patterns:
            self.mixed_up_cells += self._pending_up
            self._pending_up[...] = 0
            self._pending_patterns = 0
        if self._pending_bound:
            self.up_cells += self._pending_up_counts
            self.down_cells += self._pending_down_counts
            self._pending_up_counts[...] = 0
            self._pending_down_counts[...] = 0
            self._pending_bound = 0

    def per_cell(self) -> tuple[np.ndarray, np.ndarray]:
        """Up and down pulses each cell has received."""
        self.flush()
        return (self.up_cells + self.uniform_up + self.mixed_up_cells,
                self.down_cells + self.uniform_down + (self.mixed_patterns - self.mixed_up_cells))

    def totals(self) -> tuple[int, int]:
        self.flush()
        cells = self.shape[0] * self.shape[1]
        mixed_up = int(self.mixed_up_cells.sum())
        return (int(self.up_cells.sum()) + self.uniform_up * cells + mixed_up,
                int(self.down_cells.sum()) + self.uniform_down * cells + self.mixed_patterns * cells - mixed_up)


class Recorder:
    """Everything a run reports, kept by observing the hardware's operations; programs add metrics.

    Counters, reads, slots, busy time and events come straight from the `Operation` records; their
    energy from the cost model's formulas (`HardwareCosts.energy_terms`).
    """

    def __init__(self, costs: HardwareCosts) -> None:
        from emulator.hardware.costs import HardwareCosts as BuiltIn  # a runtime import: costs imports this layer

        self.costs = costs
        self._commands_cost_nothing = type(costs).energy_terms is BuiltIn.energy_terms
        """The built-in formulas price no command record (a cost model of one's own may)."""
        self.phase = "idle"
        self.arrays: dict[str, ArrayPulseCounter] = {}
        self.phase_pulses: dict[tuple[str, str], np.ndarray] = defaultdict(lambda: np.zeros(2, np.int64))
        self.reads: dict[tuple[str, str], np.ndarray] = defaultdict(lambda: np.zeros(3, np.int64))
        self.energy_pj: dict[tuple[str, str], float] = defaultdict(float)
        self.busy_ps: dict[str, int] = defaultdict(int)
        self.phase_time_ps: dict[str, int] = defaultdict(int)
        self.slots: dict[str, int] = defaultdict(int)
        self.events = 0
        self.commands: dict[str, int] = defaultdict(int)
        self.digital_ops: dict[str, int] = defaultdict(int)
        self.ideal_writes: dict[str, int] = defaultdict(int)
        """Cells set by idealized programming (`SetWeights`), per array: no pulses were counted."""
        self.metrics: list[tuple[int, str, int, str, float]] = []
        self.env: Any = None

    @property
    def now_ps(self) -> int:
        """Current simulated time (ps), once the recorder is attached to an environment."""
        return int(self.env.now) if self.env is not None else 0

    def register_array(self, key: str, shape: tuple[int, int]) -> None:
        """Declare an array (named "tile/array") so its counters exist from the start."""
        self.arrays[key] = ArrayPulseCounter(shape)

    # ---------------------------------------------------------------- the operation stream
    def observe(self, operation: Operation) -> None:
        """Book one finished operation."""
        self.events += operation.events
        if operation.busy:
            self.busy_ps[operation.component] += operation.end_ps - operation.start_ps
        kind = operation.kind
        if kind == "command":
            self.commands[operation.name] += 1
            if self._commands_cost_nothing:  # the most frequent record: skip pricing it
                return
        array = operation.array or operation.component
        if kind == "write":
            self._count_write(operation)
        elif kind == "read":
            counts = self.reads[(array, operation.phase)]  # element by element: no tuple→array conversion
            counts[0] += operation.mvms
            counts[1] += operation.conversions
            counts[2] += operation.dac_inputs
        elif kind == "digital":
            self.digital_ops[operation.name] += operation.elements
        elif kind == "set":
            self.ideal_writes[array] += operation.elements
        elif kind == "phase":
            self.phase_time_ps[operation.name] += operation.end_ps - operation.start_ps
            self.phase = operation.phase
        phase, energy = operation.phase, self.energy_pj
        for category, energy_pj in self.costs.energy_terms(operation):
            if energy_pj < 0:
                self.add_energy(category, energy_pj, phase)  # raises
            energy[(category, phase)] += energy_pj

    def _count_write(self, operation: Operation) -> None:
        key = operation.array or operation.component
        self.slots[key] += operation.slots
        pulses = operation.pulses
        if pulses is None:
            return
        counter = self.arrays[key]
        if pulses.uniform:
            if pulses.uniform > 0:
                counter.uniform_up += pulses.repeat
            else:
                counter.uniform_down += pulses.repeat
        elif pulses.up_mask is not None:
            counter.add_up_mask(pulses.up_mask)
        elif pulses.counts is not None:
            counter.add_counts(pulses.counts, operation.up_pulses + operation.down_pulses)
        totals = self.phase_pulses[(key, operation.phase)]
        totals[0] += operation.up_pulses
        totals[1] += operation.down_pulses

    def add_energy(self, category: str, energy_pj: float, phase: str | None = None) -> None:
        if energy_pj < 0:
            raise ValueError(f"negative energy {energy_pj} pJ for {category}")
        self.energy_pj[(category, phase if phase is not None else self.phase)] += energy_pj

    # ---------------------------------------------------------------- metrics
    def metric(self, name: str, value: float, step: int = -1) -> None:
        """Record a user metric at the current simulated time."""
        self.metrics.append((self.now_ps, self.phase, step, name, float(value)))

    def total_pulses(self) -> int:
        return int(sum(int(v.sum()) for v in self.phase_pulses.values()))

    def total_energy_pj(self) -> float:
        return float(sum(self.energy_pj.values()))

    def summary(self) -> dict[str, Any]:
        """Counters as plain JSON-able data."""
        phases = sorted({phase for _, phase in self.phase_pulses} | {phase for _, phase in self.reads}
                        | {phase for _, phase in self.energy_pj})
        pulses_by_array: dict[str, Any] = {}
        for key, counter in self.arrays.items():
            up, down = counter.totals()
            by_phase = {phase: {"up": int(v[0]), "down": int(v[1])}
                        for (k, phase), v in sorted(self.phase_pulses.items()) if k == key}
            cells_up, cells_down = counter.per_cell()
            total_cells = cells_up + cells_down
            pulses_by_array[key] = {
                "up": up, "down": down, "total": up + down, "by_phase": by_phase,
                "per_cell_max": int(total_cells.max(initial=0)),
                "per_cell_mean": float(total_cells.mean()) if total_cells.size else 0.0,
            }
        reads = {f"{key}|{phase}": {"mvms": int(v[0]), "conversions": int(v[1]), "dac_conversions": int(v[2])}
                 for (key, phase), v in sorted(self.reads.items())}
        energy_by_category: dict[str, float] = defaultdict(float)
        energy_by_phase: dict[str, float] = defaultdict(float)
        for (category, phase), value in self.energy_pj.items():
            energy_by_category[category] += value
            energy_by_phase[phase] += value
        return {
            "latency_ns": ps_to_ns(self.now_ps),
            "latency_ps": int(self.now_ps),
            "total_pulses": self.total_pulses(),
            "pulses": pulses_by_array,
            "pulses_by_phase": {phase: int(sum(int(v.sum()) for (k, p), v in self.phase_pulses.items() if p == phase))
                                for phase in phases},
            "reads": reads,
            "total_mvms": int(sum(int(v[0]) for v in self.reads.values())),
            "total_conversions": int(sum(int(v[1]) for v in self.reads.values())),
            "energy_pj": {"total": self.total_energy_pj(),
                          "by_category": dict(sorted(energy_by_category.items())),
                          "by_phase": dict(sorted(energy_by_phase.items()))},
            "phase_time_ns": {phase: ps_to_ns(t) for phase, t in sorted(self.phase_time_ps.items())},
            "busy_ns": {component: ps_to_ns(t) for component, t in sorted(self.busy_ps.items())},
            "slots": dict(sorted(self.slots.items())),
            "commands": dict(sorted(self.commands.items())),
            "digital_ops": dict(sorted(self.digital_ops.items())),
            "events": int(self.events),
            **({"ideal_writes": dict(sorted(self.ideal_writes.items()))} if self.ideal_writes else {}),
        }
