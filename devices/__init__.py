"""Device physics of resistive crossbar cells: numpy only, no simulated time (SPEC §1)."""

import devices.models  # noqa: F401  (registers the built-in device models)
from devices.array import DeviceArray
from devices.config import PulsedDeviceConfig
from devices.drift import DriftConfig, DriftProcess
from devices.models.asymmetric_linear import AsymmetricLinearConfig
from devices.models.constant import ConstantStepConfig
from devices.models.exponential import ExpStepConfig
from devices.models.linear import LinearStepConfig
from devices.models.piecewise import PiecewiseStepConfig
from devices.models.power import PowStepConfig, PowStepReferenceConfig
from devices.models.soft_bounds import SoftBoundsConfig, SoftBoundsReferenceConfig, soft_bounds_with_states
from devices.presets import PRESETS, get_preset, preset_names
from devices.registry import DEVICE_MODELS, DeviceConfig, law_for, register_device, unregister_device
from devices.response import StepLaw, response_functions, symmetric_point
from devices.sampling import sample_cell_parameters, state_dtype_for

__all__ = [
    "DEVICE_MODELS", "PRESETS", "AsymmetricLinearConfig", "ConstantStepConfig", "DeviceArray",
    "DeviceConfig", "DriftConfig", "DriftProcess", "ExpStepConfig", "LinearStepConfig", "PiecewiseStepConfig", "PowStepConfig",
    "PowStepReferenceConfig", "PulsedDeviceConfig", "SoftBoundsConfig", "SoftBoundsReferenceConfig",
    "StepLaw", "get_preset", "law_for", "preset_names", "register_device", "response_functions",
    "sample_cell_parameters", "soft_bounds_with_states", "state_dtype_for", "symmetric_point",
    "unregister_device",
]
