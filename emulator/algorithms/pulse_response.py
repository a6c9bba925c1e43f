"""The classic pulse-response experiment: n up pulses, n down, repeated; read after each block."""

from __future__ import annotations

from typing import Annotated, Any, Generator

import numpy as np
from pydantic import BaseModel, Field

from devices.inputs import INPUT_CONFIG
from emulator.hardware import Controller, Hardware, ReadCells, SetPhase, SignPattern
from emulator.registry import ProgramEntry, register


class PulseResponseParams(BaseModel):
    """Parameters of the pulse-response program."""

    model_config = INPUT_CONFIG

    tile: str = "t0"
    """Tile to pulse."""
    array: str = "W"
    """Array to pulse."""
    pulses: Annotated[int, Field(gt=0, le=1_000_000)] = 200
    """Tile-wide pulses per block (one block up, then one block down)."""
    cycles: Annotated[int, Field(gt=0, le=10_000)] = 2
    """Number of up/down block pairs."""
    read_every: Annotated[int, Field(gt=0)] = 20
    """Read all cells every this many pulses (and at the end of each block)."""
    reads: Annotated[int, Field(gt=0, le=1000)] = 1
    """Reads averaged per measurement (each counted)."""


def pulse_response(ctl: Controller, params: PulseResponseParams) -> Generator[Any, Any, dict[str, Any]]:
    """Drive the array up and down with tile-wide pulses and record the mean visible weight."""
    yield SetPhase("pulse_response")
    total = 2 * params.cycles * params.pulses
    done = 0
    for cycle in range(params.cycles):
        for direction in (+1, -1):
            for pulse in range(1, params.pulses + 1):
                yield SignPattern(params.tile, params.array, direction)
                done += 1
                if pulse % params.read_every == 0 or pulse == params.pulses:
                    weights = yield ReadCells(params.tile, params.array, params.reads)
                    ctl.metric("read_mean_weight", float(np.mean(weights)), done)
                    ctl.metric("read_std_weight", float(np.std(weights)), done)
                    ctl.metric("direction", direction, done)
                    ctl.checkpoint("read", done)
                    ctl.progress(done, total)
    return {"pulses_per_cell": total}


def _probe(hardware: Hardware, params: PulseResponseParams, label: str, step: int, state: Any = None) -> dict[str, float]:
    array = hardware.tile(params.tile).array(params.array)
    weights = array.g - array.reference
    return {"true_mean_weight": float(np.mean(weights)), "true_std_weight": float(np.std(weights))}


def _finalize(hardware: Hardware, params: PulseResponseParams, result: Any) -> dict[str, Any]:
    array = hardware.tile(params.tile).array(params.array)
    sp = array.visible_symmetric_point()
    return {"symmetric_point_mean": float(np.mean(sp)), "symmetric_point_std": float(np.std(sp)),
            "final_true_mean_weight": float(np.mean(array.g - array.reference))}


register(ProgramEntry(
    name="pulse_response",
    params_model=PulseResponseParams,
    program=pulse_response,
    description="n up pulses then n down, repeated; reads the whole array after each block",
    probe=_probe,
    finalize=_finalize,
    headline=("final_true_mean_weight", "symmetric_point_mean"),
    figures=("pulse_response",),
))
