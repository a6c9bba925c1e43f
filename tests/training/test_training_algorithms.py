"""Every training program on small least-squares problems: convergence, update rules in situ,
E-RIDER's Q̃ sync as programming, no writes in the first chopper period, pulse accounting.

(SP tracking of RIDER/E-RIDER and the published orderings: test_training_published.py.)"""

from __future__ import annotations

import numpy as np
import pytest

from training_helpers import least_squares_document, metric_series, run_document

# Settings that make each program converge on the small symmetric problem (10 inputs, 4 outputs,
# 200 samples, 200-state devices) within about a second.
FAST = {"auto_granularity": 50.0}
CONVERGENCE = {
    "train_digital_sgd": {"learning_rate": 0.05},
    "train_sgd": {"learning_rate": 0.05},
    "train_ttv1": {"fast_lr": 0.05, "transfer_lr": 0.1, "gamma": 0.5},
    "train_ttv2": {"fast_lr": 0.3, **FAST},
    "train_cttv2": {"fast_lr": 0.3, "in_chop_prob": 0.1, **FAST},
    "train_agad": {"fast_lr": 0.3, "in_chop_prob": 0.25, **FAST},
    "train_residual": {"fast_lr": 0.05, "transfer_lr": 0.1, "gamma": 0.5, "zs_steps": 200},
    "train_rider": {"fast_lr": 0.3, "eta": 0.05, **FAST},
    "train_erider": {"fast_lr": 0.3, "in_chop_prob": 0.25, **FAST},
}
COMMON = {"epochs": 6, "batch_size": 2, "log_every": 5, "learning_rate": 0.2}


@pytest.mark.parametrize("program", sorted(CONVERGENCE))
def test_each_algorithm_reduces_the_loss_with_a_symmetric_device(program: str) -> None:
    params = {**COMMON, **CONVERGENCE[program]}
    run = run_document(least_squares_document(program, params, fast_sp=0.0, perfect=True))
    losses = metric_series(run, "test_loss")            # losses[0]: before training
    assert losses[-1] < 0.1 * losses[0], (program, losses)
    true_loss = run.summary["ground_truth"].get("true_W_train_loss")   # W alone, no read noise
    if true_loss is not None:
        assert true_loss < 0.1 * losses[0], (program, true_loss, losses)


def test_erider_syncs_qtilde_at_every_flip_as_programming_pulses() -> None:
    # 4 columns, one transfer per sample, periodic choppers of period N = 2 sweeps: every column
    # flips at its read in sweeps 1, 3, 5, … → 40 samples = 10 sweeps = 5 flips × 4 columns.
    params = {"epochs": 1, "batch_size": 1, "in_chop_prob": 0.5, "in_chop_random": False,
              "fast_lr": 0.3, "auto_granularity": 20.0, "program_iterations": 6, "init_scale": 0.0}
    document = least_squares_document("train_erider", params, fast_sp=0.2,
                                      workload={"inputs": 4, "rows": 3, "samples": 40}, perfect=True)
    run = run_document(document)
    assert run.summary["result"]["qtilde_syncs"] == 20
    pulses = run.summary["hardware"]["pulses"]["layer0/Qt"]
    assert set(pulses["by_phase"]) == {"programming"}   # Q̃ is only ever written by programming
    assert pulses["total"] > 0
    booked = run.summary["result"]["commanded_pulses"]["layer0/Qt|programming"]
    assert booked["up"] + booked["down"] == pulses["total"]
    # The analog copy holds the digital Q̃ (true visible weights, within tolerance + one step).
    trainer = run.program_result["_trainer"]
    qt = run.hardware.tile("layer0").array("Qt")
    np.testing.assert_allclose(qt.g - qt.reference, trainer.filters[0].held, atol=0.03 + 0.01)


@pytest.mark.parametrize("program", ["train_agad", "train_erider"])
def test_no_writes_to_w_during_the_first_chopper_period(program: str) -> None:
    # 4 columns, regular choppers with N = 10: the first 10 sweeps = 40 samples write nothing to W.
    params = {"epochs": 1, "batch_size": 1, "in_chop_prob": 0.1, "in_chop_random": False,
              "fast_lr": 0.5, "auto_granularity": 5.0, "init_scale": 0.0}
    workload = {"inputs": 4, "rows": 3, "samples": 40}
    early = run_document(least_squares_document(program, params, fast_sp=0.3, workload=workload, perfect=True))
    assert "transfer" not in early.summary["hardware"]["pulses"]["layer0/W"]["by_phase"]
    assert early.summary["hardware"]["pulses"]["layer0/P"]["by_phase"]["training"]["up"] > 0
    later = run_document(least_squares_document(program, {**params, "epochs": 2}, fast_sp=0.3,
                                                workload=workload, perfect=True))
    transfer = later.summary["hardware"]["pulses"]["layer0/W"]["by_phase"]["transfer"]
    assert transfer["up"] + transfer["down"] > 0


@pytest.mark.parametrize("batch_size", [1, 3])
@pytest.mark.parametrize("program", ["train_ttv2", "train_erider", "train_residual"])
def test_pulses_by_phase_add_up_and_match_what_the_program_commanded(program: str, batch_size: int) -> None:
    params = {**COMMON, "epochs": 2, "batch_size": batch_size, **CONVERGENCE[program]}
    run = run_document(least_squares_document(program, params, fast_sp=0.2))
    hardware = run.summary["hardware"]
    by_phase_total = 0
    for key, array in hardware["pulses"].items():
        phases = sum(v["up"] + v["down"] for v in array["by_phase"].values())
        assert phases == array["total"] == array["up"] + array["down"]
        by_phase_total += phases
    assert by_phase_total == hardware["total_pulses"] == sum(hardware["pulses_by_phase"].values())
    for key, booked in run.summary["result"]["commanded_pulses"].items():
        array, phase = key.split("|")
        recorded = hardware["pulses"][array]["by_phase"][phase]
        # Exact for batches too: a batched train's result carries its up and down totals.
        assert (booked["up"], booked["down"]) == (recorded["up"], recorded["down"]), key
    if program == "train_residual":
        cells = 4 * 10
        calibration = hardware["pulses"]["layer0/P"]["by_phase"]["calibration"]
        assert calibration["up"] + calibration["down"] == params["zs_steps"] * cells
