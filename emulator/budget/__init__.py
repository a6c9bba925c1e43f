"""Calibration pulse budgets (`aimc budget`): how many pulses, reads, how long and how much energy
until zero-shifting reaches a target SP error on a given device, tile, read path and cost model —
predicted exactly (emulator/prediction.py), emulated in one pass where asked or affordable, and
bounded (the paper's worst case and the instance bound)."""

from emulator.budget._request import BudgetRefused, BudgetRequest, Metric, apply_initial_state, parse_initial_state, \
    resolve_metric
from emulator.budget._run import prediction, run_budget
from emulator.budget._study import BudgetConfig, load_budget_config, scaling_exponent

__all__ = ["BudgetConfig", "BudgetRefused", "BudgetRequest", "Metric", "apply_initial_state", "load_budget_config",
           "parse_initial_state", "prediction", "resolve_metric", "run_budget", "scaling_exponent"]
