"""Budget studies in a file (`aimc budget --config FILE`): one budget, or one per value of a swept
device field, emulated where affordable and predicted everywhere; the fitted N ∝ Δw_min^slope."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from devices import PulsedDeviceConfig
from devices.inputs import INPUT_CONFIG, FieldError
from emulator import DEFAULT_COST_MODEL
from emulator.budget._request import BudgetRequest, Metric, check_initial_shape, parse_initial_state
from emulator.hardware import IOParameters, get_cost_model
from emulator.scenario import RUN_NAME_PATTERN, ArraySpec, ScenarioError, apply_overrides, problems_of, read_document


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
    metric: Metric = "auto"
    """rms, relative-mean, or auto: relative-mean where the mean SP is away from 0, else rms."""
    method: Literal["stochastic", "cyclic"] = "stochastic"
    reads: Annotated[int, Field(gt=0, le=10_000)] = 1
    max_pulses: Annotated[int, Field(gt=0, le=10_000_000)] = 20_000
    """Cap on the emulated ZS steps per budget (the prediction is not capped)."""
    checkpoints: Annotated[int, Field(gt=0, le=10_000)] = 100
    confidence: Annotated[float, Field(gt=0, lt=1)] = 0.95
    """Probability with which the k-read must meet the target after the budgeted pulses."""
    w_init: str | None = None
    """Start state: absent (as built), "reset", a visible weight, "sp", "sp+δ", or a .npy file."""
    cost_model: str = DEFAULT_COST_MODEL
    perfect_reads: bool = False
    """Ideal reads: isolates the zero-shifting error from ADC noise and quantization."""
    seed: Annotated[int, Field(ge=0)] = 0
    predict_only: bool = False
    """Only predict (and bound); emulate nothing."""
    emulate_max_cell_pulses: Annotated[float, Field(gt=0)] | None = None
    """Emulate a budget only if its predicted pulses × cells stay below this (the rest are predicted)."""
    sweep_field: str | None = None
    """Device field to sweep (e.g. "states" or "dw_min"); one budget per value."""
    sweep_values: list[float] = Field(default_factory=list)
    scale_max_pulses: bool = False
    """With a sweep: scale max_pulses by dw_min(first value)/dw_min(value), so finer devices get room."""

    @field_validator("w_init")
    @classmethod
    def _valid_start(cls, value: str | None) -> str | None:
        parse_initial_state(value)
        return value

    @model_validator(mode="after")
    def _sweep_consistent(self) -> "BudgetConfig":
        if (self.sweep_field is None) != (not self.sweep_values):
            raise FieldError("sweep_values" if self.sweep_field else "sweep_field",
                             "give both sweep_field and sweep_values, or neither")
        try:
            get_cost_model(self.cost_model)
        except KeyError as error:
            raise FieldError("cost_model", error.args[0]) from None
        try:
            check_initial_shape(self.w_init, self.rows, self.cols)
        except ValueError as error:
            raise FieldError("w_init", str(error)) from None
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
                self.checkpoints, self.confidence, self.w_init, self.predict_only, self.emulate_max_cell_pulses)))
        return requests


def load_budget_config(path: str, overrides: list[str] | None = None) -> BudgetConfig:
    """Read and validate a budget study file (TOML/YAML); errors name the field."""
    document = apply_overrides(read_document(path), overrides or [])
    try:
        return BudgetConfig.model_validate(document)
    except ValidationError as error:
        raise ScenarioError(problems_of(error)) from None


def scaling_exponent(rows: list[dict[str, Any]], key: str = "pulses_per_cell") -> float | None:
    """Fitted log-log slope of pulses per cell vs dw_min over the rows that reached the target
    (≈ −1 expected); `key` "predicted_pulses_per_cell" fits the predictions instead."""
    points = [(row["dw_min"], row[key]) for row in rows
              if row.get(key) and (key != "pulses_per_cell" or row.get("reached"))]
    if len(points) < 2:
        return None
    dw, pulses = np.log(np.array(points, dtype=np.float64)).T
    return float(np.polyfit(dw, pulses, 1)[0])
