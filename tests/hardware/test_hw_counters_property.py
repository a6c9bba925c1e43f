"""Counters add up, energy is never negative, time never runs backwards, and the number of
simulation events does not depend on the number of cells (Hypothesis over random programs)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
from hardware_test_helpers import build, run_commands
from hypothesis import given, settings
from hypothesis import strategies as st

from devices import get_preset
from emulator.hardware import (
    Controller,
    Digital,
    IOParameters,
    Parallel,
    PulseCounts,
    PulseTrain,
    Read,
    ReadCells,
    SetPhase,
    SignPattern,
    UpdateParameters,
    Wait,
)

PHASES = ("calibration", "training", "transfer")


@dataclass(frozen=True)
class Step:
    """A shape-agnostic command description; `make` turns it into a command for a tile shape."""

    kind: str
    seed: int
    value: float = 0.0
    array: str = "W"

    def make(self, shape: tuple[int, int]) -> Any:
        rows, cols = shape
        rng = np.random.default_rng(self.seed)
        if self.kind == "sign_all":
            return SignPattern("t0", self.array, int(self.value))
        if self.kind == "sign_mask":
            return SignPattern("t0", self.array, rng.integers(-1, 2, size=shape))
        if self.kind == "counts":
            return PulseCounts("t0", self.array, rng.integers(-3, 4, size=shape))
        if self.kind == "train":
            # A batch whose samples share one sign pattern (magnitudes differ), so that the
            # per-cell sum the command returns still tells up from down pulses.
            samples = 1 + self.seed % 3
            sign_x = rng.choice([-1.0, 1.0], cols)
            sign_d = rng.choice([-1.0, 1.0], rows)
            return PulseTrain("t0", self.array, sign_x * rng.uniform(0.05, 1, (samples, cols)),
                              sign_d * rng.uniform(0.05, 1, (samples, rows)), self.value)
        if self.kind == "read":
            return Read("t0", self.array, rng.uniform(-1, 1, cols))
        if self.kind == "read_back":
            return Read("t0", self.array, rng.uniform(-1, 1, (2, rows)), direction="backward")
        if self.kind == "read_cells":
            return ReadCells("t0", self.array, repeats=1 + self.seed % 2)
        if self.kind == "phase":
            return SetPhase(PHASES[self.seed % len(PHASES)])
        if self.kind == "digital":
            return Digital(1 + self.seed % 200, "op")
        if self.kind == "wait":
            return Wait(self.value)
        if self.kind == "parallel":
            return Parallel([SignPattern("t0", "W", 1), SignPattern("t0", "P", rng.integers(-1, 2, size=shape))])
        raise AssertionError(self.kind)


seeds = st.integers(0, 2**16)
arrays = st.sampled_from(["W", "P"])
steps = st.one_of(
    st.builds(Step, st.just("sign_all"), seeds, st.sampled_from([-1.0, 0.0, 1.0]), arrays),
    st.builds(Step, st.just("sign_mask"), seeds, st.just(0.0), arrays),
    st.builds(Step, st.just("counts"), seeds, st.just(0.0), arrays),
    st.builds(Step, st.just("train"), seeds, st.sampled_from([-0.05, 0.002, 0.01, 0.1]), arrays),
    st.builds(Step, st.just("read"), seeds, st.just(0.0), arrays),
    st.builds(Step, st.just("read_back"), seeds, st.just(0.0), arrays),
    st.builds(Step, st.just("read_cells"), seeds, st.just(0.0), arrays),
    st.builds(Step, st.just("phase"), seeds),
    st.builds(Step, st.just("digital"), seeds),
    st.builds(Step, st.just("wait"), seeds, st.sampled_from([0.0, 3.5, 100.0])),
    st.builds(Step, st.just("parallel"), seeds),
)
programs = st.lists(steps, min_size=1, max_size=12)


def run_program(program: list[Step], shape: tuple[int, int], seed: int = 0):
    """Run the program; return hardware, controller, env.now after each command, and an
    independent tally of the signed pulses every write command asked for, per (array, phase)."""
    hardware, controller = build({"t0": shape}, arrays=("W", "P"), device=get_preset("ReRamSB"),
                                 update=UpdateParameters(desired_bl=8), seed=seed)
    times: list[int] = []
    tally_up = {a: np.zeros(shape, np.int64) for a in ("W", "P")}
    tally_down = {a: np.zeros(shape, np.int64) for a in ("W", "P")}
    phase_tally: dict[tuple[str, str], int] = {}

    def add(array: str, signed: np.ndarray, phase: str) -> None:
        signed = np.broadcast_to(np.asarray(signed, dtype=np.int64), shape)
        tally_up[array] += np.maximum(signed, 0)
        tally_down[array] += np.maximum(-signed, 0)
        phase_tally[(array, phase)] = phase_tally.get((array, phase), 0) + int(np.abs(signed).sum())

    def wrapper(ctl: Controller):
        phase = "idle"
        times.append(ctl.env.now)
        for step in program:
            command = step.make(shape)
            result = yield command
            times.append(ctl.env.now)
            if isinstance(command, SetPhase):
                phase = command.phase
            elif isinstance(command, SignPattern):
                add(command.array, np.sign(command.signs), phase)
            elif isinstance(command, PulseCounts):
                add(command.array, command.counts, phase)
            elif isinstance(command, PulseTrain):
                add(command.array, result, phase)
            elif isinstance(command, Parallel):
                for sub in command.commands:
                    add(sub.array, np.sign(sub.signs), phase)

    controller.run(wrapper)
    return hardware, controller, times, (tally_up, tally_down, phase_tally)


def check_invariants(hardware, times, tallies, program: list[Step]) -> None:
    recorder = hardware.recorder
    # time never runs backwards
    assert all(b >= a for a, b in zip(times, times[1:]))
    assert times[-1] == hardware.env.now
    # per-cell → per-array → per-phase → run total
    grand = 0
    for key, counter in recorder.arrays.items():
        cells_up, cells_down = counter.per_cell()
        assert cells_up.dtype == np.int64 and cells_down.dtype == np.int64
        assert (cells_up >= 0).all() and (cells_down >= 0).all()
        up, down = counter.totals()
        assert int(cells_up.sum()) == up and int(cells_down.sum()) == down
        by_phase = [v for (k, _), v in recorder.phase_pulses.items() if k == key]
        assert int(sum(int(v[0]) for v in by_phase)) == up
        assert int(sum(int(v[1]) for v in by_phase)) == down
        grand += up + down
    assert grand == recorder.total_pulses()
    summary = recorder.summary()
    assert summary["total_pulses"] == grand
    assert sum(summary["pulses_by_phase"].values()) == grand
    assert sum(info["total"] for info in summary["pulses"].values()) == grand
    # energy never negative, and it adds up
    assert all(value >= 0 for value in recorder.energy_pj.values())
    assert abs(summary["energy_pj"]["total"] - sum(summary["energy_pj"]["by_category"].values())) <= 1e-9 * max(1, summary["energy_pj"]["total"])
    assert abs(summary["energy_pj"]["total"] - sum(summary["energy_pj"]["by_phase"].values())) <= 1e-9 * max(1, summary["energy_pj"]["total"])
    expected_write_energy = grand * hardware.costs.pulse_energy_pj
    assert abs(summary["energy_pj"]["by_category"].get("write_pulses", 0.0) - expected_write_energy) <= 1e-6 * max(1.0, expected_write_energy)
    # phase times add up to the run time
    assert sum(recorder.phase_time_ps.values()) == hardware.env.now
    # an independent tally of what the program's commands asked for / reported
    tally_up, tally_down, phase_tally = tallies
    for array in ("W", "P"):
        cells_up, cells_down = recorder.arrays[f"t0/{array}"].per_cell()
        np.testing.assert_array_equal(cells_up, tally_up[array])
        np.testing.assert_array_equal(cells_down, tally_down[array])
    for (array, phase), total in phase_tally.items():
        assert int(recorder.phase_pulses[(f"t0/{array}", phase)].sum()) == total
    # commands are counted
    assert sum(summary["commands"].values()) >= len(program)


@settings(derandomize=True, max_examples=120, deadline=None)
@given(program=programs, shape=st.sampled_from([(1, 1), (3, 5), (6, 4)]))
def test_counters_add_up_over_random_programs(program, shape):
    hardware, _, times, tallies = run_program(program, shape)
    check_invariants(hardware, times, tallies, program)


@settings(derandomize=True, max_examples=25, deadline=None)
@given(program=programs)
def test_events_do_not_grow_with_cell_count(program):
    small, _, small_times, small_tallies = run_program(program, (8, 8))
    large, _, large_times, large_tallies = run_program(program, (256, 256))
    check_invariants(small, small_times, small_tallies, program)
    check_invariants(large, large_times, large_tallies, program)
    assert small.recorder.events == large.recorder.events
    assert small.recorder.summary()["commands"] == large.recorder.summary()["commands"]


def test_events_grow_with_commands_not_cells():
    base = [Step("sign_all", 0, 1.0), Step("counts", 1), Step("read_cells", 2), Step("train", 3, 0.01)]
    events = {}
    for shape in ((8, 8), (256, 256)):
        for repeat in (1, 2, 4):
            hardware, *_ = run_program(base * repeat, shape)
            events[(shape, repeat)] = hardware.recorder.events
    for repeat in (1, 2, 4):
        assert events[((8, 8), repeat)] == events[((256, 256), repeat)]
    assert events[((8, 8), 1)] < events[((8, 8), 2)] < events[((8, 8), 4)]
    # events are linear in the number of commands
    assert events[((8, 8), 4)] - events[((8, 8), 2)] == 2 * (events[((8, 8), 2)] - events[((8, 8), 1)])


def test_summary_numbers_are_plain_python_types():
    program = [Step(kind, seed, value) for kind, seed, value in (
        ("phase", 0, 0), ("sign_all", 1, 1), ("sign_mask", 2, 0), ("counts", 3, 0), ("train", 4, 0.01),
        ("read", 5, 0), ("read_back", 6, 0), ("read_cells", 7, 0), ("digital", 8, 0), ("wait", 9, 5.0),
        ("parallel", 10, 0))]
    hardware, *_ = run_program(program, (4, 4))
    text = json.dumps(hardware.recorder.summary(), allow_nan=False)
    assert json.loads(text)["total_pulses"] == hardware.recorder.total_pulses()


def test_noisy_reads_do_not_change_counters():
    """Reads never count pulses, whatever their noise."""
    hardware, controller = build({"t0": (4, 4)}, io=IOParameters(out_noise=0.5))
    run_commands(controller, [Read("t0", "W", np.ones(4)), ReadCells("t0", "W", repeats=3)])
    assert hardware.recorder.total_pulses() == 0
    assert hardware.recorder.summary()["total_mvms"] == 1 + 12


def test_same_seed_same_run_bit_for_bit():
    program = [Step(kind, seed, value) for kind, seed, value in (
        ("sign_mask", 1, 0), ("train", 4, 0.01), ("read", 5, 0), ("read_cells", 7, 0), ("counts", 3, 0))]

    def fingerprint(seed: int):
        hardware, *_ = run_program(program, (6, 5), seed=seed)
        tile = hardware.tile("t0")
        return (json.dumps(hardware.recorder.summary(), sort_keys=True),
                tile.array("W").visible().tobytes(), tile.array("P").visible().tobytes())

    assert fingerprint(17) == fingerprint(17)
    assert fingerprint(17)[1:] != fingerprint(18)[1:]
