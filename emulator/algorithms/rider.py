"""RIDER and E-RIDER ([DSPT] Alg. 2–3, SPEC §6): track the fast array's symmetric point while training.

RIDER keeps a digital EMA Q of P (from its column reads) and transfers P − Q_old; the
effective weight is W + γ·(P − Q). E-RIDER adds per-column choppers (random or periodic) and a
copy Q̃ of Q refreshed only when a column's chopper flips: gradients are written as
c·(−α∇f), the transfer signal is c·(read(P) − Q̃) into the buffer H (AGAD-style thresholds, no
writes in the first chopper period), and the effective weight is W + γ·(P − Q̃)·diag(c).

Two realizations (`realization`, shared with AGAD's γ term): "paper", Algorithm 3 as written —
with `qtilde = "analog"` (its default) Q̃ is a real array (`Qt`) on each tile, programmed at
every flip by program-and-verify (counted under phase "programming") and read differentially
against P in every forward and backward pass; with "digital" P is read live and the frozen
digital Q̃ subtracted by a matvec. "artifact", the authors' CUDA code: Q̃ digital (no
programming) and the γ term a digital per-column snapshot of c·(read − Q̃) refreshed at that
column's transfer read (`ChopperFilterTrainer`).
"""

from __future__ import annotations

from typing import Annotated, Any, Generator, Literal

import numpy as np
from pydantic import Field, model_validator

from emulator.algorithms.recalibration import RecalibrationParams, calibrate_fast_arrays
from emulator.algorithms.training import register_trainer
from emulator.algorithms.training_params import BufferParams, ChopperFilterParams, FastArrayParams
from emulator.algorithms.transfer_rules import ReadAverage
from emulator.algorithms.transfer_training import ChopperFilterTrainer, TransferTrainer
from emulator.hardware import Controller, Digital, Read

Gen = Generator[Any, Any, Any]


class RIDERParams(FastArrayParams, BufferParams, RecalibrationParams):
    """RIDER: Q_{k+1} = (1 − η)Q_k + η·read(P), transfer β(P − Q_k), effective W + γ(P − Q)."""

    gamma: Annotated[float, Field(ge=0)] = 0.1
    eta: Annotated[float, Field(gt=0, le=1)] = 0.05
    """EMA rate η of the SP estimate Q, per read of a column."""
    transfer_mode: Literal["buffered", "direct"] = "buffered"
    """Write β(P − Q) through the digital buffer H (threshold pulses) or as a direct pulse train."""
    q_init: Literal["zero", "read"] = "zero"
    """Q₀ = 0, or the first read of P (every column once, one-hot reads, before training)."""


def initial_reads(trainer: TransferTrainer) -> Gen:
    """Every column of P of every layer read once (one-hot, phase "training"): the EMA's first
    observation; returns them per layer (rows × cols)."""
    yield from trainer.set_phase("training")
    reads = []
    for spec in trainer.layers:
        values = yield Read(spec.name, "P", np.eye(spec.cols), one_hot=True, io=trainer.p.transfer_io)
        yield Digital(spec.rows * spec.cols, "tracker_init")
        reads.append(np.asarray(values, dtype=np.float64).T)
    return reads


class RIDER(TransferTrainer):
    """Residual learning with a dynamically tracked reference Q (no calibration)."""

    def __init__(self, ctl: Controller, params: RIDERParams) -> None:
        super().__init__(ctl, params, buffer=params if params.transfer_mode == "buffered" else None)
        self.rider: RIDERParams = params
        self.trackers = [ReadAverage(layer.rows, layer.cols, params.eta) for layer in self.layers]
        self.use_policy(params)

    def recalibrate(self) -> Gen:
        """Tracking plus a recalibration: ZS of P, and Q restarts from the read."""
        for tracker, estimate in zip(self.trackers, (yield from recalibrated_estimates(self, self.rider))):
            tracker.mean[...] = estimate

    def prepare(self) -> Gen:
        yield from super().prepare()
        if self.rider.q_init == "read":
            reads = yield from initial_reads(self)
            for tracker, read in zip(self.trackers, reads):
                tracker.mean[...] = read

    def fast_reference(self, layer: int) -> tuple[str | None, np.ndarray | None]:
        return None, self.trackers[layer].mean

    def column_signal(self, layer: int, columns: np.ndarray, reads: np.ndarray) -> tuple[np.ndarray, bool]:
        """Signal read − Q_old, then Q ← EMA with the read."""
        return self.trackers[layer].residual(columns, reads), True

    def sp_estimates(self) -> dict[str, np.ndarray]:
        return {layer.name: t.mean for layer, t in zip(self.layers, self.trackers)}


def recalibrated_estimates(trainer: TransferTrainer, params: RecalibrationParams) -> Gen:
    """ZS of every layer's P under phase "recalibration" (a digital read of the SP); the estimates."""
    return (yield from calibrate_fast_arrays(trainer, params.recalibration_steps, params.recalibration_method,
                                             params.recalibration_reads, "digital", "recalibration"))


class ERIDERParams(ChopperFilterParams, RecalibrationParams):
    """E-RIDER: RIDER plus choppers and the Q̃ copy synced at flips (defaults: AGAD's ReRamSB
    preset values plus γ; the paper's LeNet values and the authors' FCN values are in SPEC §6)."""

    gamma: Annotated[float, Field(ge=0)] = 0.1
    eta: Annotated[float, Field(gt=0, le=1)] | None = None
    """η of the SP estimate Q (default: the filter rate min(tail_weightening / N, 1))."""
    q_init: Literal["zero", "read"] = "zero"
    """Q₀ = Q̃₀ = 0, or the first read of P (every column once, before training)."""
    qtilde: Literal["analog", "digital"] | None = None
    """Q̃ as an analog array `Qt` on every tile (programmed at flips) or a digital frozen copy
    (default: analog for realization "paper", digital for "artifact", which has no other)."""
    program_reads: Annotated[int, Field(gt=0, le=1000)] = 4
    """Reads averaged per verify step when programming Q̃."""
    program_iterations: Annotated[int, Field(ge=1, le=100)] = 1
    program_tolerance: Annotated[float, Field(gt=0)] = 0.03
    """Program-and-verify tolerance of Q̃ (weight units)."""

    @model_validator(mode="after")
    def _artifact_is_digital(self) -> "ERIDERParams":
        if self.realization == "artifact" and self.qtilde == "analog":
            raise ValueError('realization "artifact" keeps Q̃ digital (the authors\' code): qtilde must be "digital"')
        return self

    def analog_qtilde(self) -> bool:
        """Whether Q̃ is an analog array `Qt` (the default of realization "paper")."""
        return self.qtilde == "analog" or (self.qtilde is None and self.realization == "paper")


class ERIDER(ChopperFilterTrainer):
    """E-RIDER: chopped, filtered SP tracking; Q̃ refreshed (programmed) at chopper flips.

    The chopper/filter block's mean is Q (rate η), its held copy Q̃, taken at each flip; W is
    written once N sweeps are done.
    """

    def __init__(self, ctl: Controller, params: ERIDERParams) -> None:
        eta = params.eta if params.eta is not None else params.filter_rate()
        super().__init__(ctl, params, eta, gate="after_period", hold="at_flip")
        self.e: ERIDERParams = params
        self.syncs = 0
        self.use_policy(params)

    def recalibrate(self) -> Gen:
        """Tracking plus a recalibration: ZS of P; Q and Q̃ restart from the read (Q̃ programmed if analog)."""
        estimates = yield from recalibrated_estimates(self, self.e)
        for index, (block, estimate) in enumerate(zip(self.filters, estimates)):
            block.mean[...] = estimate
            block.held[...] = estimate
            if self.e.qtilde == "analog":
                yield from self.program_qtilde(index, np.arange(self.layers[index].cols))

    @classmethod
    def required_arrays(cls, params: Any) -> tuple[str, ...]:
        return ("W", "P", "Qt") if params.analog_qtilde() else ("W", "P")

    def prepare(self) -> Gen:
        """Thresholds, Q₀ (zero or a first read of P), then program the analog Q̃ to Q₀."""
        yield from super().prepare()
        if self.e.q_init == "read":
            reads = yield from initial_reads(self)
            for block, read in zip(self.filters, reads):
                block.mean[...] = read
                block.held[...] = block.mean
        if self.e.analog_qtilde():
            yield from self.set_phase("programming")
            for index, layer in enumerate(self.layers):
                yield from self.program_qtilde(index, np.arange(layer.cols))

    def program_qtilde(self, layer: int, columns: np.ndarray) -> Gen:
        """Program-and-verify the analog Q̃ (`Qt`) of those columns to the held copy."""
        yield from self.program_columns(layer, "Qt", columns, self.filters[layer].held[:, columns],
                                        self.e.program_reads, self.e.program_iterations, self.e.program_tolerance)

    def fast_reference(self, layer: int) -> tuple[str | None, np.ndarray | None]:
        if self.e.analog_qtilde():
            return "Qt", None
        return super().fast_reference(layer)

    def after_flips(self, layer: int, flipped: np.ndarray) -> Gen:
        if flipped.size == 0:
            return
        self.syncs += flipped.size
        yield Digital(self.layers[layer].rows * flipped.size, "qtilde_sync")
        if self.e.analog_qtilde():
            yield from self.program_qtilde(layer, flipped)

    def result(self) -> dict[str, Any]:
        result = super().result()
        result["qtilde_syncs"] = self.syncs
        return result


register_trainer("train_rider", RIDERParams, RIDER,
                 "RIDER: residual learning with a tracked digital SP estimate Q of P (arrays W, P)")
register_trainer("train_erider", ERIDERParams, ERIDER,
                 "E-RIDER: RIDER with choppers and Q̃ synced at flips (arrays W, P, and Qt if qtilde=analog)")
