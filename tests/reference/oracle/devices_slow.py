"""Reference side of tests/reference/test_ref_slow.py: decay and diffusion as the reference applies
them, once per mini-batch in `post_update_step` (diffuse_weights, then decay_weights).

Request: rows, cols, tiles, steps (checkpoints k), start (visible weight set on every cell),
device overrides of CapacitorPresetDevice. Returns the weights of every tile at each checkpoint,
shape (checkpoints, tiles·rows·cols), and each cell's reset bias and decay scale.
"""

from __future__ import annotations

import numpy as np

from _protocol import serve


def handle(request: dict) -> dict:
    import torch
    from aihwkit.simulator.configs import SingleRPUConfig
    from aihwkit.simulator.presets.devices import CapacitorPresetDevice

    rows, cols = request["rows"], request["cols"]
    checkpoints = sorted(request["steps"])
    weights = np.zeros((len(checkpoints), request["tiles"] * rows * cols), np.float32)
    reset_bias, decay_scale = [], []
    for index in range(request["tiles"]):
        device = CapacitorPresetDevice(**request["device"], construction_seed=1000 + index)
        tile = SingleRPUConfig(device=device).tile_class(rows, cols, SingleRPUConfig(device=device))
        tile.set_weights(torch.full((rows, cols), float(request["start"])))
        hidden = tile.get_hidden_parameters()
        reset_bias.append(np.asarray(hidden["reset_bias"]).reshape(-1))
        decay_scale.append(np.asarray(hidden["decay_scales"]).reshape(-1))
        done = 0
        for position, k in enumerate(checkpoints):
            for _ in range(k - done):
                tile.post_update_step()
            done = k
            weights[position, index * rows * cols:(index + 1) * rows * cols] = tile.get_weights()[0].numpy().reshape(-1)
    return {"weights": weights, "reset_bias": np.concatenate(reset_bias), "decay_scale": np.concatenate(decay_scale)}


if __name__ == "__main__":
    serve(handle)
