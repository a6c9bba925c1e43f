"""The compiled pulse-run kernel of affine laws (devices/_kernels.py) against a plain reference.

The reference applies every pulse of every cell one at a time with the formulas of
`PulseEngine._step` (devices/_pulses.py), in the state's dtype, consuming the same c2c draws
(Σ|n| of them, in cell order: the next update of the array's counter-based stream). The kernel
must give the same bits, for every affine family, noise kind and dtype.
"""

from __future__ import annotations

import copy

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from devices import DeviceArray, get_preset
from devices._random import NormalStream

from test_device_properties import PROPERTY_SETTINGS, SHAPE, device_configs


def _next_draws(array: DeviceArray) -> NormalStream:
    """A copy of the array's c2c stream, to draw what its next update will draw."""
    return copy.deepcopy(array._engine.normals)


def _reference_runs(array: DeviceArray, counts: np.ndarray, normals: NormalStream) -> np.ndarray:
    """g after the pulse runs, pulse by pulse in Python scalars of the state's dtype, with the
    Σ|n| draws of the next update of `normals` in cell order."""
    p = {name: value.reshape(-1) for name, value in array.parameters.items()}
    sigma = array.config.dw_min_std
    kind = array.law.noise_kind
    flat = counts.reshape(-1)
    noise = normals.draw(int(np.abs(flat).sum()), array.dtype) if sigma > 0.0 else np.zeros(0, array.dtype)
    dtype = array.dtype.type
    sigma_d, one = dtype(sigma), dtype(1.0)
    g = array.g.reshape(-1).copy()
    k = 0
    for i, n in enumerate(flat):
        side = "up" if n > 0 else "down"
        value = g[i]
        for _ in range(abs(int(n))):
            if sigma > 0.0 and kind == "multiplicative":
                step = p[f"{side}_s"][i] * value + p[f"{side}_a"][i]
                value = value + (noise[k] * sigma_d + one) * step
            else:
                value = p[f"{side}_b"][i] * value + p[f"{side}_a"][i]
                if sigma > 0.0:
                    value = value + noise[k] * p[f"{side}_sigma_s"][i]
            k += int(sigma > 0.0)
            value = max(min(value, p["b_max"][i]), p["b_min"][i])
        g[i] = value
    return g.reshape(array.shape)


@PROPERTY_SETTINGS
@given(config=device_configs(), seed=st.integers(0, 1000), count_seed=st.integers(0, 2**16),
       longest=st.sampled_from([1, 3, 40]), float64=st.booleans())
def test_kernel_matches_pulse_by_pulse_reference(config, seed, count_seed, longest, float64) -> None:
    array = DeviceArray(config, SHAPE, seed=seed, dtype=np.float64 if float64 else None)
    if not array.law.affine:
        return  # other laws run the numpy loop over pulse index
    counts = np.random.default_rng(count_seed).integers(-longest, longest + 1, SHAPE).astype(np.int32)
    expected = _reference_runs(array, counts, _next_draws(array))
    array.pulse_counts(counts)
    np.testing.assert_array_equal(array.g, expected)


@PROPERTY_SETTINGS
@given(config=device_configs(noise=False), seed=st.integers(0, 1000), count_seed=st.integers(0, 2**16))
def test_noise_free_runs_are_bitwise_single_pulses(config, seed, count_seed) -> None:
    """Without noise, n pulses in one call give exactly the bits of n tile-wide pulses."""
    batched = DeviceArray(config, SHAPE, seed=seed)
    if not batched.law.affine:
        return
    single = DeviceArray(config, SHAPE, seed=seed)
    direction = 1 if count_seed % 2 else -1
    n = 1 + count_seed % 50
    batched.pulse_counts(np.full(SHAPE, direction * n))
    for _ in range(n):
        single.pulse_all(direction)
    np.testing.assert_array_equal(batched.g, single.g)


def test_every_pulsed_cell_is_marked_for_write_noise() -> None:
    from devices import SoftBoundsConfig

    array = DeviceArray(SoftBoundsConfig(write_noise_std=1.0), (4, 4), seed=1)
    array.visible()  # clears the "all touched" state
    counts = np.zeros((4, 4), np.int32)
    counts[1, 2], counts[3, 0] = 2, -1
    array.pulse_counts(counts)
    np.testing.assert_array_equal(array._state.touched, counts != 0)


def test_large_noisy_updates_on_two_threads_equal_the_reference() -> None:
    """Above the threshold the update is applied chunk by chunk (equal ranges of cells) on two
    threads, each chunk drawing its own positions of the counter-based stream: the result equals
    the pulse-by-pulse reference with the update's draws in cell order, whatever the timing."""
    from devices import SoftBoundsConfig
    from devices._parallel import PARALLEL_MIN_PULSES

    shape = (200, 300)
    counts = np.random.default_rng(5).integers(-4, 5, shape).astype(np.int32)
    total = int(np.abs(counts).sum())
    assert total >= PARALLEL_MIN_PULSES
    array = DeviceArray(SoftBoundsConfig(dw_min_std=0.3), shape, seed=11)
    expected = _reference_runs(array, counts, _next_draws(array))
    array.pulse_counts(counts)
    np.testing.assert_array_equal(array.g, expected)


@PROPERTY_SETTINGS
@given(config=device_configs(), seed=st.integers(0, 1000), mask_seed=st.integers(0, 2**16),
       how=st.sampled_from(["up", "down", "mask", "signs"]), float64=st.booleans())
def test_tile_wide_pulse_matches_pulse_by_pulse_reference(config, seed, mask_seed, how, float64) -> None:
    """pulse_all / pulse_up_mask / pulse_signs (every cell pulsed) run the one-pass kernel: the
    same bits as the reference with one pulse per cell and one draw per cell in cell order."""
    array = DeviceArray(config, SHAPE, seed=seed, dtype=np.float64 if float64 else None)
    if not array.law.affine:
        return
    up = np.random.default_rng(mask_seed).random(SHAPE) < 0.5
    if how in ("up", "down"):
        up[...] = how == "up"
    counts = np.where(up, 1, -1).astype(np.int32)
    expected = _reference_runs(array, counts, _next_draws(array))
    if how in ("up", "down"):
        array.pulse_all(1 if how == "up" else -1)
    elif how == "mask":
        array.pulse_up_mask(up)
    else:
        array.pulse_signs(counts)
    np.testing.assert_array_equal(array.g, expected)


def test_large_noise_free_runs_shared_between_threads_equal_single_pulses() -> None:
    """Above the threshold the chunks are applied by two threads; noise-free, the result is
    still bit for bit that of the same number of tile-wide pulses."""
    from devices import SoftBoundsConfig
    from devices._parallel import PARALLEL_MIN_PULSES

    shape = (200, 300)
    config = SoftBoundsConfig(dw_min_std=0.0)
    batched = DeviceArray(config, shape, seed=3)
    single = DeviceArray(config, shape, seed=3)
    counts = np.full(shape, -5, dtype=np.int32)
    assert int(np.abs(counts).sum()) >= PARALLEL_MIN_PULSES
    batched.pulse_counts(counts)
    for _ in range(5):
        single.pulse_all(-1)
    np.testing.assert_array_equal(batched.g, single.g)
    assert batched._state.touched.all()


def test_counts_of_any_integer_dtype_give_the_same_pulses_and_fractions_are_refused() -> None:
    import pytest
    from devices import SoftBoundsConfig

    counts = np.random.default_rng(2).integers(-5, 6, SHAPE)
    reference = DeviceArray(SoftBoundsConfig(), SHAPE, seed=4)
    reference.pulse_counts(counts.astype(np.int64))
    for dtype in (np.int8, np.int16, np.int32, np.float64):
        array = DeviceArray(SoftBoundsConfig(), SHAPE, seed=4)
        array.pulse_counts(counts.astype(dtype))
        np.testing.assert_array_equal(array.g, reference.g)
    with pytest.raises(ValueError, match="whole numbers"):
        DeviceArray(SoftBoundsConfig(), SHAPE, seed=4).pulse_counts(np.full(SHAPE, 0.5))


@PROPERTY_SETTINGS
@given(config=device_configs(), seed=st.integers(0, 1000), count_seed=st.integers(0, 2**16),
       updates=st.integers(1, 6), longest=st.sampled_from([0, 2, 40]), float64=st.booleans())
def test_batch_of_updates_equals_one_update_after_another(config, seed, count_seed, updates, longest, float64) -> None:
    """`pulse_counts_batch` gives the state, the write-noise marks and the noise stream of
    `pulse_counts` on each update in order, for every law (affine or not) and dtype."""
    dtype = np.float64 if float64 else None
    batched, sequential = DeviceArray(config, SHAPE, seed=seed, dtype=dtype), DeviceArray(config, SHAPE, seed=seed,
                                                                                          dtype=dtype)
    counts = np.random.default_rng(count_seed).integers(-longest, longest + 1, (updates, *SHAPE)).astype(np.int32)
    for update in counts:
        sequential.pulse_counts(update)
    batched.pulse_counts_batch(counts)
    np.testing.assert_array_equal(batched.g, sequential.g)
    np.testing.assert_array_equal(batched._state.touched, sequential._state.touched)
    assert batched.noise_rng.random() == sequential.noise_rng.random()
    assert batched._engine.normals.updates == sequential._engine.normals.updates


def test_batch_with_a_large_update_takes_the_chunked_path_with_the_same_result() -> None:
    """An update of ≥ 65 536 pulses in a batch runs on the two-thread chunked path; every update,
    small or large, keeps its index of the c2c stream as in one `pulse_counts` after another."""
    config = get_preset("ReRamSB")
    shape = (256, 256)
    batched, sequential = DeviceArray(config, shape, seed=3), DeviceArray(config, shape, seed=3)
    rng = np.random.default_rng(4)
    counts = np.stack([rng.integers(-1, 2, shape), rng.integers(-3, 4, shape), rng.integers(-1, 2, shape) * 0,
                       (rng.random(shape) < 0.01).astype(int)]).astype(np.int32)
    assert np.abs(counts[1]).sum() >= 1 << 16 and np.abs(counts[3]).sum() < 2048
    for update in counts:
        sequential.pulse_counts(update)
    batched.pulse_counts_batch(counts)
    np.testing.assert_array_equal(batched.g, sequential.g)
    assert batched.noise_rng.random() == sequential.noise_rng.random()
    assert batched._engine.normals.updates == sequential._engine.normals.updates == len(counts)
