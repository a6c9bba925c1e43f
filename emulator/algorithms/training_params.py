"""Parameters of the training programs, as typed groups (SPEC §6, reference simulator names).

Scenario files give them flat (`[program.params] in_chop_prob = 0.02`), so a program's model
is flat too; these groups are its parts, each read by one component of the trainer:
`TrainingParams` by the training loop, `FastArrayParams` by the gradient writes on P and the
column transfers, `BufferParams` by the transfer buffer H, `ChopperParams` by the choppers,
`ChopperFilterParams` by the chopper/filter block AGAD and E-RIDER share. A program's model
inherits the groups it uses (which also fixes its field order); its trainer hands each group
to its component, typed, so nothing is looked up by name.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, model_validator

from devices.inputs import INPUT_CONFIG
from emulator.algorithms.transfer_rules import ChopperPath, chopper_period
from emulator.hardware import IOParameters, UpdateParameters
from emulator.workloads import DigitsParams, WorkloadParams


class TrainingParams(BaseModel):
    """Parameters every training program shares (workload, schedule, logging, init)."""

    model_config = INPUT_CONFIG

    workload: WorkloadParams = Field(default_factory=DigitsParams)
    """The problem; its layers live on tiles layer0, layer1, … (rows = outputs, cols = inputs+bias)."""
    epochs: Annotated[int, Field(gt=0, le=100_000)] = 40
    max_steps: Annotated[int, Field(gt=0)] | None = None
    """Stop after this many mini-batch steps (default: run all epochs)."""
    batch_size: Annotated[int, Field(gt=0, le=100_000)] = 10
    learning_rate: Annotated[float, Field(gt=0)] = 0.2
    """The SGD learning rate (the reference simulator's optimizer lr)."""
    update: UpdateParameters = Field(default_factory=UpdateParameters)
    """Pulse-train settings of gradient updates (desired_bl, managements, pulse_type)."""
    eval_every: Annotated[int, Field(ge=0)] = 1
    """Evaluate the test set every this many epochs (0: only at the end)."""
    eval_initial: bool = True
    """Also evaluate the test set once before training (step 0)."""
    eval_batch: Annotated[int, Field(gt=0)] = 256
    """Samples per evaluation read command."""
    log_every: Annotated[int, Field(gt=0)] = 10
    """Record the running training loss (and run the harness probes) every this many steps."""
    init_scale: Annotated[float, Field(ge=0)] = 1.0
    """Program W to U(±init_scale/√fan_in) before training (0: leave W at its reset state)."""
    init_reads: Annotated[int, Field(gt=0, le=1000)] = 4
    """Reads averaged per verify step of the initial programming."""
    init_tolerance: Annotated[float, Field(gt=0)] = 0.05
    """Program-and-verify tolerance of the initial weights (weight units)."""
    init_iterations: Annotated[int, Field(ge=0, le=1000)] = 5
    init_programming: Literal["verify", "ideal"] = "verify"
    """How initial weights are written: "verify" (program-and-verify with pulses and reads, as a
    chip must) or "ideal" (exactly, without pulses: the reference simulator's set_weights, for
    comparisons with it; booked as ideal_writes)."""
    target_loss: Annotated[float, Field(gt=0)] | None = None
    """Record when the running training loss (mean of `loss_window` steps) first reaches this."""
    stop_at_target: bool = False
    """Stop training once `target_loss` is reached."""
    loss_window: Annotated[int, Field(gt=0)] = 10
    accuracy_window: Annotated[int, Field(gt=0)] = 5
    """Evaluations averaged for `mean_test_accuracy` / `mean_test_loss` (the end of training)."""

    @model_validator(mode="after")
    def _target_given(self) -> "TrainingParams":
        if self.stop_at_target and self.target_loss is None:
            raise ValueError("stop_at_target needs target_loss")
        return self


def transfer_update_default() -> UpdateParameters:
    """One deterministic pulse per selected cell (desired_bl 1, no managements)."""
    return UpdateParameters(desired_bl=1, update_bl_management=False, update_management=False)


class FastArrayParams(TrainingParams):
    """Gradient writes to the fast array P and column transfers to W (reference simulator names)."""

    fast_lr: Annotated[float, Field(gt=0)] | None = 0.5
    """Learning rate of the gradient on P. With auto_scale: about fast_lr·desired_bl pulses at the
    largest element per sample. Without: the absolute lr α (None: use learning_rate)."""
    auto_scale: bool = True
    """Normalize the gradient on P by running max |x| and max |d| (reference simulator)."""
    auto_momentum: Annotated[float, Field(gt=0, lt=1)] = 0.99
    transfer_every: Annotated[float, Field(gt=0)] = 1.0
    """Samples (or mini-batches, `units_in_mbatch`) per column transfer (one column of P read and
    written per transfer)."""
    units_in_mbatch: bool = False
    """Count `transfer_every` in mini-batches (the reference simulator's `units_in_mbatch`: the
    [DSPT] authors transfer one column per mini-batch); the buffer threshold's
    cols · transfer_every keeps the raw value, as the reference's."""
    transfer_lr: Annotated[float, Field(ge=0)] = 1.0
    """Learning rate of the transfer into W (β)."""
    scale_transfer_lr: bool = True
    """Multiply transfer_lr by learning_rate (the reference simulator's default)."""
    transfer_update: UpdateParameters = Field(default_factory=transfer_update_default)
    """Pulse-train settings of transfer writes (desired_bl 1 by default: one pulse per cell)."""
    gamma: Annotated[float, Field(ge=0)] = 0.0
    """Weight γ of the fast array in the effective weight W + γ·(P − reference)."""
    fast_init: Literal["reset", "zero"] = "reset"
    """Initial state of P: its reset state, or visible 0 written as `init_programming` says (the
    reference simulator sets its fast device to 0 when the weights are set)."""
    transfer_io: IOParameters | None = None
    """Read path of the one-hot transfer reads of P (the reference simulator's `transfer_forward`);
    default the tile's. Transfer reads never use noise or bound management."""
    transfer_timing: Literal["after_batch", "per_sample"] = "after_batch"
    """When the column transfers of a mini-batch run: after all its gradient trains, or each
    right after the sample that makes it due (the reference simulator's order; one train command
    per sample, slower to emulate)."""


class BufferParams(BaseModel):
    """The digital transfer buffer H of TT-v2 and later (SPEC §6)."""

    model_config = INPUT_CONFIG

    thres_scale: Annotated[float, Field(gt=0)] = 1.0
    """Buffer threshold θ = thres_scale × granularity of P, the array read (× auto_granularity
    scaling), as the reference simulator's buffer granularity of its "from" device."""
    auto_granularity: Annotated[float, Field(ge=0)] = 1000.0
    """If > 0, θ is scaled by auto_granularity / (cols · transfer_every)."""
    momentum: Annotated[float, Field(ge=0, le=1)] = 0.0
    """Fraction of H kept after a write (forget_buffer) or of the written amount not subtracted."""
    forget_buffer: bool = True
    """After a write set H ← momentum·H (true) or subtract (1 − momentum)·written (false)."""


class ChopperParams(BaseModel):
    """Per-column input choppers (c-TTv2, AGAD, E-RIDER)."""

    model_config = INPUT_CONFIG

    in_chop_prob: Annotated[float, Field(ge=0, le=1)] = 0.1
    """Flip probability per column read (random) or 1/period (regular)."""
    in_chop_random: bool = True
    """Random flips (true) or periodic: every ⌈1/in_chop_prob⌉ reads of a column (false)."""
    chopper_path: ChopperPath = "cpu"
    """The reference simulator's code path periodic choppers follow: "cpu" (flips in sweeps N−1,
    2N−1, …; AGAD writes W once more than N sweeps are done) or "cuda" (flips in sweeps 0, N,
    2N, …; AGAD writes once N are done), the path the [DSPT] authors ran."""


class ChopperFilterParams(FastArrayParams, BufferParams, ChopperParams):
    """The chopper/filter block of AGAD and E-RIDER on a buffered fast-array program: regular
    choppers by default (the reference simulator's), an EMA of the reads at rate
    min(tail_weightening/N, 1). Its fields come after the fast-array ones in a program's model."""

    in_chop_prob: Annotated[float, Field(gt=0, le=1)] = 0.02
    in_chop_random: bool = False
    tail_weightening: Annotated[float, Field(gt=0)] = 5.0
    """EMA rate min(tail_weightening / N, 1), N = max(⌈1/in_chop_prob⌉, 2) (AGAD's β; E-RIDER's η
    unless eta is given)."""
    realization: Literal["paper", "artifact"] = "paper"
    """How the γ term of the effective weight W̄ = W + γ·c·(P − held) is realized: "paper" reads
    it live in every forward/backward pass ([DSPT] Alg. 3 as written: an extra read of P, against
    the analog Q̃ for E-RIDER); "artifact" keeps a digital per-column snapshot of c·(read − held)
    taken at that column's transfer read and adds γ·snapshot·x digitally (the [DSPT] authors'
    CUDA code, which runs it through its read model: DAC, output noise, ADC)."""

    def filter_rate(self) -> float:
        """The EMA rate of the filter, min(tail_weightening / N, 1)."""
        return min(self.tail_weightening / chopper_period(self.in_chop_prob), 1.0)
