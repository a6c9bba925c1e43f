"""What every training workload provides: layers (one tile each), data, loss and scores.

A workload is pure numpy and knows nothing about tiles or time. Its layers are fully
connected; layer `l` lives on tile `layer{l}` with rows = outputs and columns = inputs (+1
when the layer has a bias, fed by a constant-1 input column, the last column). Activations,
the loss and its gradient are digital (computed by the controller program).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

Activation = Literal["sigmoid", "tanh", "relu", "identity"]
BiasPlacement = Literal["analog", "digital", "none"]
"""Where a layer's bias lives: a constant-1 input column of the tile (analog), a vector in the
controller updated by floating-point SGD (digital, the reference simulator's default
`digital_bias`), or nowhere."""
Task = Literal["classification", "regression"]


def tile_name(index: int) -> str:
    """Name of the tile that holds layer `index`."""
    return f"layer{index}"


@dataclass(frozen=True)
class LayerSpec:
    """One fully connected layer mapped onto one tile."""

    name: str
    """Tile name (layer0, layer1, …)."""
    inputs: int
    """Fan-in without the bias input."""
    outputs: int
    """Fan-out (tile rows)."""
    bias: BiasPlacement
    """Where the bias lives; "analog" adds a constant-1 input column (the last column)."""
    activation: Activation
    """Nonlinearity applied (digitally) to this layer's output."""

    @property
    def rows(self) -> int:
        return self.outputs

    @property
    def cols(self) -> int:
        return self.inputs + int(self.analog_bias)

    @property
    def analog_bias(self) -> bool:
        return self.bias == "analog"

    @property
    def digital_bias(self) -> bool:
        return self.bias == "digital"

    @property
    def shape(self) -> tuple[int, int]:
        return (self.rows, self.cols)


def activate(z: np.ndarray, activation: Activation) -> np.ndarray:
    """Apply a nonlinearity element-wise."""
    if activation == "sigmoid":
        return 0.5 * (1.0 + np.tanh(0.5 * z))  # overflow-free logistic
    if activation == "tanh":
        return np.tanh(z)
    if activation == "relu":
        return np.maximum(z, 0.0)
    return z


def activation_derivative(z: np.ndarray, a: np.ndarray, activation: Activation) -> np.ndarray:
    """d activation / dz at pre-activation z (output a = activate(z))."""
    if activation == "sigmoid":
        return a * (1.0 - a)
    if activation == "tanh":
        return 1.0 - a * a
    if activation == "relu":
        return (z > 0.0).astype(z.dtype)
    return np.ones_like(z)


def append_bias(x: np.ndarray) -> np.ndarray:
    """Append the constant-1 bias input column to a batch (samples × inputs)."""
    return np.hstack([x, np.ones((x.shape[0], 1), dtype=x.dtype)])


def softmax(z: np.ndarray) -> np.ndarray:
    shifted = z - np.max(z, axis=1, keepdims=True)
    e = np.exp(shifted)
    return e / np.sum(e, axis=1, keepdims=True)


@dataclass
class Workload:
    """A supervised problem on a fully connected network whose layers live on tiles."""

    name: str
    task: Task
    layers: list[LayerSpec]
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    optimum_loss: float | None = None
    """Known minimum of the training loss (least squares), for reporting loss − f*."""
    classes: int = 0
    reference_weights: list[np.ndarray] | None = None
    """Weights that generated (or optimally fit) the targets, per layer (regression workloads)."""
    info: dict[str, float] = field(default_factory=dict)

    @property
    def train_size(self) -> int:
        return int(self.x_train.shape[0])

    def loss_and_delta(self, outputs: np.ndarray, targets: np.ndarray) -> tuple[float, np.ndarray]:
        """Mean loss over the batch and dL/d(output pre-activation), both digital.

        Classification: softmax cross-entropy on the last layer's (linear) outputs, targets
        are class indices. Regression: ½‖y − t‖² per sample. The gradient is of the batch
        mean (so it carries the 1/batch factor, as the reference simulator's mean loss).
        """
        batch = outputs.shape[0]
        if self.task == "classification":
            probabilities = softmax(outputs.astype(np.float64))
            picked = probabilities[np.arange(batch), targets]
            loss = float(-np.mean(np.log(np.maximum(picked, 1e-12))))
            delta = probabilities
            delta[np.arange(batch), targets] -= 1.0
            return loss, delta / batch
        error = outputs.astype(np.float64) - targets
        loss = float(0.5 * np.mean(np.sum(error * error, axis=1)))
        return loss, error / batch

    def score(self, outputs: np.ndarray, targets: np.ndarray) -> dict[str, float]:
        """Loss and (classification) accuracy of network outputs on a labelled set."""
        loss, _ = self.loss_and_delta(outputs, targets)
        scores = {"loss": loss}
        if self.task == "classification":
            scores["accuracy"] = float(np.mean(np.argmax(outputs, axis=1) == targets))
        return scores

    def init_weights(self, rng: np.random.Generator, scale: float = 1.0) -> list[np.ndarray]:
        """Initial weights per layer (rows × cols): U(±scale/√fan_in), bias column included."""
        weights = []
        for layer in self.layers:
            bound = scale / np.sqrt(layer.inputs)
            weights.append(rng.uniform(-bound, bound, size=layer.shape))
        return weights

    def init_biases(self, rng: np.random.Generator, scale: float = 1.0) -> list[np.ndarray]:
        """Initial digital biases per layer: U(±scale/√fan_in) where the bias is digital, else empty
        (drawn after `init_weights`, so analog-bias runs draw exactly what they did before)."""
        return [rng.uniform(-scale / np.sqrt(layer.inputs), scale / np.sqrt(layer.inputs), size=layer.outputs)
                if layer.digital_bias else np.zeros(0) for layer in self.layers]

    def forward_float(self, weights: list[np.ndarray], x: np.ndarray,
                      biases: list[np.ndarray] | None = None) -> list[np.ndarray]:
        """Floating-point forward pass; returns the pre-activations of every layer."""
        a = x
        pre = []
        for index, (layer, w) in enumerate(zip(self.layers, weights)):
            inputs = append_bias(a) if layer.analog_bias else a
            z = inputs @ w.T
            if layer.digital_bias and biases is not None:
                z = z + biases[index]
            pre.append(z)
            a = activate(z, layer.activation)
        return pre
