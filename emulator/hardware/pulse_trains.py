"""Stochastic coincidence pulse trains (SPEC §2.1, AIHWKIT UpdateParameters).

Which rows and columns fire in each of the BL slots comes from counter-hashed uniforms keyed by
one draw of the tile's train generator per train; one compiled pass turns the coincidences into
signed per-cell pulse counts. Within one train every pulse on a cell has
the same sign (sign(x_j·d_i) is fixed), so applying the counts as sequential pulses is
exactly the slot-by-slot application.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, Field

from devices.inputs import FROZEN_INPUT_CONFIG
from emulator._kernels import firing_plans, stochastic_counts, stochastic_counts_batch


class UpdateParameters(BaseModel):
    """Pulse-train settings with the reference simulator's names."""

    model_config = FROZEN_INPUT_CONFIG

    desired_bl: Annotated[int, Field(ge=1, le=10_000)] = 31
    """Maximum (and with bl management off, fixed) number of slots per update."""
    update_bl_management: bool = True
    """Shorten the train to ceil(k) slots when fewer suffice."""
    update_management: bool = True
    """Balance row and column firing probabilities (and saturate when k > desired_bl). Always on
    when update_bl_management is (the reference simulator switches it on then)."""
    pulse_type: Literal["stochastic", "mean_count", "none"] = "stochastic"
    """stochastic coincidences, deterministic mean counts, or a floating-point update."""


@dataclass(frozen=True)
class TrainPlan:
    """Everything needed to execute one update as pulses."""

    counts: np.ndarray
    """Signed pulses per cell (> 0 up, < 0 down), int32, shape (rows, cols)."""
    bl: int
    """Number of slots (0 when nothing fires)."""
    slot_pulses: np.ndarray
    """Cell pulses fired in each slot (length bl), for traces."""
    row_probability: np.ndarray
    """q_i, firing probability of each row per slot."""
    column_probability: np.ndarray
    """p_j, firing probability of each column per slot."""


def train_keys(rng: np.random.Generator, trains: int) -> np.ndarray:
    """The keys of the next `trains` stochastic trains: one raw 64-bit draw of `rng` each. A
    train's firing draws are counter hashes of its key (`pack_firing_bits`), so the generator
    advances by one draw per train, however many slots and lines it has."""
    return rng.bit_generator.random_raw(trains).astype(np.uint64)


def plan_pulse_train(
    x: np.ndarray,
    d: np.ndarray,
    learning_rate: float,
    granularity: float,
    params: UpdateParameters,
    rng: np.random.Generator,
    counts_out: np.ndarray | None = None,
) -> TrainPlan:
    """Pulses realizing ΔW = −lr·d·xᵀ on a device of step `granularity` (SPEC §2.1).

    x has one entry per column (input), d one per row (output). Down pulses where x_j·d_i > 0.
    `counts_out` (int32, rows × cols) receives the stochastic counts instead of a new array.
    """
    x = np.asarray(x, dtype=np.float64).reshape(1, -1)
    d = np.asarray(d, dtype=np.float64).reshape(1, -1)
    rows, cols = d.shape[1], x.shape[1]
    slots, row_probabilities, column_probabilities, row_signs, column_signs = firing_plans(
        x, d, learning_rate, granularity, params.desired_bl, params.update_bl_management, params.update_management)
    bl = int(slots[0])
    if bl == 0:
        return TrainPlan(np.zeros((rows, cols), np.int32), 0, np.zeros(0, np.int64), np.zeros(rows), np.zeros(cols))
    row_probability, column_probability = row_probabilities[0], column_probabilities[0]
    row_sign, column_sign = row_signs[0], column_signs[0]

    if params.pulse_type == "mean_count":
        counts = mean_counts(row_probability, column_probability, row_sign, column_sign, bl)
        slot_pulses = _even_slot_split(int(np.abs(counts).sum()), bl)
        return TrainPlan(counts, bl, slot_pulses, row_probability, column_probability)

    counts = counts_out if counts_out is not None else np.empty((rows, cols), dtype=np.int32)
    key = train_keys(rng, 1)[0]
    slot_pulses = stochastic_counts(key, bl, row_probability, column_probability, row_sign, column_sign, counts)
    return TrainPlan(counts, bl, slot_pulses, row_probability, column_probability)


def plan_stochastic_trains(
    xs: np.ndarray,
    ds: np.ndarray,
    learning_rate: float,
    granularity: float,
    params: UpdateParameters,
    rng: np.random.Generator,
    totals_out: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stochastic trains of a batch (samples × cols inputs, samples × rows errors): the signed
    counts (samples × rows × cols, int32), the slots of each sample and the cell pulses of every
    slot (sample after sample). `totals_out` (samples × 2, int64) receives each sample's up and
    down pulses if given.

    The same counts and draws as `plan_pulse_train` on each sample in order (the same
    `firing_plans`, then the keys of the samples that fire in one draw of the same generator),
    in two compiled passes; for batches without traces.
    """
    xs = np.ascontiguousarray(xs, dtype=np.float64)
    ds = np.ascontiguousarray(ds, dtype=np.float64)
    samples, cols = xs.shape
    rows = ds.shape[1]
    slots, row_probability, column_probability, row_sign, column_sign = firing_plans(
        xs, ds, learning_rate, granularity, params.desired_bl, params.update_bl_management, params.update_management)
    counts = np.empty((samples, rows, cols), dtype=np.int32)
    total_slots = int(slots.sum())
    keys = train_keys(rng, int(np.count_nonzero(slots)))
    slot_pulses = np.empty(total_slots, dtype=np.int64)
    totals = totals_out if totals_out is not None else np.empty((samples, 2), dtype=np.int64)
    stochastic_counts_batch(keys, slots, row_probability, column_probability, row_sign, column_sign, counts,
                            slot_pulses, totals)
    return counts, slots, slot_pulses


def mean_counts(row_probability: np.ndarray, column_probability: np.ndarray, row_sign: np.ndarray,
                column_sign: np.ndarray, bl: int) -> np.ndarray:
    """Deterministic counts of the reference simulator's MEAN_COUNT pulse type: each line's count
    n = rint(BL·p) first, then per cell rint(n_row / BL · n_col), in float32 (its RPU_ROUNDFUNF is
    rintf: halves to even). Signed as the emulator's counts (> 0 up)."""
    blf = np.float32(bl)
    row_counts = np.rint(blf * row_probability.astype(np.float32))
    column_counts = np.rint(blf * column_probability.astype(np.float32))
    magnitude = np.rint(np.outer(row_counts / blf, column_counts).astype(np.float32))
    return (magnitude * np.outer(row_sign, column_sign)).astype(np.int32)


def _even_slot_split(total: int, bl: int) -> np.ndarray:
    base, extra = divmod(total, bl)
    return np.array([base + (1 if t < extra else 0) for t in range(bl)], dtype=np.int64)
