"""The fast/slow array family (SPEC §6): gradients go to P, columns of P are transferred to W.

Every algorithm of the Tiki-Taka family, residual learning and RIDER/E-RIDER shares this
machinery; they differ in the transfer *signal* computed from a column read of P and in the
effective weight the forward/backward reads see (`W + γ·(P − reference)·diag(c)`).

Per mini-batch: forward/backward reads, then (phase "training") one `PulseTrain` per layer
tile on P with the batch (one train per sample, chopped inputs x ⊙ c, per-sample learning
rate from `auto_scale` folded into d), then (phase "transfer") one column of P per
`transfer_every` samples is read with a one-hot `Read` and written into W — directly
(TT-v1, `transfer_mode = "direct"`: W += transfer_lr·signal as a pulse train) or through the
digital buffer H (TT-v2 and later, `"buffered"`: one pulse per cell where |H| ≥ θ).

`transfer_timing` chooses when a mini-batch's column transfers run: right after the sample
that makes each due (the reference simulator's order, one train command per sample) or after
all of the batch's trains (one batched train command per layer, faster to emulate; same count
and order of columns).

A trainer is put together from typed components (`transfer_components`): `FastArray` (gradient
trains on P), `ColumnSchedule`, and, where the algorithm has them, a `TransferBuffer` (H) and
per-column `Choppers`; `ChopperFilterTrainer` adds the chopper/filter block AGAD and E-RIDER
share (`transfer_rules.ChopperFilter`).
"""

from __future__ import annotations

from typing import Any, Generator, Literal

import numpy as np

from emulator.algorithms.recalibration import RecalibrationParams, RecalibrationPolicy, monitor_problems
from emulator.algorithms.training import Trainer
from emulator.algorithms.training_params import BufferParams, ChopperFilterParams, ChopperParams, FastArrayParams
from emulator.algorithms.transfer_components import ColumnSchedule, FastArray, TransferBuffer
from emulator.algorithms.transfer_rules import ChopperFilter, Choppers, HoldMode, WriteGate
from emulator.hardware import Controller, Digital, Parallel, PulseTrain, Read, analog_mvm
from emulator.registry import TileLayout

Gen = Generator[Any, Any, Any]


class TransferTrainer(Trainer):
    """Gradient on P, column transfers P → W; subclasses define the signal and the reference.

    `buffer` (the parameters of a transfer buffer H: writes through threshold pulses; none:
    direct pulse trains of transfer_lr·signal) and `choppers` (per-column choppers on the
    gradient; none: unchopped) are the typed groups of the subclass's parameters it uses.
    """

    arrays: tuple[str, ...] = ("W", "P")

    def __init__(self, ctl: Controller, params: FastArrayParams, buffer: BufferParams | None = None,
                 choppers: ChopperParams | None = None) -> None:
        super().__init__(ctl, params)
        self.p: FastArrayParams = params
        self.fast = FastArray(params, len(self.layers))
        self.schedule = ColumnSchedule([layer.cols for layer in self.layers], params.transfer_every)
        self.buffer = TransferBuffer(buffer, [layer.shape for layer in self.layers]) if buffer is not None else None
        self.choppers = (None if choppers is None else
                         [Choppers(layer.cols, choppers.in_chop_prob, choppers.in_chop_random, choppers.chopper_path)
                          for layer in self.layers])
        self.batch_samples = params.batch_size
        """Samples of the mini-batch being trained (the unit of `transfer_every` if `units_in_mbatch`)."""
        self.recalibration: RecalibrationPolicy | None = None
        """The recalibration policy of programs that keep a reference of P (residual, RIDER, E-RIDER)."""

    def use_policy(self, params: RecalibrationParams) -> None:
        """Recalibrate P during training as `params` say (nothing if they set no policy)."""
        self.recalibration = RecalibrationPolicy(params) if params.recalibrates() else None

    @classmethod
    def hardware_problems(cls, params: Any, layout: TileLayout) -> list[tuple[str, str]]:
        problems = super().hardware_problems(params, layout)
        return problems + (monitor_problems(params, layout) if isinstance(params, RecalibrationParams) else [])

    def between_steps(self) -> Gen:
        if self.recalibration is not None:
            yield from self.recalibration.between_steps(self)

    def recalibrate(self) -> Gen:
        """Zero-shift P of every layer and restart the reference from the reads (programs with a policy)."""
        raise NotImplementedError(f"{type(self).__name__} has no reference of P to recalibrate")
        yield

    def result(self) -> dict[str, Any]:
        result = super().result()
        if self.recalibration is not None:
            result.update(self.recalibration.summary())
        return result

    # ------------------------------------------------------------------ derived settings
    @property
    def transfer_lr(self) -> float:
        p = self.p
        return p.transfer_lr * (p.learning_rate if p.scale_transfer_lr else 1.0)

    def prepare(self) -> Gen:
        """Buffer thresholds from the nominal granularity of P (datasheet, not device state)."""
        if self.buffer is not None:
            self.buffer.set_thresholds([self.dw_min(index, "P") for index in range(len(self.layers))],
                                       [layer.cols for layer in self.layers], self.p.transfer_every)
        return
        yield

    # ------------------------------------------------------------------ effective weight
    def fast_reference(self, layer: int) -> tuple[str | None, np.ndarray | None]:
        """What is subtracted from P in reads: an analog array (differential read) and/or a
        digital matrix. Default: nothing."""
        return None, None

    def forward_signs(self, layer: int) -> np.ndarray | None:
        """Column signs c applied to the fast term of the effective weight (E-RIDER)."""
        return None

    def fast_term(self, layer: int, v: np.ndarray, direction: Literal["forward", "backward"]) -> Gen:
        """The fast array's term of the effective weight applied to v (before γ): read live, P
        (differentially against an analog reference, minus a digital one), chopped if signed."""
        spec = self.layers[layer]
        minus, reference = self.fast_reference(layer)
        signs = self.forward_signs(layer)
        if direction == "forward" and signs is not None:
            v = v * signs
        values = yield Read(spec.name, "P", v, direction, minus=minus)
        term = np.asarray(values, dtype=np.float64)
        if reference is not None:
            term = term - (v @ reference.T if direction == "forward" else v @ reference)
            yield Digital(v.shape[0] * reference.size, "reference_matvec")
        if direction == "backward" and signs is not None:
            term = term * signs
        return term

    def read_forward(self, layer: int, x: np.ndarray) -> Gen:
        z = yield from super().read_forward(layer, x)
        if self.p.gamma == 0:
            return z
        term = yield from self.fast_term(layer, x, "forward")
        return z + self.p.gamma * term

    def read_backward(self, layer: int, d: np.ndarray) -> Gen:
        e = yield from super().read_backward(layer, d)
        if self.p.gamma == 0:
            return e
        term = yield from self.fast_term(layer, d, "backward")
        return e + self.p.gamma * term

    # ------------------------------------------------------------------ gradient on P
    def initialize_weights(self) -> Gen:
        """W as every trainer initializes it; then P at visible 0 if `fast_init` says so."""
        yield from super().initialize_weights()
        if self.p.fast_init == "zero":
            yield from self.set_phase("programming")
            for index, layer in enumerate(self.layers):
                yield from self.write_array(index, "P", np.zeros(layer.shape))

    def apply_update(self, inputs: list[np.ndarray], deltas: list[np.ndarray]) -> Gen:
        if self.p.auto_scale or self.choppers is not None:
            yield Digital(sum(x.size + d.size for x, d in zip(inputs, deltas)), "gradient_scaling")
        self.batch_samples = inputs[0].shape[0]
        if self.p.transfer_timing == "per_sample":
            for sample in range(inputs[0].shape[0]):
                yield from self.set_phase("training")
                yield from self.gradient_step([x[sample:sample + 1] for x in inputs],
                                              [d[sample:sample + 1] for d in deltas])
                yield from self.set_phase("transfer")
                for index in range(len(self.layers)):
                    yield from self.transfer(index, 1)
            return
        yield from self.gradient_step(inputs, deltas)
        yield from self.set_phase("transfer")
        for index in range(len(self.layers)):
            yield from self.transfer(index, inputs[index].shape[0])

    def gradient_step(self, inputs: list[np.ndarray], deltas: list[np.ndarray]) -> Gen:
        """The gradient pulse trains of some samples on P of every layer (layers in parallel)."""
        commands = []
        for index, (layer, x, d) in enumerate(zip(self.layers, inputs, deltas)):
            signs = self.choppers[index].signs if self.choppers is not None else None
            x_train, d_train, lr = self.fast.trains(index, x, d, self.dw_min(index, "P"), signs)
            commands.append(PulseTrain(layer.name, "P", x_train, d_train, lr, update=self.p.update))
        results = yield Parallel(commands)
        for layer, counts in zip(self.layers, results):
            self.count(layer.name, "P", counts)

    # ------------------------------------------------------------------ transfers
    def transfer(self, layer: int, samples: int) -> Gen:
        """The column transfers due after `samples` more samples (next columns, cyclically)."""
        amount = samples / self.batch_samples if self.p.units_in_mbatch else samples
        for columns in self.schedule.due(layer, amount):
            yield from self.transfer_columns(layer, columns)

    def transfer_read(self, layer: int) -> str | None:
        """Array read differentially against P in transfer reads (analog reference). Default none."""
        return None

    def column_signal(self, layer: int, columns: np.ndarray, reads: np.ndarray) -> tuple[np.ndarray, bool]:
        """Transfer signal (rows × len(columns)) from the reads of those columns, and whether W
        may be written now. Default (TT-v1/TT-v2): the read itself, always."""
        return reads, True

    def after_reads(self, layer: int, columns: np.ndarray) -> Gen:
        """Work after a chunk's reads and writes (chopper flips, state syncs). Default: flips."""
        if self.choppers is not None:
            self.choppers[layer].flips(columns, self.schedule.sweeps[layer], self.ctl.rng)
        return
        yield

    def transfer_columns(self, layer: int, columns: np.ndarray) -> Gen:
        """Read the given (distinct, contiguous) columns of P once and transfer them into W."""
        spec = self.layers[layer]
        onehots = np.zeros((columns.size, spec.cols))
        onehots[np.arange(columns.size), columns] = 1.0
        values = yield Read(spec.name, "P", onehots, one_hot=True, minus=self.transfer_read(layer), io=self.p.transfer_io)
        reads = np.asarray(values, dtype=np.float64).T
        signal, allow = self.column_signal(layer, columns, reads)
        yield Digital(reads.size, "transfer_signal")
        if self.buffer is not None:
            steps = self.buffer.fire(layer, columns, signal, self.transfer_lr, self.p.transfer_update.desired_bl)
            yield Digital(reads.size, "transfer_buffer")
            fire = np.flatnonzero(np.any(steps != 0, axis=0))
            if allow and fire.size:
                counts = yield PulseTrain(spec.name, "W", onehots[fire], -steps[:, fire].T.astype(np.float64),
                                          self.dw_min(layer, "W"), update=self.p.transfer_update)
                self.count(spec.name, "W", counts)
        elif allow and self.transfer_lr > 0:
            counts = yield PulseTrain(spec.name, "W", onehots, -signal.T, self.transfer_lr,
                                      update=self.p.transfer_update)
            self.count(spec.name, "W", counts)
        yield from self.after_reads(layer, columns)


class ChopperFilterTrainer(TransferTrainer):
    """AGAD and E-RIDER: buffered transfers of c·(read − held) through the chopper/filter block
    (`ChopperFilter`: per-column choppers, an EMA of the reads, no writes to W during the first
    chopper period). `rate` is the EMA rate; `gate` and `hold` keep each algorithm's semantics.

    With γ > 0 the effective weight is W + γ·c·(P − held), realized as `realization` says:
    "paper" reads P live in every pass (minus the digital held copy, or an analog one the
    subclass names); "artifact" adds γ·S·v digitally, S the per-column snapshot of the transfer
    signal c·(read − held) taken at that column's last transfer read (zero before its first).
    """

    def __init__(self, ctl: Controller, params: ChopperFilterParams, rate: float, gate: WriteGate,
                 hold: HoldMode) -> None:
        super().__init__(ctl, params, buffer=params, choppers=params)
        assert self.choppers is not None
        self.filters = [ChopperFilter(layer.rows, layer.cols, rate, choppers=choppers, gate=gate, hold=hold)
                        for layer, choppers in zip(self.layers, self.choppers)]
        self.snapshots = ([np.zeros(layer.shape) for layer in self.layers]
                          if params.realization == "artifact" else None)
        """The artifact's digital snapshots S of c·(read − held), per layer (rows × cols)."""

    def fast_reference(self, layer: int) -> tuple[str | None, np.ndarray | None]:
        """The held copy (AGAD's μ_past, E-RIDER's digital Q̃), subtracted digitally."""
        return None, self.filters[layer].held

    def forward_signs(self, layer: int) -> np.ndarray | None:
        return self.filters[layer].choppers.signs

    def fast_term(self, layer: int, v: np.ndarray, direction: Literal["forward", "backward"]) -> Gen:
        """"paper": the live read; "artifact": S·v (Sᵀ·v backward), computed digitally and, as the
        authors' code, passed through the tile's read model (DAC, output noise, ADC)."""
        if self.snapshots is None:
            return (yield from super().fast_term(layer, v, direction))
        snapshot = self.snapshots[layer]
        io = self.ctl.read_settings(self.layers[layer].name)
        result = analog_mvm(snapshot, v, io, self.ctl.rng, transposed=direction == "backward",
                            allow_bound_management=False)
        yield Digital(v.shape[0] * snapshot.size, "snapshot_matvec")
        return np.asarray(result.values, dtype=np.float64)

    def column_signal(self, layer: int, columns: np.ndarray, reads: np.ndarray) -> tuple[np.ndarray, bool]:
        block = self.filters[layer]
        signal = block.signal(columns, reads)
        if self.snapshots is not None:
            self.snapshots[layer][:, columns] = signal
        return signal, block.writes_allowed(self.schedule.sweeps[layer])

    def after_reads(self, layer: int, columns: np.ndarray) -> Gen:
        if self.snapshots is not None:
            yield Digital(self.layers[layer].rows * columns.size, "snapshot_store")
        flipped = self.filters[layer].flip(columns, self.schedule.sweeps[layer], self.ctl.rng)
        yield from self.after_flips(layer, flipped)

    def after_flips(self, layer: int, flipped: np.ndarray) -> Gen:
        """Work after some columns' choppers flipped (E-RIDER: sync Q̃). Default: none."""
        return
        yield

    def sp_estimates(self) -> dict[str, np.ndarray]:
        return {layer.name: block.mean for layer, block in zip(self.layers, self.filters)}
