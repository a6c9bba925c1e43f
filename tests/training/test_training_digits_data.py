"""The digits data and split of emulator/workloads/digits_data.py against scikit-learn itself:
the same images and labels as `load_digits`, the same indices as `train_test_split(…,
stratify=y)` for any test fraction and seed (so a digits run is unchanged by not importing it)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.datasets import load_digits as sklearn_load_digits
from sklearn.model_selection import train_test_split

from emulator.workloads.digits_data import load_digits, stratified_split


def test_digits_are_scikit_learns() -> None:
    images, labels = load_digits()
    expected_images, expected_labels = sklearn_load_digits(return_X_y=True)
    np.testing.assert_array_equal(images, expected_images)
    np.testing.assert_array_equal(labels, expected_labels)


@settings(max_examples=60, deadline=None)
@given(test_fraction=st.floats(0.05, 0.9), seed=st.integers(0, 2**31 - 1), samples=st.sampled_from([60, 217, 1797]))
def test_split_is_scikit_learns_train_test_split(test_fraction: float, seed: int, samples: int) -> None:
    _, labels = load_digits()
    labels = labels[:samples]
    indices = np.arange(samples)
    try:
        expected_train, expected_test = train_test_split(indices, test_size=test_fraction, random_state=seed,
                                                         stratify=labels)
    except ValueError:  # too few samples for a class in one part: refused on both sides
        with pytest.raises(ValueError, match="leaves a class without train or test samples"):
            stratified_split(labels, test_fraction, seed)
        return
    train, test = stratified_split(labels, test_fraction, seed)
    np.testing.assert_array_equal(train, expected_train)
    np.testing.assert_array_equal(test, expected_test)


def test_uneven_classes_break_remainder_ties_as_scikit_learn() -> None:
    """Classes of sizes that leave equal remainders: the tie-break draws decide the counts."""
    labels = np.repeat(np.arange(7), [5, 5, 6, 6, 7, 9, 9])
    for seed in range(20):
        expected_train, expected_test = train_test_split(np.arange(labels.size), test_size=0.35, random_state=seed,
                                                         stratify=labels)
        train, test = stratified_split(labels, 0.35, seed)
        np.testing.assert_array_equal(train, expected_train)
        np.testing.assert_array_equal(test, expected_test)
