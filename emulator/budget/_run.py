"""One budget: the prediction, then (where asked or affordable) one emulated calibration pass
with the truth checked at checkpoints, then the bounds.

The pass pulses until the state it has reached would meet the target after the k-read with the
requested probability (ground truth: the iterate is known exactly, the read's outcome in
distribution, emulator/hardware/read_moments.py), then reads every cell k times through the real
read path and stores the reference: its recorder gives the pulses, reads, latency and energy, and
the stored estimate the achieved error. No second run and no truth-side random draws.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable

import numpy as np

from emulator.algorithms.calibration import residual_error, store_reference, zero_shift_pulses
from emulator.budget._request import BudgetRequest, apply_initial_state, check_budgetable, resolve_metric
from emulator.budget._theory import theory_columns
from emulator.hardware import Controller, HardwareSpec, SetPhase, TileSpec
from emulator.prediction import Metric as PredictedMetric
from emulator.prediction import ZeroShiftPredictor, error_summary, residual_moments
from emulator.session import Session

TILE, ARRAY = "t0", "W"
#: The dense checkpoints around the predicted budget: ±15 % of it, about 30 of them.
_DENSE_WINDOW, _DENSE_POINTS = 0.15, 30
#: Checkpoints of the emulated curve also predicted (log-spaced) for the agreement figures.
_COMPARED = 32

Progress = Callable[[int, int], None]


def session_for(request: BudgetRequest) -> Session:
    tiles = {TILE: TileSpec(request.rows, request.cols, {ARRAY: request.device}, request.io)}
    return Session(HardwareSpec(tiles, request.costs), request.seed)


def resolved_metric(request: BudgetRequest) -> PredictedMetric:
    """The request's metric once `run_budget` has resolved `auto`."""
    if request.metric == "auto":
        raise ValueError("the budget's metric is resolved in run_budget")
    return request.metric


def metric_value(errors: dict[str, float], metric: str) -> float:
    return errors["rms_error"] if metric == "rms" else errors["relative_mean_error"]


def run_budget(request: BudgetRequest, progress: Progress | None = None) -> dict[str, Any]:
    """Predict the budget, emulate it where asked or affordable, and bound it (see the module doc)."""
    session = session_for(request)
    array = session.hardware.tile(TILE).array(ARRAY)
    check_budgetable(array, request.metric)
    metric, choice = resolve_metric(array, request.metric)
    requested, request = request.metric, dataclasses.replace(request, metric=metric)
    start = apply_initial_state(array, request.w_init)
    initial = array.g.astype(np.float64).copy()
    predictor = ZeroShiftPredictor(array, request.method, request.io, request.reads, seed=request.seed)
    predicted = prediction(request, predictor)
    result = _header(request, start)
    result.update(metric_requested=requested, metric_choice=choice)
    result["predicted"] = predicted
    result["predicted_pulses_per_cell"] = predicted["pulses_per_cell"]
    steps = predicted["pulses_per_cell"]
    affordable = request.emulate_max_cell_pulses is None or (
        steps is not None and steps * request.rows * request.cols <= request.emulate_max_cell_pulses)
    if request.predict_only or not affordable:
        curve = predicted_curve(predictor, steps or predictor.horizon()) if request.predicted_curve else []
        result.update(mode="predicted", **priced_calibration(request, session, steps or request.max_pulses))
    else:
        measured, curve = _emulate(request, session, predictor, steps, progress)
        result.update(mode="emulated", **measured)
        result["agreement"] = agreement(predictor, curve, predicted, measured)
    budget = result["pulses_per_cell"] if result["mode"] == "emulated" else steps
    result.update(theory_columns(request, array, initial, predictor.sp_mean, budget))
    at = result.get("instance_at_budget")
    if at is not None and result["mode"] == "emulated" and curve[-1]["pulses"] == budget:
        # What the bound certifies beside what the emulation reached (iterate RMS, before the read).
        at["emulated_iterate_rms_error"] = curve[-1]["iterate_rms_error"]
        at["ratio_to_emulated"] = at["iterate_rms_error"] / curve[-1]["iterate_rms_error"]
    result["curve"] = curve
    return result


def prediction(request: BudgetRequest, predictor: ZeroShiftPredictor) -> dict[str, Any]:
    """The predicted budget: pulses after which a chip in its typical state meets the target after
    the read with the requested confidence (not capped) and their chip-to-chip spread, the
    summaries there (or at the horizon, the floor, when it is out of reach), and clipping."""
    metric = resolved_metric(request)
    steps = predictor.pulses_to_target(request.target_error, metric, request.confidence)
    at = steps if steps is not None else max(predictor.horizon(), predictor.period)
    summary = predictor.summary(at, request.target_error, metric)
    spread = predictor.pulses_spread(steps, request.target_error, metric) if steps is not None else None
    clipping = predictor.clipping(at)
    matters = clipping.matters(request.target_error, metric, predictor.sp_mean)
    return {"pulses_per_cell": steps, "pulses_spread": spread, "reached": steps is not None, "at_pulses": at,
            "model": predictor.model, "exact": predictor.exact and not matters, "read_regime": predictor.read_regime,
            **{key: value for key, value in summary.items() if key != "pulses"},
            "clipping": clipping.as_dict(), "clipping_matters": matters,
            "adc_saturation_possible": predictor.read_saturation(at)}


def predicted_curve(predictor: ZeroShiftPredictor, last: int, points: int = 30) -> list[dict[str, Any]]:
    """The predicted error curve on a log grid up to `last` (whole cycles for cyclic ZS)."""
    period = predictor.period
    grid = sorted({int(n) - int(n) % period for n in np.geomspace(period, max(last, period), points)} - {0})
    return [{"pulses": n, **{f"predicted_{key}": value for key, value in predictor.summary(n).items()
                             if key != "pulses"}} for n in grid]


def _checkpoints(request: BudgetRequest, period: int, predicted: int | None) -> list[int]:
    """Evenly spaced checkpoints up to the cap, and a dense run around the predicted budget."""
    cap = request.max_pulses - request.max_pulses % period
    stride = max(period, cap // max(1, request.checkpoints))
    stride -= stride % period
    marks = set(range(stride, cap + 1, stride)) | {cap}
    if predicted is not None:
        low, high = predicted * (1 - _DENSE_WINDOW), predicted * (1 + _DENSE_WINDOW)
        step = max(period, int((high - low) / _DENSE_POINTS))
        step -= step % period
        marks |= {int(n) - int(n) % period for n in np.arange(low, high + step, step)}
    return sorted(n for n in marks if 0 < n <= cap)


def _emulate(request: BudgetRequest, session: Session, predictor: ZeroShiftPredictor, predicted: int | None,
             progress: Progress | None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The one calibration pass: pulses until the truth says the k-read would meet the target with
    the requested confidence (or the cap), then the real k-read and the reference."""
    hardware = session.hardware
    array = hardware.tile(TILE).array(ARRAY)
    sp, reference = predictor.sp, predictor.reference
    rows: list[dict[str, Any]] = []
    stop = {"met": False}

    def probe(hardware: Any, label: str, step: int, state: Any) -> None:
        g = array.g.astype(np.float64).reshape(-1)
        error = g - sp
        mean, variance = residual_moments(g - reference, predictor.write_variance, sp - reference, request.io,
                                          request.reads, array.shape)
        expected = error_summary(mean, variance, predictor.sp_mean, request.target_error, resolved_metric(request))
        rows.append({"pulses": step, "iterate_rms_error": math.sqrt(float(np.mean(error * error))),
                     "iterate_mean_error": float(np.mean(error)), "rms_error": expected["rms_error"],
                     "relative_mean_error": expected["relative_mean_error"],
                     "probability_met": expected["probability_met"]})
        stop["met"] = expected["probability_met"] >= request.confidence

    session.probe(probe)
    session.controller.progress_callback = progress
    marks = _checkpoints(request, predictor.period, predicted)

    def calibrate(ctl: Controller) -> Any:
        yield SetPhase("calibration")
        cap = request.max_pulses - request.max_pulses % predictor.period  # whole cycles
        steps = yield from zero_shift_pulses(ctl, TILE, ARRAY, cap, request.method, marks, until=lambda: stop["met"])
        estimate = yield from store_reference(ctl, TILE, ARRAY, request.reads)
        return steps, estimate

    steps, estimate = session.run(calibrate).result
    errors = residual_error(hardware, TILE, ARRAY, estimate)
    counters = hardware.recorder.summary()
    reached = metric_value(errors, request.metric) <= request.target_error
    read = counters["reads"].get(f"{TILE}/{ARRAY}|calibration", {"mvms": 0, "conversions": 0})
    measured = {
        "reached": bool(reached), "outcome": _outcome(request, reached, stop["met"], rows),
        "stopped_at_target": stop["met"],
        "pulses_per_cell": int(steps), "total_pulses": int(counters["total_pulses"]), "mvms": int(read["mvms"]),
        "conversions": int(read["conversions"]), "latency_ns": counters["latency_ns"],
        "energy_pj": counters["energy_pj"]["total"], "energy_by_category_pj": counters["energy_pj"]["by_category"],
        **{key: errors[key] for key in ("rms_error", "mean_error", "std_error", "max_error", "relative_mean_error",
                                         "symmetric_point_mean", "symmetric_point_std")},
    }
    return measured, rows


def _outcome(request: BudgetRequest, reached: bool, met: bool, rows: list[dict[str, Any]]) -> str:
    if reached:
        return "reached" if met else f"reached by the read at the cap of {request.max_pulses} pulses"
    if not met:
        return f"not reached within the cap of {request.max_pulses} pulses"
    chance = rows[-1]["probability_met"] if rows else math.nan
    return (f"not reached: the state met the target with probability {chance:.3f} after the read, and this "
            "read missed it (read noise; average more reads, or ask for a higher --confidence)")


def agreement(predictor: ZeroShiftPredictor, rows: list[dict[str, Any]], predicted: dict[str, Any],
              measured: dict[str, Any]) -> dict[str, Any]:
    """The prediction beside the emulation: predicted columns on up to `_COMPARED` checkpoints of
    the curve, z-scores of the measured iterate mean and mean square against the predicted ones (in
    the predicted standard errors of a mean over the cells), and the two budgets."""
    if not rows:
        return {}
    indices = sorted({int(i) for i in np.geomspace(1, len(rows), _COMPARED) - 1} | {len(rows) - 1})
    z_mean, z_square = [], []
    for index in indices:
        row = rows[index]
        stats = predictor.iterate_statistics(row["pulses"])
        summary = predictor.summary(row["pulses"])
        row.update({f"predicted_{key}": summary[key] for key in
                    ("rms_error", "relative_mean_error", "iterate_rms_error", "iterate_mean_error")})
        row["z_iterate_mean_error"] = (row["iterate_mean_error"] - stats["mean_error"]) / stats["mean_error_se"] \
            if stats["mean_error_se"] > 0 else 0.0
        measured_square = row["iterate_rms_error"] ** 2
        row["z_iterate_mean_square"] = (measured_square - stats["mean_square"]) / stats["mean_square_se"] \
            if stats["mean_square_se"] > 0 else 0.0
        z_mean.append(abs(row["z_iterate_mean_error"]))
        z_square.append(abs(row["z_iterate_mean_square"]))
    steps, spread = predicted["pulses_per_cell"], predicted["pulses_spread"]
    compared = steps is not None and measured["stopped_at_target"]
    difference = steps - measured["pulses_per_cell"] if compared else None
    return {"checkpoints_compared": len(indices), "max_abs_z_mean_error": max(z_mean),
            "max_abs_z_mean_square": max(z_square),
            "pulses_relative_difference": difference / measured["pulses_per_cell"] if difference is not None else None,
            "pulses_difference_in_spreads": difference / spread if difference is not None and spread else None,
            "checkpoint_resolution": _resolution(rows, measured["pulses_per_cell"])}


def _resolution(rows: list[dict[str, Any]], steps: int) -> int:
    """Pulses between the checkpoint the emulation stopped at and the one before it."""
    pulses = [row["pulses"] for row in rows]
    return steps - max([n for n in pulses if n < steps], default=0)


def priced_calibration(request: BudgetRequest, session: Session, steps: int) -> dict[str, Any]:
    """Pulses, reads, latency and energy of a calibration of `steps` steps and k reads, priced by
    running the real program on the emulated tile for one period (pulses, read, reference), then one
    period more, and extrapolating: every step of a ZS program costs the same (stochastic: two
    slots while the tile has cells of both signs, i.e. almost surely beyond a few cells). Uses the
    session's hardware (its state is not needed after the prediction)."""
    period = 1 if request.method == "stochastic" else 2

    def calibrate(ctl: Controller) -> Any:
        yield SetPhase("calibration")
        yield from zero_shift_pulses(ctl, TILE, ARRAY, period, request.method)
        yield from store_reference(ctl, TILE, ARRAY, request.reads)

    def more(ctl: Controller) -> Any:
        yield SetPhase("calibration")
        yield from zero_shift_pulses(ctl, TILE, ARRAY, period, request.method)

    session.run(calibrate)
    first = session.hardware.recorder.summary()
    session.run(more)
    second = session.hardware.recorder.summary()
    per_step = {"latency": (second["latency_ns"] - first["latency_ns"]) / period,
                "energy": (second["energy_pj"]["total"] - first["energy_pj"]["total"]) / period}
    read = first["reads"].get(f"{TILE}/{ARRAY}|calibration", {"mvms": 0, "conversions": 0})
    return {"pulses_per_cell": steps, "total_pulses": steps * request.rows * request.cols,
            "mvms": int(read["mvms"]), "conversions": int(read["conversions"]),
            "latency_ns": first["latency_ns"] + (steps - period) * per_step["latency"],
            "energy_pj": first["energy_pj"]["total"] + (steps - period) * per_step["energy"]}


def _header(request: BudgetRequest, start: str) -> dict[str, Any]:
    return {"device": request.device_name, "model": request.device.model,  # type: ignore[attr-defined]
            "dw_min": request.device.dw_min, "rows": request.rows, "cols": request.cols, "method": request.method,
            "metric": request.metric, "target_error": request.target_error, "confidence": request.confidence,
            "seed": request.seed, "cost_model": request.costs.name, "start": start,
            "reads_per_cell": request.reads, "cells": request.rows * request.cols,
            "read_noise_floor": request.io.out_noise / math.sqrt(request.reads) if not request.io.is_perfect else 0.0,
            "write_noise_floor": request.device.write_noise_std * request.device.dw_min}
