"""A Hypothesis rule-based state machine for the controller/tile protocol.

Rules issue random commands to random tiles: one at a time, concurrently from several
issuers (they interleave on the tiles and the digital unit), as `Parallel` groups, with
phase changes and idle time in between. After every rule the snapshot invariants hold
(bounds, counters, time, energy, resource order); at the end the whole run is replayed and
must come out identical.

Subclass it to fix the hardware (`tiles`, `costs`, `setup_hardware`) or to add rules of
your own that drive `self.session` (e.g. run your program between random commands);
`ControllerProtocolTest` is the ready TestCase.
"""

from __future__ import annotations

from typing import Any, ClassVar, Collection, Mapping

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from emulator.hardware import Hardware, HardwareCosts, Parallel, SetPhase, TileSpec
from emulator.testing._commands import COMMAND_KINDS, PHASES, commands
from emulator.testing._harness import HarnessSession
from emulator.testing._checks import (
    check_deterministic,
    check_energy_matches_costs,
    check_energy_non_negative,
    check_resource_order,
)
from emulator.testing._invariants import check_conductance_bounds, check_counters_add_up, check_time_monotone
from emulator.testing._records import HarnessResult
from emulator.testing._strategies import (
    devices,
    hardware_costs,
    io_parameters,
    tile_layouts,
    update_parameters,
)


class ControllerStateMachine(RuleBasedStateMachine):
    """Random interleavings of controller commands on emulated tiles, invariants after each.

    Class attributes configure it: `tiles` (None: draw a layout of up to `max_tiles` small
    tiles, with dead lines and ADC faults if `faults`), `costs` (None: draw a cost model),
    `command_kinds`, `max_pending` concurrent issuers, `check_replay` (replay the run at
    teardown and compare).
    """

    tiles: ClassVar[Mapping[str, TileSpec] | None] = None
    costs: ClassVar[HardwareCosts | None] = None
    max_tiles: ClassVar[int] = 2
    command_kinds: ClassVar[Collection[str]] = tuple(kind for kind in COMMAND_KINDS if kind != "Parallel")
    max_pending: ClassVar[int] = 3
    check_replay: ClassVar[bool] = True
    faults: ClassVar[bool] = True

    def __init__(self) -> None:
        super().__init__()
        self.session: HarnessSession | None = None
        self.layout: dict[str, TileSpec] = {}
        self.last_now = 0

    # ---------------------------------------------------------------- set-up
    @initialize(data=st.data(), seed=st.integers(0, 2 ** 32 - 1))
    def build_hardware(self, data: st.DataObject, seed: int) -> None:
        """Build the hardware (fixed by the class or drawn) and its harness session."""
        if self.tiles is not None:
            layout = dict(self.tiles)
        else:
            layout = data.draw(tile_layouts(max_tiles=self.max_tiles, arrays=2, device=devices(),
                                            io=io_parameters(faults=self.faults), update=update_parameters(max_bl=8),
                                            faults=self.faults), label="tiles")
        costs = self.costs if self.costs is not None else data.draw(hardware_costs(), label="costs")
        self.layout = layout
        self.session = HarnessSession(layout, costs, seed, setup=self.setup_hardware)

    def setup_hardware(self, hardware: Hardware) -> None:
        """Called with the new hardware before any command (override: set states, inject faults)."""

    def command_strategy(self) -> st.SearchStrategy[Any]:
        """Commands for this machine's tiles (override to narrow or widen them)."""
        return commands(self.layout, kinds=self.command_kinds)

    def snapshot(self) -> HarnessResult:
        assert self.session is not None
        return self.session.result()

    # ---------------------------------------------------------------- rules
    @precondition(lambda self: self.session is not None)
    @rule(data=st.data())
    def execute_command(self, data: st.DataObject) -> None:
        """Issue one command and wait for it (anything already issued runs alongside)."""
        assert self.session is not None
        self.session.execute(data.draw(self.command_strategy(), label="command"))

    @precondition(lambda self: self.session is not None and len(self.session.pending) < self.max_pending)
    @rule(data=st.data())
    def issue_concurrently(self, data: st.DataObject) -> None:
        """Issue a command from a new issuer without waiting: it competes for the hardware."""
        assert self.session is not None
        self.session.issue(data.draw(self.command_strategy(), label="concurrent command"))

    @precondition(lambda self: self.session is not None)
    @rule(data=st.data(), size=st.integers(1, 3))
    def execute_parallel(self, data: st.DataObject, size: int) -> None:
        """A Parallel group (possibly several commands on one tile)."""
        assert self.session is not None
        kinds = [kind for kind in self.command_kinds if kind not in ("SetPhase", "Parallel")]
        if not kinds:
            return
        group = [data.draw(commands(self.layout, kinds=kinds), label="parallel command") for _ in range(size)]
        self.session.execute(Parallel(group))

    @precondition(lambda self: self.session is not None)
    @rule(phase=st.sampled_from(PHASES))
    def set_phase(self, phase: str) -> None:
        assert self.session is not None
        self.session.execute(SetPhase(phase))

    @precondition(lambda self: self.session is not None)
    @rule(duration_ns=st.one_of(st.just(0.0), st.floats(0.0, 2000.0, allow_subnormal=False)))
    def advance_time(self, duration_ns: float) -> None:
        """Let simulated time pass; issued commands progress or finish."""
        assert self.session is not None
        self.session.advance(duration_ns)

    @precondition(lambda self: self.session is not None and bool(self.session.pending))
    @rule()
    def drain(self) -> None:
        """Wait for every issued command."""
        assert self.session is not None
        self.session.drain()

    # ---------------------------------------------------------------- invariants
    @invariant()
    def time_never_runs_backwards(self) -> None:
        if self.session is None:
            return
        now = int(self.session.env.now)
        assert now >= self.last_now, f"simulated time went from {self.last_now} ps back to {now} ps"
        self.last_now = now
        check_time_monotone(self.snapshot())

    @invariant()
    def conductances_within_bounds(self) -> None:
        if self.session is not None:
            check_conductance_bounds(self.snapshot())

    @invariant()
    def counters_add_up(self) -> None:
        if self.session is not None:
            check_counters_add_up(self.snapshot())

    @invariant()
    def energy_non_negative(self) -> None:
        if self.session is not None:
            result = self.snapshot()
            check_energy_non_negative(result)
            check_energy_matches_costs(result)

    @invariant()
    def resources_in_order(self) -> None:
        if self.session is not None:
            check_resource_order(self.snapshot())

    def teardown(self) -> None:
        """Finish every issued command, check once more and (optionally) replay the run."""
        if self.session is None:
            return
        self.session.drain()
        result = self.snapshot()
        for check in (check_conductance_bounds, check_counters_add_up, check_time_monotone,
                      check_energy_non_negative, check_energy_matches_costs, check_resource_order):
            check(result)
        if self.check_replay:
            check_deterministic(result)


ControllerProtocolTest = ControllerStateMachine.TestCase
"""Ready unittest TestCase: import it into a test module and pytest runs the machine."""
ControllerProtocolTest.settings = settings(max_examples=20, stateful_step_count=15, deadline=None, derandomize=True,
                                           suppress_health_check=[HealthCheck.too_slow])

__all__ = ["ControllerProtocolTest", "ControllerStateMachine"]
