"""Tiki-Taka family on emulated tiles: TT-v1, TT-v2, c-TTv2 and AGAD (SPEC §6, [R24]).

Defaults are the reference simulator's presets for ReRamSB (`TTv2ReRamSBPreset`,
`ChoppedTTv2ReRamSBPreset`, `AGADReRamSBPreset`): fast_lr 0.5 with auto_scale, transfer every
sample, transfer_lr 1 (× learning_rate), auto_granularity 1000, transfers of one pulse per
cell (desired_bl 1). TT-v1 follows the plain `TransferCompound` (direct transfer pulse trains).
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import Field

from emulator.algorithms.training import register_trainer
from emulator.algorithms.training_params import BufferParams, ChopperFilterParams, ChopperParams, FastArrayParams
from emulator.algorithms.transfer_rules import WriteGate
from emulator.algorithms.transfer_training import ChopperFilterTrainer, TransferTrainer
from emulator.hardware import Controller, UpdateParameters


class TTv1Params(FastArrayParams):
    """TT-v1: gradient pulses on P (fast_lr); every transfer_every samples the next column of P
    is read and pulsed into W with transfer_lr (a stochastic train, desired_bl 31)."""

    fast_lr: Annotated[float, Field(gt=0)] | None = None
    auto_scale: bool = False
    transfer_update: UpdateParameters = Field(default_factory=UpdateParameters)


class TTv1(TransferTrainer):
    """Tiki-Taka v1: W += transfer_lr·read(P column), no buffer, no reference."""


class TTv2Params(FastArrayParams, BufferParams):
    """TT-v2: the read column goes into the digital buffer H; |H| ≥ θ fires pulses on W."""


class TTv2(TransferTrainer):
    """Tiki-Taka v2: H += transfer_lr·v; trunc(H/θ) pulses (≤ desired_bl) on W. Needs SP(P) ≈ 0."""

    def __init__(self, ctl: Controller, params: TTv2Params) -> None:
        super().__init__(ctl, params, buffer=params)


class CTTv2Params(TTv2Params, ChopperParams):
    """c-TTv2: TT-v2 with per-column choppers on the gradient and the read."""

    in_chop_prob: Annotated[float, Field(ge=0, le=1)] = 0.01


class CTTv2(TransferTrainer):
    """Chopped TT-v2: gradient written as c·(−α∇f), signal c·v; a static offset in P averages out."""

    def __init__(self, ctl: Controller, params: CTTv2Params) -> None:
        super().__init__(ctl, params, buffer=params, choppers=params)

    def column_signal(self, layer: int, columns: np.ndarray, reads: np.ndarray) -> tuple[np.ndarray, bool]:
        assert self.choppers is not None
        return self.choppers[layer].signs[columns] * reads, True


class AGADParams(ChopperFilterParams):
    """AGAD: c-TTv2 without an analog reference, subtracting μ_past (EMA of reads of the previous
    chopper period) from each read. Regular choppers by default (the reference simulator's)."""


class AGAD(ChopperFilterTrainer):
    """AGAD ([R24]): signal c·(v − μ_past); μ EMA of raw reads; no writes in the first chopper period.

    The chopper/filter block's mean is μ (β = min(tail_weightening/N, 1)), its held copy μ_past,
    taken at the first read after a flip; W is written once more than N sweeps are done, as the
    reference simulator's CPU path (`transfer_counter > N`), or once N are done on its CUDA path
    (`chopper_path = "cuda"`: more than N·cols·every samples). γ > 0 adds the [DSPT] authors'
    term γ·c·(P − μ_past) to the effective weight (their scripts enable it for AGAD too).
    """

    def __init__(self, ctl: Controller, params: AGADParams) -> None:
        gate: WriteGate = "after_more_than_period" if params.chopper_path == "cpu" else "after_period"
        super().__init__(ctl, params, params.filter_rate(), gate=gate, hold="at_next_read")


register_trainer("train_ttv1", TTv1Params, TTv1,
                 "Tiki-Taka v1: gradient on P, columns of P pulsed into W (arrays W, P)")
register_trainer("train_ttv2", TTv2Params, TTv2,
                 "Tiki-Taka v2: gradient on P, columns of P through a digital buffer into W (arrays W, P)")
register_trainer("train_cttv2", CTTv2Params, CTTv2,
                 "chopped TT-v2: TT-v2 with per-column sign choppers (arrays W, P)")
register_trainer("train_agad", AGADParams, AGAD,
                 "AGAD: chopped TT-v2 subtracting the previous chopper period's mean (arrays W, P)")
