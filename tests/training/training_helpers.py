"""Helpers for training tests: scenario documents for small workloads and running them."""

from __future__ import annotations

from typing import Any

from emulator.runner import RunResult, run_scenario
from emulator.scenario import validate_document
from emulator.workloads import training_hardware
from emulator.workloads.problems import DigitsParams, LeastSquaresParams

ARRAYS = {
    "train_sgd": ("W",), "train_digital_sgd": (), "train_ttv1": ("W", "P"), "train_ttv2": ("W", "P"),
    "train_cttv2": ("W", "P"), "train_agad": ("W", "P"), "train_residual": ("W", "P"),
    "train_rider": ("W", "P"), "train_erider": ("W", "P", "Qt"),
}


def asym_linear(symmetric_point: float = 0.0, dw_min: float = 1e-3, tau: float = 3.5, **extra: Any) -> dict[str, Any]:
    """[W24] asymmetric linear device on [−1, 1] with its SP at `symmetric_point`."""
    return {"device": {"model": "AsymmetricLinear", "tau": tau, "symmetric_point": symmetric_point,
                       "dw_min": dw_min, "w_max": 1.0, "w_min": -1.0, **extra}}


def least_squares_document(program: str, params: dict[str, Any], fast_sp: float = 0.0, seed: int = 0,
                           workload: dict[str, Any] | None = None, dw_min: float = 0.01,
                           perfect: bool = False, fast_device: dict[str, Any] | None = None) -> dict[str, Any]:
    """A least-squares scenario; W's device is symmetric, P's (and R/Qt's) SP is `fast_sp`.

    `fast_device` adds device fields to P only (e.g. its reset state).
    """
    wl = {"kind": "least_squares", "inputs": 10, "rows": 4, "samples": 200, **(workload or {})}
    arrays = {name: asym_linear(0.0 if name == "W" else fast_sp, dw_min,
                                **(fast_device or {} if name == "P" else {}))
              for name in ARRAYS[program]}
    io = {"is_perfect": True} if perfect else None
    hardware = training_hardware(LeastSquaresParams(**{k: v for k, v in wl.items() if k != "kind"}),
                                 arrays, io=io)
    if not arrays:  # the floating-point reference needs no tiles
        hardware["tiles"] = {}
    return {"name": "ls_test", "seed": seed, "hardware": hardware,
            "program": {"name": program, "params": {"workload": wl, **params}}}


def digits_document(program: str, params: dict[str, Any], reference_mean: float = 0.0,
                    reference_std: float = 0.05, seed: int = 0, hidden: list[int] | None = None,
                    device: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ReRamSB digits setting (reference offset on the fast array only); `device` replaces
    the preset by a full SoftBoundsReference-style config (same offsets)."""
    wl = {"kind": "digits", "hidden": hidden or [32]}
    if device is None:
        base = {"preset": "ReRamSB", "overrides": {"subtract_symmetry_point": True}}
        fast = {"preset": "ReRamSB", "overrides": {"subtract_symmetry_point": True,
                                                   "reference_mean": reference_mean, "reference_std": reference_std}}
    else:
        base = {"device": {**device, "subtract_symmetry_point": True}}
        fast = {"device": {**device, "subtract_symmetry_point": True,
                           "reference_mean": reference_mean, "reference_std": reference_std}}
    arrays = {name: (fast if name == "P" else base) for name in ARRAYS[program]}
    hardware = training_hardware(DigitsParams(hidden=hidden or [32]), arrays)
    if not arrays:
        hardware["tiles"] = {}
    return {"name": "digits_test", "seed": seed, "hardware": hardware,
            "program": {"name": program, "params": {"workload": wl, **params}}}


def run_document(document: dict[str, Any]) -> RunResult:
    return run_scenario(validate_document(document))


def metric_series(run: RunResult, name: str) -> list[float]:
    """Values of one recorded metric in time order."""
    return [value for _, _, _, metric, value in run.recorder.metrics if metric == name]
