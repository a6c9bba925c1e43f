"""Stochastic coincidence pulse trains (SPEC §2.1): plan_pulse_train and PulseTrain on a tile."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hardware_test_helpers import build, expected_probabilities, ideal_constant_step, run_commands
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from emulator.hardware import PulseTrain, UpdateParameters, plan_pulse_train
from emulator.hardware.pulse_trains import plan_stochastic_trains

DEFAULT = UpdateParameters()
X = np.array([0.9, -0.35, 0.05, -0.6, 0.2])          # one entry per column
D = np.array([-0.4, 0.73, 0.11, -0.02])               # one entry per row
GRANULARITY = 0.001


def draw_counts(x, d, lr, granularity, params, draws, seed):
    rng = np.random.default_rng(seed)
    plans = [plan_pulse_train(x, d, lr, granularity, params, rng) for _ in range(draws)]
    return plans, np.stack([plan.counts for plan in plans]).astype(np.int64)


# ---------------------------------------------------------------------------- probabilities and statistics
@pytest.mark.parametrize("params", [DEFAULT, UpdateParameters(update_management=False),
                                    UpdateParameters(update_bl_management=False, desired_bl=12),
                                    UpdateParameters(update_bl_management=False, update_management=False)],
                         ids=["managed", "bl-management-implies-update-management", "fixed-bl", "unmanaged"])
def test_plan_probabilities_follow_the_spec_formulas(params):
    lr = 0.02  # k = 0.02·0.9·0.73/0.001 = 13.14
    plan = plan_pulse_train(X, D, lr, GRANULARITY, params, np.random.default_rng(0))
    bl, q, p = expected_probabilities(X, D, lr, GRANULARITY, params)
    assert plan.bl == bl
    np.testing.assert_allclose(plan.row_probability, q, rtol=1e-12)
    np.testing.assert_allclose(plan.column_probability, p, rtol=1e-12)
    assert plan.counts.shape == (D.size, X.size)
    assert plan.counts.dtype == np.int32
    assert plan.slot_pulses.shape == (plan.bl,)
    # Σ over slots of coincidences is the total number of cell pulses.
    assert int(plan.slot_pulses.sum()) == int(np.abs(plan.counts).sum())


def test_counts_are_binomial_per_cell_mean_and_variance():
    """n_ij ~ Binomial(BL, p_j·q_i): z-tests of every cell's mean and variance over 6000 draws."""
    lr = 0.02
    draws = 6000
    plans, counts = draw_counts(X, D, lr, GRANULARITY, DEFAULT, draws, seed=1234)
    bl, q, p = expected_probabilities(X, D, lr, GRANULARITY, DEFAULT)
    assert bl == 14 and all(plan.bl == bl for plan in plans)
    pi = np.outer(q, p)
    magnitude = np.abs(counts)
    mean_expected = bl * pi
    var_expected = bl * pi * (1 - pi)
    z_mean = (magnitude.mean(axis=0) - mean_expected) / np.sqrt(var_expected / draws)
    assert np.all(np.abs(z_mean) < 4.5), z_mean
    # Var of the sample variance ≈ (μ4 − σ⁴)/N, binomial μ4 = nπ(1−π)(1 + 3(n−2)π(1−π)).
    mu4 = var_expected * (1 + 3 * (bl - 2) * pi * (1 - pi))
    z_var = (magnitude.var(axis=0, ddof=1) - var_expected) / np.sqrt((mu4 - var_expected**2) / draws)
    assert np.all(np.abs(z_var) < 4.5), z_var
    # E[n_ij] = lr·|x_j||d_i|/granularity when not saturated.
    np.testing.assert_allclose(mean_expected, lr * np.outer(np.abs(D), np.abs(X)) / GRANULARITY, rtol=1e-12)


@pytest.mark.parametrize("cell", [(0, 0), (1, 3), (2, 1)])
def test_count_distribution_of_a_cell_passes_chi_square(cell):
    lr = 0.02
    draws = 5000
    _, counts = draw_counts(X, D, lr, GRANULARITY, DEFAULT, draws, seed=99 + cell[0] * 7 + cell[1])
    bl, q, p = expected_probabilities(X, D, lr, GRANULARITY, DEFAULT)
    values = np.abs(counts[:, cell[0], cell[1]])
    observed = np.bincount(values, minlength=bl + 1).astype(float)
    expected = stats.binom.pmf(np.arange(bl + 1), bl, q[cell[0]] * p[cell[1]]) * draws
    # Merge sparse tail bins (expected < 5) into their neighbours.
    obs_bins, exp_bins, acc_o, acc_e = [], [], 0.0, 0.0
    for o, e in zip(observed, expected):
        acc_o += o
        acc_e += e
        if acc_e >= 5:
            obs_bins.append(acc_o)
            exp_bins.append(acc_e)
            acc_o = acc_e = 0.0
    obs_bins[-1] += acc_o
    exp_bins[-1] += acc_e
    assert len(obs_bins) >= 3
    statistic = sum((o - e) ** 2 / e for o, e in zip(obs_bins, exp_bins))
    p_value = stats.chi2.sf(statistic, df=len(obs_bins) - 1)
    assert p_value > 1e-4, (statistic, obs_bins, exp_bins)


# ---------------------------------------------------------------------------- expected update on a device
def test_expected_weight_change_matches_minus_lr_d_xT_on_ideal_constant_step():
    """E[ΔW] = −lr·d·xᵀ for a noise-free ConstantStep device, within sampling error."""
    rows, cols = 4, 5
    dw = 0.001
    device = ideal_constant_step(dw_min=dw, bound=100.0)  # never near a bound
    hardware, controller = build({"t0": (rows, cols)}, device=device, seed=3)
    array = hardware.tile("t0").array("W")
    rng = np.random.default_rng(11)
    samples = 1500
    # a fixed pattern with random per-sample scale and jitter, so the signal accumulates
    xs = X[None, :] * rng.uniform(0.5, 1.5, (samples, 1)) + rng.normal(0, 0.05, (samples, cols))
    ds = D[None, :] * rng.uniform(0.5, 1.5, (samples, 1)) + rng.normal(0, 0.05, (samples, rows))
    lr = 0.004
    before = array.visible().astype(np.float64)
    (total,), _ = run_commands(controller, [PulseTrain("t0", "W", xs, ds, lr)])
    delta = array.visible().astype(np.float64) - before
    # each pulse moves a cell by exactly dw_min
    np.testing.assert_allclose(delta, total * dw, atol=1e-9)
    target = -lr * np.einsum("si,sj->ij", ds, xs)
    variance = np.zeros((rows, cols))
    for x, d in zip(xs, ds):
        bl, q, p = expected_probabilities(x, d, lr, dw, DEFAULT)
        pi = np.outer(q, p)
        assert np.all(pi < 1)  # not saturated
        variance += bl * pi * (1 - pi) * dw**2
    z = (delta - target) / np.sqrt(variance)
    assert np.all(np.abs(z) < 4.5), z
    assert float(np.sum(z**2)) < stats.chi2.ppf(1 - 1e-4, df=z.size)
    # and the relative error of the whole update is small
    assert np.linalg.norm(delta - target) / np.linalg.norm(target) < 0.1


# ---------------------------------------------------------------------------- sign convention
def test_down_pulses_where_x_times_d_is_positive():
    x = np.array([1.0, -1.0, 0.5])
    d = np.array([1.0, -0.5])
    lr = 0.01
    params = UpdateParameters(pulse_type="mean_count")
    plan = plan_pulse_train(x, d, lr, 0.001, params, np.random.default_rng(0))
    product = np.outer(d, x)
    assert np.all(plan.counts[product > 0] < 0)
    assert np.all(plan.counts[product < 0] > 0)
    stochastic = plan_pulse_train(x, d, lr, 0.001, DEFAULT, np.random.default_rng(0))
    nonzero = stochastic.counts != 0
    assert nonzero.any()
    np.testing.assert_array_equal(np.sign(stochastic.counts[nonzero]), -np.sign(product[nonzero]))


@pytest.mark.parametrize("pulse_type", ["stochastic", "mean_count"])
def test_negative_learning_rate_flips_every_sign(pulse_type):
    params = UpdateParameters(pulse_type=pulse_type)
    positive = plan_pulse_train(X, D, 0.02, GRANULARITY, params, np.random.default_rng(8))
    negative = plan_pulse_train(X, D, -0.02, GRANULARITY, params, np.random.default_rng(8))
    np.testing.assert_array_equal(negative.counts, -positive.counts)
    assert negative.bl == positive.bl
    np.testing.assert_array_equal(np.sign(negative.counts[negative.counts != 0]),
                                  np.sign(np.outer(D, X))[negative.counts != 0])


# ---------------------------------------------------------------------------- BL and update management
@pytest.mark.parametrize(("lr", "desired_bl", "expected_bl"), [
    (0.0001, 31, 1),     # k = 0.0657
    (0.001, 31, 1),      # k = 0.657
    (0.002, 31, 2),      # k = 1.314
    (0.02, 31, 14),      # k = 13.14
    (0.04, 31, 27),      # k = 26.28
    (0.0470, 31, 31),    # k = 30.88
    (0.05, 31, 31),      # k = 32.85 → capped
    (0.02, 5, 5),        # k = 13.14 → capped at desired_bl
    (0.5, 100, 100),     # k = 328.5
])
def test_bl_is_min_of_ceil_k_and_desired_bl(lr, desired_bl, expected_bl):
    k = lr * 0.9 * 0.73 / GRANULARITY
    assert expected_bl == min(math.ceil(k), desired_bl)
    params = UpdateParameters(desired_bl=desired_bl)
    plan = plan_pulse_train(X, D, lr, GRANULARITY, params, np.random.default_rng(0))
    assert plan.bl == expected_bl
    assert np.all(np.abs(plan.counts) <= expected_bl)


@pytest.mark.parametrize("lr", [0.0001, 0.02, 0.5])
def test_without_bl_management_bl_is_desired_bl(lr):
    params = UpdateParameters(update_bl_management=False, desired_bl=9)
    plan = plan_pulse_train(X, D, lr, GRANULARITY, params, np.random.default_rng(0))
    assert plan.bl == 9


def test_update_management_balances_the_two_trains():
    """With update management the largest row and column both fire with prob sqrt(k/BL);
    without it both scale with sqrt(lr/(g·BL)) and the small side barely fires."""
    x = np.array([1.0, 0.5, -0.25])
    d = np.array([0.01, -0.005])
    lr = 0.5  # k = 0.5·1·0.01/0.001 = 5 → BL 5
    managed = plan_pulse_train(x, d, lr, 0.001, DEFAULT, np.random.default_rng(0))
    k = 5.0
    assert managed.bl == 5
    assert managed.row_probability.max() == pytest.approx(math.sqrt(k / 5))
    assert managed.column_probability.max() == pytest.approx(math.sqrt(k / 5))
    unmanaged_params = UpdateParameters(update_management=False, update_bl_management=False, desired_bl=5)
    unmanaged = plan_pulse_train(x, d, lr, 0.001, unmanaged_params, np.random.default_rng(0))
    # BL management alone is managed too (the reference simulator switches update management on).
    bl_only = plan_pulse_train(x, d, lr, 0.001, UpdateParameters(update_management=False), np.random.default_rng(0))
    np.testing.assert_array_equal(bl_only.row_probability, managed.row_probability)
    scale = math.sqrt(lr / (0.001 * 5))
    np.testing.assert_allclose(unmanaged.row_probability, np.minimum(1, scale * np.abs(d)))
    np.testing.assert_allclose(unmanaged.column_probability, np.minimum(1, scale * np.abs(x)))
    # The product p_j·q_i (hence E[n]) is the same either way while nothing is clipped at 1.
    np.testing.assert_allclose(np.outer(managed.row_probability, managed.column_probability),
                               lr * np.outer(np.abs(d), np.abs(x)) / 0.001 / 5)


def test_saturation_when_k_exceeds_desired_bl():
    """k > desired_bl: BL = desired_bl, the max elements fire every slot, counts capped at BL."""
    params = UpdateParameters(desired_bl=6)
    lr = 0.05  # k = 32.85 ≫ 6
    rng = np.random.default_rng(21)
    row_max, col_max = int(np.argmax(np.abs(D))), int(np.argmax(np.abs(X)))
    for _ in range(200):
        plan = plan_pulse_train(X, D, lr, GRANULARITY, params, rng)
        assert plan.bl == 6
        assert plan.row_probability[row_max] == pytest.approx(1.0)
        assert plan.column_probability[col_max] == pytest.approx(1.0)
        assert np.all(plan.row_probability <= 1) and np.all(plan.column_probability <= 1)
        assert abs(int(plan.counts[row_max, col_max])) == 6
        assert np.all(np.abs(plan.counts) <= 6)
    bl, q, p = expected_probabilities(X, D, lr, GRANULARITY, params)
    np.testing.assert_allclose(plan.row_probability, q, rtol=1e-12)
    np.testing.assert_allclose(plan.column_probability, p, rtol=1e-12)


# ---------------------------------------------------------------------------- pulse types and zeros
def _reference_mean_counts(plan):
    """The reference simulator's MEAN_COUNT: line counts rint(BL·p) first, then the product / BL
    (float32, halves to even)."""
    bl = np.float32(plan.bl)
    rows = np.rint(bl * plan.row_probability.astype(np.float32))
    cols = np.rint(bl * plan.column_probability.astype(np.float32))
    return np.rint(np.outer(rows / bl, cols).astype(np.float32))


def test_mean_count_gives_deterministic_rounded_expected_counts():
    params = UpdateParameters(pulse_type="mean_count")
    lr = 0.02
    first = plan_pulse_train(X, D, lr, GRANULARITY, params, np.random.default_rng(1))
    second = plan_pulse_train(X, D, lr, GRANULARITY, params, np.random.default_rng(2))
    np.testing.assert_array_equal(first.counts, second.counts)
    expected = -np.sign(np.outer(D, X)) * _reference_mean_counts(first)
    np.testing.assert_array_equal(first.counts, expected.astype(np.int32))
    # Close to the expected count lr·|d·x|/granularity (within the two roundings).
    assert np.abs(np.abs(first.counts) - lr * np.abs(np.outer(D, X)) / GRANULARITY).max() <= 1.5
    assert first.bl == 14
    assert int(first.slot_pulses.sum()) == int(np.abs(first.counts).sum())
    assert first.slot_pulses.max() - first.slot_pulses.min() <= 1


def test_mean_count_saturates_at_bl():
    params = UpdateParameters(pulse_type="mean_count", desired_bl=4)
    plan = plan_pulse_train(X, D, 0.05, GRANULARITY, params, np.random.default_rng(1))
    assert plan.bl == 4
    assert np.abs(plan.counts).max() == 4


@pytest.mark.parametrize("pulse_type", ["stochastic", "mean_count"])
@pytest.mark.parametrize("which", ["x", "d", "lr"])
def test_zero_input_gives_no_pulses(pulse_type, which):
    x = np.zeros_like(X) if which == "x" else X
    d = np.zeros_like(D) if which == "d" else D
    lr = 0.0 if which == "lr" else 0.02
    plan = plan_pulse_train(x, d, lr, GRANULARITY, UpdateParameters(pulse_type=pulse_type),
                            np.random.default_rng(0))
    assert plan.bl == 0
    assert plan.slot_pulses.size == 0
    assert not plan.counts.any()
    assert plan.counts.shape == (D.size, X.size)


def test_zero_input_train_on_tile_costs_no_time_and_no_pulses():
    hardware, controller = build({"t0": (4, 5)})
    before = hardware.tile("t0").array("W").visible().copy()
    (counts,), _ = run_commands(controller, [PulseTrain("t0", "W", np.zeros(5), D, 0.1)])
    assert not counts.any()
    assert hardware.env.now == 0
    assert hardware.recorder.total_pulses() == 0
    np.testing.assert_array_equal(hardware.tile("t0").array("W").visible(), before)


def test_pulse_type_none_applies_the_exact_float_update_and_counts_no_pulses():
    lr = 0.02
    device = ideal_constant_step(dw_min=0.001, bound=10.0)
    hardware, controller = build({"t0": (4, 5)}, device=device,
                                 update=UpdateParameters(pulse_type="none"))
    array = hardware.tile("t0").array("W")
    before = array.visible().astype(np.float64)
    (counts,), _ = run_commands(controller, [PulseTrain("t0", "W", X, D, lr)])
    np.testing.assert_allclose(array.visible() - before, -lr * np.outer(D, X), atol=1e-6)
    assert not counts.any()
    assert hardware.recorder.total_pulses() == 0
    assert hardware.recorder.summary()["energy_pj"]["total"] == 0.0


def test_per_command_update_override_and_granularity():
    """PulseTrain.update overrides the tile's settings; granularity overrides dw_min."""
    hardware, controller = build({"t0": (4, 5)}, device=ideal_constant_step(dw_min=0.001, bound=10.0),
                                 update=UpdateParameters(pulse_type="mean_count"))
    one = UpdateParameters(pulse_type="mean_count", desired_bl=1)
    (counts,), _ = run_commands(controller, [PulseTrain("t0", "W", X, D, 0.02, update=one)])
    assert np.abs(counts).max() == 1
    assert hardware.recorder.slots["t0/W"] == 1
    (coarse,), _ = run_commands(controller, [PulseTrain("t0", "W", X, D, 0.02, granularity=0.002)])
    plan = plan_pulse_train(X, D, 0.02, 0.002, UpdateParameters(pulse_type="mean_count"), np.random.default_rng(0))
    np.testing.assert_array_equal(coarse, -np.sign(np.outer(D, X)) * _reference_mean_counts(plan))


def test_pulse_train_rejects_wrong_shapes():
    hardware, controller = build({"t0": (4, 5)})
    with pytest.raises(ValueError, match="pulse train"):
        run_commands(controller, [PulseTrain("t0", "W", np.ones(4), np.ones(4), 0.1)])


def test_batched_train_returns_per_cell_sum_and_counts_each_sample():
    hardware, controller = build({"t0": (4, 5)}, update=UpdateParameters(pulse_type="mean_count"))
    xs = np.stack([X, -X, 0.5 * X])
    ds = np.stack([D, D, D])
    (total,), _ = run_commands(controller, [PulseTrain("t0", "W", xs, ds, 0.02)])
    singles = [plan_pulse_train(x, d, 0.02, 0.01, UpdateParameters(pulse_type="mean_count"),
                                np.random.default_rng(0)) for x, d in zip(xs, ds)]
    np.testing.assert_array_equal(total, sum(plan.counts for plan in singles))
    up, down = hardware.recorder.arrays["t0/W"].totals()
    assert up + down == sum(int(np.abs(plan.counts).sum()) for plan in singles)
    assert hardware.recorder.slots["t0/W"] == sum(plan.bl for plan in singles)


def test_batched_train_result_carries_the_exact_up_and_down_totals():
    """Opposite-sign samples cancel in the per-cell sum, but the totals the result carries are
    the pulses fired, equal to the recorder's."""
    from emulator.hardware import Controller, Hardware, PulseTrain, TileSpec
    from devices import ConstantStepConfig

    hardware = Hardware({"t": TileSpec(4, 5, {"W": ConstantStepConfig(dw_min=0.01)})}, seed=1)
    x = np.ones((2, 5))
    d = np.stack([np.full(4, 1.0), np.full(4, -1.0)])  # the two samples push every cell both ways

    def program(ctl):
        return (yield PulseTrain("t", "W", x, d, 0.05))

    result = Controller(hardware).run(program)
    up, down = hardware.recorder.arrays["t/W"].totals()
    assert (result.up_pulses, result.down_pulses) == (up, down)
    assert up > 0 and down > 0
    assert int(np.maximum(result, 0).sum()) < up  # the per-cell sum alone would undercount
    assert (result[:2] * 1).up_pulses is None  # derived arrays carry no totals


# ---------------------------------------------------------------------------- batches without traces
BATCH_PARAMS = [DEFAULT, UpdateParameters(update_management=False), UpdateParameters(update_bl_management=False,
                                                                                      desired_bl=12),
                UpdateParameters(desired_bl=3)]


@settings(max_examples=80, deadline=None, derandomize=True)
@given(samples=st.integers(1, 6), rows=st.integers(1, 7), cols=st.integers(1, 9), seed=st.integers(0, 2**16),
       params=st.sampled_from(BATCH_PARAMS), lr=st.sampled_from([0.0, 0.002, 0.05, -0.05, 3.0]),
       zero_rows=st.booleans())
def test_batch_plan_equals_one_plan_per_sample(samples, rows, cols, seed, params, lr, zero_rows) -> None:
    """`plan_stochastic_trains` gives each sample's counts and BL and leaves the generator where
    `plan_pulse_train` sample after sample leaves it (all-zero samples draw nothing)."""
    data = np.random.default_rng(seed)
    xs = data.normal(size=(samples, cols)) * (data.random((samples, cols)) < 0.7)
    ds = data.normal(0, 0.2, size=(samples, rows))
    if zero_rows:
        ds[0] = 0.0
    one_by_one, batched = np.random.default_rng(seed + 1), np.random.default_rng(seed + 1)
    plans = [plan_pulse_train(x, d, lr, GRANULARITY, params, one_by_one) for x, d in zip(xs, ds)]
    counts, slots, slot_pulses = plan_stochastic_trains(xs, ds, lr, GRANULARITY, params, batched)
    np.testing.assert_array_equal(counts, np.stack([plan.counts for plan in plans]))
    np.testing.assert_array_equal(slots, [plan.bl for plan in plans])
    np.testing.assert_array_equal(slot_pulses, np.concatenate([plan.slot_pulses for plan in plans]))
    assert one_by_one.random() == batched.random()


@pytest.mark.parametrize("dead", [False, True])
def test_tracing_changes_nothing_but_the_trace(dead) -> None:
    """With and without a trace the batch leaves the same device state, pulse counters, slots,
    busy time, energy and end time; the trace has every slot with its pulses."""
    from devices import get_preset
    from emulator.hardware import Controller, Hardware, TileSpec

    outcomes = []
    for trace in (False, True):
        spec = TileSpec(4, 5, {"W": get_preset("ReRamSB")}, dead_rows=(1,) if dead else ())
        hardware = Hardware({"t0": spec}, seed=5, trace=trace)
        controller = Controller(hardware)
        xs = np.stack([X, -X, 0.0 * X, 0.5 * X])
        ds = np.stack([D, D, D, -D])
        (total,), times = run_commands(controller, [PulseTrain("t0", "W", xs, ds, 0.02)])
        recorder = hardware.recorder
        outcomes.append((hardware.tiles["t0"].array("W").g.copy(), recorder.arrays["t0/W"].up_cells.copy(),
                         recorder.arrays["t0/W"].down_cells.copy(), recorder.slots["t0/W"], dict(recorder.busy_ps),
                         recorder.total_energy_pj(), times[-1], np.asarray(total).copy(),
                         (total.up_pulses, total.down_pulses)))
    untraced, traced = outcomes
    for a, b in zip(untraced, traced):
        if isinstance(a, np.ndarray):
            np.testing.assert_array_equal(a, b)
        elif isinstance(a, float):
            assert a == pytest.approx(b, rel=1e-12)
        else:
            assert a == b
    assert untraced[3] > 0
    slots = [event for event in hardware.tracer.events if event.name == "slot"]
    assert len(slots) == hardware.recorder.slots["t0/W"]
    assert sum(event.args["pulses"] for event in slots) == total.up_pulses + total.down_pulses


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_inputs_or_errors_are_refused(bad) -> None:
    x, d = X.copy(), D.copy()
    x[1] = bad
    with pytest.raises(ValueError, match="finite"):
        plan_pulse_train(x, D, 0.02, GRANULARITY, DEFAULT, np.random.default_rng(0))
    d[0] = bad
    with pytest.raises(ValueError, match="finite"):
        plan_stochastic_trains(np.stack([X, X]), np.stack([D, d]), 0.02, GRANULARITY, DEFAULT,
                               np.random.default_rng(0))
