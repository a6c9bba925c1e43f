"""The 8×8 digits data set that ships with scikit-learn, and its stratified train/test split,
without importing scikit-learn.

Importing any part of scikit-learn imports its base package (and SciPy's statistics): about
0.8 s of every digits run, a tenth of a 40-epoch run end to end. The data is read from the file
scikit-learn installs (`sklearn/datasets/data/digits.csv.gz`, as its `load_digits` reads it)
and split as `train_test_split(x, y, test_size=…, random_state=seed, stratify=y)` splits it
(its `StratifiedShuffleSplit`, one split). tests/training/test_training_digits_data.py checks
both against scikit-learn itself, so a change there shows up as a failing test.
"""

from __future__ import annotations

import gzip
import importlib.util
import math
from pathlib import Path

import numpy as np


def digits_file() -> Path:
    """Where the installed scikit-learn keeps the digits CSV (found without importing it)."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("the digits workload needs scikit-learn's bundled data set (pip install scikit-learn)")
    return Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data" / "digits.csv.gz"


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """The 1797 images (pixels 0…16, flat, float64) and their labels (int), as scikit-learn's
    `load_digits(return_X_y=True)` gives them."""
    with gzip.open(digits_file(), mode="rt", encoding="utf-8") as handle:
        data = np.loadtxt(handle, delimiter=",")
    return data[:, :-1], data[:, -1].astype(int)


def _approximate_mode(class_counts: np.ndarray, draws: int, rng: np.random.RandomState) -> np.ndarray:
    """Per-class draws of a stratified sample of `draws` (scikit-learn's `_approximate_mode`):
    the floored proportional share, then one more for the largest remainders, ties broken by rng."""
    continuous = class_counts / class_counts.sum() * draws
    floored = np.floor(continuous)
    need_to_add = int(draws - floored.sum())
    if need_to_add > 0:
        remainder = continuous - floored
        for value in np.sort(np.unique(remainder))[::-1]:
            (indices,) = np.where(remainder == value)
            add_now = min(len(indices), need_to_add)
            floored[rng.choice(indices, size=add_now, replace=False)] += 1
            need_to_add -= add_now
            if need_to_add == 0:
                break
    return floored.astype(int)


def stratified_split(labels: np.ndarray, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Train and test indices of a stratified shuffle split with `test_fraction` of the samples
    (rounded up) in the test part: scikit-learn's `train_test_split(…, test_size=test_fraction,
    random_state=seed, stratify=labels)`."""
    samples = labels.shape[0]
    test_count = math.ceil(test_fraction * samples)
    train_count = samples - test_count
    classes, class_of_sample, class_counts = np.unique(labels, return_inverse=True, return_counts=True)
    if class_counts.min() < 2 or train_count < classes.size or test_count < classes.size:
        raise ValueError(f"a stratified split of {samples} samples in {classes.size} classes with test fraction "
                         f"{test_fraction} leaves a class without train or test samples")
    class_indices = np.split(np.argsort(class_of_sample, kind="stable"), np.cumsum(class_counts)[:-1])
    rng = np.random.RandomState(seed)
    train_per_class = _approximate_mode(class_counts, train_count, rng)
    test_per_class = _approximate_mode(class_counts - train_per_class, test_count, rng)
    train: list[int] = []
    test: list[int] = []
    for members, n_train, n_test, count in zip(class_indices, train_per_class, test_per_class, class_counts):
        shuffled = members.take(rng.permutation(count), mode="clip")
        train.extend(shuffled[:n_train])
        test.extend(shuffled[n_train:n_train + n_test])
    return rng.permutation(train), rng.permutation(test)
