"""The reference simulator's training semantics the emulator offers: digital bias, ideal weight
setting, the fast array at visible 0, per-sample transfer timing, a transfer read path of its own,
and slow processes once per mini-batch."""

from __future__ import annotations

import numpy as np
import pytest
from training_helpers import digits_document, least_squares_document, metric_series, run_document

from emulator.algorithms.training import Trainer
from emulator.hardware import Controller, Hardware, IOParameters, Read, SetWeights, TileSpec
from emulator.testing import run_program
from emulator.workloads import DigitsParams, build_workload
from devices import get_preset


def _digital_bias_document(program: str, **params: object) -> dict:
    document = digits_document(program, {"epochs": 1, "max_steps": 4, "eval_initial": False, **params})
    document["program"]["params"]["workload"]["bias"] = "digital"
    for name, cols in (("layer0", 64), ("layer1", 32)):
        if name in document["hardware"]["tiles"]:
            document["hardware"]["tiles"][name]["cols"] = cols
    return document


def test_bias_placements_shape_the_tiles() -> None:
    analog = build_workload(DigitsParams(bias=True))
    digital = build_workload(DigitsParams(bias="digital"))
    none = build_workload(DigitsParams(bias=False))
    assert [layer.shape for layer in analog.layers] == [(32, 65), (10, 33)]
    assert [layer.shape for layer in digital.layers] == [(32, 64), (10, 32)]
    assert [layer.shape for layer in none.layers] == [(32, 64), (10, 32)]
    assert [layer.bias for layer in analog.layers] == ["analog", "analog"]
    assert [layer.bias for layer in none.layers] == ["none", "none"]
    rng = np.random.default_rng(0)
    biases = digital.init_biases(rng, 1.0)
    assert [b.shape for b in biases] == [(32,), (10,)]
    assert np.all(np.abs(biases[0]) <= 1 / 8) and np.all(np.abs(biases[1]) <= 1 / np.sqrt(32))
    assert [b.size for b in analog.init_biases(rng, 1.0)] == [0, 0]


def test_digital_bias_is_floating_point_sgd_on_the_mean_gradient() -> None:
    """The digital SGD reference with a digital bias: biases follow b ← b − lr·Σ_batch δ exactly."""
    document = _digital_bias_document("train_digital_sgd", batch_size=5, learning_rate=0.3)
    document["hardware"]["tiles"] = {}
    run = run_document(document)
    trainer = run.program_result["_trainer"]
    workload = trainer.workload
    rng = np.random.default_rng(run.hardware.controller_seed)
    weights = workload.init_weights(rng, 1.0)
    biases = workload.init_biases(rng, 1.0)
    order = rng.permutation(workload.train_size)
    for step in range(4):
        index = order[step * 5:(step + 1) * 5]
        x = workload.x_train[index]
        z0 = x @ weights[0].T + biases[0]
        a0 = 0.5 * (1 + np.tanh(0.5 * z0))
        z1 = a0 @ weights[1].T + biases[1]
        _, delta1 = workload.loss_and_delta(z1, workload.y_train[index])
        delta0 = (delta1 @ weights[1]) * a0 * (1 - a0)
        biases[0] -= 0.3 * delta0.sum(axis=0)
        biases[1] -= 0.3 * delta1.sum(axis=0)
        weights[0] -= 0.3 * delta0.T @ x
        weights[1] -= 0.3 * delta1.T @ a0
    np.testing.assert_allclose(trainer.biases[0], biases[0], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(trainer.biases[1], biases[1], rtol=1e-12, atol=1e-14)
    assert run.summary["hardware"]["digital_ops"]["bias_update"] == 4 * 5 * (32 + 10)


def test_ideal_programming_sets_w_and_p_exactly_without_pulses() -> None:
    document = _digital_bias_document("train_ttv2", init_programming="ideal", fast_init="zero", max_steps=1)
    for tile in document["hardware"]["tiles"].values():
        for array in tile["arrays"].values():
            array["overrides"]["write_noise_std"] = 0.0
    document["program"]["params"]["max_steps"] = 1
    hardware_summary = run_document(document).summary["hardware"]
    assert "programming" not in hardware_summary["pulses_by_phase"]
    assert hardware_summary["ideal_writes"] == {"layer0/P": 32 * 64, "layer0/W": 32 * 64,
                                                "layer1/P": 10 * 32, "layer1/W": 10 * 32}


def test_fast_init_zero_puts_p_at_visible_zero_where_its_bounds_allow() -> None:
    config = get_preset("ReRamSB", subtract_symmetry_point=True, reference_mean=0.4, reference_std=1.0,
                        write_noise_std=0.0)
    tiles = {"t0": TileSpec(20, 30, {"W": config, "P": config})}

    def program(ctl):
        yield SetWeights("t0", "P", np.zeros((20, 30)))

    result = run_program(program, tiles, seed=3)
    array = result.device("t0", "P")
    reachable = (array.reference >= array.parameters["b_min"]) & (array.reference <= array.parameters["b_max"])
    assert reachable.sum() > 100 and (~reachable).sum() > 100
    np.testing.assert_allclose(array.visible()[reachable], 0.0, atol=1e-6)
    # Out of reach: the cell sits at the bound nearest to visible 0 (the reference would store an
    # out-of-bounds 0 until its first pulse clips it).
    expected = np.clip(array.reference, array.parameters["b_min"], array.parameters["b_max"]) - array.reference
    np.testing.assert_allclose(array.visible(), expected, atol=1e-6)


def test_per_sample_transfers_read_p_between_the_samples_trains() -> None:
    """transfer_timing = per_sample: each due column is read right after its sample's train."""
    document = least_squares_document("train_ttv2", {"epochs": 1, "max_steps": 2, "batch_size": 4,
                                                     "transfer_timing": "per_sample", "eval_initial": False})
    from emulator.testing import run_scenario_program
    from emulator.scenario import validate_document
    result = run_scenario_program(validate_document(document))
    kinds = [(r.kind, getattr(r.command, "array", None)) for r in result.log
             if r.parent is None and r.kind in ("Parallel", "Read") and r.phase in ("training", "transfer")]
    trains_and_transfer_reads = [k for k in kinds if k[0] == "Parallel" or k[1] == "P"]
    assert trains_and_transfer_reads == [("Parallel", None), ("Read", "P")] * 8
    batched = least_squares_document("train_ttv2", {"epochs": 1, "max_steps": 2, "batch_size": 4,
                                                    "eval_initial": False})
    after = run_scenario_program(validate_document(batched))
    # The same transfers in both timings: one column per sample.
    assert (result.summary["reads"]["layer0/P|transfer"]["mvms"]
            == after.summary["reads"]["layer0/P|transfer"]["mvms"] == 8)


def test_a_read_can_bring_its_own_read_path() -> None:
    config = get_preset("Idealized", write_noise_std=0.0)
    tiles = {"t0": TileSpec(4, 3, {"W": config}, io=IOParameters(out_noise=0.0))}
    quiet_and_coarse = IOParameters(out_noise=0.0, out_res=0.5, out_bound=1.0)

    def program(ctl):
        fine = yield Read("t0", "W", np.eye(3), one_hot=True)
        coarse = yield Read("t0", "W", np.eye(3), one_hot=True, io=quiet_and_coarse)
        return fine, coarse

    fine, coarse = run_program(program, tiles, seed=1).result
    step = 2 * quiet_and_coarse.out_bound * quiet_and_coarse.out_res
    np.testing.assert_allclose(coarse, np.rint(fine / step) * step, atol=2 * 2 * 12 / 510)
    assert set(np.unique(np.round(coarse / step, 6))) <= {-1.0, 0.0, 1.0}


def test_slow_processes_run_once_per_mini_batch_on_devices_that_have_them() -> None:
    capacitor = {"preset": "Capacitor", "overrides": {"lifetime": 40.0, "lifetime_dtod": 0.0}}
    document = least_squares_document("train_sgd", {"epochs": 1, "max_steps": 6, "batch_size": 5,
                                                    "eval_initial": False, "learning_rate": 1e-9})
    document["hardware"]["tiles"]["layer0"]["arrays"]["W"] = capacitor
    run = run_document(document)
    assert run.summary["hardware"]["commands"]["SlowProcessStep"] == 6
    plain = run_document(least_squares_document("train_sgd", {"epochs": 1, "max_steps": 6, "eval_initial": False}))
    assert "SlowProcessStep" not in plain.summary["hardware"]["commands"]
