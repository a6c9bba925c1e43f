"""Training engine shared by every training program (SPEC §6 on the workloads of issue 5).

A `Trainer` runs mini-batch training of a workload whose layer `l` lives on tile
`layer{l}`: the forward pass is `Read(direction="forward")` on the batch, the backward pass
`Read(direction="backward")`, activations and the loss are digital (numpy, charged with
`Digital` commands), and the pulsed update runs per sample (`PulseTrain` with a batch).
Subclasses say how the effective weight is read and how the gradient is written.

Phases (pulses, reads and energy are counted under them): "programming" (initial weights,
reference copies), "calibration" (zero-shifting), "training" (forward/backward reads and
gradient pulses), "transfer" (fast-array column reads and writes to W), "evaluation"
(test-set reads).

Programs never read device state. Ground truth (the true symmetric point of P, the true
weights) is computed only by `probe_training`/`finalize_training` (`training_probes`), which
the harness calls;
they get the program's digital state (Q, H, …) as the `state` of `ctl.checkpoint` and as the
"_trainer" entry of the result (underscore keys stay out of summary.json).
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any, Generator

import numpy as np

from emulator.algorithms.training_params import TrainingParams
from emulator.algorithms.training_probes import finalize_training, probe_training
from emulator.hardware import Controller, Digital, PulseCounts, Read, SetPhase, SetWeights, SlowProcessStep
from emulator.hardware.commands import fired_pulses
from emulator.registry import HardwareMismatch, TileLayout
from emulator.workloads import Workload, build_workload, layer_tile_problems, workload_layers
from emulator.workloads.base import activate, activation_derivative, append_bias

Gen = Generator[Any, Any, Any]

class Trainer:
    """Mini-batch training loop over analog reads; subclasses define reads and updates."""

    #: Arrays every layer's tile must have (besides those a subclass adds).
    arrays: tuple[str, ...] = ("W",)
    #: Whether the program runs on tiles at all (the floating-point reference does not).
    uses_tiles: bool = True

    def __init__(self, ctl: Controller, params: TrainingParams) -> None:
        self.ctl = ctl
        self.params = params
        self.workload: Workload = build_workload(params.workload)
        self.layers = self.workload.layers
        self.phase: str | None = None
        self.step = 0
        self.samples = 0
        self.epoch = 0
        self.commanded: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(2, np.int64))
        self.losses: list[float] = []
        self.history: dict[str, list[float]] = defaultdict(list)
        self.target_step: int | None = None
        self.target_samples: int | None = None
        self.best_accuracy = -math.inf
        self.last_scores: dict[str, float] = {}
        self.truth_at_target: dict[str, float] = {}
        self.slow_processes = False
        self.biases: list[np.ndarray] = [np.zeros(layer.outputs if layer.digital_bias else 0)
                                         for layer in self.layers]

    # ------------------------------------------------------------------ hooks
    @classmethod
    def required_arrays(cls, params: TrainingParams) -> tuple[str, ...]:
        """Arrays every layer tile must declare with these parameters."""
        return cls.arrays

    def prepare(self) -> Gen:
        """Work before training (calibration, reference programming). Default: none."""
        return
        yield

    def read_forward(self, layer: int, x: np.ndarray) -> Gen:
        """Pre-activations of layer `layer` for inputs x (samples × cols)."""
        values = yield Read(self.layers[layer].name, "W", x, "forward")
        return np.asarray(values, dtype=np.float64)

    def read_backward(self, layer: int, d: np.ndarray) -> Gen:
        """Back-propagated errors (samples × cols) of layer `layer` for deltas d (samples × rows)."""
        values = yield Read(self.layers[layer].name, "W", d, "backward")
        return np.asarray(values, dtype=np.float64)

    def apply_update(self, inputs: list[np.ndarray], deltas: list[np.ndarray]) -> Gen:
        """Write the gradient −lr·δ·xᵀ of every layer (pulses) and do any transfers."""
        raise NotImplementedError

    def sp_estimates(self) -> dict[str, np.ndarray]:
        """The program's estimate of each layer's fast-array symmetric point (if it tracks one)."""
        return {}

    def between_steps(self) -> Gen:
        """Work between mini-batches (before the first and after each one), e.g. a recalibration
        policy. Default: none."""
        return
        yield

    @classmethod
    def hardware_problems(cls, params: TrainingParams, layout: TileLayout) -> list[tuple[str, str]]:
        """(field path, reason) for every way the declared tiles do not fit these parameters."""
        if not cls.uses_tiles:
            return []
        return layer_tile_problems(workload_layers(params.workload), cls.required_arrays(params), layout)

    # ------------------------------------------------------------------ helpers
    def set_phase(self, phase: str) -> Gen:
        if phase != self.phase:
            self.phase = phase
            yield SetPhase(phase)

    def count(self, tile: str, array: str, counts: np.ndarray) -> None:
        """Book the pulses a write command reported, by array and phase (cross-check with the
        recorder). A `PulseTrain` result carries its exact up and down totals; a batch's per-cell
        sum alone would cancel opposite-sign samples on one cell."""
        self.commanded[f"{tile}/{array}|{self.phase}"] += fired_pulses(counts)

    def check_hardware(self) -> None:
        """Fail early, with what the scenario must declare, if a layer tile is missing or wrong."""
        if not self.uses_tiles:
            return
        layout = {name: (*tile.shape, frozenset(tile.arrays)) for name, tile in self.ctl.hardware.tiles.items()}
        problems = self.hardware_problems(self.params, layout)
        if problems:
            needed = list(self.required_arrays(self.params))
            raise HardwareMismatch(
                "hardware does not match the training workload: " + "; ".join(reason for _, reason in problems)
                + f". Every layer tile needs arrays {needed}; "
                "emulator.workloads.training_hardware() generates a matching hardware section.")

    def dw_min(self, layer: int, array: str) -> float:
        return float(self.ctl.device_config(self.layers[layer].name, array).dw_min)

    # ------------------------------------------------------------------ initial weights
    def initialize_weights(self) -> Gen:
        """Program W of every layer to PyTorch-style random initial weights (phase programming)."""
        p = self.params
        if p.init_scale <= 0 or not self.uses_tiles or (p.init_programming == "verify" and p.init_iterations == 0):
            return
        weights = self.workload.init_weights(self.ctl.rng, p.init_scale)
        self.biases = self.workload.init_biases(self.ctl.rng, p.init_scale)
        yield from self.set_phase("programming")
        for index, target in enumerate(weights):
            yield from self.write_array(index, "W", target)

    def write_array(self, layer: int, array: str, target: np.ndarray) -> Gen:
        """Write a whole array to `target` (rows × cols) the way `init_programming` says."""
        p = self.params
        if p.init_programming == "ideal":
            yield SetWeights(self.layers[layer].name, array, target)
            return
        yield from self.program_columns(layer, array, np.arange(self.layers[layer].cols), target, p.init_reads,
                                        p.init_iterations, p.init_tolerance)

    def program_columns(self, layer: int, array: str, columns: np.ndarray, targets: np.ndarray,
                        reads: int, iterations: int, tolerance: float, max_pulses: int = 1000) -> Gen:
        """Program-and-verify some columns of an array to targets (rows × len(columns)), phase programming.

        Each iteration reads the columns (one-hot reads, `reads` repeats averaged) and sends
        per-cell counts toward the target; cells within `tolerance` are left alone.
        """
        if columns.size == 0:
            return
        previous = self.phase
        yield from self.set_phase("programming")
        spec = self.layers[layer]
        step = self.dw_min(layer, array)
        onehots = np.zeros((columns.size, spec.cols))
        onehots[np.arange(columns.size), columns] = 1.0
        batch = np.tile(onehots, (reads, 1))
        for _ in range(iterations):
            values = yield Read(spec.name, array, batch, one_hot=True)
            estimate = np.asarray(values, np.float64).reshape(reads, columns.size, spec.rows).mean(axis=0).T
            error = targets - estimate
            pending = np.abs(error) > tolerance
            if not pending.any():
                break
            counts = np.clip(np.rint(error / step), -max_pulses, max_pulses).astype(np.int64)
            counts = np.where(pending & (counts == 0), np.sign(error).astype(np.int64), counts)
            counts = np.where(pending, counts, 0)
            full = np.zeros(spec.shape, np.int64)
            full[:, columns] = counts
            yield Digital(counts.size, "program_verify")
            yield PulseCounts(spec.name, array, full)
            self.count(spec.name, array, full)
        if previous is not None:
            yield from self.set_phase(previous)

    # ------------------------------------------------------------------ the loop
    def run(self) -> Gen:
        """The whole program: check, initialize, prepare, train, evaluate; returns the result."""
        self.check_hardware()
        p = self.params
        self.slow_processes = self.uses_tiles and any(
            config.lifetime > 0 or config.diffusion > 0
            for layer in self.layers for config in (self.ctl.device_config(layer.name, array)
                                                    for array in self.required_arrays(p)))
        yield from self.initialize_weights()
        yield from self.prepare()
        if p.eval_initial:
            yield from self.evaluate()
        yield from self.between_steps()
        n = self.workload.train_size
        steps_per_epoch = math.ceil(n / p.batch_size)
        total = p.max_steps or p.epochs * steps_per_epoch
        stop = False
        for epoch in range(1, p.epochs + 1):
            self.epoch = epoch
            order = self.ctl.rng.permutation(n)
            epoch_losses = []
            for start in range(0, n, p.batch_size):
                index = order[start:start + p.batch_size]
                loss = yield from self.train_step(self.workload.x_train[index], self.workload.y_train[index])
                epoch_losses.append(loss)
                self.ctl.progress(self.step, total)
                if self._after_step(loss):
                    stop = True
                    break
                yield from self.between_steps()
            self.ctl.metric("epoch_train_loss", float(np.mean(epoch_losses)), self.step)
            self.history["epoch_train_loss"].append(float(np.mean(epoch_losses)))
            last = stop or epoch == p.epochs
            if last or (p.eval_every and epoch % p.eval_every == 0):
                yield from self.evaluate()
            self.ctl.checkpoint("epoch", self.step, state=self)
            if stop:
                break
        return {**self.result(), "_trainer": self}

    def _after_step(self, loss: float) -> bool:
        """Logging, probes and the target-loss check; returns True to stop."""
        p = self.params
        self.losses.append(loss)
        if self.step % p.log_every == 0:
            self.ctl.metric("train_loss", float(np.mean(self.losses[-p.log_every:])), self.step)
            self.ctl.checkpoint("train", self.step, state=self)
        if p.target_loss is not None and self.target_step is None and len(self.losses) >= p.loss_window:
            running = float(np.mean(self.losses[-p.loss_window:]))
            if running <= p.target_loss:
                self.target_step, self.target_samples = self.step, self.samples
                self.ctl.metric("target_reached_samples", self.samples, self.step)
                self.ctl.checkpoint("target_reached", self.step, state=self)
                if p.stop_at_target:
                    return True
        return p.max_steps is not None and self.step >= p.max_steps

    def forward(self, x: np.ndarray) -> Gen:
        """Forward pass; returns (inputs per layer incl. bias, (z, a) per layer)."""
        inputs, outputs = [], []
        a = x
        elements = 0
        for index, layer in enumerate(self.layers):
            layer_input = append_bias(a) if layer.analog_bias else a
            inputs.append(layer_input)
            z = yield from self.read_forward(index, layer_input)
            if layer.digital_bias:
                z = z + self.biases[index]
            a = activate(z, layer.activation)
            outputs.append((z, a))
            elements += z.size
        yield Digital(elements, "activation")
        return inputs, outputs

    def train_step(self, x: np.ndarray, y: np.ndarray) -> Gen:
        """One mini-batch: forward, loss, backward (reads), then the pulsed update."""
        yield from self.set_phase("training")
        inputs, outputs = yield from self.forward(x)
        z_last, a_last = outputs[-1]
        loss, grad = self.workload.loss_and_delta(a_last, y)
        yield Digital(grad.size, "loss")
        deltas: list[np.ndarray] = [np.empty(0)] * len(self.layers)
        deltas[-1] = grad * activation_derivative(z_last, a_last, self.layers[-1].activation)
        elements = 0
        for index in range(len(self.layers) - 1, 0, -1):
            error = yield from self.read_backward(index, deltas[index])
            if self.layers[index].analog_bias:
                error = error[:, :-1]
            z, a = outputs[index - 1]
            deltas[index - 1] = error * activation_derivative(z, a, self.layers[index - 1].activation)
            elements += error.size
        if elements:
            yield Digital(elements, "backprop")
        yield from self.update_biases(deltas)
        yield from self.apply_update(inputs, deltas)
        if self.slow_processes:
            yield SlowProcessStep()  # decay and diffusion once per mini-batch, as the reference simulator
        self.step += 1
        self.samples += x.shape[0]
        return loss

    def update_biases(self, deltas: list[np.ndarray]) -> Gen:
        """Floating-point SGD on the digital biases (the reference simulator's `digital_bias`)."""
        elements = 0
        for index, layer in enumerate(self.layers):
            if layer.digital_bias:
                self.biases[index] -= self.params.learning_rate * deltas[index].sum(axis=0)
                elements += deltas[index].size
        if elements:
            yield Digital(elements, "bias_update")

    def evaluate(self) -> Gen:
        """Test-set loss (and accuracy) through the same analog forward pass (phase evaluation)."""
        previous = self.phase
        yield from self.set_phase("evaluation")
        x, y = self.workload.x_test, self.workload.y_test
        outputs = []
        for start in range(0, x.shape[0], self.params.eval_batch):
            _, layer_outputs = yield from self.forward(x[start:start + self.params.eval_batch])
            outputs.append(layer_outputs[-1][1])
        scores = self.workload.score(np.vstack(outputs), y)
        for name, value in scores.items():
            self.ctl.metric(f"test_{name}", value, self.step)
            self.history[f"test_{name}"].append(value)
        if "accuracy" in scores:
            self.best_accuracy = max(self.best_accuracy, scores["accuracy"])
        self.last_scores = scores
        if previous is not None:
            yield from self.set_phase(previous)

    def result(self) -> dict[str, Any]:
        """Summary of what the program knows (no ground truth)."""
        p = self.params
        window = self.losses[-max(1, math.ceil(self.workload.train_size / p.batch_size)):]
        result: dict[str, Any] = {
            "workload": self.workload.name,
            "steps": self.step,
            "samples": self.samples,
            "epochs_completed": self.epoch,
            "final_train_loss": float(np.mean(window)) if window else float("nan"),
            "final_test_loss": self.last_scores.get("loss", float("nan")),
        }
        window_size = p.accuracy_window
        if "accuracy" in self.last_scores:
            result["final_test_accuracy"] = self.last_scores["accuracy"]
            result["mean_test_accuracy"] = float(np.mean(self.history["test_accuracy"][-window_size:]))
            result["best_test_accuracy"] = self.best_accuracy
        if self.history["test_loss"]:
            result["mean_test_loss"] = float(np.mean(self.history["test_loss"][-window_size:]))
        if self.workload.optimum_loss is not None:
            result["optimum_loss"] = self.workload.optimum_loss
            result["final_excess_loss"] = result["final_train_loss"] - self.workload.optimum_loss
        if p.target_loss is not None:
            result["target_loss"] = p.target_loss
            result["target_reached"] = self.target_step is not None
            result["target_reached_step"] = self.target_step if self.target_step is not None else -1
            result["target_reached_samples"] = self.target_samples if self.target_samples is not None else -1
        result["commanded_pulses"] = {key: {"up": int(v[0]), "down": int(v[1])}
                                      for key, v in sorted(self.commanded.items())}
        result["history"] = {key: list(values) for key, values in self.history.items()}
        return result


TRAINING_HEADLINE = ("final_test_accuracy", "mean_test_accuracy", "final_excess_loss", "final_test_loss",
                     "final_train_loss")
"""What sums up a training run: accuracy where the workload classifies, else the loss."""
TRAINING_FIGURES = ("training_vs_step", "training_vs_pulses", "sp_estimate_error")


def register_trainer(name: str, params_model: type[TrainingParams], trainer: type[Trainer],
                     description: str) -> None:
    """Register a training program `name` that runs `trainer` with `params_model` parameters."""
    from emulator.registry import ProgramEntry, register

    def program(ctl: Controller, params: TrainingParams) -> Gen:
        return (yield from trainer(ctl, params).run())

    program.__name__ = f"program_{name}"
    program.__doc__ = description

    register(ProgramEntry(name=name, params_model=params_model, program=program, description=description,
                          probe=probe_training, finalize=finalize_training, hardware_problems=trainer.hardware_problems,
                          headline=TRAINING_HEADLINE, figures=TRAINING_FIGURES))
