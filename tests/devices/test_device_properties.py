"""Hypothesis properties over random valid configs of every family (SPEC §1.2–1.4).

All properties are derandomized so a failure replays identically.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devices import (
    AsymmetricLinearConfig,
    ConstantStepConfig,
    DeviceArray,
    ExpStepConfig,
    LinearStepConfig,
    PiecewiseStepConfig,
    PowStepConfig,
    PowStepReferenceConfig,
    SoftBoundsConfig,
    SoftBoundsReferenceConfig,
)

SHAPE = (5, 7)
PROPERTY_SETTINGS = settings(max_examples=100, deadline=None, derandomize=True,
                             suppress_health_check=[HealthCheck.too_slow])

_unit = st.floats(0.0, 0.5)


@st.composite
def common_fields(draw: st.DrawFn, noise: bool = True) -> dict[str, object]:
    return dict(
        dw_min=draw(st.floats(1e-3, 0.05)),
        dw_min_dtod=draw(_unit),
        dw_min_dtod_log_normal=draw(st.booleans()),
        dw_min_std=draw(st.floats(0.0, 1.0)) if noise else 0.0,
        up_down=draw(st.floats(-0.3, 0.3)),
        up_down_dtod=draw(st.floats(0.0, 0.1)),
        w_max=draw(st.floats(0.1, 1.5)),
        w_min=draw(st.floats(-1.5, -0.1)),
        w_max_dtod=draw(_unit),
        w_min_dtod=draw(_unit),
        enforce_consistency=draw(st.sampled_from([True, True, True, False])),
        corrupt_devices_prob=draw(st.sampled_from([0.0, 0.0, 0.2])),
        reset=draw(st.floats(-0.2, 0.2)),
        reset_dtod=draw(st.floats(0.0, 0.1)),
        write_noise_std=draw(st.sampled_from([0.0, 0.0, 3.0])),
        reference_mean=draw(st.floats(-0.2, 0.2)),
        reference_std=draw(st.floats(0.0, 0.1)),
        subtract_symmetry_point=draw(st.booleans()),
    )


@st.composite
def device_configs(draw: st.DrawFn, noise: bool = True) -> object:
    c = draw(common_fields(noise))
    family = draw(st.sampled_from([
        "ConstantStep", "LinearStep", "SoftBounds", "SoftBoundsReference", "PowStep",
        "PowStepReference", "ExpStep", "PiecewiseStep", "AsymmetricLinear"]))
    if family == "ConstantStep":
        return ConstantStepConfig(**c)
    if family == "LinearStep":
        return LinearStepConfig(**c, gamma_up=draw(st.floats(-0.5, 1.0)),
                                gamma_down=draw(st.floats(-0.5, 1.0)),
                                gamma_up_dtod=draw(st.floats(0.0, 0.2)),
                                gamma_down_dtod=draw(st.floats(0.0, 0.2)),
                                allow_increasing=draw(st.booleans()),
                                mean_bound_reference=draw(st.booleans()),
                                mult_noise=draw(st.booleans()))
    if family == "SoftBounds":
        return SoftBoundsConfig(**c, mult_noise=draw(st.booleans()))
    if family == "SoftBoundsReference":
        return SoftBoundsReferenceConfig(**c, mult_noise=draw(st.booleans()),
                                         slope_up_dtod=draw(st.sampled_from([0.0, 0.2])),
                                         slope_down_dtod=draw(st.sampled_from([0.0, 0.2])))
    if family in ("PowStep", "PowStepReference"):
        cls = PowStepConfig if family == "PowStep" else PowStepReferenceConfig
        return cls(**c, pow_gamma=draw(st.floats(0.2, 3.0)), pow_gamma_dtod=draw(st.floats(0.0, 0.3)),
                   pow_up_down=draw(st.floats(-0.5, 0.5)), pow_up_down_dtod=draw(st.floats(0.0, 0.2)))
    if family == "ExpStep":
        complex_noise = draw(st.booleans())
        return ExpStepConfig(**c, A_up=draw(st.floats(-3.0, 0.5)), A_down=draw(st.floats(-3.0, 0.5)),
                             gamma_up=draw(st.floats(0.5, 8.0)), gamma_down=draw(st.floats(0.5, 8.0)),
                             a=draw(st.floats(-1.0, 1.0)), b=draw(st.floats(-1.0, 1.0)),
                             dw_min_std_add=0.01 if complex_noise else 0.0,
                             dw_min_std_slope=0.05 if complex_noise else 0.0)
    if family == "PiecewiseStep":
        nodes = draw(st.integers(1, 6))
        values = st.lists(st.floats(0.0, 2.0), min_size=nodes, max_size=nodes)
        return PiecewiseStepConfig(**c, piecewise_up=draw(values), piecewise_down=draw(values))
    return AsymmetricLinearConfig(**c, tau=draw(st.floats(0.2, 2.0)),
                                  symmetric_point=draw(st.floats(-0.3, 0.3)))


@st.composite
def pulse_programs(draw: st.DrawFn) -> list[tuple[str, object]]:
    """A short random sequence of pulse_all / pulse_signs / pulse_counts commands."""
    program = []
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["all", "signs", "counts"]))
        seed = draw(st.integers(0, 2**16))
        if kind == "all":
            program.append((kind, draw(st.sampled_from([-1, 1]))))
        elif kind == "signs":
            program.append((kind, np.random.default_rng(seed).integers(-1, 2, SHAPE)))
        else:
            program.append((kind, np.random.default_rng(seed).integers(-60, 61, SHAPE)))
    return program


def run(array: DeviceArray, program: list[tuple[str, object]], check=None) -> None:
    for kind, argument in program:
        if kind == "all":
            array.pulse_all(argument)  # type: ignore[arg-type]
        elif kind == "signs":
            array.pulse_signs(argument)  # type: ignore[arg-type]
        else:
            array.pulse_counts(argument)  # type: ignore[arg-type]
        if check is not None:
            check(array)


def _within_bounds(array: DeviceArray) -> None:
    assert np.isfinite(array.g).all()
    assert np.all(array.g >= array.parameters["b_min"])
    assert np.all(array.g <= array.parameters["b_max"])


@PROPERTY_SETTINGS
@given(config=device_configs(), program=pulse_programs(), seed=st.integers(0, 1000))
def test_g_never_leaves_bounds(config, program, seed) -> None:
    array = DeviceArray(config, SHAPE, seed=seed)
    _within_bounds(array)
    run(array, program, check=_within_bounds)
    assert np.isfinite(array.visible()).all()


@PROPERTY_SETTINGS
@given(config=device_configs(), program=pulse_programs(), seed=st.integers(0, 1000))
def test_stuck_cells_never_move(config, program, seed) -> None:
    stuck_config = type(config).model_validate({**config.model_dump(), "corrupt_devices_prob": 1.0,
                                                "write_noise_std": 0.0})
    array = DeviceArray(stuck_config, SHAPE, seed=seed)
    prm = array.cell_parameters()
    assert array.stuck.all()
    np.testing.assert_array_equal(prm["s_up"], 0.0)
    np.testing.assert_array_equal(prm["s_down"], 0.0)
    np.testing.assert_array_equal(prm["b_min"], prm["b_max"])
    if stuck_config.enforce_consistency:  # bounds contain 0, so [−range, range] meets them
        assert np.all(np.abs(prm["b_min"]) <= stuck_config.corrupt_devices_range)
    g0 = array.g.copy()
    visible0 = array.visible().copy()
    run(array, program)
    np.testing.assert_array_equal(array.g, g0)
    np.testing.assert_array_equal(array.visible(), visible0)


@PROPERTY_SETTINGS
@given(config=device_configs(noise=False), seed=st.integers(0, 1000),
       count_seed=st.integers(0, 2**16), start=st.floats(0.0, 1.0))
def test_counts_equal_single_pulses_without_noise(config, seed, count_seed, start) -> None:
    """n pulses in one pulse_counts call (closed form where affine) == n single pulses."""
    batched = DeviceArray(config, SHAPE, seed=seed)
    single = DeviceArray(config, SHAPE, seed=seed)
    prm = batched.cell_parameters()
    g0 = prm["b_min"] + start * (prm["b_max"] - prm["b_min"])
    batched.set_conductance(g0)
    single.set_conductance(g0)
    counts = np.random.default_rng(count_seed).integers(-200, 201, SHAPE)
    batched.pulse_counts(counts)
    for k in range(int(np.abs(counts).max())):
        all_up = np.all(counts > k)
        if all_up:
            single.pulse_all(1)
        else:
            single.pulse_signs(np.where(np.abs(counts) > k, np.sign(counts), 0))
    span = prm["b_max"] - prm["b_min"]
    n = np.abs(counts)
    eps = np.finfo(batched.dtype).eps
    tolerance = 4 * eps * (n + 1) * (np.abs(prm["b_max"]) + np.abs(prm["b_min"])) + 1e-6 * span * (n > 0)
    diff = np.abs(batched.g.astype(np.float64) - single.g.astype(np.float64))
    assert np.all(diff <= tolerance), (diff / np.maximum(tolerance, 1e-30)).max()


@PROPERTY_SETTINGS
@given(config=device_configs(), program=pulse_programs(), seed=st.integers(0, 1000))
def test_same_seed_same_array(config, program, seed) -> None:
    first = DeviceArray(config, SHAPE, seed=seed)
    second = DeviceArray(config, SHAPE, seed=seed)
    for name, value in first.cell_parameters().items():
        np.testing.assert_array_equal(value, second.cell_parameters()[name], err_msg=name)
    for name, value in first.parameters.items():
        np.testing.assert_array_equal(value, second.parameters[name], err_msg=name)
    np.testing.assert_array_equal(first.symmetric_point(), second.symmetric_point())
    np.testing.assert_array_equal(first.reference, second.reference)
    np.testing.assert_array_equal(first.g, second.g)
    # With c2c noise on, the (sequential) pulse path is deterministic given the seed.
    run(first, program)
    run(second, program)
    np.testing.assert_array_equal(first.g, second.g)
    np.testing.assert_array_equal(first.visible(), second.visible())


@PROPERTY_SETTINGS
@given(config=device_configs(), seed=st.integers(0, 1000))
def test_symmetric_point_inside_bounds(config, seed) -> None:
    array = DeviceArray(config, SHAPE, seed=seed)
    prm = array.cell_parameters()
    sp = array.symmetric_point()
    assert np.isfinite(sp).all()
    assert np.all(sp >= prm["b_min"]) and np.all(sp <= prm["b_max"])
    assert np.isfinite(array.visible_symmetric_point()).all()


def test_different_seeds_differ() -> None:
    config = SoftBoundsConfig()
    first, second = DeviceArray(config, SHAPE, seed=1), DeviceArray(config, SHAPE, seed=2)
    assert not np.array_equal(first.cell_parameters()["s_up"], second.cell_parameters()["s_up"])
