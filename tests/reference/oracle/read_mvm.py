"""Reference side: analog reads (forward W·x or backward Wᵀ·d) through AIHWKIT's IO-managed pass.

Weights are written exactly with the C++ tile's set_weights on a ConstantStep device whose bounds
are out of reach and which has no write noise (the results carry the read-back weights so the
test can check that). Every case reads a batch of input vectors `repeats` times (one batch of
repeats × samples vectors: the CPU reference handles each vector on its own, src/rpucuda/rpu.cpp
RPUAbstract::forwardMatrix).

Request: {"cases": [{"io": {IOParameters fields; "noise_management": "abs_max"|"none",
"bound_management": "iterative"|"none"}, "weights": [[...]] (out × in), "inputs": [[...]],
"direction": "forward"|"backward", "repeats": int, "seed": int}, ...]}.
Results per case i: outputs_i (repeats × samples × outputs, float32), weights_i (read back).

The CPU reference's output noise is RNG::sampleGauss (src/rpucuda/rng.h): an entry of a table
of 32768 N(0,1) numbers drawn once, with a clock seed, when the tile is built; the entry index
is rand() % 32768. libc srand(seed) after construction fixes the index stream (so the
quantization and saturation pattern replays), not the table itself.
"""

from __future__ import annotations

import ctypes

import numpy as np

from _protocol import serve


def io_parameters(fields: dict):
    from aihwkit.simulator.configs import IOParameters
    from aihwkit.simulator.parameters.enums import BoundManagementType, NoiseManagementType

    fields = dict(fields)
    nm = {"abs_max": NoiseManagementType.ABS_MAX, "none": NoiseManagementType.NONE}
    bm = {"iterative": BoundManagementType.ITERATIVE, "none": BoundManagementType.NONE}
    if "noise_management" in fields:
        fields["noise_management"] = nm[fields["noise_management"]]
    if "bound_management" in fields:
        fields["bound_management"] = bm[fields["bound_management"]]
    return IOParameters(**fields)


def build_tile(weights: np.ndarray, io_fields: dict):
    import torch
    from aihwkit.simulator.configs import SingleRPUConfig
    from aihwkit.simulator.configs.devices import ConstantStepDevice

    device = ConstantStepDevice(
        dw_min=1.0, dw_min_dtod=0.0, dw_min_std=0.0, up_down=0.0, up_down_dtod=0.0,
        w_max=1e6, w_min=-1e6, w_max_dtod=0.0, w_min_dtod=0.0, construction_seed=1)
    config = SingleRPUConfig(device=device, forward=io_parameters(io_fields),
                             backward=io_parameters(io_fields))
    rows, cols = weights.shape
    tile = config.tile_class(rows, cols, config).tile  # the C++ tile, no digital periphery
    tile.set_weights(torch.from_numpy(weights))
    return tile


def handle(request: dict) -> dict:
    import torch

    libc = ctypes.CDLL(None)
    results: dict = {}
    for index, case in enumerate(request["cases"]):
        weights = np.asarray(case["weights"], dtype=np.float32)
        inputs = np.asarray(case["inputs"], dtype=np.float32)
        repeats = int(case["repeats"])
        tile = build_tile(weights, case["io"])
        libc.srand(int(case["seed"]))
        batch = torch.from_numpy(np.tile(inputs, (repeats, 1)))
        if case["direction"] == "forward":
            out = tile.forward(batch, False, False, False, False, False)
        else:
            out = tile.backward(batch, False, False, False, False)
        results[f"outputs_{index}"] = out.numpy().reshape(repeats, inputs.shape[0], -1)
        results[f"weights_{index}"] = tile.get_weights().numpy()
    return results


if __name__ == "__main__":
    serve(handle)
