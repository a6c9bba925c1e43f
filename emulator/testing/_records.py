"""What a harness run keeps: the log of commands, resource use, probes, the tallies of what the
commands asked for, and the `HarnessResult` that invariant checks read."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from devices import DeviceArray
from emulator.hardware import Controller, Hardware, HardwareCosts, TileSpec
from emulator.hardware.recorder import Recorder

SetupHook = Callable[[Hardware], None]
"""Called with the freshly built hardware before anything runs (set states, inject faults)."""
ProbeFunction = Callable[..., Mapping[str, float]]
"""Ground truth at a program's `ctl.checkpoint(label, step, state)`: (hardware, label, step) →
values, or (hardware, label, step, state) → values for a probe that compares the program's own
state (what it passed to the checkpoint) with the truth."""


# ------------------------------------------------------------------------------- records
@dataclass
class CommandRecord:
    """One command as the hardware carried it out. Times are integer picoseconds."""

    index: int
    """Issue order over the whole run (sub-commands included)."""
    command: Any
    """The command object (None once finished if the run was told not to keep commands)."""
    kind: str
    """Type name of the command, e.g. "SignPattern"."""
    phase: str
    """Recorder phase when the command was issued."""
    issue_ps: int
    """When the command was issued (for sub-commands: when their parent created them)."""
    parent: int | None = None
    """Index of the enclosing Parallel / ProgramAndVerify, None for a program's own commands."""
    issuer: int = 0
    """Which sequential issuer (program process) the command belongs to."""
    tile: str | None = None
    array: str | None = None
    entered: bool = False
    """The hardware has begun to process the command (it is counted in `recorder.commands`)."""
    entry_seq: int | None = None
    """Order in which commands began to be processed (shares the numbering of ResourceUse)."""
    start_ps: int | None = None
    """When the command got its resource (tile lock, digital unit), or began (others)."""
    end_ps: int | None = None
    """When its result went back to the issuer; None while running or if it failed."""
    end_phase: str | None = None
    """Recorder phase when the command finished (pulses are counted under it)."""
    error: str | None = None
    """The exception the command raised, if it failed."""

    @property
    def done(self) -> bool:
        return self.end_ps is not None

    @property
    def duration_ps(self) -> int | None:
        return None if self.end_ps is None or self.start_ps is None else self.end_ps - self.start_ps


@dataclass
class ResourceUse:
    """One request for a shared resource: when it was asked for, granted and released.

    `*_seq` numbers order all request/grant/release moments of the run (ties in time included).
    """

    resource: str
    record: int | None
    """Index of the command that asked (None if no logged command was active)."""
    request_seq: int
    request_ps: int
    grant_seq: int | None = None
    grant_ps: int | None = None
    release_seq: int | None = None
    release_ps: int | None = None


@dataclass
class ProbeRecord:
    """Ground truth taken at a checkpoint the program announced."""

    label: str
    step: int
    time_ps: int
    values: dict[str, float]


@dataclass
class CommandedPulses:
    """Pulses the logged write commands asked for on one array (independent of the recorder).

    `exact` is False when some command's per-cell pulses are only known as a lower bound (a
    batched pulse train reports the per-cell sum of its samples) or a write is still running;
    `phases_exact` is False only for the latter (a train's result carries its exact up and down
    totals, so the per-phase counts stay exact).
    """

    up: np.ndarray
    down: np.ndarray
    by_phase: dict[str, list[int]] = field(default_factory=dict)
    exact: bool = True
    phases_exact: bool = True


@dataclass
class CommandedReads:
    """MVM counts the logged reads imply on one array (all phases): [minimum, maximum]."""

    min_mvms: int = 0
    max_mvms: int = 0


@dataclass(frozen=True)
class RunSpec:
    """Everything needed to build the same hardware again and replay what ran on it."""

    tiles: Mapping[str, TileSpec]
    costs: HardwareCosts | None
    seed: int
    trace: bool = False
    shared_adc_count: int | None = None
    setup: SetupHook | None = None
    probe: ProbeFunction | None = None
    track_bounds: bool = True
    max_pulses_per_cell: int | None = None
    log_commands: bool = True
    slow_process_step_ns: float | None = None
    operations: tuple[tuple[Any, ...], ...] = ()
    """What ran, in order: ("run", program, params), ("execute", cmd), ("issue", cmd), ("advance", ns), ("drain",)."""


@dataclass
class HarnessResult:
    """What a harness run produced: the program's result, hardware, recorder and the logs."""

    result: Any
    """The program's return value (of the last `run`)."""
    hardware: Hardware
    controller: Controller
    log: list[CommandRecord]
    resources: dict[str, list[ResourceUse]]
    initial_state: dict[str, dict[str, np.ndarray]]
    """Per "tile/array": copies of "g" and "reference" before anything ran (after `setup`)."""
    commanded: dict[str, CommandedPulses]
    commanded_reads: dict[str, CommandedReads]
    probes: list[ProbeRecord]
    bound_violations: list[str]
    """Conductances found out of bounds right after a command (when bounds are tracked)."""
    spec: RunSpec
    finished: bool
    """No issued command is still running."""
    phase_closed: bool
    """Phase times were closed at the current time (so they sum to the elapsed time)."""
    wall_time_s: float
    truth: dict[str, Any] = field(default_factory=dict)
    """Ground truth a registered program's `finalize` hook computed (run_scenario_program)."""

    @property
    def recorder(self) -> Recorder:
        return self.hardware.recorder

    @property
    def summary(self) -> dict[str, Any]:
        """The recorder's summary (counters, time, energy) as plain data."""
        return self.hardware.recorder.summary()

    @property
    def now_ps(self) -> int:
        return int(self.hardware.env.now)

    def device(self, tile: str, array: str) -> DeviceArray:
        """The device array (ground truth: state, bounds, symmetric points)."""
        return self.hardware.tile(tile).array(array)

    def arrays(self) -> dict[str, DeviceArray]:
        """Every device array by "tile/array"."""
        return {tile.key(name): array for tile in self.hardware.tiles.values() for name, array in tile.arrays.items()}

    def final_state(self) -> dict[str, dict[str, np.ndarray]]:
        """Copies of every array's conductance "g" and "reference" now (no noise is drawn)."""
        return {key: {"g": array.g.copy(), "reference": array.reference.copy()} for key, array in self.arrays().items()}

    def records(self, kind: str | type | None = None, tile: str | None = None,
                top_level: bool = False) -> list[CommandRecord]:
        """Logged commands, optionally of one kind, on one tile, or only a program's own."""
        name = kind.__name__ if isinstance(kind, type) else kind
        return [r for r in self.log
                if (name is None or r.kind == name) and (tile is None or r.tile == tile)
                and (not top_level or r.parent is None)]

    replayer: Callable[[RunSpec], "HarnessResult"] | None = None
    """How to build the same hardware again and replay `spec` (set by the harness)."""

    def rerun(self) -> "HarnessResult":
        """Build the same hardware with the same seed and replay every operation."""
        assert self.replayer is not None, "this result does not know how to replay its run"
        return self.replayer(self.spec)
