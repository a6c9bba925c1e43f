"""Workloads: data, layers-on-tiles layout, losses, and the hardware-section helper."""

from __future__ import annotations

import numpy as np
import pytest

from emulator.scenario import ScenarioError, load_scenario, validate_document
from emulator.workloads import (
    WORKLOAD_KINDS,
    DigitsParams,
    LeastSquaresParams,
    TeacherStudentParams,
    build_workload,
    hardware_toml,
    training_hardware,
    workload_layers,
)

from training_helpers import least_squares_document, run_document


def test_digits_split_is_seeded_stratified_70_30() -> None:
    a, b = build_workload(DigitsParams()), build_workload(DigitsParams())
    assert a.x_train.shape == (1257, 64) and a.x_test.shape == (540, 64)
    np.testing.assert_array_equal(a.y_test, b.y_test)
    other = build_workload(DigitsParams(split_seed=1))
    assert not np.array_equal(a.y_test, other.y_test)
    counts = np.bincount(a.y_test, minlength=10)
    assert counts.min() >= 50  # stratified: every class ≈ 54 of 540
    assert 0.0 <= a.x_train.min() and a.x_train.max() <= 1.0


def test_digits_layers_map_to_tiles_with_bias_column() -> None:
    workload = build_workload(DigitsParams(hidden=[32], activation="tanh"))
    assert [(l.name, l.rows, l.cols, l.activation) for l in workload.layers] == [
        ("layer0", 32, 65, "tanh"), ("layer1", 10, 33, "identity")]


def test_cross_entropy_gradient_matches_finite_differences() -> None:
    workload = build_workload(DigitsParams())
    rng = np.random.default_rng(0)
    z, y = rng.standard_normal((3, 10)), np.array([1, 4, 9])
    _, grad = workload.loss_and_delta(z, y)
    eps = 1e-6
    for i, j in [(0, 1), (2, 3), (1, 4)]:
        zp, zm = z.copy(), z.copy()
        zp[i, j] += eps
        zm[i, j] -= eps
        numeric = (workload.loss_and_delta(zp, y)[0] - workload.loss_and_delta(zm, y)[0]) / (2 * eps)
        assert grad[i, j] == pytest.approx(numeric, rel=1e-5, abs=1e-8)


def test_least_squares_optimum_and_teacher() -> None:
    workload = build_workload(LeastSquaresParams(inputs=50, rows=100, samples=300))
    assert workload.layers[0].shape == (100, 50)
    assert workload.optimum_loss == pytest.approx(0.0, abs=1e-12)
    (solution,) = workload.reference_weights
    np.testing.assert_allclose(workload.x_train @ solution.T, workload.y_train, atol=1e-9)


def test_teacher_student_targets_come_from_teacher() -> None:
    workload = build_workload(TeacherStudentParams(inputs=6, hidden=[5], outputs=3, train_samples=50))
    pre = workload.forward_float(workload.reference_weights, workload.x_train)
    np.testing.assert_allclose(pre[-1], workload.y_train, atol=1e-12)
    assert [l.shape for l in workload.layers] == [(5, 7), (3, 6)]


def refuse_digits_data(monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on loading the digits data set fails (what needs no data must not load it)."""
    from emulator.workloads import digits_data

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the digits data set was loaded")

    monkeypatch.setattr(digits_data, "load_digits", refuse)


@pytest.mark.parametrize("params", [
    DigitsParams(hidden=[16, 12], activation="tanh", bias="digital"), DigitsParams(bias=False),
    LeastSquaresParams(inputs=7, rows=3), TeacherStudentParams(inputs=5, hidden=[4, 3], outputs=2)])
def test_workload_layers_without_data_match_the_built_workload(params: object,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    expected = build_workload(params).layers
    refuse_digits_data(monkeypatch)
    assert workload_layers(params) == expected


def test_validating_a_digits_scenario_loads_no_data(monkeypatch: pytest.MonkeyPatch) -> None:
    """`aimc validate` checks the layer tiles of a digits scenario from its parameters alone."""
    from pathlib import Path

    refuse_digits_data(monkeypatch)
    root = Path(__file__).resolve().parents[2] / "scenarios"
    scenario = load_scenario(root / "digits_reramsb_erider.toml")
    assert scenario.hardware.tiles["layer0"].cols == 64  # digital bias: no bias column
    section = training_hardware(DigitsParams(hidden=[8]), {"W": {"preset": "ReRamSB"}})
    assert [(t["rows"], t["cols"]) for t in section["tiles"].values()] == [(8, 65), (10, 9)]
    document = {"hardware": section, "program": {"name": "train_sgd", "params": {"workload": {"kind": "digits"}}}}
    with pytest.raises(ScenarioError, match="the workload needs 32×65"):
        validate_document(document)
    with pytest.raises(AssertionError, match="was loaded"):
        build_workload(DigitsParams())


def test_workload_kinds_are_declared_once() -> None:
    """The registry lists every kind; the params union and build_workload derive from it."""
    from emulator.algorithms.training import TrainingParams

    assert list(WORKLOAD_KINDS) == ["least_squares", "teacher_student", "digits"]
    for kind, entry in WORKLOAD_KINDS.items():
        params = TrainingParams.model_validate({"workload": {"kind": kind}}).workload
        assert type(params) is entry.params_model and params.kind == kind
    with pytest.raises(Exception, match="kind"):
        TrainingParams.model_validate({"workload": {"kind": "mnist"}})


def test_hardware_helper_generates_a_valid_scenario() -> None:
    section = training_hardware(DigitsParams(), {"W": {"preset": "ReRamSB"}, "P": {"preset": "ReRamSB"}})
    assert section["tiles"]["layer0"]["rows"] == 32 and section["tiles"]["layer1"]["cols"] == 33
    document = {"hardware": section, "program": {"name": "train_ttv2", "params": {"epochs": 1}}}
    validate_document(document)
    text = hardware_toml(section)
    assert "[hardware.tiles.layer1]" in text and 'arrays.P = { preset = "ReRamSB" }' in text


def test_program_params_forbid_unknown_fields() -> None:
    document = least_squares_document("train_ttv2", {"epochs": 1, "tail_weightening": 5.0})
    with pytest.raises(ScenarioError) as error:
        validate_document(document)
    assert any("tail_weightening" in path for path, _ in error.value.problems)


def test_missing_arrays_fail_validation_with_the_field_path() -> None:
    """`aimc validate` (validate_document) names the tile, the missing array and what to declare."""
    document = least_squares_document("train_sgd", {"epochs": 1})
    document["program"]["name"] = "train_ttv2"  # needs W and P, the tile only has W
    document["hardware"]["tiles"]["layer0"]["cols"] += 1
    with pytest.raises(ScenarioError) as raised:
        validate_document(document)
    paths = dict(raised.value.problems)
    assert "has no array 'P'" in paths["hardware.tiles.layer0.arrays"]
    assert "the workload needs" in paths["hardware.tiles.layer0"]


def test_a_program_on_hardware_built_in_code_still_checks_its_tiles() -> None:
    """Hardware made without a scenario (no validation pass) fails at run start, with the hint."""
    from devices import SoftBoundsConfig
    from emulator.hardware import Controller, Hardware, TileSpec
    from emulator.registry import HardwareMismatch, get_program

    entry = get_program("train_ttv2")
    params = entry.params_model.model_validate({"epochs": 1, "workload": {"kind": "least_squares"}})
    hardware = Hardware({"layer0": TileSpec(100, 50, {"W": SoftBoundsConfig()})})  # the default 100 × 50 toy
    with pytest.raises(HardwareMismatch, match="has no array 'P'.*training_hardware"):
        Controller(hardware).run(lambda ctl: entry.program(ctl, params))


def test_two_layer_teacher_student_trains_through_backward_reads() -> None:
    """Hidden-layer gradients come from analog backward reads (with γ > 0: also of P − Q̃)."""
    from emulator.workloads import training_hardware as hardware_for

    workload = {"kind": "teacher_student", "inputs": 6, "hidden": [8], "outputs": 3, "train_samples": 200,
                "test_samples": 100}
    device = {"device": {"model": "SoftBoundsReference", "dw_min": 0.01, "w_max": 1.0, "w_min": -1.0,
                         "subtract_symmetry_point": True}}
    hardware = hardware_for(TeacherStudentParams(**{k: v for k, v in workload.items() if k != "kind"}),
                            {"W": device, "P": device, "Qt": device})
    params = {"workload": workload, "epochs": 6, "batch_size": 5, "learning_rate": 0.2, "gamma": 0.2,
              "fast_lr": 0.2, "auto_granularity": 20.0, "in_chop_prob": 0.2}
    run = run_document({"hardware": hardware, "program": {"name": "train_erider", "params": params}})
    losses = run.summary["result"]["history"]["test_loss"]
    assert losses[-1] < 0.5 * losses[0], losses
    reads = run.summary["hardware"]["reads"]
    assert reads["layer1/W|training"]["mvms"] > 0 and reads["layer1/P|training"]["mvms"] > 0
