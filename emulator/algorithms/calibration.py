"""Symmetric-point calibration by zero-shifting (ZS) on emulated hardware (SPEC §5).

N tile-wide pulse steps (stochastic: an independent random ±1 per cell per step; cyclic:
alternating all-up / all-down), then every cell is read through the real read path
(k averaged reads, each counted) and the reference is set: a digital offset, or an analog
reference array programmed by program-and-verify (counted in phase "programming").
The program never sees the true symmetric point; the harness hooks below compare with it.
"""

from __future__ import annotations

from typing import Annotated, Any, Callable, Generator, Literal

import numpy as np
from pydantic import BaseModel, Field, model_validator

from devices.inputs import INPUT_CONFIG
from emulator.hardware import Controller, Digital, Hardware, ProgramAndVerify, ReadCells, SetPhase, SignPattern
from emulator.registry import ProgramEntry, register

Method = Literal["stochastic", "cyclic"]
ReferenceMode = Literal["digital", "analog"]


def random_up_mask(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """Independent fair coin per cell (True = up), from packed random bytes (8 cells per byte)."""
    cells = shape[0] * shape[1]
    packed = rng.integers(0, 256, size=(cells + 7) // 8, dtype=np.uint8)
    return np.unpackbits(packed, count=cells).view(bool).reshape(shape)


def log_spaced_checkpoints(steps: int, count: int) -> list[int]:
    """About `count` distinct step numbers from 1 to `steps`, log-spaced (always ends at steps)."""
    if count <= 0:
        return []
    points = np.unique(np.rint(np.geomspace(1, steps, num=count)).astype(int))
    return sorted(set(points.tolist()) | {steps})


def zero_shift(
    ctl: Controller,
    tile: str,
    array: str,
    steps: int,
    method: Method = "stochastic",
    reads: int = 1,
    reference: ReferenceMode = "digital",
    reference_array: str | None = None,
    checkpoints: list[int] | None = None,
    program_tolerance: float | None = None,
    program_max_iterations: int = 20,
    phase: str = "calibration",
) -> Generator[Any, Any, np.ndarray]:
    """Run ZS on one array and set its reference; returns the read SP estimate (rows × cols).

    Use from another program with `estimate = yield from zero_shift(ctl, ...)`. With
    reference="analog", `reference_array` (same tile) is programmed to the estimate (phase
    "programming"); everything else is booked under `phase`.
    """
    yield SetPhase(phase)
    yield from zero_shift_pulses(ctl, tile, array, steps, method, checkpoints)
    return (yield from store_reference(ctl, tile, array, reads, reference, reference_array, program_tolerance,
                                       program_max_iterations, phase))


def zero_shift_pulses(ctl: Controller, tile: str, array: str, steps: int, method: Method = "stochastic",
                      checkpoints: list[int] | None = None, progress: bool = True,
                      until: Callable[[], bool] | None = None) -> Generator[Any, Any, int]:
    """The pulses of ZS alone: `steps` tile-wide steps, random ±1 per cell or alternating all-up /
    all-down, under the current phase (checkpoints announced at the given steps; progress
    reported to the controller unless `progress` is false). After a checkpoint a harness's
    `until()` may end the pulses there (the budget's truth-side stop). Returns the steps done."""
    shape = ctl.tile_shape(tile)
    marks = set(checkpoints or [])
    report_every = max(1, steps // 100)
    for step in range(1, steps + 1):
        if method == "cyclic":
            yield SignPattern(tile, array, 1 if step % 2 else -1)
        else:
            yield SignPattern(tile, array, random_up_mask(ctl.rng, shape))
        if step in marks:
            ctl.checkpoint("zero_shift", step)
            if until is not None and until():
                return step
        if progress and step % report_every == 0:
            ctl.progress(step, steps)
    return steps


def store_reference(ctl: Controller, tile: str, array: str, reads: int = 1, reference: ReferenceMode = "digital",
                    reference_array: str | None = None, program_tolerance: float | None = None,
                    program_max_iterations: int = 20, phase: str = "calibration") -> Generator[Any, Any, np.ndarray]:
    """Read every cell `reads` times and set the reference: a digital offset, or an analog
    reference array programmed to the estimate (phase "programming", then back to `phase`).
    Returns the estimate."""
    shape = ctl.tile_shape(tile)
    estimate = yield ReadCells(tile, array, reads)
    if reference == "digital":
        yield Digital(shape[0] * shape[1], "store_reference")
    else:
        if reference_array is None:
            raise ValueError("reference='analog' needs reference_array")
        tolerance = program_tolerance if program_tolerance is not None else ctl.device_config(tile, reference_array).dw_min
        yield SetPhase("programming")
        yield ProgramAndVerify(tile, reference_array, estimate, tolerance, max_iterations=program_max_iterations,
                               reads=reads)
        yield SetPhase(phase)
    return estimate


class ZeroShiftParams(BaseModel):
    """Parameters of the zero-shifting calibration program."""

    model_config = INPUT_CONFIG

    tile: str = "t0"
    array: str = "W"
    """Array whose symmetric point is calibrated."""
    steps: Annotated[int, Field(gt=0, le=10_000_000)] = 1000
    """Tile-wide pulse steps N (= pulses per cell)."""
    method: Method = "stochastic"
    reads: Annotated[int, Field(gt=0, le=10_000)] = 1
    """Reads of every cell averaged for the estimate (each counted)."""
    reference: ReferenceMode = "digital"
    """Store the estimate as a digital offset, or program an analog reference array."""
    reference_array: str | None = None
    """Array (same tile) programmed to the estimate when reference = "analog"."""
    program_tolerance: Annotated[float, Field(gt=0)] | None = None
    """Program-and-verify tolerance (default: the reference device's dw_min)."""
    program_max_iterations: Annotated[int, Field(gt=0, le=1000)] = 20
    checkpoints: Annotated[int, Field(ge=0, le=10_000)] = 40
    """Log-spaced steps at which the harness records the true iterate error (the error curve)."""

    @model_validator(mode="after")
    def _reference_array_given(self) -> "ZeroShiftParams":
        if self.reference == "analog" and self.reference_array is None:
            raise ValueError("reference = 'analog' needs reference_array")
        return self


def _calibration_program(ctl: Controller, params: ZeroShiftParams) -> Generator[Any, Any, dict[str, Any]]:
    estimate = yield from zero_shift(
        ctl, params.tile, params.array, params.steps, params.method, params.reads, params.reference,
        params.reference_array, log_spaced_checkpoints(params.steps, params.checkpoints),
        params.program_tolerance, params.program_max_iterations,
    )
    return {"pulses_per_cell": params.steps, "reads_per_cell": params.reads,
            "estimate_mean": float(np.mean(estimate)), "estimate_std": float(np.std(estimate)),
            "_estimate": estimate}


def iterate_error(hardware: Hardware, tile: str, array: str) -> dict[str, float]:
    """Truth: how far the array's cells are from their symmetric points right now."""
    device = hardware.tile(tile).array(array)
    error = device.g.astype(np.float64) - device.symmetric_point()
    sp_mean = float(np.mean(device.visible_symmetric_point()))
    return {
        "iterate_rms_error": float(np.sqrt(np.mean(error ** 2))),
        "iterate_mean_error": float(np.mean(error)),
        "iterate_relative_mean_error": abs(float(np.mean(error))) / abs(sp_mean) if sp_mean else float("inf"),
    }


def residual_error(hardware: Hardware, tile: str, array: str, reference: np.ndarray) -> dict[str, float]:
    """Truth: residual SP error e = w⋄ − r per cell, summarized as the paper reports it."""
    device = hardware.tile(tile).array(array)
    sp = device.visible_symmetric_point()
    error = sp - np.asarray(reference, dtype=np.float64)
    sp_mean = float(np.mean(sp))
    return {
        "rms_error": float(np.sqrt(np.mean(error ** 2))),
        "mean_error": float(np.mean(error)),
        "std_error": float(np.std(error)),
        "max_error": float(np.max(np.abs(error))),
        "relative_mean_error": abs(float(np.mean(error))) / abs(sp_mean) if sp_mean else float("inf"),
        "symmetric_point_mean": sp_mean,
        "symmetric_point_std": float(np.std(sp)),
        "interior_symmetric_point_fraction": float(np.mean(device.sp_interior)),
    }


def _probe(hardware: Hardware, params: ZeroShiftParams, label: str, step: int, state: Any = None) -> dict[str, float]:
    return iterate_error(hardware, params.tile, params.array)


def _finalize(hardware: Hardware, params: ZeroShiftParams, result: dict[str, Any]) -> dict[str, Any]:
    if params.reference == "analog":
        assert params.reference_array is not None
        reference = hardware.tile(params.tile).array(params.reference_array).visible().astype(np.float64)
    else:
        reference = result["_estimate"]
    truth = residual_error(hardware, params.tile, params.array, reference)
    truth.update(iterate_error(hardware, params.tile, params.array))
    return truth


register(ProgramEntry(
    name="zero_shift",
    params_model=ZeroShiftParams,
    program=_calibration_program,
    description="symmetric-point calibration by zero-shifting (stochastic or cyclic), then read and set the reference",
    probe=_probe,
    finalize=_finalize,
    headline=("relative_mean_error", "rms_error"),
    figures=("calibration_error",),
))
