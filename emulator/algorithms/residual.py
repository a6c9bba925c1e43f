"""Two-stage residual learning ([W25], [DSPT] Alg. 4, SPEC §6): calibrate, then train on P − R.

Stage 1: zero-shifting (`calibration.zero_shift`, budget `zs_steps` pulses per cell) of every
layer's P, then the reference R is set: programmed into an analog array `R` (read
differentially, `Read(P, minus="R")`) or kept as a digital offset. Stage 2: W̄ = W + γ(P − R),
gradient pulses on P, transfers W ← W + β(P − R) (direct trains, or the TT-v2 buffer with
transfer_mode = "buffered", which makes it "ZS + TT-v2").
"""

from __future__ import annotations

from typing import Annotated, Any, Generator, Literal

import numpy as np
from pydantic import Field

from emulator.algorithms.recalibration import RecalibrationParams, calibrate_fast_arrays
from emulator.algorithms.training import register_trainer
from emulator.algorithms.training_params import BufferParams, FastArrayParams
from emulator.algorithms.transfer_training import TransferTrainer
from emulator.hardware import Controller, UpdateParameters

Gen = Generator[Any, Any, Any]


class ResidualParams(FastArrayParams, BufferParams, RecalibrationParams):
    """Two-stage residual learning: ZS calibration of P with budget N, then TT with reference R
    (recalibrated during training if a policy is set: periodic or monitored)."""

    fast_lr: Annotated[float, Field(gt=0)] | None = None
    auto_scale: bool = False
    transfer_update: UpdateParameters = Field(default_factory=UpdateParameters)
    transfer_mode: Literal["buffered", "direct"] = "direct"
    zs_steps: Annotated[int, Field(ge=0, le=10_000_000)] = 1000
    """ZS budget N: tile-wide pulse steps (= pulses per cell of P)."""
    zs_method: Literal["stochastic", "cyclic"] = "stochastic"
    zs_reads: Annotated[int, Field(gt=0, le=10_000)] = 4
    """Reads averaged for the SP estimate (each counted)."""
    reference: Literal["analog", "digital"] = "digital"
    """Keep R as a digital offset, or program it into the analog array `R` of every tile."""


class Residual(TransferTrainer):
    """Residual learning with a fixed, calibrated reference R of P."""

    def __init__(self, ctl: Controller, params: ResidualParams) -> None:
        super().__init__(ctl, params, buffer=params if params.transfer_mode == "buffered" else None)
        self.r: ResidualParams = params
        self.estimates: list[np.ndarray] = []
        self.use_policy(params)

    @classmethod
    def required_arrays(cls, params: Any) -> tuple[str, ...]:
        return ("W", "P", "R") if params.reference == "analog" else ("W", "P")

    def prepare(self) -> Gen:
        yield from super().prepare()
        r = self.r
        self.estimates = yield from calibrate_fast_arrays(self, r.zs_steps, r.zs_method, r.zs_reads, r.reference,
                                                          "calibration")

    def recalibrate(self) -> Gen:
        r = self.r
        self.estimates = yield from calibrate_fast_arrays(self, r.recalibration_steps, r.recalibration_method,
                                                          r.recalibration_reads, r.reference, "recalibration")

    def fast_reference(self, layer: int) -> tuple[str | None, np.ndarray | None]:
        if self.r.reference == "analog":
            return "R", None
        return None, self.estimates[layer]

    def transfer_read(self, layer: int) -> str | None:
        return "R" if self.r.reference == "analog" else None

    def column_signal(self, layer: int, columns: np.ndarray, reads: np.ndarray) -> tuple[np.ndarray, bool]:
        if self.r.reference == "analog":
            return reads, True
        return reads - self.estimates[layer][:, columns], True

    def sp_estimates(self) -> dict[str, np.ndarray]:
        return {layer.name: e for layer, e in zip(self.layers, self.estimates)}


register_trainer("train_residual", ResidualParams, Residual,
                 "two-stage residual learning: ZS calibration of P, then training on P − R (arrays W, P, [R])")
