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
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Generator, Mapping

import numpy as np
import simpy

from devices import DeviceArray, soft_bounds_with_states
from emulator.hardware import (
    Controller,
    Digital,
    Hardware,
    HardwareCosts,
    HardwareSpec,
    PulseCounts,
    PulseTrain,
    Read,
    ReadCells,
    SetWeights,
    SignPattern,
    TileSpec,
)
from emulator.hardware.controller import Program
from emulator.hardware.recorder import Recorder
from emulator.hardware.resources import ObservedResource
from emulator.session import Session
from emulator.units import ns_to_ps

if TYPE_CHECKING:
    pass

from emulator.testing._records import (
    CommandedPulses,
    CommandedReads,
    CommandRecord,
    HarnessResult,
    ProbeFunction,
    ProbeRecord,
    ResourceUse,
    RunSpec,
    SetupHook,
)
from emulator.testing._tallies import (
    WRITE_COMMANDS,
    commanded_snapshot,
    failed_write,
    tally_read,
    tally_write,
)

#: Commands that hold a tile for their duration.
TILE_COMMANDS = (PulseTrain, PulseCounts, SignPattern, Read, ReadCells, SetWeights)


def default_tiles() -> dict[str, TileSpec]:
    """One 4×4 tile "t0" with one array "W" of SoftBounds devices with 100 states."""
    return {"t0": TileSpec(4, 4, {"W": soft_bounds_with_states(100)})}


# ------------------------------------------------------------------------------- controller
class _LoggingController(Controller):
    """A Controller whose `execute` logs every command it carries out (nothing else changes)."""

    def __init__(self, hardware: Hardware, session: "HarnessSession") -> None:
        super().__init__(hardware)
        self._session = session

    def execute(self, command: Any) -> Generator[simpy.Event, Any, Any]:
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
        self._phase_closed_at = int(self.env.now)
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
        target = int(self.env.now) + max(0, ns_to_ps(duration_ns))
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
            commanded=commanded_snapshot(self.commanded, self.log),
            commanded_reads=copy.deepcopy(self.commanded_reads),
            probes=list(self.probes),
            bound_violations=list(self.bound_violations),
            spec=spec,
            finished=not self.pending,
            phase_closed=self._phase_closed_at == self.env.now,
            wall_time_s=self._wall,
            replayer=replay,
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
                failed_write(self.commanded, command)
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
            tally_write(self.hardware, self.commanded, record, command, result)
        elif isinstance(command, (Read, ReadCells)):
            tally_read(self.hardware, self.commanded_reads, command)
        if self.spec.track_bounds and record.tile is not None and isinstance(command, WRITE_COMMANDS + (SetWeights,)):
            self._check_bounds_now(record)
        if not self.spec.log_commands:
            record.command = None

    def _check_bounds_now(self, record: CommandRecord) -> None:
        if len(self.bound_violations) >= 20 or record.tile is None:
            return
        tile = self.hardware.tile(record.tile)
        for name, array in tile.arrays.items():
            problem = conductance_problem(array)
            if problem:
                self.bound_violations.append(
                    f"after command #{record.index} ({record.kind}) at {record.end_ps} ps: {tile.key(name)} {problem}")

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


__all__ = ["HarnessSession", "conductance_problem", "default_tiles", "replay"]

