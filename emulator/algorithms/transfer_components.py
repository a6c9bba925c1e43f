"""Components of the fast/slow trainers, each built from its typed parameter group.

`FastArray` plans the gradient pulse trains on P (auto_scale), `ColumnSchedule` says which
columns of P are transferred next, `TransferBuffer` is the digital buffer H with its threshold.
They hold the controller's digital state and arithmetic only: no commands, no simulated time
(the trainer issues the commands and charges the work).
"""

from __future__ import annotations

import math
from typing import Iterator

import numpy as np

from emulator.algorithms.training_params import BufferParams, FastArrayParams
from emulator.algorithms.transfer_rules import AutoScale, buffer_granularity, buffer_threshold


class FastArray:
    """Gradient writes on the fast array P of every layer (`FastArrayParams`)."""

    def __init__(self, params: FastArrayParams, layers: int) -> None:
        self.params = params
        self.autoscale = [AutoScale(params.auto_momentum) for _ in range(layers)]

    def trains(self, layer: int, x: np.ndarray, d: np.ndarray, granularity: float,
               signs: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, float]:
        """(x, d, lr) of a batch's pulse trains on P: per-sample auto-scaled lr folded into d
        (`granularity`: P's dw_min), inputs chopped by the column `signs` if given."""
        p = self.params
        if p.auto_scale and p.fast_lr is not None:
            scale = self.autoscale[layer]
            rates = np.empty(x.shape[0])
            x_max, d_max = np.max(np.abs(x), axis=1), np.max(np.abs(d), axis=1)
            for sample in range(x.shape[0]):
                scale.update(float(x_max[sample]), float(d_max[sample]), p.batch_size)
                rates[sample] = scale.count_lr(p.fast_lr, p.update.desired_bl, granularity)
            d, lr = d * rates[:, None], 1.0
        else:
            lr = p.fast_lr if p.fast_lr is not None else p.learning_rate
        if signs is not None:
            x = x * signs
        return x, d, lr


class ColumnSchedule:
    """The next columns of P to transfer: one per `transfer_every` samples (or mini-batches, as the
    caller counts), cyclically, per layer."""

    def __init__(self, columns: list[int], transfer_every: float) -> None:
        self.columns = columns
        self.transfer_every = transfer_every
        self.pointer = [0] * len(columns)
        self.credit = [0.0] * len(columns)
        self.sweeps = [0] * len(columns)
        """Completed sweeps over the columns of each layer."""

    def due(self, layer: int, samples: float) -> Iterator[np.ndarray]:
        """The chunks of distinct, contiguous columns due after `samples` more samples (or the
        fraction of a mini-batch they are, when `transfer_every` counts mini-batches).

        The pointer and the sweep count advance when the caller asks for the next chunk, i.e.
        after it has transferred this one (which therefore sees the sweeps done before it).
        """
        cols = self.columns[layer]
        self.credit[layer] += samples / self.transfer_every
        due = int(math.floor(self.credit[layer] + 1e-9))
        self.credit[layer] -= due
        while due > 0:
            start = self.pointer[layer]
            stop = min(start + due, cols)
            chunk = np.arange(start, stop)
            yield chunk
            due -= chunk.size
            self.pointer[layer] = stop % cols
            if stop == cols:
                self.sweeps[layer] += 1


class TransferBuffer:
    """The digital transfer buffer H of every layer and its threshold θ (`BufferParams`)."""

    def __init__(self, params: BufferParams, shapes: list[tuple[int, int]]) -> None:
        self.params = params
        self.buffers = [np.zeros(shape) for shape in shapes]
        """H per layer, in weight units."""
        self.thresholds: list[float] = []

    def set_thresholds(self, granularities: list[float], columns: list[int], transfer_every: float) -> None:
        """θ per layer from the nominal granularity of P, the array the transfers read (the
        reference simulator's `from_weight_granularity`)."""
        p = self.params
        self.thresholds = [buffer_granularity(granularity, p.thres_scale, p.auto_granularity, cols, transfer_every)
                           for granularity, cols in zip(granularities, columns)]

    def fire(self, layer: int, columns: np.ndarray, signal: np.ndarray, learning_rate: float,
             max_steps: int) -> np.ndarray:
        """Add lr·signal to H on those columns; the signed pulse counts (rows × len(columns))."""
        buffer, steps = buffer_threshold(self.buffers[layer][:, columns], signal, learning_rate,
                                         self.thresholds[layer], max_steps, self.params.momentum,
                                         self.params.forget_buffer)
        self.buffers[layer][:, columns] = buffer
        return steps
