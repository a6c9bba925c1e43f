"""Named device presets with the reference simulator's names and values (SPEC §1.6)."""

from __future__ import annotations

from typing import Callable

from devices.config import PulsedDeviceConfig
from devices.models.constant import ConstantStepConfig
from devices.models.exponential import ExpStepConfig
from devices.models.linear import LinearStepConfig
from devices.models.soft_bounds import SoftBoundsReferenceConfig


def _reram_es() -> PulsedDeviceConfig:
    return ExpStepConfig(
        dw_min=0.00135, dw_min_dtod=0.2, dw_min_std=5.0, up_down=0.259359, up_down_dtod=0.05,
        w_min=-1.0, w_max=1.0, w_min_dtod=0.3, w_max_dtod=0.3,
        a=-0.5, b=-0.5, gamma_up=5.0, gamma_down=5.0, A_up=-1.18445, A_down=-0.081404,
        write_noise_std=75.0,
    )


def _reram_sb() -> PulsedDeviceConfig:
    return SoftBoundsReferenceConfig(
        dw_min=0.002, dw_min_dtod=0.3, dw_min_std=3.75, mult_noise=False,
        up_down=0.0, up_down_dtod=0.01, w_min=-0.75, w_max=1.25, w_min_dtod=0.4, w_max_dtod=0.24,
        write_noise_std=56.0,
    )


def _capacitor() -> PulsedDeviceConfig:
    return LinearStepConfig(
        dw_min=0.005, dw_min_dtod=0.1, dw_min_std=0.3, mult_noise=False,
        up_down=0.0, up_down_dtod=0.06, w_min=-1.0, w_max=1.0, w_min_dtod=0.07, w_max_dtod=0.07,
        gamma_up=0.05, gamma_down=0.05, gamma_up_dtod=0.01, gamma_down_dtod=0.01,
        lifetime=1e6, lifetime_dtod=0.3,
    )


def _ecram() -> PulsedDeviceConfig:
    return LinearStepConfig(
        dw_min=0.002, dw_min_dtod=0.1, dw_min_std=0.3, up_down=0.0, up_down_dtod=0.01,
        w_min=-0.8276, w_max=1.1724, w_min_dtod=0.05, w_max_dtod=0.05,
        gamma_up=0.1153, gamma_down=0.5085, gamma_up_dtod=0.05, gamma_down_dtod=0.05,
    )


def _ecram_mo() -> PulsedDeviceConfig:
    return LinearStepConfig(
        dw_min=2.8214e-4, dw_min_dtod=0.1, dw_min_std=2.0, up_down=0.0, up_down_dtod=0.01,
        w_min=-0.8286, w_max=1.1714, w_min_dtod=0.05, w_max_dtod=0.05,
        gamma_up=0.4152, gamma_down=0.7342, gamma_up_dtod=0.05, gamma_down_dtod=0.05,
    )


def _idealized() -> PulsedDeviceConfig:
    return ConstantStepConfig(
        dw_min=0.0002, dw_min_dtod=0.3, dw_min_std=0.3, up_down=0.0, up_down_dtod=0.0,
        w_min=-1.0, w_max=1.0, w_min_dtod=0.3, w_max_dtod=0.3,
    )


def _gokmen_vlasov() -> PulsedDeviceConfig:
    return ConstantStepConfig(
        dw_min=0.0016, dw_min_dtod=0.3, dw_min_std=0.3, up_down=0.0, up_down_dtod=0.01,
        w_min=-1.0, w_max=1.0, w_min_dtod=0.3, w_max_dtod=0.3,
    )


def _pcm() -> PulsedDeviceConfig:
    # One device of the reference simulator's one-sided PCM pair: conductance in [0, 2].
    return ExpStepConfig(
        dw_min=0.01, dw_min_dtod=0.2, dw_min_std=0.6, dw_min_std_add=0.042, dw_min_std_slope=0.108,
        up_down=0.0, up_down_dtod=0.05, w_min=0.0, w_max=2.0, w_min_dtod=0.0, w_max_dtod=0.1,
        a=-1.0, b=0.0, gamma_up=2.5, gamma_down=2.5, A_up=-27.235, A_down=-2.235,
        reset=0.01, reset_dtod=0.02,  # reset_dtod: AIHWKIT's value (SPEC §1.6 does not list it)
    )


def _reram_array_om() -> PulsedDeviceConfig:
    return SoftBoundsReferenceConfig(
        dw_min=0.0949, dw_min_dtod=0.7829, dw_min_dtod_log_normal=True, dw_min_std=0.4158,
        mult_noise=False, up_down=0.0, up_down_dtod=0.01, w_min=-1.0, w_max=1.0,
        w_min_dtod=0.5695, w_max_dtod=0.3499, subtract_symmetry_point=True, reference_std=0.05,
        write_noise_std=1.4113, corrupt_devices_range=0.01,  # range: AIHWKIT's (prob stays 0)
    )


def _reram_array_hfo2() -> PulsedDeviceConfig:
    return SoftBoundsReferenceConfig(
        dw_min=0.4622, dw_min_dtod=0.7125, dw_min_dtod_log_normal=True, dw_min_std=0.2174,
        mult_noise=False, up_down=0.0, up_down_dtod=0.01, w_min=-1.0, w_max=1.0,
        w_min_dtod=0.5990, w_max_dtod=0.4295, subtract_symmetry_point=True, reference_std=0.05,
        write_noise_std=0.5841, corrupt_devices_range=0.01,  # range: AIHWKIT's (prob stays 0)
    )


PRESETS: dict[str, Callable[[], PulsedDeviceConfig]] = {
    "ReRamES": _reram_es,
    "ReRamSB": _reram_sb,
    "Capacitor": _capacitor,
    "EcRam": _ecram,
    "EcRamMO": _ecram_mo,
    "Idealized": _idealized,
    "GokmenVlasov": _gokmen_vlasov,
    "PCM": _pcm,
    "ReRamArrayOM": _reram_array_om,
    "ReRamArrayHfO2": _reram_array_hfo2,
}


def preset_names() -> list[str]:
    """Names of all presets, in SPEC §1.6 order."""
    return list(PRESETS)


def get_preset(name: str, **overrides: object) -> PulsedDeviceConfig:
    """The named preset's config, optionally with fields overridden (validated again)."""
    try:
        factory = PRESETS[name]
    except KeyError:
        raise KeyError(f"unknown device preset {name!r}; known presets: {', '.join(PRESETS)}") from None
    config = factory()
    if overrides:
        config = type(config).model_validate({**config.model_dump(), **overrides})
    return config
