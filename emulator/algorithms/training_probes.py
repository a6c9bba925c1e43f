"""Ground truth of training runs, computed only by the harness (never by a program).

`probe_training` runs at the checkpoints a trainer announces (`ctl.checkpoint(..., state=trainer)`)
and `finalize_training` after the run; they compare the program's digital state (its SP
estimates, its digital biases) with the true device state: the visible symmetric point of P
and the true visible weights W, with no read noise.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from emulator.hardware import Hardware
from emulator.units import ps_to_ns
from emulator.workloads import activate

if TYPE_CHECKING:
    from emulator.algorithms.training import Trainer, TrainingParams


def probe_training(hardware: Hardware, params: TrainingParams, label: str, step: int,
                   trainer: Trainer | None) -> dict[str, float]:
    """Truth at a checkpoint: SP-estimate error of tracking programs, pulses so far, true loss
    (`trainer` is the program's state, passed to `ctl.checkpoint`)."""
    if trainer is None:
        return {}
    values: dict[str, float] = {}
    values.update(sp_estimate_errors(hardware, trainer))
    if label == "target_reached":
        recorder = hardware.recorder
        values["pulses_at_target"] = float(recorder.total_pulses())
        for (_, phase), counts in recorder.phase_pulses.items():
            key = f"pulses_at_target_{phase}"
            values[key] = values.get(key, 0.0) + float(counts.sum())
        values["latency_ns_at_target"] = ps_to_ns(recorder.now_ps)
        values["energy_pj_at_target"] = recorder.total_energy_pj()
        trainer.truth_at_target = {k: v for k, v in values.items() if "at_target" in k}
    if label in ("epoch", "target_reached") and trainer.uses_tiles:
        values.update(true_weight_metrics(hardware, trainer))
    return values


def sp_estimate_errors(hardware: Hardware, trainer: Trainer) -> dict[str, float]:
    """‖estimate − true visible SP of P‖ per layer (RMS, and relative to ‖SP‖), plus all layers."""
    estimates = trainer.sp_estimates()
    if not estimates:
        return {}
    values: dict[str, float] = {}
    squared, norm, cells = 0.0, 0.0, 0
    for tile, estimate in estimates.items():
        truth = hardware.tile(tile).array("P").visible_symmetric_point()
        error = estimate - truth
        values[f"sp_error_rms/{tile}"] = float(np.sqrt(np.mean(error ** 2)))
        squared += float(np.sum(error ** 2))
        norm += float(np.sum(truth ** 2))
        cells += error.size
    values["sp_error_rms"] = math.sqrt(squared / cells)
    values["sp_error_relative"] = math.sqrt(squared / norm) if norm > 0 else float("inf")
    return values


def true_weight_metrics(hardware: Hardware, trainer: Trainer) -> dict[str, float]:
    """Loss of the true visible W (no read noise) and its distance to the reference weights."""
    workload = trainer.workload
    weights = []
    for layer in workload.layers:
        array = hardware.tile(layer.name).array("W")
        weights.append((array.g - array.reference).astype(np.float64))
    pre = workload.forward_float(weights, workload.x_train, trainer.biases)
    outputs = activate(pre[-1], workload.layers[-1].activation)
    values = {"true_W_train_loss": workload.score(outputs, workload.y_train)["loss"]}
    if workload.reference_weights is not None and len(weights) == 1:
        reference = workload.reference_weights[0]
        values["true_W_relative_error"] = float(np.linalg.norm(weights[0] - reference) / np.linalg.norm(reference))
    return values


def finalize_training(hardware: Hardware, params: TrainingParams, result: Any) -> dict[str, Any]:
    """Truth after the run: final SP-estimate errors, true-weight loss, P's SP statistics."""
    trainer = result.get("_trainer") if isinstance(result, dict) else None
    if trainer is None or not trainer.uses_tiles:
        return {}
    truth: dict[str, Any] = dict(trainer.truth_at_target)
    truth.update(sp_estimate_errors(hardware, trainer))
    truth.update(true_weight_metrics(hardware, trainer))
    for layer in trainer.layers:
        tile = hardware.tile(layer.name)
        if "P" in tile.arrays:
            sp = tile.array("P").visible_symmetric_point()
            truth[f"P_sp_mean/{layer.name}"] = float(np.mean(sp))
            truth[f"P_sp_std/{layer.name}"] = float(np.std(sp))
    return truth
