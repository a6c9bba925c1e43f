"""Reference side: digits 64-32-10 on AIHWKIT presets (run with the reference simulator's Python).

Prints one JSON line: per-epoch test accuracy, final accuracy, wall time. Offsets go on the fast
device (unit_cell_devices[0], the reference simulator's "A"), as in [DSPT] Tables 1-2.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from aihwkit.nn import AnalogLinear, AnalogSequential
from aihwkit.optim import AnalogSGD
from aihwkit.simulator import presets

PRESETS = {
    "ttv2": presets.TTv2ReRamSBPreset,
    "cttv2": presets.ChoppedTTv2ReRamSBPreset,
    "agad": presets.AGADReRamSBPreset,
    "sgd": presets.ReRamSBPreset,
}


def rpu_config(algorithm: str, ref_mean: float, ref_std: float):
    config = PRESETS[algorithm]()
    fast = config.device if algorithm == "sgd" else config.device.unit_cell_devices[0]
    fast.reference_mean = ref_mean
    fast.reference_std = ref_std
    return config


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--algorithm", default="ttv2", choices=sorted(PRESETS))
    parser.add_argument("--ref-mean", type=float, default=0.0)
    parser.add_argument("--ref-std", type=float, default=0.05)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--lr", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--split-seed", type=int, default=0)
    args = parser.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    data = load_digits()
    x = data.data.astype(np.float32) / 16.0
    y = data.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.3, random_state=args.split_seed, stratify=y)
    x_train, x_test = torch.from_numpy(x_train), torch.from_numpy(x_test)
    y_train, y_test = torch.from_numpy(y_train), torch.from_numpy(y_test)

    config = rpu_config(args.algorithm, args.ref_mean, args.ref_std)
    model = AnalogSequential(
        AnalogLinear(64, 32, bias=True, rpu_config=config), torch.nn.Sigmoid(),
        AnalogLinear(32, 10, bias=True, rpu_config=config))
    optimizer = AnalogSGD(model.parameters(), lr=args.lr)
    optimizer.regroup_param_groups(model)
    loss_fn = torch.nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(args.seed)

    def accuracy() -> float:
        with torch.no_grad():
            return float((model(x_test).argmax(dim=1) == y_test).float().mean()) * 100.0

    history = [accuracy()]
    start = time.perf_counter()
    train_time = 0.0
    for _ in range(args.epochs):
        order = torch.randperm(x_train.shape[0], generator=generator)
        t0 = time.perf_counter()
        for begin in range(0, x_train.shape[0], args.batch):
            index = order[begin:begin + args.batch]
            optimizer.zero_grad()
            loss = loss_fn(model(x_train[index]), y_train[index])
            loss.backward()
            optimizer.step()
        train_time += time.perf_counter() - t0
        history.append(accuracy())
    print(json.dumps({
        "algorithm": args.algorithm, "ref_mean": args.ref_mean, "ref_std": args.ref_std,
        "seed": args.seed, "epochs": args.epochs, "final_test_accuracy": history[-1],
        "history": history, "wall_s": time.perf_counter() - start,
        "train_samples_per_s": args.epochs * x_train.shape[0] / train_time,
    }))


if __name__ == "__main__":
    main()
