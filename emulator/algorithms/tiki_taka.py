"""Tiki-Taka family on emulated tiles: TT-v1, TT-v2, c-TTv2 and AGAD (SPEC §6, [R24]).

Defaults are the reference simulator's presets for ReRamSB (`TTv2ReRamSBPreset`,
`ChoppedTTv2ReRamSBPreset`, `AGADReRamSBPreset`): fast_lr 0.5 with auto_scale, transfer every
sample, transfer_lr 1 (× learning_rate), auto_granularity 1000, transfers of one pulse per
cell (desired_bl 1). TT-v1 follows the plain `TransferCompound` (direct transfer pulse trains).
"""

from __future__ import annotations

from typing import Annotated, Any, Generator

import numpy as np
from pydantic import Field

from emulator.algorithms.training import register_trainer
from emulator.algorithms.transfer_rules import AgadFilter, chopper_period
from emulator.algorithms.training_params import BufferParams, ChopperParams, FastArrayParams
from emulator.algorithms.transfer_training import TransferTrainer
from emulator.hardware import Controller, UpdateParameters

Gen = Generator[Any, Any, Any]


class TTv1Params(FastArrayParams):
    """TT-v1: gradient pulses on P (fast_lr); every transfer_every samples the next column of P
    is read and pulsed into W with transfer_lr (a stochastic train, desired_bl 31)."""

    fast_lr: Annotated[float, Field(gt=0)] | None = None
    auto_scale: bool = False
    transfer_update: UpdateParameters = Field(default_factory=UpdateParameters)


class TTv1(TransferTrainer):
    """Tiki-Taka v1: W += transfer_lr·read(P column), no buffer, no reference."""

    transfer_mode = "direct"


class TTv2Params(FastArrayParams, BufferParams):
    """TT-v2: the read column goes into the digital buffer H; |H| ≥ θ fires pulses on W."""


class TTv2(TransferTrainer):
    """Tiki-Taka v2: H += transfer_lr·v; trunc(H/θ) pulses (≤ desired_bl) on W. Needs SP(P) ≈ 0."""


class CTTv2Params(TTv2Params, ChopperParams):
    """c-TTv2: TT-v2 with per-column choppers on the gradient and the read."""

    in_chop_prob: Annotated[float, Field(ge=0, le=1)] = 0.01


class CTTv2(TransferTrainer):
    """Chopped TT-v2: gradient written as c·(−α∇f), signal c·v; a static offset in P averages out."""

    chopped = True

    def column_signal(self, layer: int, columns: np.ndarray, reads: np.ndarray) -> tuple[np.ndarray, bool]:
        return self.choppers[layer].signs[columns] * reads, True


class AGADParams(CTTv2Params):
    """AGAD: c-TTv2 without an analog reference, subtracting μ_past (EMA of reads of the previous
    chopper period) from each read. Regular choppers by default (the reference simulator's)."""

    in_chop_prob: Annotated[float, Field(gt=0, le=1)] = 0.02
    in_chop_random: bool = False
    tail_weightening: Annotated[float, Field(gt=0)] = 5.0
    """EMA weight β = min(tail_weightening / N, 1), N = max(⌈1/in_chop_prob⌉, 2)."""


class AGAD(TransferTrainer):
    """AGAD ([R24]): signal c·(v − μ_past); μ EMA of raw reads; no writes in the first chopper period."""

    chopped = True

    def __init__(self, ctl: Controller, params: AGADParams) -> None:
        super().__init__(ctl, params)
        self.period = chopper_period(params.in_chop_prob)
        beta = min(params.tail_weightening / self.period, 1.0)
        self.filters = [AgadFilter(layer.rows, layer.cols, beta) for layer in self.layers]

    def column_signal(self, layer: int, columns: np.ndarray, reads: np.ndarray) -> tuple[np.ndarray, bool]:
        signal = self.filters[layer].signal(columns, reads, self.choppers[layer].signs)
        # The reference simulator writes once more than N sweeps are done (transfer_counter > N).
        return signal, self.sweeps[layer] > self.period

    def after_reads(self, layer: int, columns: np.ndarray) -> Gen:
        flipped = self.choppers[layer].flips(columns, self.sweeps[layer], self.ctl.rng)
        self.filters[layer].mark_flipped(columns[flipped])
        return
        yield

    def sp_estimates(self) -> dict[str, np.ndarray]:
        return {layer.name: f.mu for layer, f in zip(self.layers, self.filters)}


register_trainer("train_ttv1", TTv1Params, TTv1,
                 "Tiki-Taka v1: gradient on P, columns of P pulsed into W (arrays W, P)")
register_trainer("train_ttv2", TTv2Params, TTv2,
                 "Tiki-Taka v2: gradient on P, columns of P through a digital buffer into W (arrays W, P)")
register_trainer("train_cttv2", CTTv2Params, CTTv2,
                 "chopped TT-v2: TT-v2 with per-column sign choppers (arrays W, P)")
register_trainer("train_agad", AGADParams, AGAD,
                 "AGAD: chopped TT-v2 subtracting the previous chopper period's mean (arrays W, P)")
