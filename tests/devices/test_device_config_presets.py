"""Config validation (pydantic) and the SPEC §1.6 presets."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import TypeAdapter, ValidationError

from devices import (
    DEVICE_MODELS,
    AsymmetricLinearConfig,
    ConstantStepConfig,
    DeviceArray,
    DeviceConfig,
    ExpStepConfig,
    LinearStepConfig,
    PiecewiseStepConfig,
    SoftBoundsConfig,
    SoftBoundsReferenceConfig,
    get_preset,
    preset_names,
    soft_bounds_with_states,
)


def _error_mentions(error: ValidationError, field: str) -> bool:
    locations = {str(part) for item in error.errors() for part in item["loc"]}
    return field in locations or field in str(error)


# ---------------------------------------------------------------------------- validation
@pytest.mark.parametrize("model", list(DEVICE_MODELS))
def test_negative_dw_min_rejected(model: str) -> None:
    with pytest.raises(ValidationError) as info:
        DEVICE_MODELS[model](dw_min=-0.001)
    assert _error_mentions(info.value, "dw_min")


@pytest.mark.parametrize("w_min, w_max", [(0.5, 0.5), (0.6, -0.6), (-0.2, -0.6)])
def test_w_min_not_below_w_max_rejected(w_min: float, w_max: float) -> None:
    with pytest.raises(ValidationError) as info:
        ConstantStepConfig(w_min=w_min, w_max=w_max)
    assert _error_mentions(info.value, "w_min") and _error_mentions(info.value, "w_max")


@pytest.mark.parametrize("w_min, w_max", [(0.1, 1.0), (-1.0, -0.1)])
def test_range_must_contain_zero(w_min: float, w_max: float) -> None:
    with pytest.raises(ValidationError) as info:
        SoftBoundsConfig(w_min=w_min, w_max=w_max)
    assert _error_mentions(info.value, "w_min")
    ExpStepConfig(w_min=0.0, w_max=2.0)  # one-sided (PCM) range is fine


def test_piecewise_lengths_must_match() -> None:
    with pytest.raises(ValidationError) as info:
        PiecewiseStepConfig(piecewise_up=[1.0, 0.5, 0.2], piecewise_down=[0.2, 1.0])
    assert _error_mentions(info.value, "piecewise_up") and _error_mentions(info.value, "piecewise_down")
    with pytest.raises(ValidationError) as info:
        PiecewiseStepConfig(piecewise_up=[], piecewise_down=[])
    assert _error_mentions(info.value, "piecewise_up")
    with pytest.raises(ValidationError) as info:
        PiecewiseStepConfig(piecewise_up=[1.0, -0.5], piecewise_down=[1.0, 1.0])
    assert _error_mentions(info.value, "piecewise_up")


@pytest.mark.parametrize("model", list(DEVICE_MODELS))
def test_unknown_field_rejected(model: str) -> None:
    with pytest.raises(ValidationError) as info:
        DEVICE_MODELS[model](dw_mni=0.01)
    assert _error_mentions(info.value, "dw_mni")


def test_other_field_constraints() -> None:
    for field, value in [("dw_min_std", -0.1), ("corrupt_devices_prob", 1.5), ("w_max_dtod", -0.1)]:
        with pytest.raises(ValidationError) as info:
            ConstantStepConfig(**{field: value})
        assert _error_mentions(info.value, field)
    with pytest.raises(ValidationError) as info:
        AsymmetricLinearConfig(tau=0.0)
    assert _error_mentions(info.value, "tau")


def test_configs_are_frozen() -> None:
    config = ConstantStepConfig()
    with pytest.raises(ValidationError):
        config.dw_min = 0.1  # type: ignore[misc]


def test_discriminated_union_round_trip() -> None:
    adapter = TypeAdapter(DeviceConfig)
    for name in preset_names():
        config = get_preset(name)
        again = adapter.validate_python(config.model_dump())
        assert type(again) is type(config) and again == config
    with pytest.raises(ValidationError):
        adapter.validate_python({"model": "NoSuchDevice"})


def test_soft_bounds_with_states() -> None:
    config = soft_bounds_with_states(2000)
    assert isinstance(config, SoftBoundsConfig)
    assert (config.w_min, config.w_max) == (-1.0, 1.0)
    assert config.dw_min == pytest.approx(1e-3, rel=1e-12)
    assert config.number_of_states == pytest.approx(2000)
    assert SoftBoundsConfig(states=2000, w_min=-1.0, w_max=1.0).dw_min == pytest.approx(1e-3)
    assert soft_bounds_with_states(20, dw_min_std=0.0).dw_min == pytest.approx(0.1)
    with pytest.raises(ValidationError):
        SoftBoundsConfig(states=0)


# ---------------------------------------------------------------------------- presets
# Key numbers of every SPEC §1.6 row.
PRESET_TABLE = {
    "ReRamES": ("ExpStep", dict(dw_min=0.00135, dw_min_dtod=0.2, dw_min_std=5.0, up_down=0.259359,
                                up_down_dtod=0.05, w_min=-1.0, w_max=1.0, w_min_dtod=0.3, w_max_dtod=0.3,
                                a=-0.5, b=-0.5, gamma_up=5.0, gamma_down=5.0, A_up=-1.18445,
                                A_down=-0.081404, write_noise_std=75.0)),
    "ReRamSB": ("SoftBoundsReference", dict(dw_min=0.002, dw_min_dtod=0.3, dw_min_std=3.75, mult_noise=False,
                                            up_down=0.0, up_down_dtod=0.01, w_min=-0.75, w_max=1.25,
                                            w_min_dtod=0.4, w_max_dtod=0.24, write_noise_std=56.0)),
    "Capacitor": ("LinearStep", dict(dw_min=0.005, dw_min_dtod=0.1, dw_min_std=0.3, mult_noise=False,
                                     up_down=0.0, up_down_dtod=0.06, w_min=-1.0, w_max=1.0, w_min_dtod=0.07,
                                     w_max_dtod=0.07, gamma_up=0.05, gamma_down=0.05, gamma_up_dtod=0.01,
                                     gamma_down_dtod=0.01, lifetime=1e6, lifetime_dtod=0.3)),
    "EcRam": ("LinearStep", dict(dw_min=0.002, dw_min_dtod=0.1, dw_min_std=0.3, mult_noise=True, up_down=0.0,
                                 up_down_dtod=0.01, w_min=-0.8276, w_max=1.1724, w_min_dtod=0.05,
                                 w_max_dtod=0.05, gamma_up=0.1153, gamma_down=0.5085, gamma_up_dtod=0.05,
                                 gamma_down_dtod=0.05)),
    "EcRamMO": ("LinearStep", dict(dw_min=2.8214e-4, dw_min_dtod=0.1, dw_min_std=2.0, up_down=0.0,
                                   up_down_dtod=0.01, w_min=-0.8286, w_max=1.1714, w_min_dtod=0.05,
                                   w_max_dtod=0.05, gamma_up=0.4152, gamma_down=0.7342, gamma_up_dtod=0.05,
                                   gamma_down_dtod=0.05)),
    "Idealized": ("ConstantStep", dict(dw_min=0.0002, dw_min_dtod=0.3, dw_min_std=0.3, up_down=0.0,
                                       up_down_dtod=0.0, w_min=-1.0, w_max=1.0, w_min_dtod=0.3,
                                       w_max_dtod=0.3)),
    "GokmenVlasov": ("ConstantStep", dict(dw_min=0.0016, dw_min_dtod=0.3, dw_min_std=0.3, up_down=0.0,
                                          up_down_dtod=0.01, w_min=-1.0, w_max=1.0, w_min_dtod=0.3,
                                          w_max_dtod=0.3)),
    "PCM": ("ExpStep", dict(dw_min=0.01, dw_min_dtod=0.2, dw_min_std=0.6, dw_min_std_add=0.042,
                            dw_min_std_slope=0.108, up_down=0.0, up_down_dtod=0.05, w_min=0.0, w_max=2.0,
                            w_min_dtod=0.0, w_max_dtod=0.1, a=-1.0, b=0.0, gamma_up=2.5, gamma_down=2.5,
                            A_up=-27.235, A_down=-2.235, reset=0.01)),
    "ReRamArrayOM": ("SoftBoundsReference", dict(dw_min=0.0949, dw_min_dtod=0.7829, dw_min_dtod_log_normal=True,
                                                 dw_min_std=0.4158, mult_noise=False, up_down=0.0,
                                                 up_down_dtod=0.01, w_min=-1.0, w_max=1.0, w_min_dtod=0.5695,
                                                 w_max_dtod=0.3499, subtract_symmetry_point=True,
                                                 reference_std=0.05, write_noise_std=1.4113)),
    "ReRamArrayHfO2": ("SoftBoundsReference", dict(dw_min=0.4622, dw_min_dtod=0.7125,
                                                   dw_min_dtod_log_normal=True, dw_min_std=0.2174,
                                                   mult_noise=False, up_down=0.0, up_down_dtod=0.01,
                                                   w_min=-1.0, w_max=1.0, w_min_dtod=0.5990, w_max_dtod=0.4295,
                                                   subtract_symmetry_point=True, reference_std=0.05,
                                                   write_noise_std=0.5841)),
}


def test_all_presets_exist_in_spec_order() -> None:
    assert preset_names() == list(PRESET_TABLE)


@pytest.mark.parametrize("name", list(PRESET_TABLE))
def test_preset_values(name: str) -> None:
    model, values = PRESET_TABLE[name]
    config = get_preset(name)
    assert config.model == model  # type: ignore[attr-defined]
    for field, expected in values.items():
        assert getattr(config, field) == pytest.approx(expected, rel=1e-12, abs=0.0), field


def test_preset_unlisted_values_are_defaults() -> None:
    assert get_preset("EcRam").mean_bound_reference is True  # type: ignore[attr-defined]
    assert get_preset("Capacitor").write_noise_std == 0.0
    assert get_preset("Idealized").corrupt_devices_prob == 0.0
    assert get_preset("ReRamES").enforce_consistency is True
    assert isinstance(get_preset("ReRamSB"), SoftBoundsReferenceConfig)
    assert get_preset("ReRamSB").subtract_symmetry_point is False
    assert isinstance(get_preset("EcRam"), LinearStepConfig)


def test_preset_states() -> None:
    assert get_preset("GokmenVlasov").number_of_states == pytest.approx(1250)
    assert get_preset("Idealized").number_of_states == pytest.approx(10000)
    assert 4 <= get_preset("ReRamArrayHfO2").number_of_states <= 5


@pytest.mark.parametrize("name", list(PRESET_TABLE))
def test_preset_builds_array_with_finite_symmetric_points(name: str) -> None:
    array = DeviceArray(get_preset(name), (30, 30), seed=0)
    sp = array.symmetric_point()
    assert np.isfinite(sp).all()
    prm = array.cell_parameters()
    assert np.all(sp >= prm["b_min"]) and np.all(sp <= prm["b_max"])
    assert np.isfinite(array.visible()).all()
    assert np.isfinite(array.visible_symmetric_point()).all()
    array.pulse_all(1)
    array.pulse_counts(np.full(array.shape, -3))
    assert np.all((array.g >= array.parameters["b_min"]) & (array.g <= array.parameters["b_max"]))


def test_preset_overrides_are_validated() -> None:
    config = get_preset("EcRam", dw_min_std=0.0)
    assert config.dw_min_std == 0.0 and config.gamma_up == 0.1153  # type: ignore[attr-defined]
    with pytest.raises(ValidationError):
        get_preset("EcRam", dw_min=-1.0)
    with pytest.raises(ValidationError):
        get_preset("EcRam", not_a_field=1.0)
    with pytest.raises(KeyError):
        get_preset("NoSuchPreset")


def test_preset_subtract_symmetry_point_centres_visible_sp() -> None:
    """ReRamArray presets: r includes the analytic SP, so the visible SP is −(reference noise)."""
    array = DeviceArray(get_preset("ReRamArrayOM"), (100, 100), seed=3)
    visible_sp = array.visible_symmetric_point()
    assert abs(visible_sp.mean()) < 5 * 0.05 / 100
    assert abs(visible_sp.std() - 0.05) < 0.005
