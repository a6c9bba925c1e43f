"""The kit's strategies generate valid, small hardware, scenarios and commands."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices import DEVICE_MODELS, DeviceArray, PulsedDeviceConfig, get_preset, preset_names
from emulator.hardware import HardwareCosts, IOParameters, TileSpec, UpdateParameters
from emulator.scenario import Scenario, validate_document
from emulator.testing import (
    COMMAND_KINDS,
    FAMILIES,
    MONOTONE_FAMILIES,
    command_sequences,
    commands,
    device_configs,
    devices,
    hardware_costs,
    io_parameters,
    monotone_device_configs,
    preset_configs,
    preset_overrides,
    scenario_documents,
    tile_layouts,
    tile_specs,
    update_parameters,
)
from emulator.theory import response_constants

FAST = settings(max_examples=8, deadline=None, derandomize=True)


def test_every_family_is_covered():
    assert set(FAMILIES) == set(DEVICE_MODELS)
    assert set(MONOTONE_FAMILIES) <= set(FAMILIES)


@pytest.mark.parametrize("family", FAMILIES)
def test_device_configs_of_each_family_build_arrays(family):
    @FAST
    @given(config=device_configs([family], stuck=True), seed=st.integers(0, 2**16))
    def check(config: PulsedDeviceConfig, seed: int) -> None:
        assert config.model == family  # type: ignore[attr-defined]
        assert type(config).model_validate(config.model_dump()) == config
        array = DeviceArray(config, (3, 4), seed=seed)
        assert np.all(np.isfinite(array.symmetric_point()))
        array.pulse_counts(np.full((3, 4), 3))
        array.pulse_counts(np.full((3, 4), -5))
        assert np.all(array.g >= array.parameters["b_min"]) and np.all(array.g <= array.parameters["b_max"])

    check()


@settings(max_examples=25, deadline=None, derandomize=True)
@given(config=monotone_device_configs(), seed=st.integers(0, 2**16))
def test_monotone_devices_have_a_positive_monotonicity_modulus(config, seed):
    assert config.model in MONOTONE_FAMILIES  # type: ignore[attr-defined]
    assert response_constants(DeviceArray(config, (4, 4), seed=seed)).mu_q > 0


@settings(max_examples=20, deadline=None, derandomize=True)
@given(config=preset_configs())
def test_perturbed_presets_stay_valid(config):
    assert any(type(config) is type(get_preset(name)) for name in preset_names())
    DeviceArray(config, (2, 2), seed=0)


@settings(max_examples=10, deadline=None, derandomize=True)
@given(name=st.sampled_from(preset_names()), data=st.data())
def test_preset_overrides_apply_to_their_preset(name, data):
    overrides = data.draw(preset_overrides(name))
    config = get_preset(name, **overrides)
    for field_name, value in overrides.items():
        assert getattr(config, field_name) == pytest.approx(value)


def test_unknown_names_are_rejected():
    with pytest.raises(ValueError, match="unknown device families"):
        device_configs(["Nope"])
    with pytest.raises(ValueError, match="not monotone"):
        monotone_device_configs(["ConstantStep"])
    with pytest.raises(ValueError, match="unknown preset"):
        preset_overrides("Nope")
    with pytest.raises(ValueError, match="unknown command kinds"):
        commands({"t0": TileSpec(1, 1, {"W": get_preset("EcRam")})}, kinds=["Jump"])
    with pytest.raises(ValueError, match="no parameter strategy"):
        scenario_documents(["train_sgd_unknown"])


@FAST
@given(costs=hardware_costs(), io=io_parameters(), update=update_parameters(max_bl=5), device=devices())
def test_periphery_strategies_give_models(costs, io, update, device):
    assert isinstance(costs, HardwareCosts) and isinstance(io, IOParameters)
    assert isinstance(update, UpdateParameters) and update.desired_bl <= 5
    assert isinstance(device, PulsedDeviceConfig)
    assert costs.slot_ps >= 0 and costs.adc_conversion_ps >= 0


@FAST
@given(layout=tile_layouts(max_tiles=3, rows=(2, 3), cols=(1, 2), arrays=3))
def test_tile_layouts_respect_their_ranges(layout):
    assert 1 <= len(layout) <= 3 and list(layout) == [f"t{i}" for i in range(len(layout))]
    for spec in layout.values():
        assert 2 <= spec.rows <= 3 and 1 <= spec.cols <= 2
        assert 1 <= len(spec.arrays) <= 3 and set(spec.arrays) <= {"W", "P", "R"}


@FAST
@given(spec=tile_specs(arrays=("A", "B"), same_device=True), faulty=tile_specs(faults=True))
def test_tile_specs_with_named_arrays_shared_device_and_faults(spec, faulty):
    assert list(spec.arrays) == ["A", "B"] and spec.arrays["A"] is spec.arrays["B"]
    assert spec.dead_rows == spec.dead_cols == () and spec.io.adc_offset == 0.0 and spec.io.adc_gain == 1.0
    assert all(0 <= row < faulty.rows for row in faulty.dead_rows)
    assert all(0 <= col < faulty.cols for col in faulty.dead_cols)


@settings(max_examples=30, deadline=None, derandomize=True)
@given(document=scenario_documents(faults=True))
def test_scenario_documents_validate(document):
    scenario = validate_document(document)
    assert isinstance(scenario, Scenario)
    assert scenario.program.name in ("zero_shift", "pulse_response")
    params = scenario.program.resolved_params()
    assert params.tile in scenario.hardware.tiles  # type: ignore[attr-defined]


@FAST
@given(data=st.data())
def test_custom_program_parameters_for_scenarios(data):
    document = data.draw(scenario_documents(
        ["pulse_response"], params={"pulse_response": lambda tiles: st.just({"tile": sorted(tiles)[0], "pulses": 3})}))
    assert validate_document(document).program.params["pulses"] == 3


@settings(max_examples=15, deadline=None, derandomize=True)
@given(data=st.data())
def test_commands_fit_their_layout(data):
    layout = data.draw(tile_layouts(arrays=2))
    for command in data.draw(command_sequences(layout, max_size=6)):
        for sub in getattr(command, "commands", [command]):
            if hasattr(sub, "tile"):
                spec = layout[sub.tile]
                assert sub.array in spec.arrays
                for field_name in ("signs", "counts", "target"):
                    value = getattr(sub, field_name, None)
                    if isinstance(value, np.ndarray):
                        assert value.shape == (spec.rows, spec.cols)


@settings(max_examples=10, deadline=None, derandomize=True)
@given(data=st.data(), kind=st.sampled_from(COMMAND_KINDS))
def test_each_command_kind_can_be_asked_for(data, kind):
    layout = {"t0": TileSpec(2, 3, {"W": get_preset("EcRam"), "P": get_preset("EcRam")})}
    command = data.draw(commands(layout, kinds=[kind]))
    assert type(command).__name__ == kind
    if kind == "Parallel":
        assert all(type(sub).__name__ not in ("Parallel", "SetPhase") for sub in command.commands)
