"""Every invariant holds on random command sequences over random hardware."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.hardware import Parallel
from emulator.testing import (
    check_all,
    command_program,
    command_sequences,
    commands,
    device_configs,
    drifting,
    hardware_costs,
    run_program,
    tile_layouts,
    tile_specs,
)


@settings(max_examples=80, deadline=None, derandomize=True)
@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_invariants_hold_on_random_command_sequences(data, seed):
    tiles = data.draw(tile_layouts(arrays=2), label="tiles")
    costs = data.draw(hardware_costs(), label="costs")
    program = data.draw(command_sequences(tiles, max_size=8), label="commands")
    shared_adcs = data.draw(st.none() | st.integers(1, 4), label="shared ADCs")
    result = run_program(command_program(program), tiles, costs, seed, trace=data.draw(st.booleans()),
                         shared_adc_count=shared_adcs)
    check_all(result)
    assert [record.kind for record in result.records(top_level=True)] == [type(c).__name__ for c in program]


@settings(max_examples=15, deadline=None, derandomize=True)
@given(data=st.data())
def test_invariants_hold_with_faults_and_crowded_tiles(data):
    """Stuck devices, dead lines, ADC offset/gain, and Parallel groups queueing on one tile."""
    tiles = data.draw(tile_layouts(max_tiles=1, arrays=3, device=device_configs(stuck=True), faults=True),
                      label="tiles")
    group = commands(tiles, kinds=["Parallel"], max_parallel=4,
                     parallel_kinds=["SignPattern", "PulseCounts", "PulseTrain", "Read", "ReadCells", "Digital"])
    program = data.draw(st.lists(group, min_size=1, max_size=4), label="groups")
    result = run_program(command_program(program), tiles, seed=1)
    check_all(result, deterministic=False)
    assert all(isinstance(command, Parallel) for command in program)


@settings(max_examples=30, deadline=None, derandomize=True)
@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_invariants_hold_on_drifting_hardware(data, seed):
    """Drifting symmetric points and references, a temperature schedule, random commands with idle
    time between them: bounds, counters, time, energy, the phase ledger and a rerun all hold."""
    tile = drifting(tile_specs(arrays=2, rows=(1, 3), cols=(1, 3)))
    tiles = {"t0": data.draw(tile, label="tile")}
    program = data.draw(command_sequences(tiles, max_size=8), label="commands")
    result = run_program(command_program(program), tiles, seed=seed)
    check_all(result)
    assert result.hardware.tile("t0").aging.aged_ps <= result.now_ps
