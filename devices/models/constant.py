"""ConstantStep: Δ± = s±(1 + σξ), no interior symmetric point (SPEC §1.4)."""

from __future__ import annotations

from typing import Literal

import numpy as np

from devices.config import PulsedDeviceConfig
from devices.response import AffineLaw


class ConstantStepLaw(AffineLaw["ConstantStepConfig"]):
    """Steps independent of g: offsets s±, slopes 0."""

    def sample_extra(self, prm: dict[str, np.ndarray], rng: np.random.Generator) -> None:
        zero = np.zeros_like(prm["s_up"])
        prm.update(up_offset=prm["s_up"].copy(), up_slope=zero, down_offset=prm["s_down"].copy(),
                   down_slope=zero.copy())


class ConstantStepConfig(PulsedDeviceConfig):
    """Constant step: Δ± = s±(1 + σξ); no interior symmetric point."""

    law = ConstantStepLaw
    model: Literal["ConstantStep"] = "ConstantStep"
