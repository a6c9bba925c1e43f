"""Reference side: signed per-cell pulse counts of repeated single-sample pulsed updates.

A ConstantStep device with dw_min a power of two and no d2d/c2c noise, no bounds in reach: every
pulse moves a cell by exactly ±dw_min and, within one update, all pulses on a cell have the same
sign, so Δw/dw_min after one update is that cell's signed pulse count.

Request: {"cases": [{"x", "d", "lr", "dw_min", "desired_bl", "update_bl_management",
"update_management", "repeats", "seed"}, ...]}.
Results per case i: counts_i (repeats × rows × cols, int32), off_grid_i (largest |Δw/dw_min −
round(Δw/dw_min)|, 0 when every step is a whole number of pulses), final_abs_weight_i (largest
|w| reached, to show the bounds were never in reach).

The CPU reference draws its update uniforms with the C library's rand() (src/rpucuda/rng.h,
RNG::sampleUniform = rand()/RAND_MAX); its own seed is taken from the clock when the tile is
built and cannot be set from Python. Calling libc srand(seed) after construction makes the
stream replay, which is what "seed" does here.
"""

from __future__ import annotations

import ctypes

import numpy as np

from _protocol import serve


def build_tile(rows: int, cols: int, case: dict):
    from aihwkit.simulator.configs import SingleRPUConfig, UpdateParameters
    from aihwkit.simulator.configs.devices import ConstantStepDevice

    device = ConstantStepDevice(
        dw_min=case["dw_min"], dw_min_dtod=0.0, dw_min_std=0.0, up_down=0.0, up_down_dtod=0.0,
        w_max=1e6, w_min=-1e6, w_max_dtod=0.0, w_min_dtod=0.0, construction_seed=1)
    update = UpdateParameters(
        desired_bl=int(case["desired_bl"]),
        update_bl_management=bool(case["update_bl_management"]),
        update_management=bool(case["update_management"]))
    config = SingleRPUConfig(device=device, update=update)
    tile = config.tile_class(rows, cols, config)
    # on the C++ tile: the periphery would multiply lr by its mapping_lr_scale
    tile.tile.set_learning_rate(float(case["lr"]))
    return tile


def handle(request: dict) -> dict:
    import torch

    libc = ctypes.CDLL(None)
    results: dict = {}
    for index, case in enumerate(request["cases"]):
        x = torch.tensor([case["x"]], dtype=torch.float32)
        d = torch.tensor([case["d"]], dtype=torch.float32)
        rows, cols = d.shape[1], x.shape[1]
        tile = build_tile(rows, cols, case)
        simulator = tile.tile  # the C++ tile: no digital periphery in the way
        simulator.set_weights(torch.zeros(rows, cols))
        libc.srand(int(case["seed"]))
        repeats = int(case["repeats"])
        steps = np.empty((repeats, rows, cols), dtype=np.float64)
        before = simulator.get_weights().numpy().astype(np.float64)
        for r in range(repeats):
            simulator.update(x, d, False, False, False, False)
            after = simulator.get_weights().numpy().astype(np.float64)
            steps[r] = after - before
            before = after
        in_steps = steps / case["dw_min"]
        counts = np.rint(in_steps)
        results[f"counts_{index}"] = counts.astype(np.int32)
        results[f"off_grid_{index}"] = float(np.abs(in_steps - counts).max())
        results[f"final_abs_weight_{index}"] = float(np.abs(before).max())
    return results


if __name__ == "__main__":
    serve(handle)
