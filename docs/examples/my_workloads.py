"""A workload of your own: classify two interleaved half-moons with a small FCN (generated, no
download). One builder, declared once with its parameters and its layers."""

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from emulator.workloads import Workload
from emulator.workloads.base import LayerSpec, tile_name
from emulator.workloads.registry import workload


class MoonsParams(BaseModel):
    """Two half-moons in 2-D, `samples` points, noise `noise`; an FCN 2-`hidden`-2."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["moons"] = "moons"
    samples: int = 400
    noise: float = 0.15
    hidden: int = 16
    data_seed: int = 0


def moons_layers(params: MoonsParams) -> list[LayerSpec]:
    return [LayerSpec(tile_name(0), 2, params.hidden, "digital", "tanh"),
            LayerSpec(tile_name(1), params.hidden, 2, "digital", "identity")]


@workload(MoonsParams, moons_layers)
def moons(params: MoonsParams) -> Workload:
    from sklearn.datasets import make_moons  # generated locally: no data set is downloaded

    x, y = make_moons(params.samples + params.samples // 4, noise=params.noise, random_state=params.data_seed)
    train = params.samples
    return Workload(name="moons", task="classification", layers=moons_layers(params), x_train=x[:train],
                    y_train=y[:train], x_test=x[train:], y_test=y[train:], classes=2)
