"""The calibration pulse budget (emulator.budget): ~1/Δw_min scaling, the SPEC §5 reference facts,
latency and energy equal to the cost model's price of the calibration's command sequence, the
theory columns, and which devices are budgeted or refused."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from calibration_test_helpers import NO_SPREAD, PERFECT_IO, build, predicted_calibration_cost, small_spread, soft_bounds

from devices import SoftBoundsConfig, get_preset, preset_names
from emulator.algorithms.calibration import residual_error, zero_shift
from emulator.budget import BudgetConfig, BudgetRefused, BudgetRequest, parse_initial_state, run_budget, scaling_exponent
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
@pytest.mark.parametrize("metric", ["auto", "rms", "relative-mean"])
def test_every_preset_is_budgeted_or_refused_for_lack_of_a_symmetric_point(name: str, metric: str) -> None:
    request = BudgetRequest(name, get_preset(name), 8, 8, 0.05, metric, max_pulses=40, checkpoints=4)
    try:
        result = run_budget(request)
    except BudgetRefused as error:
        assert "symmetric point" in str(error), f"{name}: refusal without a reason: {error}"
        if get_preset(name).model == "ConstantStep" or metric != "relative-mean":  # type: ignore[attr-defined]
            assert "no symmetric point" in str(error)  # auto and rms refuse only devices without an SP
        return
    assert result["metric"] in ("rms", "relative-mean") and result["metric_requested"] == metric
    if metric == "auto":
        assert result["metric_choice"].startswith("auto: mean SP")
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
    # The same device is fine with the absolute metric, and `auto` (the default) picks it.
    result = run_budget(BudgetRequest("sb", device, 16, 16, 0.2, "rms", max_pulses=50, io=PERFECT_IO))
    assert result["reached"]
    chosen = run_budget(BudgetRequest("sb", device, 16, 16, 0.2, max_pulses=50, io=PERFECT_IO))
    assert (chosen["metric"], chosen["metric_requested"]) == ("rms", "auto")
    assert "within ±" in chosen["metric_choice"]
    assert chosen["pulses_per_cell"] == result["pulses_per_cell"]


def test_auto_metric_picks_the_relative_error_of_the_mean_where_the_mean_sp_is_away_from_zero() -> None:
    device = soft_bounds(200, 0.2, 0.3)
    chosen = run_budget(BudgetRequest("sb", device, 16, 16, 0.2, max_pulses=50, io=PERFECT_IO))
    asked = run_budget(BudgetRequest("sb", device, 16, 16, 0.2, "relative-mean", max_pulses=50, io=PERFECT_IO))
    assert (chosen["metric"], chosen["metric_requested"]) == ("relative-mean", "auto")
    assert "beyond ±" in chosen["metric_choice"] and asked["metric_choice"] == "as asked"
    assert chosen["pulses_per_cell"] == asked["pulses_per_cell"]


@pytest.mark.parametrize("write_noise_std", [0.0, 2.0])
@pytest.mark.parametrize("method", ["stochastic", "cyclic"])
def test_the_budget_is_one_calibration_pass_that_a_fixed_run_replays(method: str, write_noise_std: float) -> None:
    """One pass: the truth checks draw nothing, so the budget's calibration (N steps, k reads, the
    reference) is exactly what a plain `zero_shift` of N steps on the same hardware and seed does;
    its counters are one calibration's."""
    device = soft_bounds(200, 0.2, 0.3, write_noise_std=write_noise_std)
    request = BudgetRequest("sb", device, 16, 16, 0.1, "relative-mean", method, reads=2, max_pulses=1500,
                            io=IOParameters(), checkpoints=60, seed=3)
    result = run_budget(request)
    steps = result["pulses_per_cell"]
    assert result["mode"] == "emulated" and result["stopped_at_target"]
    assert result["total_pulses"] == steps * 16 * 16 and result["mvms"] == 2 * 16
    hardware, controller = build(device, 16, 16, io=IOParameters(), costs=request.costs, seed=request.seed)
    estimate = controller.run(lambda ctl: (yield from zero_shift(ctl, "t0", "W", steps, method, 2)))
    replay = residual_error(hardware, "t0", "W", estimate)
    assert result["rms_error"] == replay["rms_error"] and result["mean_error"] == replay["mean_error"]
    assert result["latency_ns"] == hardware.recorder.summary()["latency_ns"]


@pytest.mark.parametrize("method", ["stochastic", "cyclic"])
def test_predicted_and_emulated_budgets_agree(method: str) -> None:
    """On a 64×64 tile through the ADC, the predicted pulses to 5 % of the mean SP equal the
    emulated ones within their predicted chip-to-chip spread and the checkpoints' resolution, and
    the curves agree within sampling error."""
    device = soft_bounds(500, 0.2, 0.3, spread=small_spread(0.05))
    result = run_budget(BudgetRequest("sb", device, 64, 64, 0.05, "relative-mean", method, reads=4,
                                      max_pulses=6000, seed=2))
    agreement, predicted = result["agreement"], result["predicted"]
    assert predicted["exact"] and result["stopped_at_target"]
    gap = abs(predicted["pulses_per_cell"] - result["pulses_per_cell"])
    assert gap <= 4 * predicted["pulses_spread"] + agreement["checkpoint_resolution"], (agreement, predicted)
    assert agreement["max_abs_z_mean_error"] <= 4.5 and agreement["max_abs_z_mean_square"] <= 4.5, agreement


def test_predict_only_prices_the_calibration_as_the_emulation_does() -> None:
    """--predict-only: no emulation; latency, energy and counts of the predicted N are what the
    emulated calibration of those N steps costs."""
    device = soft_bounds(300, 0.2, 0.3)
    predicted = run_budget(BudgetRequest("sb", device, 24, 24, 0.1, "relative-mean", "cyclic", reads=2,
                                         predict_only=True, costs=ODD_COSTS))
    assert predicted["mode"] == "predicted" and "agreement" not in predicted
    steps = predicted["pulses_per_cell"]
    assert steps == predicted["predicted"]["pulses_per_cell"] and steps % 2 == 0
    cost = predicted_calibration_cost(ODD_COSTS, 24, 24, steps, "cyclic", 2)
    assert predicted["latency_ns"] == pytest.approx(cost.latency_ns, rel=1e-12)
    assert predicted["energy_pj"] == pytest.approx(cost.energy_pj, rel=1e-9)
    assert (predicted["total_pulses"], predicted["mvms"], predicted["conversions"]) == (cost.pulses, cost.mvms,
                                                                                      cost.conversions)


def test_start_states_and_recalibration_from_a_near_state(tmp_path: Any) -> None:
    """--w-init: a weight, a reset, a saved array, and each cell near its own SP (recalibration),
    which needs far fewer pulses than a calibration from the construction state."""
    device = soft_bounds(400, 0.2, 0.3)
    common = dict(rows=16, cols=16, target_error=0.08, metric="rms", predict_only=True, io=PERFECT_IO)
    built = run_budget(BudgetRequest("sb", device, **common))  # type: ignore[arg-type]
    near = run_budget(BudgetRequest("sb", device, w_init="sp+0.02", **common))  # type: ignore[arg-type]
    assert near["start"] == "each cell at its symmetric point +0.02"
    assert near["initial_rms_error"] == pytest.approx(0.02, rel=1e-3)
    assert near["pulses_per_cell"] < built["pulses_per_cell"] / 2
    saved = tmp_path / "w.npy"
    np.save(saved, np.full((16, 16), -0.4))
    from_file = run_budget(BudgetRequest("sb", device, w_init=str(saved), **common))  # type: ignore[arg-type]
    from_value = run_budget(BudgetRequest("sb", device, w_init="-0.4", **common))  # type: ignore[arg-type]
    assert from_file["pulses_per_cell"] == from_value["pulses_per_cell"] > built["pulses_per_cell"]
    assert run_budget(BudgetRequest("sb", device, w_init="reset", **common))["start"] == "after a reset"  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="shape"):
        np.save(saved, np.zeros((3, 3)))
        run_budget(BudgetRequest("sb", device, w_init=str(saved), **common))  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["sp*2", "nan", "missing.npy", "bogus"])
def test_bad_start_states_are_refused_by_name(value: str) -> None:
    with pytest.raises(ValueError, match="w_init"):
        parse_initial_state(value)


def test_the_prediction_reaches_the_papers_scale_with_pulses_proportional_to_one_over_dw_min() -> None:
    """Predicted budgets on 512×512 for Δw_min over three decades: N·Δw_min is constant (slope −1)."""
    rows = []
    for dw_min in (1e-3, 1e-4, 1e-5, 1.6e-6):
        device = SoftBoundsConfig(dw_min=dw_min, w_max=1, w_min=-1, up_down=0.2, **NO_SPREAD)
        result = run_budget(BudgetRequest("sb", device, 512, 512, 0.01, predict_only=True, io=PERFECT_IO))
        rows.append({"dw_min": dw_min, "predicted_pulses_per_cell": result["predicted_pulses_per_cell"]})
        assert result["predicted"]["exact"]
    exponent = scaling_exponent(rows, "predicted_pulses_per_cell")
    assert exponent == pytest.approx(-1.0, abs=0.01)
