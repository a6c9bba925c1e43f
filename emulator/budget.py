"""Calibration pulse budget: how many pulses, reads, how long and how much energy until the
zero-shifting residual SP error reaches a target on a given device, tile, read path and cost model.

Two runs with the same seed: a scan run calibrates with checkpoints and, at each, lets the
harness estimate the error a final k-read would give (truth-side, from the run's ground-truth
stream, not counted), stopping once the target is met; then a fresh run does exactly that calibration end to end (N steps, k reads,
reference stored) and its recorder gives the reported pulses, conversions, latency and energy.
The theory bound of SPEC §5 for the same device is reported beside the measurement.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Literal

from typing import Annotated

import numpy as np
from pydantic import BaseModel, Field, ValidationError, model_validator

from devices.inputs import INPUT_CONFIG, FieldError
from devices import PulsedDeviceConfig
from emulator.algorithms.calibration import residual_error, zero_shift
from emulator.hardware import (
    Controller,
    Hardware,
    HardwareCosts,
    IOParameters,
    TileSpec,
    get_cost_model,
)
from emulator import DEFAULT_COST_MODEL
from emulator.hardware import HardwareSpec
from emulator.session import Session
from emulator.scenario import RUN_NAME_PATTERN, ArraySpec, ScenarioError, apply_overrides, problems_of, read_document
from emulator.hardware.read_path import read_every_cell
from emulator.theory import response_constants, zero_shift_bound

Metric = Literal["rms", "relative-mean"]
_TILE, _ARRAY = "t0", "W"
_RETRIES = 5


class BudgetRefused(Exception):
    """The device cannot be budgeted (no symmetric point, or the metric is undefined for it)."""


@dataclass
class BudgetRequest:
    """What to budget."""

    device_name: str
    device: PulsedDeviceConfig
    rows: int = 512
    cols: int = 512
    target_error: float = 0.01
    metric: Metric = "relative-mean"
    method: Literal["stochastic", "cyclic"] = "stochastic"
    reads: int = 1
    max_pulses: int = 20_000
    seed: int = 0
    costs: HardwareCosts = field(default_factory=HardwareCosts)
    io: IOParameters = field(default_factory=IOParameters)
    checkpoints: int = 100


def _metric_value(errors: dict[str, float], metric: Metric) -> float:
    return errors["rms_error"] if metric == "rms" else errors["relative_mean_error"]


def _session(request: BudgetRequest) -> Session:
    tiles = {_TILE: TileSpec(request.rows, request.cols, {_ARRAY: request.device}, request.io)}
    return Session(HardwareSpec(tiles, request.costs), request.seed)


def _check_budgetable(hardware: Hardware, metric: Metric) -> None:
    array = hardware.tile(_TILE).array(_ARRAY)
    interior = float(np.mean(array.sp_interior))
    if interior < 0.5:
        raise BudgetRefused(
            f"device has no symmetric point for {100 * (1 - interior):.0f}% of cells "
            f"({array.config.model} drifts to a bound under random pulses): zero-shifting cannot calibrate it")  # type: ignore[attr-defined]
    if metric == "relative-mean":
        sp = array.visible_symmetric_point()
        resolution = float(np.std(sp)) / math.sqrt(sp.size) * 10 + 1e-12
        if abs(float(np.mean(sp))) <= max(resolution, 1e-4 * array.config.dw_min):
            raise BudgetRefused(
                f"mean symmetric point is {float(np.mean(sp)):.3g}, indistinguishable from 0: the relative error "
                "of the mean SP is undefined for this device; use --metric rms, or give the device an "
                "offset (e.g. up_down or reference_mean)")


def _simulated_read(array_weights: np.ndarray, io: IOParameters, reads: int, rng: np.random.Generator) -> np.ndarray:
    total = np.zeros(array_weights.shape, dtype=np.float64)
    for _ in range(reads):
        total += read_every_cell(array_weights, io, rng).values.T
    return total / reads


def _scan_steps(request: BudgetRequest, progress: Callable[[int, int], None] | None) -> tuple[int | None, list[dict[str, float]]]:
    """Steps at which the target is first met (None if not within max_pulses) and the error curve."""
    session = _session(request)
    hardware = session.hardware
    _check_budgetable(hardware, request.metric)
    array = hardware.tile(_TILE).array(_ARRAY)
    truth_rng = np.random.default_rng(hardware.streams.truth)
    stride = max(1, request.max_pulses // max(1, request.checkpoints))
    marks = sorted(set(range(stride, request.max_pulses + 1, stride)) | {request.max_pulses})
    curve: list[dict[str, float]] = []

    def probe(hardware: Hardware, label: str, step: int, state: Any) -> None:
        # Truth-side read: write noise from the harness's own stream, so the device's noise
        # stream (and so the trajectory) is exactly the one the reported run will replay.
        weights = array.g - array.reference
        write_noise = array.config.write_noise_std * array.config.dw_min
        if write_noise > 0:
            weights = weights + write_noise * truth_rng.standard_normal(weights.shape, dtype=weights.dtype)
        estimate = _simulated_read(weights, request.io, request.reads, truth_rng)
        errors = residual_error(hardware, _TILE, _ARRAY, estimate)
        curve.append({"pulses": step, "rms_error": errors["rms_error"], "mean_error": errors["mean_error"],
                      "relative_mean_error": errors["relative_mean_error"],
                      "iterate_rms_error": float(np.sqrt(np.mean((array.g - array.symmetric_point()) ** 2)))})
        if progress is not None:
            progress(step, request.max_pulses)

    session.probe(probe)
    session.stop_when(lambda label, step, values: _metric_value(curve[-1], request.metric) <= request.target_error)

    def scan(ctl: Controller) -> Any:
        yield from zero_shift(ctl, _TILE, _ARRAY, request.max_pulses, request.method, request.reads,
                              checkpoints=marks)

    outcome = session.run(scan)
    return (outcome.stopped_at.step if outcome.stopped_at is not None else None), curve


def _calibrate(request: BudgetRequest, steps: int) -> tuple[dict[str, float], dict[str, Any]]:
    """The reported calibration: exactly `steps` ZS steps, k reads, digital reference."""
    session = _session(request)

    def calibrate(ctl: Controller) -> Any:
        return (yield from zero_shift(ctl, _TILE, _ARRAY, steps, request.method, request.reads))

    estimate = session.run(calibrate).result
    return residual_error(session.hardware, _TILE, _ARRAY, estimate), session.hardware.recorder.summary()


def _theory_columns(request: BudgetRequest) -> dict[str, Any]:
    """The SPEC §5 bound for the request's device: pulses to the target, the error floor, the constants."""
    array = _session(request).hardware.tile(_TILE).array(_ARRAY)
    constants = response_constants(array)
    bound = zero_shift_bound(constants, request.method)
    sp = array.visible_symmetric_point()
    initial_error = array.g.astype(np.float64) - array.symmetric_point()
    initial_ms = float(np.mean(initial_error ** 2))
    if request.metric == "rms":
        steps = bound.steps_for(request.target_error ** 2, initial_ms)
    else:  # the mean over independent cells: same contraction, floor divided by the cell count
        target_ms = (request.target_error * abs(float(np.mean(sp)))) ** 2
        steps = bound.for_mean_over(array.size).steps_for(target_ms, float(np.mean(initial_error)) ** 2)
    return {"pulses": steps if math.isfinite(steps) else None,
            "error_floor": math.sqrt(bound.floor_delta_min) if math.isfinite(bound.floor_delta_min) else None,
            "constants": constants.as_dict(), "initial_rms_error": math.sqrt(initial_ms)}


def _outcome(request: BudgetRequest, reached: bool, reached_at: int | None, steps: int) -> str:
    if reached:
        return "reached"
    if reached_at is None:
        return f"not reached within the cap of {request.max_pulses} pulses"
    return (f"not reached: the scan first met the target at {reached_at} pulses, but the reported "
            f"calibrations up to {steps} pulses missed it (read noise makes single calibrations vary; "
            "average more reads)")


def run_budget(request: BudgetRequest, progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Measure the calibration budget and put the theory prediction beside it."""
    reached_at, curve = _scan_steps(request, progress)
    steps = int(reached_at or request.max_pulses)
    errors, counters = _calibrate(request, steps)
    # The reported run's read is a fresh noise draw: if it misses, step on to the next checkpoints.
    stride = max(1, request.max_pulses // max(1, request.checkpoints))
    for _ in range(_RETRIES):
        if _metric_value(errors, request.metric) <= request.target_error or steps >= request.max_pulses:
            break
        steps = min(steps + stride, request.max_pulses)
        errors, counters = _calibrate(request, steps)
    reached = _metric_value(errors, request.metric) <= request.target_error
    outcome = _outcome(request, reached, reached_at, steps)

    theory = _theory_columns(request)
    read_noise_floor = request.io.out_noise / math.sqrt(request.reads) if not request.io.is_perfect else 0.0
    read = counters["reads"].get(f"{_TILE}/{_ARRAY}|calibration", {"mvms": 0, "conversions": 0})
    cells = request.rows * request.cols
    return {
        "device": request.device_name,
        "model": request.device.model,  # type: ignore[attr-defined]
        "dw_min": request.device.dw_min,
        "rows": request.rows,
        "cols": request.cols,
        "method": request.method,
        "metric": request.metric,
        "target_error": request.target_error,
        "seed": request.seed,
        "cost_model": request.costs.name,
        "reached": bool(reached),
        "outcome": outcome,
        "scan_reached_at": reached_at,
        "pulses_per_cell": steps,
        "total_pulses": int(counters["total_pulses"]),
        "reads_per_cell": request.reads,
        "mvms": int(read["mvms"]),
        "conversions": int(read["conversions"]),
        "latency_ns": counters["latency_ns"],
        "energy_pj": counters["energy_pj"]["total"],
        "energy_by_category_pj": counters["energy_pj"]["by_category"],
        "rms_error": errors["rms_error"],
        "mean_error": errors["mean_error"],
        "std_error": errors["std_error"],
        "max_error": errors["max_error"],
        "relative_mean_error": errors["relative_mean_error"],
        "symmetric_point_mean": errors["symmetric_point_mean"],
        "symmetric_point_std": errors["symmetric_point_std"],
        "theory_pulses": theory["pulses"],
        "theory_error_floor": theory["error_floor"],
        "theory_constants": theory["constants"],
        "read_noise_floor": read_noise_floor,
        "write_noise_floor": request.device.write_noise_std * request.device.dw_min,
        "initial_rms_error": theory["initial_rms_error"],
        "cells": cells,
        "curve": curve,
    }


class BudgetConfig(BaseModel):
    """A budget study in a file (`aimc budget --config FILE`), optionally swept over a device field."""

    model_config = INPUT_CONFIG

    name: Annotated[str, Field(pattern=RUN_NAME_PATTERN, max_length=120)] = "budget"
    description: str = ""
    device: ArraySpec
    """The device: {preset = "...", overrides = {...}} or {device = {model = "...", ...}}."""
    rows: Annotated[int, Field(gt=0, le=65536)] = 512
    cols: Annotated[int, Field(gt=0, le=65536)] = 512
    target_error: Annotated[float, Field(gt=0)] = 0.01
    metric: Metric = "relative-mean"
    method: Literal["stochastic", "cyclic"] = "stochastic"
    reads: Annotated[int, Field(gt=0, le=10_000)] = 1
    max_pulses: Annotated[int, Field(gt=0, le=10_000_000)] = 20_000
    checkpoints: Annotated[int, Field(gt=0, le=10_000)] = 100
    cost_model: str = DEFAULT_COST_MODEL
    perfect_reads: bool = False
    """Ideal reads: isolates the zero-shifting error from ADC noise and quantization."""
    seed: Annotated[int, Field(ge=0)] = 0
    sweep_field: str | None = None
    """Device field to sweep (e.g. "states" or "dw_min"); one budget per value."""
    sweep_values: list[float] = Field(default_factory=list)
    scale_max_pulses: bool = False
    """With a sweep: scale max_pulses by dw_min(first value)/dw_min(value), so finer devices get room."""

    @model_validator(mode="after")
    def _sweep_consistent(self) -> "BudgetConfig":
        if (self.sweep_field is None) != (not self.sweep_values):
            raise FieldError("sweep_values" if self.sweep_field else "sweep_field",
                             "give both sweep_field and sweep_values, or neither")
        try:
            get_cost_model(self.cost_model)
        except KeyError as error:
            raise FieldError("cost_model", error.args[0]) from None
        self._check_sweep()
        return self

    def _check_sweep(self) -> None:
        """Every sweep value must give a valid device (the field must exist on its model)."""
        if self.sweep_field is None:
            return
        base = self.device.resolve()
        if self.sweep_field not in type(base).model_fields and self.sweep_field != "states":
            raise FieldError("sweep_field", f"device model {base.model} has no field {self.sweep_field!r}")  # type: ignore[attr-defined]
        for index, value in enumerate(self.sweep_values):
            try:
                self.device_for(value)
            except ValidationError as error:
                reason = "; ".join(message for _, message in problems_of(error))
                raise FieldError(f"sweep_values.{index}", f"{self.sweep_field} = {value:g}: {reason}") from None

    def device_for(self, value: float | None) -> PulsedDeviceConfig:
        base = self.device.resolve()
        if value is None or self.sweep_field is None:
            return base
        return type(base).model_validate({**base.model_dump(exclude={"states"} if self.sweep_field == "dw_min" else set()),
                                          self.sweep_field: value})

    def requests(self) -> list[tuple[float | None, BudgetRequest]]:
        """One request per sweep value (or a single one)."""
        values: list[float | None] = list(self.sweep_values) or [None]
        first_dw = self.device_for(values[0]).dw_min
        requests = []
        for value in values:
            device = self.device_for(value)
            cap = self.max_pulses
            if self.scale_max_pulses:
                cap = int(math.ceil(self.max_pulses * first_dw / device.dw_min))
            label = self.device.preset or device.model  # type: ignore[attr-defined]
            if value is not None:
                label = f"{label}:{self.sweep_field}={value:g}"
            requests.append((value, BudgetRequest(
                label, device, self.rows, self.cols, self.target_error, self.metric, self.method, self.reads,
                cap, self.seed, get_cost_model(self.cost_model), IOParameters(is_perfect=self.perfect_reads),
                self.checkpoints)))
        return requests


def load_budget_config(path: str, overrides: list[str] | None = None) -> BudgetConfig:
    """Read and validate a budget study file (TOML/YAML); errors name the field."""
    document = apply_overrides(read_document(path), overrides or [])
    try:
        return BudgetConfig.model_validate(document)
    except ValidationError as error:
        raise ScenarioError(problems_of(error)) from None


def scaling_exponent(rows: list[dict[str, Any]]) -> float | None:
    """Fitted log-log slope of pulses per cell vs dw_min over the reached rows (≈ −1 expected)."""
    points = [(row["dw_min"], row["pulses_per_cell"]) for row in rows if row["reached"] and row["pulses_per_cell"] > 0]
    if len(points) < 2:
        return None
    dw, pulses = np.log(np.array(points, dtype=np.float64)).T
    return float(np.polyfit(dw, pulses, 1)[0])
