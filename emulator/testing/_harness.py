"""Run a controller program on emulated hardware and keep everything a property test needs.

`HarnessSession` builds a `Hardware` from tile specs, wraps its controller so that every
command (including the sub-commands of `Parallel` and `ProgramAndVerify`) is logged with its
issue, start and end time and phase, and watches every shared resource (tile locks, the
controller's digital unit) so the order in which commands got them can be checked.
`run_program` is the one-call form: build, run a program to completion, return a
`HarnessResult`.

Nothing here changes what the hardware does: the instrumentation only observes.
"""

from __future__ import annotations

import copy
import inspect
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Callable, Generator, Mapping

import numpy as np
import simpy

from devices import DeviceArray, soft_bounds_with_states
from emulator.hardware import (
    Controller,
    Digital,
    Hardware,
    HardwareCosts,
    PulseCounts,
    PulseTrain,
    Read,
    ReadCells,
    SetWeights,
    SignPattern,
    TileSpec,
)
from emulator.hardware.commands import fired_pulses
from emulator.hardware.controller import Program
from emulator.hardware.resources import ObservedResource
from emulator.recorder import Recorder
from emulator.session import HardwareSpec, Session

if TYPE_CHECKING:
    from emulator.scenario import Scenario

SetupHook = Callable[[Hardware], None]
"""Called with the freshly built hardware before anything runs (set states, inject faults)."""
ProbeFunction = Callable[..., Mapping[str, float]]
"""Ground truth at a program's `ctl.checkpoint(label, step, state)`: (hardware, label, step) →
values, or (hardware, label, step, state) → values for a probe that compares the program's own
state (what it passed to the checkpoint) with the truth."""

#: Commands that hold a tile for their duration.
TILE_COMMANDS = (PulseTrain, PulseCounts, SignPattern, Read, ReadCells, SetWeights)
#: Commands that change pulse counters.
WRITE_COMMANDS = (PulseTrain, PulseCounts, SignPattern)


def default_tiles() -> dict[str, TileSpec]:
    """One 4×4 tile "t0" with one array "W" of SoftBounds devices with 100 states."""
    return {"t0": TileSpec(4, 4, {"W": soft_bounds_with_states(100)})}


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

    def rerun(self) -> "HarnessResult":
        """Build the same hardware with the same seed and replay every operation."""
        return replay(self.spec)


# ------------------------------------------------------------------------------- controller
class _LoggingController(Controller):
    """A Controller whose `execute` logs every command it carries out (nothing else changes)."""

    def __init__(self, hardware: Hardware, session: "HarnessSession") -> None:
        super().__init__(hardware)
        self._session = session

    def execute(self, command: Any) -> Generator[simpy.Event, Any, Any]:  # type: ignore[override]
        record = self._session._open_record(command)
        return self._session._logged(command, record, Controller.execute(self, command))


# ------------------------------------------------------------------------------- session
class HarnessSession:
    """Hardware plus a logging controller, driven one program, command or time step at a time.

    `run_program` uses one for a single program; the state machine drives one rule by rule.
    Call `result()` at any time for a `HarnessResult` snapshot to check invariants on.
    """

    def __init__(
        self,
        tiles: Mapping[str, TileSpec] | TileSpec | None = None,
        costs: HardwareCosts | None = None,
        seed: int = 0,
        *,
        trace: bool = False,
        shared_adc_count: int | None = None,
        setup: SetupHook | None = None,
        probe: ProbeFunction | None = None,
        track_bounds: bool = True,
        max_pulses_per_cell: int | None = None,
        log_commands: bool = True,
        slow_process_step_ns: float | None = None,
    ) -> None:
        if isinstance(tiles, TileSpec):
            tiles = {"t0": tiles}
        tiles = dict(tiles) if tiles is not None else default_tiles()
        self.spec = RunSpec(tiles, costs, seed, trace, shared_adc_count, setup, probe, track_bounds,
                            max_pulses_per_cell, log_commands, slow_process_step_ns)
        self._operations: list[tuple[Any, ...]] = []
        self.session = Session(HardwareSpec(tiles, costs or HardwareCosts(), shared_adc_count, slow_process_step_ns),
                               seed, trace=trace, controller_factory=lambda hardware: _LoggingController(hardware, self))
        self.hardware = self.session.hardware
        if setup is not None:
            setup(self.hardware)
        self.env = self.hardware.env
        self.controller: Controller = self.session.controller
        self.log: list[CommandRecord] = []
        self.resources: dict[str, list[ResourceUse]] = {}
        self.probes: list[ProbeRecord] = []
        self.bound_violations: list[str] = []
        self.initial_state = {
            tile.key(name): {"g": array.g.copy(), "reference": array.reference.copy()}
            for tile in self.hardware.tiles.values() for name, array in tile.arrays.items()
        }
        self.commanded: dict[str, CommandedPulses] = {
            key: CommandedPulses(np.zeros(array.shape, np.int64), np.zeros(array.shape, np.int64))
            for key, array in ((tile.key(n), a) for tile in self.hardware.tiles.values()
                               for n, a in tile.arrays.items())
        }
        self.commanded_reads: dict[str, CommandedReads] = {}
        self._active: list[CommandRecord] = []
        self._issuers: dict[Any, int] = {}
        self._seq = 0
        self._uses: dict[Any, ResourceUse] = {}
        self._pending: list[simpy.Process] = []
        self._last_result: Any = None
        self._phase_closed_at: int | None = 0
        self._wall = 0.0
        for tile in self.hardware.tiles.values():
            self._watch(tile.lock, tile.name)
        self._watch(self.controller.digital_unit, f"{self.controller.name}.digital")
        if probe is not None:
            self._probe_takes_state = len(inspect.signature(probe).parameters) >= 4
            self.controller.probes.append(self._run_probe)

    # ---------------------------------------------------------------- driving
    @property
    def recorder(self) -> Recorder:
        return self.hardware.recorder

    @property
    def pending(self) -> list[simpy.Process]:
        """Issued commands or programs that have not finished."""
        self._pending = [p for p in self._pending if p.is_alive]
        return list(self._pending)

    def run(self, program: Program, **params: Any) -> Any:
        """Run `program(ctl, **params)` to completion (other issued work runs alongside)."""
        self._operations.append(("run", program, params))
        started = time.perf_counter()
        try:
            self._last_result = self.controller.run(program, **params)
        finally:
            self._wall += time.perf_counter() - started
        self._phase_closed_at = self.env.now
        return self._last_result

    def execute(self, command: Any) -> Any:
        """Issue one command and run until it finishes; returns its result."""
        self._operations.append(("execute", command))
        process = self._start(command)
        self._until(process)
        return process.value

    def issue(self, command: Any) -> simpy.Process:
        """Issue one command from a new issuer without waiting for it (concurrent work)."""
        self._operations.append(("issue", command))
        return self._start(command)

    def advance(self, duration_ns: float) -> None:
        """Let simulated time run for `duration_ns` (issued commands progress)."""
        self._operations.append(("advance", duration_ns))
        target = self.env.now + max(0, int(round(duration_ns * 1000)))
        if target > self.env.now:
            self._until(target)

    def drain(self) -> None:
        """Run until every issued command has finished."""
        self._operations.append(("drain",))
        for process in self.pending:
            self._until(process)

    def result(self) -> HarnessResult:
        """A snapshot of the run so far (shares the live hardware; logs are copied)."""
        spec = replace(self.spec, operations=tuple(self._operations))
        return HarnessResult(
            result=self._last_result,
            hardware=self.hardware,
            controller=self.controller,
            log=list(self.log),
            resources={name: list(uses) for name, uses in self.resources.items()},
            initial_state=self.initial_state,
            commanded=self._commanded_snapshot(),
            commanded_reads=copy.deepcopy(self.commanded_reads),
            probes=list(self.probes),
            bound_violations=list(self.bound_violations),
            spec=spec,
            finished=not self.pending,
            phase_closed=self._phase_closed_at == self.env.now,
            wall_time_s=self._wall,
        )

    def _start(self, command: Any) -> simpy.Process:
        def issuer() -> Generator[simpy.Event, Any, Any]:
            return (yield from self.controller.execute(command))

        process = self.env.process(issuer())
        self._pending.append(process)
        return process

    def _until(self, until: simpy.Event | int) -> None:
        started = time.perf_counter()
        try:
            self.env.run(until=until)
        finally:
            self._wall += time.perf_counter() - started

    # ---------------------------------------------------------------- logging
    def _open_record(self, command: Any) -> CommandRecord:
        parent = self._active[-1] if self._active else None
        if parent is not None:
            issuer = parent.issuer
        else:
            process = self.env.active_process
            issuer = self._issuers.setdefault(process, len(self._issuers))
        record = CommandRecord(
            index=len(self.log), command=command, kind=type(command).__name__, phase=self.recorder.phase,
            issue_ps=int(self.env.now), parent=None if parent is None else parent.index, issuer=issuer,
            tile=getattr(command, "tile", None), array=getattr(command, "array", None),
        )
        self.log.append(record)
        return record

    def _logged(self, command: Any, record: CommandRecord,
                inner: Generator[simpy.Event, Any, Any]) -> Generator[simpy.Event, Any, Any]:
        """Drive `inner` step by step, marking `record` active while its code runs."""
        reply: Any = None
        error: BaseException | None = None
        first = True
        while True:
            self._active.append(record)
            try:
                if first:
                    record.entered = True
                    record.entry_seq = self._next_seq()
                    if not isinstance(command, TILE_COMMANDS + (Digital,)):
                        record.start_ps = int(self.env.now)
                    first = False
                event = inner.throw(error) if error is not None else inner.send(reply)
            except StopIteration as stop:
                self._close_record(record, stop.value)
                return stop.value
            except BaseException as failure:
                record.error = f"{type(failure).__name__}: {failure}"
                self._failed_write(command)
                if not self.spec.log_commands:
                    record.command = None
                raise
            finally:
                self._active.pop()
            error = None
            try:
                reply = yield event
            except GeneratorExit:
                inner.close()
                raise
            except BaseException as failure:  # an interrupt or a failed event: pass it on
                error = failure

    def _close_record(self, record: CommandRecord, result: Any) -> None:
        record.end_ps = int(self.env.now)
        record.end_phase = self.recorder.phase
        command = record.command
        if isinstance(command, WRITE_COMMANDS):
            self._tally_write(record, command, result)
        elif isinstance(command, (Read, ReadCells)):
            self._tally_read(record, command)
        if self.spec.track_bounds and record.tile is not None and isinstance(command, WRITE_COMMANDS + (SetWeights,)):
            self._check_bounds_now(record)
        if not self.spec.log_commands:
            record.command = None

    def _failed_write(self, command: Any) -> None:
        """A write that failed part-way may have counted some pulses: its array's tally is a bound."""
        if isinstance(command, WRITE_COMMANDS):
            tally = self.commanded.get(f"{command.tile}/{command.array}")
            if tally is not None:
                tally.exact = tally.phases_exact = False

    def _tally_write(self, record: CommandRecord, command: Any, result: Any) -> None:
        tile = self.hardware.tile(command.tile)
        array = tile.array(command.array)
        tally = self.commanded[tile.key(command.array)]
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
        phase = tally.by_phase.setdefault(record.end_phase or self.recorder.phase, [0, 0])
        if fired is None:
            fired = (int(up_cells.sum()), int(down_cells.sum()))
        phase[0] += fired[0]
        phase[1] += fired[1]

    def _tally_read(self, record: CommandRecord, command: Read | ReadCells) -> None:
        tile = self.hardware.tile(command.tile)
        rows, cols = tile.shape
        # Per array, not per phase: a ReadCells spans several reads and a concurrent SetPhase
        # may split them between phases.
        reads = self.commanded_reads.setdefault(tile.key(command.array), CommandedReads())
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

    def _check_bounds_now(self, record: CommandRecord) -> None:
        if len(self.bound_violations) >= 20 or record.tile is None:
            return
        tile = self.hardware.tile(record.tile)
        for name, array in tile.arrays.items():
            problem = conductance_problem(array)
            if problem:
                self.bound_violations.append(
                    f"after command #{record.index} ({record.kind}) at {record.end_ps} ps: {tile.key(name)} {problem}")

    def _commanded_snapshot(self) -> dict[str, CommandedPulses]:
        running = {(r.tile, r.array) for r in self.log
                   if r.entered and not r.done and r.error is None and isinstance(r.command, WRITE_COMMANDS)}
        snapshot = {}
        for key, tally in self.commanded.items():
            tile, _, array = key.partition("/")
            settled = (tile, array) not in running
            snapshot[key] = CommandedPulses(tally.up.copy(), tally.down.copy(),
                                            {p: list(v) for p, v in tally.by_phase.items()},
                                            tally.exact and settled, tally.phases_exact and settled)
        return snapshot

    def _run_probe(self, label: str, step: int) -> None:
        assert self.spec.probe is not None
        state = (self.controller.checkpoint_state,) if self._probe_takes_state else ()
        values = {name: float(value) for name, value in self.spec.probe(self.hardware, label, step, *state).items()}
        self.probes.append(ProbeRecord(label, step, int(self.env.now), values))

    # ---------------------------------------------------------------- resources
    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _watch(self, resource: ObservedResource, name: str) -> None:
        """Observe a resource's requests, grants and releases (its behaviour is unchanged)."""
        uses = self.resources.setdefault(name, [])

        def requested(event: Any) -> None:
            active = self._active[-1] if self._active else None
            use = ResourceUse(name, None if active is None else active.index, self._next_seq(), int(self.env.now))
            uses.append(use)
            self._uses[event] = use

            def granted(_: simpy.Event) -> None:
                use.grant_seq = self._next_seq()
                use.grant_ps = int(self.env.now)
                if active is not None and active.start_ps is None:
                    active.start_ps = use.grant_ps

            event.callbacks.append(granted)

        def released(event: Any) -> None:
            use = self._uses.pop(event, None)
            if use is not None and use.grant_seq is not None:
                use.release_seq = self._next_seq()
                use.release_ps = int(self.env.now)

        resource.on_request.append(requested)
        resource.on_release.append(released)


def conductance_problem(array: DeviceArray) -> str:
    """"" if every cell's g is finite and inside its own [b_min, b_max], else a description."""
    g = array.g
    low, high = array.parameters["b_min"], array.parameters["b_max"]
    bad = ~np.isfinite(g) | (g < low) | (g > high)
    if not bad.any():
        return ""
    cells = np.argwhere(bad)
    i, j = (int(v) for v in cells[0])
    return (f"has {len(cells)} cell(s) outside their bounds, first ({i}, {j}): g = {float(g[i, j])!r} "
            f"not in [{float(low[i, j])!r}, {float(high[i, j])!r}]")


# ------------------------------------------------------------------------------- one-call API
def run_program(
    program: Program,
    tiles: Mapping[str, TileSpec] | TileSpec | None = None,
    costs: HardwareCosts | None = None,
    seed: int = 0,
    *,
    trace: bool = False,
    shared_adc_count: int | None = None,
    setup: SetupHook | None = None,
    probe: ProbeFunction | None = None,
    track_bounds: bool = True,
    max_pulses_per_cell: int | None = None,
    log_commands: bool = True,
    **params: Any,
) -> HarnessResult:
    """Build hardware from `tiles` (default: `default_tiles()`), run `program(ctl, **params)`
    to completion and return everything it did.

    `setup(hardware)` runs before the program (e.g. set initial conductances); `probe` is
    called at every `ctl.checkpoint(...)` with ground-truth access; `max_pulses_per_cell` is
    the budget `check_pulse_budget` (and `check_all`) enforce; `log_commands=False` drops
    each command object from the log once it finished (long runs on big tiles), and
    `track_bounds=False` skips the bounds check after every write. Exceptions of the program
    propagate unchanged.
    """
    session = HarnessSession(tiles, costs, seed, trace=trace, shared_adc_count=shared_adc_count, setup=setup,
                             probe=probe, track_bounds=track_bounds, max_pulses_per_cell=max_pulses_per_cell,
                             log_commands=log_commands)
    session.run(program, **params)
    return session.result()


def replay(spec: RunSpec) -> HarnessResult:
    """Build the hardware of `spec` again and replay its operations in order."""
    session = HarnessSession(spec.tiles, spec.costs, spec.seed, trace=spec.trace,
                             shared_adc_count=spec.shared_adc_count, setup=spec.setup, probe=spec.probe,
                             track_bounds=spec.track_bounds, max_pulses_per_cell=spec.max_pulses_per_cell,
                             log_commands=spec.log_commands, slow_process_step_ns=spec.slow_process_step_ns)
    for operation in spec.operations:
        name, *args = operation
        if name == "run":
            session.run(args[0], **args[1])
        else:
            getattr(session, name)(*args)
    return session.result()


def run_scenario_program(scenario: "Scenario | Mapping[str, Any]", *, track_bounds: bool = True,
                         max_pulses_per_cell: int | None = None, log_commands: bool = True) -> HarnessResult:
    """Run a scenario's registered program under the harness (a `Scenario` or a document dict).

    Tiles, costs, seed and program parameters come from the scenario; the program's probe
    hook fills `probes` and its finalize hook `truth`.
    """
    from emulator.registry import get_program
    from emulator.scenario import Scenario, validate_document

    if not isinstance(scenario, Scenario):
        scenario = validate_document(dict(scenario))
    entry = get_program(scenario.program.name)
    params = scenario.program.resolved_params()
    probe: ProbeFunction | None = None
    if entry.probe is not None:
        entry_probe = entry.probe

        def probe(hardware: Hardware, label: str, step: int, state: Any) -> Mapping[str, float]:
            return entry_probe(hardware, params, label, step, state)

    spec = scenario.hardware.spec()
    session = HarnessSession(spec.tiles, spec.costs, scenario.seed, trace=scenario.output.trace != "none",
                             shared_adc_count=spec.shared_adc_count, probe=probe, track_bounds=track_bounds,
                             max_pulses_per_cell=max_pulses_per_cell, log_commands=log_commands,
                             slow_process_step_ns=spec.slow_process_step_ns)
    session.run(entry.program, params=params)
    result = session.result()
    if entry.finalize is not None:
        result.truth = dict(entry.finalize(result.hardware, params, result.result))
    return result


__all__ = [
    "CommandRecord", "CommandedPulses", "CommandedReads", "HarnessResult", "HarnessSession", "ProbeFunction",
    "ProbeRecord", "ResourceUse", "RunSpec", "SetupHook", "conductance_problem", "default_tiles", "replay",
    "run_program", "run_scenario_program",
]

