"""The two bounds a budget reports beside the prediction and the measurement (SPEC §5), both on the
iterate (the read path is the prediction's business):

- **worst-case** (theory_*): the paper's last-iterate bounds with μ_q, L_q, q_max over every cell
  and the whole range (emulator/theory.py);
- **instance** (instance_*): the same argument per cell with each cell's own constants, averaged
  over the cells (emulator/instance_bounds.py): what the bound certifies for this very tile.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from devices import DeviceArray
from emulator.budget._request import BudgetRequest
from emulator.instance_bounds import InstanceBound, cell_constants
from emulator.theory import response_constants, zero_shift_bound

#: How far the instance bound's search for pulses looks.
_SEARCH_LIMIT = 10 ** 10


def theory_columns(request: BudgetRequest, array: DeviceArray, initial: np.ndarray, sp_mean: float,
                   budget: int | None) -> dict[str, Any]:
    """Worst-case and instance bounds for the request's device from the start state `initial` (g):
    pulses that certify the target, floors, and what the instance bound certifies at `budget` steps."""
    prm = array.cell_parameters()
    active = (np.asarray(prm["b_max"]) > np.asarray(prm["b_min"])).reshape(-1)
    start_error = (initial.reshape(-1) - array.symmetric_point().reshape(-1))[active]
    return {**_worst_case(request, array, start_error, sp_mean), **_instance(request, array, start_error, sp_mean, budget)}


def _worst_case(request: BudgetRequest, array: DeviceArray, start_error: np.ndarray, sp_mean: float) -> dict[str, Any]:
    constants = response_constants(array)
    bound = zero_shift_bound(constants, request.method)
    initial_ms = float(np.mean(start_error ** 2))
    if request.metric == "rms":
        steps = bound.steps_for(request.target_error ** 2, initial_ms)
    else:  # the mean over independent cells: same contraction, floor divided by the cell count
        target_ms = (request.target_error * abs(sp_mean)) ** 2
        steps = bound.for_mean_over(start_error.size).steps_for(target_ms, float(np.mean(start_error)) ** 2)
    return {"theory_pulses": steps if math.isfinite(steps) else None,
            "theory_error_floor": math.sqrt(bound.floor_delta_min) if math.isfinite(bound.floor_delta_min) else None,
            "theory_constants": constants.as_dict(), "initial_rms_error": math.sqrt(initial_ms)}


def _instance(request: BudgetRequest, array: DeviceArray, start_error: np.ndarray, sp_mean: float,
              budget: int | None) -> dict[str, Any]:
    bound = InstanceBound(cell_constants(array), start_error, request.method)
    if not bound.valid:
        return {"instance_valid": False, "instance_pulses": None, "instance_error_floor": None}
    far = _SEARCH_LIMIT - _SEARCH_LIMIT % 2
    columns: dict[str, Any] = {
        "instance_valid": True,
        "instance_pulses": bound.steps_for(request.target_error, request.metric, sp_mean, _SEARCH_LIMIT),
        "instance_error_floor": math.sqrt(bound.mean_square(far)),
        "instance_relative_mean_floor": bound.relative_mean(far, sp_mean)}
    if budget is not None:
        columns["instance_at_budget"] = {"pulses": budget, "iterate_rms_error": math.sqrt(bound.mean_square(budget)),
                                         "iterate_relative_mean_error": bound.relative_mean(budget, sp_mean)}
    return columns
