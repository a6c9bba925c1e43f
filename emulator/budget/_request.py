"""What a budget asks for (`BudgetRequest`), the states it may start from, and which devices it refuses."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from devices import DeviceArray, PulsedDeviceConfig
from emulator.hardware import HardwareCosts, IOParameters

Metric = Literal["auto", "rms", "relative-mean"]
"""`auto` (the default) resolves to `relative-mean` where the mean SP is away from 0 and to `rms`
otherwise (`resolve_metric`); the prediction and the result only ever see the resolved one."""


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
    metric: Metric = "auto"
    method: Literal["stochastic", "cyclic"] = "stochastic"
    reads: int = 1
    max_pulses: int = 20_000
    """Cap on the emulated ZS steps (pulses per cell); the prediction looks beyond it."""
    seed: int = 0
    costs: HardwareCosts = field(default_factory=HardwareCosts)
    io: IOParameters = field(default_factory=IOParameters)
    checkpoints: int = 100
    """Evenly spaced truth checks along the emulation (plus a dense run around the prediction)."""
    confidence: float = 0.95
    """The budget is the N after which the k-read meets the target with this probability."""
    w_init: str | None = None
    """Start state: None (the array as built), "reset", a visible weight, "sp", "sp+δ"/"sp-δ" (each
    cell at its own symmetric point plus δ: recalibration from a near state), or a .npy file."""
    predict_only: bool = False
    """Only the prediction (and the theory): no emulation."""
    emulate_max_cell_pulses: float | None = None
    """Emulate only if the predicted pulses × cells stay below this (studies: "where affordable")."""
    predicted_curve: bool = True
    """Where the budget is only predicted, compute its predicted error curve (for curve.csv and
    the figure); the CLI turns it off where nothing writes the curve."""


def parse_initial_state(value: str | None) -> tuple[str, float | str | None]:
    """The kind of a `w_init` and its argument: ("built", None), ("reset", None), ("value", w),
    ("sp", δ) or ("file", path); ValueError naming what is wrong."""
    if value is None or value == "":
        return "built", None
    text = value.strip()
    if text == "reset":
        return "reset", None
    if text.startswith("sp"):
        rest = text[2:].replace(" ", "")
        try:
            return "sp", float(rest) if rest else 0.0
        except ValueError:
            raise ValueError(f"w_init {value!r}: write sp, sp+0.05 or sp-0.05") from None
    if text.endswith(".npy"):
        load_initial_array(text)
        return "file", text
    try:
        number = float(text)
    except ValueError:
        raise ValueError(f"w_init {value!r}: give reset, a weight, sp[+δ] or a .npy file") from None
    if not math.isfinite(number):
        raise ValueError(f"w_init {value!r} is not finite")
    return "value", number


def load_initial_array(path: str) -> np.ndarray:
    """The visible weights in a .npy file: a 2-D array of finite numbers (float64); ValueError
    saying what is wrong with the file otherwise."""
    if not Path(path).is_file():
        raise ValueError(f"w_init {path!r}: no such file")
    try:
        weights = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise ValueError(f"w_init {path!r}: not a numpy array file ({str(error).split('.')[0]})") from None
    if not isinstance(weights, np.ndarray) or not (np.issubdtype(weights.dtype, np.number)
                                                   or weights.dtype == np.bool_):
        raise ValueError(f"w_init {path!r}: holds {getattr(weights, 'dtype', type(weights))} values, not numbers")
    if weights.ndim != 2:
        raise ValueError(f"w_init {path!r}: a {weights.ndim}-D array of shape {weights.shape}; give rows × cols")
    weights = weights.astype(np.float64)
    bad = int(np.size(weights) - np.count_nonzero(np.isfinite(weights)))
    if bad:
        raise ValueError(f"w_init {path!r}: {bad} of its {weights.size} values are not finite")
    return weights


def check_initial_shape(value: str | None, rows: int, cols: int) -> None:
    """A .npy start state must have the tile's shape (ValueError otherwise)."""
    kind, argument = parse_initial_state(value)
    if kind == "file":
        shape = load_initial_array(str(argument)).shape
        if shape != (rows, cols):
            raise ValueError(f"w_init {argument}: array of shape {shape}, the tile is ({rows}, {cols})")


def apply_initial_state(array: DeviceArray, value: str | None) -> str:
    """Put the array in the requested start state (a set-up, not a counted hardware operation: the
    visible weight is set where each cell's bounds allow); returns a description."""
    kind, argument = parse_initial_state(value)
    if kind == "reset":
        array.reset()
        return "after a reset"
    if kind == "value":
        array.set_visible(float(argument))  # type: ignore[arg-type]
        return f"visible weight {argument}"
    if kind == "sp":
        array.set_visible(array.visible_symmetric_point() + float(argument))  # type: ignore[arg-type]
        return f"each cell at its symmetric point {float(argument):+g}"  # type: ignore[arg-type]
    if kind == "file":
        weights = load_initial_array(str(argument))
        if weights.shape != array.shape:
            raise ValueError(f"w_init {argument}: array of shape {weights.shape}, the tile is {array.shape}")
        array.set_visible(weights)
        return f"from {argument}"
    return "as built"


def _mean_sp_is_zero(array: DeviceArray) -> tuple[bool, str]:
    """Whether the tile's mean symmetric point is indistinguishable from 0 (within ten standard
    errors of the cells' SP spread, or 1e-4 Δw_min: a design whose mean SP is 0 gives a tile mean
    of that size, and a relative error against it means nothing), and a phrase saying so."""
    sp = array.visible_symmetric_point()
    mean = float(np.mean(sp))
    resolution = max(float(np.std(sp)) / math.sqrt(sp.size) * 10 + 1e-12, 1e-4 * array.config.dw_min)
    zero = abs(mean) <= resolution
    return zero, f"mean SP {mean:.3g} is {'within' if zero else 'beyond'} ±{resolution:.2g} of 0 " \
                 f"(ten standard errors over these {sp.size} cells)"


def resolve_metric(array: DeviceArray, metric: Metric) -> tuple[Literal["rms", "relative-mean"], str]:
    """The metric a budget uses and why: `auto` picks the relative error of the mean SP where the
    mean SP is away from 0, else the RMS error of the SP estimate (the relative one is undefined)."""
    if metric != "auto":
        return metric, "as asked"
    zero, why = _mean_sp_is_zero(array)
    if zero:
        return "rms", f"auto: {why}, so the RMS error of the SP estimate"
    return "relative-mean", f"auto: {why}, so the relative error of the mean SP"


def check_budgetable(array: DeviceArray, metric: Metric) -> None:
    """Refuse devices without symmetric points, and the relative metric where the mean SP is 0."""
    interior = float(np.mean(array.sp_interior))
    if interior < 0.5:
        raise BudgetRefused(
            f"device has no symmetric point for {100 * (1 - interior):.0f}% of cells "
            f"({array.config.model} drifts to a bound under random pulses): zero-shifting cannot calibrate it")  # type: ignore[attr-defined]
    if metric == "relative-mean":
        zero, why = _mean_sp_is_zero(array)
        if zero:
            raise BudgetRefused(
                f"{why}, indistinguishable from 0 (symmetric points): the relative error "
                "of the mean SP is undefined for this device; use --metric rms (or auto, the default), or give "
                "the device an offset (e.g. up_down or reference_mean)")
