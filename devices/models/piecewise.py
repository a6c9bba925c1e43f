"""PiecewiseStep: Δ± = s±·interp(v±, g) over nodes equally spaced on the cell's [b⁻, b⁺] (SPEC §1.4)."""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import Field, model_validator

from devices.config import PulsedDeviceConfig
from devices.response import CellParams, StepLaw


class PiecewiseStepLaw(StepLaw["PiecewiseStepConfig"]):
    """Linear interpolation of the relative step sizes between the nodes."""

    def __init__(self, config: PiecewiseStepConfig) -> None:
        super().__init__(config)
        self._up_nodes = np.asarray(config.piecewise_up, dtype=np.float64)
        self._down_nodes = np.asarray(config.piecewise_down, dtype=np.float64)

    def _interp(self, nodes: np.ndarray, g: np.ndarray, prm: CellParams) -> np.ndarray:
        if nodes.size == 1:
            return np.full_like(np.asarray(g, dtype=np.result_type(g, prm["b_min"])), nodes[0])
        span = prm["b_max"] - prm["b_min"]
        span = np.where(span > 0.0, span, 1.0)
        position = np.clip((g - prm["b_min"]) / span, 0.0, 1.0) * (nodes.size - 1)
        index = np.minimum(position.astype(np.int64), nodes.size - 2)
        fraction = position - index
        return nodes[index] * (1.0 - fraction) + nodes[index + 1] * fraction

    def delta_up(self, g: np.ndarray, prm: CellParams) -> np.ndarray:
        return prm["s_up"] * self._interp(self._up_nodes, g, prm)

    def delta_down(self, g: np.ndarray, prm: CellParams) -> np.ndarray:
        return prm["s_down"] * self._interp(self._down_nodes, g, prm)


class PiecewiseStepConfig(PulsedDeviceConfig):
    """Piecewise-linear step: Δ± = s±·interp(v±, g) over equally spaced nodes on [b−, b+]."""

    law = PiecewiseStepLaw
    model: Literal["PiecewiseStep"] = "PiecewiseStep"
    piecewise_up: list[Annotated[float, Field(ge=0.0)]] = Field(default_factory=lambda: [1.0, 1.0])
    """Relative up-step size at equally spaced nodes from b_min to b_max (one node: constant)."""
    piecewise_down: list[Annotated[float, Field(ge=0.0)]] = Field(default_factory=lambda: [1.0, 1.0])
    """Relative down-step size at the same nodes."""

    @model_validator(mode="after")
    def _check_nodes(self) -> PiecewiseStepConfig:
        if len(self.piecewise_up) < 1:
            raise ValueError("piecewise_up needs at least 1 node")
        if len(self.piecewise_up) != len(self.piecewise_down):
            raise ValueError(
                f"piecewise_up and piecewise_down must have the same length "
                f"({len(self.piecewise_up)} != {len(self.piecewise_down)})"
            )
        return self
