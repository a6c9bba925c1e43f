"""Reference side of the 512×512 training step (run with the reference simulator's Python).

    /work/venvs/aihwkit/bin/python benchmarks/reference/aihwkit_step.py [--samples 60] [--repeats 3]

The workload of `bench_train.training_step`: a 512×512 AnalogLinear (no bias) of SoftBounds
cells (the reference's defaults: dw_min 0.001, ±0.6) with c2c σ 0.3, default IO, BL fixed at 31
(desired_bl 31, update_bl_management off, update_management on), batch 1; each step a forward,
the error y − teacher·x as the gradient of ½‖y − t‖², a backward and the pulsed update
(AnalogSGD, lr 0.01). Prints one JSON line: ms per sample of every repeat and the best.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from aihwkit.nn import AnalogLinear
from aihwkit.optim import AnalogSGD
from aihwkit.simulator.configs import SingleRPUConfig, SoftBoundsDevice

N = 512


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--sigma", type=float, default=0.3)
    args = parser.parse_args()

    torch.manual_seed(0)
    rng = np.random.default_rng(11)
    teacher = (0.05 * rng.standard_normal((N, N))).astype(np.float32)
    xs = torch.from_numpy(rng.uniform(-1.0, 1.0, (args.samples, N)).astype(np.float32))
    targets = xs @ torch.from_numpy(teacher).T

    config = SingleRPUConfig(device=SoftBoundsDevice(dw_min_std=args.sigma))
    config.update.desired_bl = 31
    config.update.update_bl_management = False
    config.update.update_management = True
    layer = AnalogLinear(N, N, bias=False, rpu_config=config)
    optimizer = AnalogSGD(layer.parameters(), lr=args.lr)
    optimizer.regroup_param_groups(layer)
    start_weights = layer.get_weights()[0].clone()

    def one_repeat() -> float:
        layer.set_weights(start_weights)
        t = time.perf_counter()
        for i in range(args.samples):
            optimizer.zero_grad()
            y = layer(xs[i:i + 1])
            loss = 0.5 * ((y - targets[i:i + 1]) ** 2).sum()
            loss.backward()
            optimizer.step()
        return (time.perf_counter() - t) / args.samples

    one_repeat()  # warm-up
    times = [one_repeat() for _ in range(args.repeats)]
    print(json.dumps({"ms_per_sample": [1e3 * t for t in times], "best_ms": 1e3 * min(times),
                      "median_ms": 1e3 * float(np.median(times)), "torch_threads": torch.get_num_threads(),
                      "samples": args.samples}))


if __name__ == "__main__":
    main()
