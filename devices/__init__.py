"""Device physics of resistive crossbar cells: numpy only, no simulated time (SPEC §1)."""

from devices.array import DeviceArray, sample_cell_parameters, state_dtype_for
from devices.config import (
    DEVICE_MODELS,
    AsymmetricLinearConfig,
    ConstantStepConfig,
    DeviceConfig,
    ExpStepConfig,
    LinearStepConfig,
    PiecewiseStepConfig,
    PowStepConfig,
    PowStepReferenceConfig,
    PulsedDeviceConfig,
    SoftBoundsConfig,
    SoftBoundsReferenceConfig,
    soft_bounds_with_states,
)
from devices.presets import PRESETS, get_preset, preset_names
from devices.response import StepLaw, law_for, response_functions, symmetric_point

__all__ = [
    "DEVICE_MODELS", "PRESETS", "AsymmetricLinearConfig", "ConstantStepConfig", "DeviceArray",
    "DeviceConfig", "ExpStepConfig", "LinearStepConfig", "PiecewiseStepConfig", "PowStepConfig",
    "PowStepReferenceConfig", "PulsedDeviceConfig", "SoftBoundsConfig", "SoftBoundsReferenceConfig",
    "StepLaw", "get_preset", "law_for", "preset_names", "response_functions", "sample_cell_parameters",
    "soft_bounds_with_states", "state_dtype_for", "symmetric_point",
]
