"""Latency and energy of every command, recomputed by hand from the HardwareCosts fields (SPEC §4).

Each test uses `odd_costs` (see conftest): numbers unlike the defaults and unlike each other.
Hand formulas (in ns, converted to integer ps at the end):
  slot = pulse_width_ns (or slot_period_ns)      conversion = (adc_bits + 1)·adc_bit_time_ns
  MVM  = mvm_integration_ns + ceil(outputs / ADCs)·conversion    ADCs = ceil(max(rows, cols)/columns_per_adc)
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hardware_test_helpers import PERFECT_IO, build, elapsed_ps, ideal_constant_step, ns, run_commands

from emulator.hardware import (
    Digital,
    HardwareCosts,
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


def conversion_ns(costs: HardwareCosts) -> float:
    return (costs.adc_bits + 1) * costs.adc_bit_time_ns


def mvm_ns(costs: HardwareCosts, outputs: int, adcs: int) -> float:
    return costs.mvm_integration_ns + math.ceil(outputs / adcs) * conversion_ns(costs)


# ---------------------------------------------------------------------------- writes
@pytest.mark.parametrize(("signs", "slots"), [
    (+1, 1), (-1, 1), (0, 0),
    (np.ones((4, 6), int), 1),
    (-np.ones((4, 6), int), 1),
    (np.zeros((4, 6), int), 0),
    (np.where(np.arange(24).reshape(4, 6) % 3 == 0, -1, 0), 1),
    (np.where(np.arange(24).reshape(4, 6) % 2 == 0, 1, -1), 2),
    (np.where(np.arange(24).reshape(4, 6) % 5 == 0, 1, np.where(np.arange(24).reshape(4, 6) % 5 == 1, -1, 0)), 2),
], ids=["all-up", "all-down", "int-zero", "mask-up", "mask-down", "mask-zero", "down-and-idle",
        "mixed", "mixed-sparse"])
def test_sign_pattern_takes_one_slot_per_sign_present(odd_costs, signs, slots):
    hardware, controller = build({"t0": (4, 6)}, costs=odd_costs)
    assert elapsed_ps(controller, SignPattern("t0", "W", signs)) == slots * ns(odd_costs.pulse_width_ns)
    assert hardware.recorder.slots["t0/W"] == slots
    pulses = 24 if isinstance(signs, int) and signs else int(np.count_nonzero(signs))
    assert hardware.recorder.total_pulses() == pulses
    assert hardware.recorder.summary()["energy_pj"]["total"] == pytest.approx(pulses * 1.5, rel=1e-12)


def test_slot_period_sets_time_and_pulse_width_sets_energy():
    costs = HardwareCosts(pulse_width_ns=20.0, slot_period_ns=35.0, write_voltage_v=2.0,
                          device_resistance_ohm=100e3)
    hardware, controller = build({"t0": (3, 3)}, costs=costs)
    assert elapsed_ps(controller, SignPattern("t0", "W", 1)) == ns(35.0)
    # V²/R·t with t = the pulse width: 4 V² / 100 kΩ · 20 ns = 0.8 pJ per cell
    per_pulse_pj = 2.0**2 / 100e3 * 20e-9 * 1e12
    assert hardware.recorder.total_energy_pj() == pytest.approx(9 * per_pulse_pj, rel=1e-12)


def test_default_pulse_energy_is_v_squared_over_r_times_t():
    costs = HardwareCosts()
    assert costs.pulse_energy_pj == pytest.approx(4.0**2 / 240e3 * 50e-9 * 1e12)
    assert costs.pulse_energy_pj == pytest.approx(3.33, abs=0.01)


def test_pulse_train_takes_bl_slots_per_sample(odd_costs):
    x = np.array([0.9, -0.3, 0.1])
    d = np.array([0.7, -0.2])
    dw = 0.01
    hardware, controller = build({"t0": (2, 3)}, costs=odd_costs, device=ideal_constant_step(dw_min=dw))
    # k = lr·0.9·0.7/dw: lr 0.05 → 3.15 → BL 4; lr 0.001 → 0.063 → BL 1; lr 1 → 63 → BL 31 (cap)
    for lr, bl in ((0.05, 4), (0.001, 1), (1.0, 31)):
        assert elapsed_ps(controller, PulseTrain("t0", "W", x, d, lr)) == bl * ns(odd_costs.pulse_width_ns)
    # a batch: one train per sample, back to back
    xs = np.stack([x, x, 0 * x, x])
    ds = np.stack([d, d, d, d])
    lrs_bl = 4 + 4 + 0 + 4
    assert elapsed_ps(controller, PulseTrain("t0", "W", xs, ds, 0.05)) == lrs_bl * ns(odd_costs.pulse_width_ns)
    # fixed BL without bl management, whatever k is
    fixed = UpdateParameters(update_bl_management=False, desired_bl=7)
    assert elapsed_ps(controller, PulseTrain("t0", "W", x, d, 0.001, update=fixed)) == 7 * ns(odd_costs.pulse_width_ns)
    assert hardware.recorder.slots["t0/W"] == 4 + 1 + 31 + 12 + 7


def test_pulse_train_energy_is_pulses_times_pulse_energy(odd_costs):
    hardware, controller = build({"t0": (2, 3)}, costs=odd_costs, device=ideal_constant_step(dw_min=0.01))
    (counts,), _ = run_commands(controller, [PulseTrain("t0", "W", np.array([0.9, -0.3, 0.1]),
                                                        np.array([0.7, -0.2]), 0.05)])
    pulses = int(np.abs(counts).sum())
    assert pulses > 0
    assert hardware.recorder.total_pulses() == pulses
    assert hardware.recorder.energy_pj[("write_pulses", "idle")] == pytest.approx(pulses * 1.5, rel=1e-12)


COUNTS = np.array([[3, -1, 0, 2],
                   [0, 5, -2, 0],
                   [-4, 1, 1, 0]])


@pytest.mark.parametrize(("rule", "slots"), [
    ("tile-parallel", 5 + 4),                    # max up 5, max down 4
    ("row-by-row", (3 + 5 + 1) + (1 + 2 + 4)),    # Σ rows of row max, up then down
])
def test_pulse_counts_latency_under_both_rules(odd_costs, rule, slots):
    costs = odd_costs.model_copy(update={"count_latency_rule": rule})
    hardware, controller = build({"t0": (3, 4)}, costs=costs)
    assert elapsed_ps(controller, PulseCounts("t0", "W", COUNTS)) == slots * ns(7.0)
    assert hardware.recorder.slots["t0/W"] == slots
    up, down = hardware.recorder.arrays["t0/W"].totals()
    assert (up, down) == (3 + 2 + 5 + 1 + 1, 1 + 2 + 4)
    assert hardware.recorder.total_energy_pj() == pytest.approx((up + down) * 1.5, rel=1e-12)


@pytest.mark.parametrize("rule", ["tile-parallel", "row-by-row"])
def test_pulse_counts_one_sign_only_and_zero(odd_costs, rule):
    costs = odd_costs.model_copy(update={"count_latency_rule": rule})
    hardware, controller = build({"t0": (3, 4)}, costs=costs)
    only_down = -np.abs(COUNTS)
    expected = 5 if rule == "tile-parallel" else 3 + 5 + 4
    assert elapsed_ps(controller, PulseCounts("t0", "W", only_down)) == expected * ns(7.0)
    assert elapsed_ps(controller, PulseCounts("t0", "W", np.zeros((3, 4), int))) == 0


# ---------------------------------------------------------------------------- reads
def test_backward_read_of_wide_tile_is_adc_bound(odd_costs):
    """64 rows × 512 cols read backward: 512 outputs through 64 ADCs → 8 rounds per MVM."""
    costs = odd_costs.model_copy(update={"adcs_per_tile": 64})
    hardware, controller = build({"t0": (64, 512)}, costs=costs)
    d = np.random.default_rng(0).uniform(-1, 1, 64)
    per_mvm = costs.mvm_integration_ns + 8 * (costs.adc_bits + 1) * costs.adc_bit_time_ns
    assert per_mvm == 33 + 8 * 7
    assert elapsed_ps(controller, Read("t0", "W", d, direction="backward")) == ns(per_mvm)
    # a batch of 3 samples: 3 MVMs
    assert elapsed_ps(controller, Read("t0", "W", np.stack([d, d, d]), direction="backward")) == 3 * ns(per_mvm)
    # forward: 64 outputs → one round (perfect so bound management cannot add passes)
    x = np.random.default_rng(1).uniform(-1, 1, 512)
    assert elapsed_ps(controller, Read("t0", "W", x, perfect=True)) == ns(costs.mvm_integration_ns + 7)
    summary = hardware.recorder.summary()
    assert summary["reads"]["t0/W|idle"] == {"mvms": 5, "conversions": 4 * 512 + 64,
                                              "dac_conversions": 4 * 64 + 512}
    assert summary["busy_ns"]["t0.adc"] == pytest.approx(4 * 8 * 7 + 7)


@pytest.mark.parametrize(("rows", "cols", "columns_per_adc"), [(64, 64, 8), (16, 40, 8), (30, 10, 4)])
def test_default_adc_pool_is_larger_dimension_over_columns_per_adc(odd_costs, rows, cols, columns_per_adc):
    costs = odd_costs.model_copy(update={"columns_per_adc": columns_per_adc})
    hardware, controller = build({"t0": (rows, cols)}, costs=costs, io=PERFECT_IO)
    adcs = math.ceil(max(rows, cols) / columns_per_adc)
    assert hardware.tile("t0").adc_pool.count == adcs
    assert elapsed_ps(controller, Read("t0", "W", np.ones(cols))) == ns(mvm_ns(costs, rows, adcs))
    assert elapsed_ps(controller, Read("t0", "W", np.ones(rows), direction="backward")) == ns(mvm_ns(costs, cols, adcs))


def test_bound_management_passes_cost_extra_mvms(odd_costs):
    io = IOParameters(out_noise=0.0, inp_res=0.0)
    hardware, controller = build({"t0": (4, 64)}, costs=odd_costs, io=io, device=ideal_constant_step(bound=2.0))
    hardware.tile("t0").array("W").set_conductance(1.0)
    adcs = 8
    assert elapsed_ps(controller, Read("t0", "W", np.ones(64))) == 4 * ns(mvm_ns(odd_costs, 4, adcs))
    assert hardware.recorder.summary()["total_mvms"] == 4


@pytest.mark.parametrize("repeats", [1, 3])
def test_read_cells_latency(odd_costs, repeats):
    rows, cols = 20, 12
    hardware, controller = build({"t0": (rows, cols)}, costs=odd_costs)
    adcs = math.ceil(20 / 8)  # 3
    expected = repeats * cols * (odd_costs.mvm_integration_ns + math.ceil(rows / adcs) * 7)
    assert elapsed_ps(controller, ReadCells("t0", "W", repeats=repeats)) == ns(expected)
    summary = hardware.recorder.summary()
    assert summary["total_mvms"] == repeats * cols
    assert summary["total_conversions"] == repeats * cols * rows


def test_read_energy_by_hand(odd_costs):
    rows, cols = 20, 12
    hardware, controller = build({"t0": (rows, cols)}, costs=odd_costs, io=PERFECT_IO)
    run_commands(controller, [ReadCells("t0", "W", repeats=2), Read("t0", "W", np.ones((3, cols))),
                              Read("t0", "W", np.ones(rows), direction="backward")])
    mvms = 2 * cols + 3 + 1
    conversions = 2 * cols * rows + 3 * rows + cols
    dacs = 2 * cols * cols + 3 * cols + rows
    energy = hardware.recorder.summary()["energy_pj"]["by_category"]
    assert energy["adc"] == pytest.approx(conversions * 130.0 / 1000, rel=1e-12)
    assert energy["dac"] == pytest.approx(dacs * 11.0 / 1000, rel=1e-12)
    assert energy["mvm"] == pytest.approx(mvms * rows * cols * 0.25 / 1000, rel=1e-12)
    assert "write_pulses" not in energy


# ---------------------------------------------------------------------------- digital, wait
@pytest.mark.parametrize(("elements", "repeats", "groups"), [(1, 1, 1), (16, 1, 1), (17, 1, 2), (100, 3, 7), (0, 1, 0)])
def test_digital_latency_and_energy(odd_costs, elements, repeats, groups):
    hardware, controller = build(costs=odd_costs)
    assert groups == math.ceil(elements / odd_costs.digital_lanes)
    command = Digital(elements, "ema", repeats)
    assert elapsed_ps(controller, command) == ns(groups * odd_costs.digital_op_ns * repeats)
    assert hardware.recorder.digital_ops["ema"] == elements * repeats
    assert hardware.recorder.total_energy_pj() == pytest.approx(elements * repeats * 4.0 / 1000, rel=1e-12)


@pytest.mark.parametrize("duration_ns", [0.0, 1.0, 12.345, 2500.0])
def test_wait(odd_costs, duration_ns):
    hardware, controller = build(costs=odd_costs)
    assert elapsed_ps(controller, Wait(duration_ns)) == round(duration_ns * 1000)
    assert hardware.recorder.total_energy_pj() == 0.0


# ---------------------------------------------------------------------------- concurrency
def test_parallel_on_two_tiles_overlaps(odd_costs):
    hardware, controller = build({"t0": (8, 8), "t1": (8, 8)}, costs=odd_costs, io=PERFECT_IO)
    read = ns(mvm_ns(odd_costs, 8, 1))            # ADCs = ceil(8/8) = 1 → 8 rounds
    write = 3 * ns(7.0)
    results, _ = run_commands(controller, [Parallel([
        PulseCounts("t0", "W", np.full((8, 8), 3)),
        Read("t1", "W", np.ones(8)),
    ])])
    assert hardware.env.now == max(read, write)
    assert results[0][0] is None and results[0][1].shape == (8,)
    busy = hardware.recorder.summary()["busy_ns"]
    assert busy["t0"] == pytest.approx(3 * 7.0)
    assert busy["t1"] == pytest.approx(mvm_ns(odd_costs, 8, 1))


def test_parallel_on_one_tile_serializes(odd_costs):
    hardware, controller = build({"t0": (8, 8)}, costs=odd_costs, io=PERFECT_IO)
    run_commands(controller, [Parallel([SignPattern("t0", "W", 1), Read("t0", "W", np.ones(8)),
                                        SignPattern("t0", "W", -1)])])
    assert hardware.env.now == 2 * ns(7.0) + ns(mvm_ns(odd_costs, 8, 1))


def test_shared_adc_pool_serializes_reads_of_two_tiles(odd_costs):
    """Two 64×64 tiles share 8 ADCs: both integrate at once, then convert one after the other."""
    per_tile_pools = build({"t0": (64, 64), "t1": (64, 64)}, costs=odd_costs, io=PERFECT_IO)
    shared = build({"t0": (64, 64), "t1": (64, 64)}, costs=odd_costs, io=PERFECT_IO, shared_adc_count=8)
    command = Parallel([Read("t0", "W", np.ones(64)), Read("t1", "W", np.ones(64))])
    integration = ns(odd_costs.mvm_integration_ns)
    convert = ns(math.ceil(64 / 8) * 7.0)
    assert elapsed_ps(per_tile_pools[1], command) == integration + convert
    assert elapsed_ps(shared[1], command) == integration + 2 * convert
    busy = shared[0].recorder.summary()["busy_ns"]
    assert busy["shared.adc"] == pytest.approx(2 * 8 * 7.0)


def test_shared_adc_pool_large_enough_for_both_tiles_does_not_serialize(odd_costs):
    hardware, controller = build({"t0": (16, 16), "t1": (16, 16)}, costs=odd_costs, io=PERFECT_IO,
                                 shared_adc_count=32)
    command = Parallel([Read("t0", "W", np.ones(16)), Read("t1", "W", np.ones(16))])
    assert elapsed_ps(controller, command) == ns(odd_costs.mvm_integration_ns + 7.0)


# ---------------------------------------------------------------------------- a whole sequence
def test_known_command_sequence_latency_and_energy(odd_costs):
    """One program touching every command type; total time and energy recomputed by hand."""
    rows, cols = 8, 16
    hardware, controller = build({"t0": (rows, cols), "t1": (rows, cols)}, costs=odd_costs,
                                 io=PERFECT_IO, update=UpdateParameters(pulse_type="mean_count"),
                                 device=ideal_constant_step(dw_min=0.01))
    slot = 7.0
    adcs = math.ceil(16 / 8)  # 2
    conv = 7.0
    counts = np.zeros((rows, cols), int)
    counts[0, 0], counts[1, 1], counts[2, 2] = 4, -3, 2
    x = np.linspace(-1, 1, cols)
    d = np.linspace(0.5, -0.5, rows)
    lr = 0.03  # k = 0.03·1·0.5/0.01 = 1.5 → BL 2
    program = [
        SetPhase("write"),
        SignPattern("t0", "W", 1),                                      # 1 slot
        SignPattern("t0", "W", np.where(np.eye(rows, cols) > 0, 1, -1)),  # 2 slots
        PulseCounts("t0", "W", counts),                                 # 4 + 3 slots
        PulseTrain("t0", "W", x, d, lr),                                # 2 slots
        SetPhase("read"),
        Read("t0", "W", x),                                             # 1 MVM, 8 outputs
        Read("t0", "W", d, direction="backward"),                       # 1 MVM, 16 outputs
        ReadCells("t1", "W", repeats=2),                                # 2·16 MVMs, 8 outputs
        SetPhase("digital"),
        Digital(40, "ema", 2),                                          # ceil(40/16)=3 groups × 2
        Wait(100.0),
        Parallel([SignPattern("t0", "W", -1), SignPattern("t1", "W", 1)]),  # 1 slot, overlapped
    ]
    results, times = run_commands(controller, program)
    train_counts = results[4]
    write_ns = (1 + 2 + 7 + 2) * slot
    read_ns = (odd_costs.mvm_integration_ns + math.ceil(8 / adcs) * conv) \
        + (odd_costs.mvm_integration_ns + math.ceil(16 / adcs) * conv) \
        + 2 * cols * (odd_costs.mvm_integration_ns + math.ceil(8 / adcs) * conv)
    digital_ns = 3 * 3.0 * 2 + 100.0 + slot
    assert hardware.env.now == ns(write_ns + read_ns + digital_ns)
    assert times == sorted(times)
    phase_ns = hardware.recorder.summary()["phase_time_ns"]
    assert phase_ns["write"] == pytest.approx(write_ns)
    assert phase_ns["read"] == pytest.approx(read_ns)
    assert phase_ns["digital"] == pytest.approx(digital_ns)
    assert sum(phase_ns.values()) == pytest.approx(hardware.env.now / 1000)

    pulses_t0 = rows * cols + rows * cols + 9 + int(np.abs(train_counts).sum()) + rows * cols
    pulses_t1 = rows * cols
    assert hardware.recorder.total_pulses() == pulses_t0 + pulses_t1
    mvms = 1 + 1 + 2 * cols
    conversions = 8 + 16 + 2 * cols * 8
    dacs = 16 + 8 + 2 * cols * cols
    energy = hardware.recorder.summary()["energy_pj"]
    expected = {
        "write_pulses": (pulses_t0 + pulses_t1) * 1.5,
        "mvm": mvms * rows * cols * 0.25 / 1000,
        "adc": conversions * 130.0 / 1000,
        "dac": dacs * 11.0 / 1000,
        "digital": 80 * 4.0 / 1000,
    }
    assert energy["by_category"] == pytest.approx(expected, rel=1e-12)
    assert energy["total"] == pytest.approx(sum(expected.values()), rel=1e-12)
    assert energy["by_phase"]["write"] == pytest.approx((pulses_t0 + pulses_t1 - 2 * rows * cols) * 1.5, rel=1e-12)
    assert energy["by_phase"]["digital"] == pytest.approx(2 * rows * cols * 1.5 + 80 * 4.0 / 1000, rel=1e-12)


# ---------------------------------------------------------------------------- cost-model validation
@pytest.mark.parametrize("overrides", [
    {"pulse_width_ns": -1.0}, {"pulse_width_ns": 0.0}, {"mvm_integration_ns": 0.0}, {"adc_bits": 0},
    {"columns_per_adc": 0}, {"digital_lanes": 0}, {"adc_energy_fj": -1.0}, {"count_latency_rule": "diagonal"},
    {"unknown_field_ns": 1.0},
])
def test_invalid_cost_fields_are_rejected(overrides):
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        HardwareCosts(**overrides)


def test_slot_period_shorter_than_pulse_width_is_rejected():
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        HardwareCosts(pulse_width_ns=50.0, slot_period_ns=10.0)


def test_named_cost_models():
    from emulator.hardware import COST_MODELS, get_cost_model

    for name in COST_MODELS:
        assert get_cost_model(name).name == name
    ecram = get_cost_model("ecram-5ns", adcs_per_tile=4)
    assert ecram.slot_ps == 5000 and ecram.adcs_per_tile == 4
    assert ecram.adc_conversion_ps == (8 + 1) * 1000
    with pytest.raises(KeyError, match="unknown cost model"):
        get_cost_model("nope")


# ---------------------------------------------------------------------------- slow processes
def _decaying_tiles(lifetime: float = 50.0):
    from devices import LinearStepConfig
    from emulator.hardware import TileSpec
    config = LinearStepConfig(lifetime=lifetime, reset=0.1, w_max=1.0, w_min=-1.0, w_max_dtod=0.0,
                              w_min_dtod=0.0, dw_min_std=0.0)
    return {"t0": TileSpec(8, 8, {"W": config})}


def _decay_program(ctl, waits_ns, step_commands):
    from emulator.hardware import ReadCells, SlowProcessStep, Wait
    for _ in range(step_commands):
        yield SlowProcessStep()
    for wait in waits_ns:
        yield Wait(wait)
        yield ReadCells("t0", "W")


def test_slow_processes_on_the_mini_batch_clock_step_per_command() -> None:
    from emulator.testing import run_program
    result = run_program(_decay_program, _decaying_tiles(), seed=0, setup=lambda hw: hw.tile("t0").array("W").set_conductance(0.6),
                         waits_ns=[1000.0], step_commands=3)
    array = result.device("t0", "W")
    np.testing.assert_allclose(array.g, 0.1 + 0.5 * (1 - 1 / 50.0) ** 3, rtol=1e-5)


def test_slow_processes_in_simulated_time_follow_the_elapsed_time() -> None:
    """With slow_process_step_ns the decay follows the clock: (1 − 1/τ)^(elapsed / step) at the
    next access of the tile; SlowProcessStep commands do nothing."""
    from emulator.hardware import Controller, Hardware
    hardware = Hardware(_decaying_tiles(), seed=0, slow_process_step_ns=100.0)
    array = hardware.tile("t0").array("W")
    array.set_conductance(0.6)
    Controller(hardware).run(_decay_program, waits_ns=[2000.0, 500.0], step_commands=5)
    # The reads take time too: the state is aged to the start of the last read.
    elapsed_ns = hardware.tile("t0").aging.aged_ps / 1000.0
    assert 2500.0 <= elapsed_ns < hardware.now_ns
    np.testing.assert_allclose(array.g, 0.1 + 0.5 * (1 - 1 / 50.0) ** (elapsed_ns / 100.0), rtol=1e-5)
