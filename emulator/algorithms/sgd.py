"""Analog SGD on the tiles, and the floating-point "digital SGD" reference (SPEC §6)."""

from __future__ import annotations

from typing import Any, Generator

import numpy as np

from emulator.algorithms.training import Trainer, register_trainer
from emulator.algorithms.training_params import TrainingParams
from emulator.hardware import Digital, Parallel, PulseTrain

Gen = Generator[Any, Any, Any]


class AnalogSGDParams(TrainingParams):
    """Analog SGD: the gradient −learning_rate·δ·xᵀ is pulsed straight onto W."""


class AnalogSGD(Trainer):
    """Pulses on W directly; converges to a point biased toward W's symmetric point."""

    def apply_update(self, inputs: list[np.ndarray], deltas: list[np.ndarray]) -> Gen:
        commands = [PulseTrain(layer.name, "W", x, d, self.params.learning_rate, update=self.params.update)
                    for layer, x, d in zip(self.layers, inputs, deltas)]
        results = yield Parallel(commands)
        for layer, counts in zip(self.layers, results):
            self.count(layer.name, "W", counts)


class DigitalSGDParams(TrainingParams):
    """Floating-point SGD reference: same workload, batches and schedule; no analog hardware.

    Weights are float64 numpy arrays in the controller; nothing is pulsed or read, so no
    tiles are needed (the hardware section may declare none). Digital work is still charged.
    """


class DigitalSGD(Trainer):
    """FLOATING-POINT REFERENCE (not analog): plain mini-batch SGD in numpy."""

    uses_tiles = False

    def prepare(self) -> Gen:
        self.weights = self.workload.init_weights(self.ctl.rng, max(self.params.init_scale, 1e-12))
        self.biases = self.workload.init_biases(self.ctl.rng, max(self.params.init_scale, 1e-12))
        yield from self.set_phase("training")

    def read_forward(self, layer: int, x: np.ndarray) -> Gen:
        yield Digital(x.shape[0] * self.weights[layer].size, "float_matvec")
        return x @ self.weights[layer].T

    def read_backward(self, layer: int, d: np.ndarray) -> Gen:
        yield Digital(d.shape[0] * self.weights[layer].size, "float_matvec")
        return d @ self.weights[layer]

    def apply_update(self, inputs: list[np.ndarray], deltas: list[np.ndarray]) -> Gen:
        for weights, x, d in zip(self.weights, inputs, deltas):
            weights -= self.params.learning_rate * d.T @ x
        yield Digital(sum(w.size for w in self.weights) * inputs[0].shape[0], "float_update")


register_trainer("train_sgd", AnalogSGDParams, AnalogSGD,
                 "analog SGD: gradient pulse trains straight onto W of every layer tile")
register_trainer("train_digital_sgd", DigitalSGDParams, DigitalSGD,
                 "floating-point SGD reference (numpy, no analog hardware) on the same workload")
