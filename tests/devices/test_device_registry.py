"""A device model added the way a contributor adds one: a config class naming its model and
its step law, registered with one line; it then builds arrays and validates from scenarios."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pytest

from devices import (
    DEVICE_MODELS,
    DeviceArray,
    PulsedDeviceConfig,
    StepLaw,
    SoftBoundsConfig,
    law_for,
    register_device,
    unregister_device,
)
from devices.response import CellParams
from emulator.scenario import ScenarioError, validate_document
from emulator.schema_doc import schema_markdown


class TiltStepLaw(StepLaw["TiltStepConfig"]):
    """Δ⁺ = s⁺·max(1 − k·g, 0), Δ⁻ = s⁻·max(1 + k·g, 0): a non-affine law (numpy pulse path)."""

    def delta_up(self, g: np.ndarray, prm: CellParams) -> np.ndarray:
        return prm["s_up"] * np.maximum(1.0 - self.config.tilt * g, 0.0)

    def delta_down(self, g: np.ndarray, prm: CellParams) -> np.ndarray:
        return prm["s_down"] * np.maximum(1.0 + self.config.tilt * g, 0.0)


class TiltStepConfig(PulsedDeviceConfig):
    """Tilted step: Δ± = s±·max(1 ∓ tilt·g, 0)."""

    law = TiltStepLaw
    model: Literal["TiltStep"] = "TiltStep"
    tilt: float = 1.0
    """How fast the steps change with g."""


def _document(device: dict[str, object]) -> dict[str, object]:
    return {"hardware": {"tiles": {"t0": {"rows": 4, "cols": 3, "arrays": {"W": {"device": device}}}}},
            "program": {"name": "zero_shift"}}


def test_a_model_registered_with_one_line_builds_arrays_and_validates_from_scenarios() -> None:
    assert "TiltStep" not in DEVICE_MODELS
    register_device(TiltStepConfig)  # the one line a contributor adds
    try:
        assert DEVICE_MODELS["TiltStep"] is TiltStepConfig
        config = TiltStepConfig(tilt=2.0, dw_min=0.01, dw_min_std=0.0, w_min=-0.5, w_max=0.5)
        assert isinstance(law_for(config), TiltStepLaw)

        array = DeviceArray(config, (20, 30), seed=4, dtype=np.float64)
        prm = array.cell_parameters()
        g0 = array.g.copy()
        array.pulse_all(1)
        np.testing.assert_allclose(array.g, np.clip(g0 + array.delta_up(g0), prm["b_min"], prm["b_max"]),
                                   rtol=1e-12, atol=1e-15)
        expected_sp = (prm["s_up"] - prm["s_down"]) / (config.tilt * (prm["s_up"] + prm["s_down"]))
        assert array.sp_interior.all()
        np.testing.assert_allclose(array.symmetric_point(), expected_sp, atol=1e-12)

        scenario = validate_document(_document({"model": "TiltStep", "tilt": 3.0, "dw_min": 0.02}))
        resolved = scenario.hardware.tiles["t0"].arrays["W"].resolve()
        assert type(resolved) is TiltStepConfig and resolved.tilt == 3.0 and resolved.dw_min == 0.02
        with pytest.raises(ScenarioError) as error:
            validate_document(_document({"model": "TiltStep", "tilt": "steep"}))
        assert [path for path, _ in error.value.problems] == ["hardware.tiles.t0.arrays.W.device.tilt"]
        assert "### `TiltStep`" in schema_markdown()
    finally:
        unregister_device("TiltStep")
    assert "TiltStep" not in DEVICE_MODELS
    with pytest.raises(ScenarioError, match="TiltStep"):
        validate_document(_document({"model": "TiltStep"}))


def test_registration_checks_the_declaration() -> None:
    with pytest.raises(ValueError, match="already registered"):
        register_device(type("OtherSoftBounds", (SoftBoundsConfig,), {"__doc__": "A second SoftBounds."}))

    class NoLawConfig(PulsedDeviceConfig):
        """No step law."""

        model: Literal["NoLaw"] = "NoLaw"

    with pytest.raises(TypeError, match="StepLaw"):
        register_device(NoLawConfig)
    with pytest.raises(TypeError, match="model"):
        register_device(PulsedDeviceConfig)
    register_device(SoftBoundsConfig)  # the same class again: no change
    assert list(DEVICE_MODELS).count("SoftBounds") == 1
    with pytest.raises(KeyError):
        unregister_device("NoSuchModel")
