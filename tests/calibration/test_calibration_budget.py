"""The calibration pulse budget (emulator.budget): ~1/Δw_min scaling, the SPEC §5 reference facts,
latency and energy equal to the cost model's price of the calibration's command sequence, the
theory columns, and which devices are budgeted or refused."""

from __future__ import annotations

import math

import numpy as np
import pytest
from calibration_test_helpers import PERFECT_IO, build, predicted_calibration_cost, soft_bounds

from devices import get_preset, preset_names
from emulator.algorithms.calibration import zero_shift
from emulator.budget import BudgetConfig, BudgetRefused, BudgetRequest, run_budget, scaling_exponent
from emulator.hardware import HardwareCosts, IOParameters

#: Every cost-model number different from the defaults and from each other.
ODD_COSTS = HardwareCosts(
    name="test-odd", pulse_width_ns=7.0, write_pulse_energy_pj=1.5, mvm_integration_ns=33.0,
    mvm_energy_per_cell_fj=0.25, dac_energy_fj=11.0, adc_bits=6, adc_bit_time_ns=1.0, adc_energy_fj=130.0,
    columns_per_adc=8, digital_op_ns=3.0, digital_lanes=16, digital_op_energy_fj=4.0,
)

#: SPEC §5 reference device: SoftBounds on [−1, 1], 2000 states, up/down offset (mean SP 0.111), no d2d.
REFERENCE_DEVICE = soft_bounds(2000, up_down=0.2, noise=0.3)


def _sweep(method: str, size: int, target: float, states: list[int], seed: int = 0) -> list[dict]:
    config = BudgetConfig.model_validate({
        "device": {"device": soft_bounds(100, 0.2, 0.3).model_dump()},
        "rows": size, "cols": size, "target_error": target, "metric": "relative-mean", "method": method,
        "perfect_reads": True, "max_pulses": 4 * states[0], "checkpoints": 200, "scale_max_pulses": True,
        "seed": seed, "sweep_field": "states", "sweep_values": states,
    })
    return [run_budget(request) for _, request in config.requests()]


@pytest.mark.parametrize(
    ("method", "size", "target", "states"),
    [("stochastic", 64, 0.05, [100, 200, 400, 800, 1600]),
     # Cyclic ZS ends each cycle Δw/2 from the SP (its 2-cycle), a relative bias of 4.5·Δw here:
     # a looser target and finer devices keep that bias well below the target.
     ("cyclic", 32, 0.1, [200, 400, 800, 1600, 3200])],
    ids=["stochastic", "cyclic"],
)
def test_pulses_to_a_fixed_relative_error_grow_like_one_over_dw_min(method: str, size: int, target: float,
                                                                    states: list[int]) -> None:
    rows = _sweep(method, size, target, states)
    assert all(row["reached"] for row in rows), [(row["dw_min"], row["pulses_per_cell"]) for row in rows]
    pulses = [row["pulses_per_cell"] for row in rows]
    assert pulses == sorted(pulses)
    exponent = scaling_exponent(rows)
    assert exponent is not None and -1.15 <= exponent <= -0.85, f"log-log slope {exponent} (pulses {pulses})"
    # The fit is the least-squares slope of log pulses vs log Δw_min over the reached rows.
    dw = np.log([row["dw_min"] for row in rows])
    assert exponent == pytest.approx(np.polyfit(dw, np.log(pulses), 1)[0])


def test_scaling_exponent_ignores_rows_that_missed() -> None:
    rows = [{"dw_min": 0.01, "pulses_per_cell": 100, "reached": True},
            {"dw_min": 0.001, "pulses_per_cell": 1000, "reached": True},
            {"dw_min": 0.0001, "pulses_per_cell": 5, "reached": False}]
    assert scaling_exponent(rows) == pytest.approx(-1.0)
    assert scaling_exponent(rows[:1]) is None


def _check_reference_fact(result: dict) -> None:
    assert result["reached"], f"1 % not reached by 8000 pulses: {result['relative_mean_error']}"
    assert 2000 < result["pulses_per_cell"] <= 8000
    assert result["relative_mean_error"] <= 0.01
    assert result["symmetric_point_mean"] == pytest.approx(0.2 / 1.8)
    curve = {point["pulses"]: point for point in result["curve"]}
    early = [point["relative_mean_error"] for pulses, point in curve.items() if pulses <= 2000]
    assert early and min(early) > 0.01, "1 % already met at or before 2000 pulses"


def test_reference_fact_small_tile_perfect_reads() -> None:
    """Fast version of SPEC §5's reference fact on a 64×64 tile (perfect reads isolate ZS)."""
    result = run_budget(BudgetRequest("SoftBounds:states=2000", REFERENCE_DEVICE, 64, 64, 0.01, "relative-mean",
                                      max_pulses=8000, io=PERFECT_IO, seed=0))
    _check_reference_fact(result)


@pytest.mark.slow
def test_reference_fact_512x512_through_the_adc() -> None:
    """SPEC §5: 512×512, 2000 states, real read path: 1 % of the mean SP needs > 2000 pulses, ≤ 8000."""
    result = run_budget(BudgetRequest("SoftBounds:states=2000", REFERENCE_DEVICE, 512, 512, 0.01, "relative-mean",
                                      max_pulses=8000, seed=0))
    _check_reference_fact(result)
    assert result["mvms"] == 512 and result["conversions"] == 512 * 512
    # With 262144 cells the bound for the mean certifies 1 % (≈ 6200 steps), above what was measured.
    assert result["theory_pulses"] is not None and result["theory_pulses"] >= result["pulses_per_cell"]


@pytest.mark.parametrize(
    ("method", "reads", "rows", "cols", "adcs"),
    [("stochastic", 1, 12, 20, None), ("stochastic", 3, 20, 12, None), ("cyclic", 2, 16, 24, None),
     ("cyclic", 1, 24, 16, 5), ("stochastic", 2, 9, 9, 2), ("stochastic", 2, 4, 64, None)],
)
def test_budget_latency_and_energy_equal_the_cost_model_prediction(method: str, reads: int, rows: int, cols: int,
                                                                     adcs: int | None) -> None:
    costs = ODD_COSTS if adcs is None else ODD_COSTS.model_copy(update={"adcs_per_tile": adcs})
    request = BudgetRequest("sb", soft_bounds(100, 0.2, 0.3), rows, cols, 0.2, "relative-mean", method, reads,
                            max_pulses=300, seed=1, costs=costs, io=IOParameters(), checkpoints=30)
    result = run_budget(request)
    steps = result["pulses_per_cell"]
    assert 0 < steps <= 300
    predicted = predicted_calibration_cost(costs, rows, cols, steps, method, reads)
    assert result["latency_ns"] == pytest.approx(predicted.latency_ns, rel=1e-12)
    assert result["energy_pj"] == pytest.approx(predicted.energy_pj, rel=1e-9)
    assert result["total_pulses"] == predicted.pulses
    assert result["mvms"] == predicted.mvms
    assert result["conversions"] == predicted.conversions
    assert result["cost_model"] == "test-odd"
    by_category = result["energy_by_category_pj"]
    assert by_category["write_pulses"] == pytest.approx(predicted.pulses * 1.5)
    assert by_category["digital"] == pytest.approx(rows * cols * 4.0 / 1000)


def test_budget_latency_with_the_default_cost_model() -> None:
    request = BudgetRequest("sb", soft_bounds(100, 0.2, 0.3), 32, 32, 0.1, "relative-mean", max_pulses=400,
                            io=PERFECT_IO)
    result = run_budget(request)
    predicted = predicted_calibration_cost(HardwareCosts(), 32, 32, result["pulses_per_cell"], "stochastic", 1)
    assert result["latency_ns"] == pytest.approx(predicted.latency_ns, rel=1e-12)
    assert result["energy_pj"] == pytest.approx(predicted.energy_pj, rel=1e-9)


def test_theory_pulses_bound_the_measured_rms_budget() -> None:
    """For an rms target the bound certifies (above its floor), the measured pulses do not exceed the
    theory's N, and the reported floor is sqrt(δ_min) of the stochastic bound."""
    device = soft_bounds(200, 0.2, 0.3, reset=0.9)
    result = run_budget(BudgetRequest("sb", device, 32, 32, 0.4, "rms", max_pulses=1000, io=PERFECT_IO,
                                      checkpoints=200))
    constants = result["theory_constants"]
    floor = constants["dw_min"] * constants["q_max"] ** 2 / constants["mu_q"]
    assert result["theory_error_floor"] == pytest.approx(math.sqrt(2 * floor))
    assert result["initial_rms_error"] == pytest.approx(0.9 - 0.2 / 1.8, rel=1e-6)
    assert result["reached"] and result["theory_pulses"] is not None
    assert result["pulses_per_cell"] <= result["theory_pulses"]
    rho = 1 - 2 * constants["dw_min"] * constants["mu_q"]
    expected = math.log(2 * result["initial_rms_error"] ** 2 / 0.4 ** 2) / -math.log(rho)
    assert result["theory_pulses"] == pytest.approx(expected, rel=1e-6)


def test_unreachable_target_reports_not_reached_at_the_cap() -> None:
    result = run_budget(BudgetRequest("sb", soft_bounds(100, 0.2, 0.3), 16, 16, 1e-6, "rms", max_pulses=120,
                                      io=PERFECT_IO, checkpoints=10))
    assert result["reached"] is False
    assert result["pulses_per_cell"] == 120
    assert result["rms_error"] > 1e-6


@pytest.mark.parametrize("name", preset_names())
@pytest.mark.parametrize("metric", ["rms", "relative-mean"])
def test_every_preset_is_budgeted_or_refused_for_lack_of_a_symmetric_point(name: str, metric: str) -> None:
    request = BudgetRequest(name, get_preset(name), 8, 8, 0.05, metric, max_pulses=40, checkpoints=4)
    try:
        result = run_budget(request)
    except BudgetRefused as error:
        assert "symmetric point" in str(error), f"{name}: refusal without a reason: {error}"
        if get_preset(name).model == "ConstantStep":  # type: ignore[attr-defined]
            assert "no symmetric point" in str(error)
        return
    assert get_preset(name).model != "ConstantStep", f"{name} has no SP but was budgeted"  # type: ignore[attr-defined]
    assert result["device"] == name and result["pulses_per_cell"] > 0
    for key in ("latency_ns", "energy_pj", "rms_error"):
        assert math.isfinite(result[key])


@pytest.mark.parametrize("name", ["Idealized", "GokmenVlasov"])
def test_constant_step_presets_are_refused(name: str) -> None:
    with pytest.raises(BudgetRefused, match="symmetric point"):
        run_budget(BudgetRequest(name, get_preset(name), 8, 8, 0.05, "rms", max_pulses=40))


def test_relative_mean_on_a_zero_mean_sp_device_is_refused_with_a_clear_reason() -> None:
    device = soft_bounds(200, 0.0, 0.3)  # symmetric: every SP is exactly 0
    with pytest.raises(BudgetRefused) as refused:
        run_budget(BudgetRequest("sb", device, 16, 16, 0.01, "relative-mean", max_pulses=50))
    message = str(refused.value)
    assert "symmetric point" in message and "undefined" in message and "rms" in message
    # The same device is fine with the absolute metric.
    result = run_budget(BudgetRequest("sb", device, 16, 16, 0.2, "rms", max_pulses=50, io=PERFECT_IO))
    assert result["reached"]


def _scan_versus_replay(write_noise_std: float) -> tuple[float, float]:
    """The scan's truth curve at the reported step vs an independent replay of the reported run
    (same hardware, same seed, same N): the iterate error both saw at that step."""
    device = soft_bounds(200, 0.2, 0.3, write_noise_std=write_noise_std)
    request = BudgetRequest("sb", device, 16, 16, 0.05, "relative-mean", max_pulses=600, io=PERFECT_IO,
                            checkpoints=60, seed=3)
    result = run_budget(request)
    # The step the scan first met the target at (the reported run may step further when its own
    # final read misses): the scan measured it, and a replay of that many steps must see the same.
    steps = result["scan_reached_at"] or result["pulses_per_cell"]
    scanned = {point["pulses"]: point["iterate_rms_error"] for point in result["curve"]}
    assert steps in scanned
    hardware, controller = build(device, 16, 16, io=PERFECT_IO, costs=request.costs, seed=request.seed)
    controller.run(lambda ctl: (yield from zero_shift(ctl, "t0", "W", steps, "stochastic", request.reads)))
    array = hardware.tile("t0").array("W")
    replayed = float(np.sqrt(np.mean((array.g - array.symmetric_point()) ** 2)))
    return scanned[steps], replayed


def test_the_reported_run_replays_the_scanned_trajectory() -> None:
    """budget.py: 'a fresh run does exactly that calibration end to end' — same seed, same state."""
    scanned, replayed = _scan_versus_replay(0.0)
    assert scanned == replayed


def test_the_reported_run_replays_the_scanned_trajectory_with_write_noise() -> None:
    scanned, replayed = _scan_versus_replay(2.0)
    assert scanned == replayed
