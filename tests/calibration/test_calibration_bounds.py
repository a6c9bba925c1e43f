"""Zero-shifting respects the convergence bounds of SPEC §5 (Hypothesis over random monotone devices).

For random SoftBounds / LinearStep (γ > 0) / PowStep (γ ≤ 1) devices, with c2c noise on and no or a
small device-to-device spread, and random start states, the measured mean-square error after N
steps of the zero_shift program (mean over 64×64 cells of (g − SP)², the true SP) stays below the
last-iterate bound computed by `emulator.theory` from the array's own step laws, up to a sampling
slack of a few standard errors; the stationary error floor is Θ(Δw_min) across a decade of
Δw_min; the average-iterate bound holds for stochastic ZS.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from calibration_test_helpers import (
    build,
    error_stats,
    linear_step,
    pow_step,
    run_zero_shift,
    small_spread,
    soft_bounds,
    start_states,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from devices import PulsedDeviceConfig
from emulator.algorithms.calibration import zero_shift
from emulator.theory import (
    average_iterate_bound,
    cyclic_last_iterate,
    potential_gap,
    response_constants,
    stochastic_last_iterate,
    zero_shift_bound,
)

#: Standard errors of the across-cell mean allowed above the bound (the bound is on an expectation).
SLACK_SE = 4.0
MAX_STEPS = 2500


@st.composite
def monotone_devices(draw: st.DrawFn, states: list[int] | None = None, noise: tuple[float, float] = (0.05, 0.5),
                     min_slope: float = 0.2) -> PulsedDeviceConfig:
    """A random monotone device (μ_q > 0) with c2c noise on and no or a small d2d spread."""
    family = draw(st.sampled_from(["SoftBounds", "LinearStep", "PowStep"]))
    count = draw(st.sampled_from(states or [100, 200, 400, 800]))
    sigma = draw(st.floats(*noise))
    spread_scale = draw(st.sampled_from([0.0, 0.0, 0.02, 0.05]))
    spread = small_spread(spread_scale) if spread_scale else None
    up_down = draw(st.floats(-0.3, 0.3))
    w_max = draw(st.floats(0.6, 1.4))
    w_min = -draw(st.floats(0.6, 1.4))
    if family == "SoftBounds":
        return soft_bounds(count, up_down, sigma, w_max, w_min, spread)
    if family == "LinearStep":
        return linear_step(count, draw(st.floats(max(min_slope, 0.2), 1.0)), draw(st.floats(max(min_slope, 0.2), 1.0)),
                           up_down, sigma, w_max, w_min, spread)
    # γ > 1 is monotone too (its slope only vanishes at a bound); the floor test keeps γ ≤ 1.3.
    gamma = draw(st.floats(max(min_slope + 0.3, 0.5), 2.0 if min_slope < 0.4 else 1.3))
    return pow_step(count, gamma, draw(st.floats(-0.2, 0.2)), up_down, sigma, w_max, w_min, spread)


def _checkpoints(steps: int, even: bool) -> list[int]:
    points = {int(p) for p in np.rint(np.geomspace(1, steps, 16))} | {steps}
    if even:
        points = {p + (p % 2) for p in points}
    return sorted(p for p in points if 0 < p <= steps)


def _check_last_iterate(device: PulsedDeviceConfig, method: str, seed: int, centre: float, jitter: float) -> None:
    hardware, controller = build(device, 64, 64, seed=seed)
    array = hardware.tile("t0").array("W")
    assert np.all(array.sp_interior), "a monotone device must have an interior SP in every cell"
    array.set_conductance(start_states(array, seed, centre, jitter))
    constants = response_constants(array)
    assert constants.mu_q > 0 and constants.q_max > 0
    bound = stochastic_last_iterate(constants) if method == "stochastic" else cyclic_last_iterate(constants)
    assert math.isfinite(bound.error_floor) and 0 < bound.contraction_per_step < 1
    steps = min(MAX_STEPS, int(math.ceil(3.0 / (constants.mu_q * constants.dw_min))))
    # The cyclic bound is a statement about complete up/down cycles (2N pulses).
    run = run_zero_shift(hardware, controller, steps, method, _checkpoints(steps, even=method == "cyclic"))
    assert run.steps, "the checkpoints never fired"
    for step, mse, se in zip(run.steps, run.mse, run.mse_se):
        predicted = bound.mean_square_error(step, run.initial_mse)
        assert mse <= predicted + SLACK_SE * se, (
            f"{method} ZS on {type(device).__name__}: mean-square error {mse:.4g} after {step} steps exceeds "
            f"the last-iterate bound {predicted:.4g} (+{SLACK_SE}·SE {se:.2g}); constants {constants}")


@settings(derandomize=True, deadline=None, max_examples=14)
@given(device=monotone_devices(), seed=st.integers(0, 2**16), centre=st.floats(0.0, 1.0), jitter=st.floats(0.0, 0.5))
def test_stochastic_zs_respects_the_last_iterate_bound(device: PulsedDeviceConfig, seed: int, centre: float,
                                                       jitter: float) -> None:
    _check_last_iterate(device, "stochastic", seed, centre, jitter)


@settings(derandomize=True, deadline=None, max_examples=14)
@given(device=monotone_devices(), seed=st.integers(0, 2**16), centre=st.floats(0.0, 1.0), jitter=st.floats(0.0, 0.5))
def test_cyclic_zs_respects_the_last_iterate_bound(device: PulsedDeviceConfig, seed: int, centre: float,
                                                   jitter: float) -> None:
    _check_last_iterate(device, "cyclic", seed, centre, jitter)


def _stationary_floor(device: PulsedDeviceConfig, method: str, seed: int) -> tuple[float, float]:
    """Stationary mean-square error per cell, started at the SP and averaged over the last half of a
    run long enough (≈ 4 relaxation times of the local contraction) to forget the start."""
    hardware, controller = build(device, 32, 32, seed=seed)
    array = hardware.tile("t0").array("W")
    sp = array.symmetric_point()
    array.set_conductance(sp)
    eps = 1e-4 * (device.w_max - device.w_min)
    local_slope = float(np.mean(array.response(sp + eps)[1] - array.response(sp - eps)[1]) / (2 * eps))
    assert local_slope > 0
    steps = int(math.ceil(4.0 / (local_slope * device.dw_min)))
    steps += steps % 2
    marks = sorted({int(p) + int(p) % 2 for p in np.linspace(steps / 2, steps, 12)})
    run = run_zero_shift(hardware, controller, steps, method, marks)
    return float(np.mean(run.mse)), device.dw_min


@settings(derandomize=True, deadline=None, max_examples=6)
@given(seed=st.integers(0, 2**16), data=st.data(),
       method=st.sampled_from(["stochastic", "cyclic"]))
def test_error_floor_is_theta_of_dw_min_across_a_decade(seed: int, data: st.DataObject, method: str) -> None:
    """floor / Δw_min is the same (within a constant band) at 200 and 2000 states, and below the
    bound's floor term. Cyclic ZS is Θ(Δw_min) through its c2c noise (noise-free it is O(Δw_min²)),
    so noise is drawn from [0.2, 0.5] here."""
    coarse = data.draw(monotone_devices(states=[200], noise=(0.2, 0.5), min_slope=0.4), label="device")
    fine = type(coarse).model_validate({**coarse.model_dump(exclude={"states"}), "dw_min": coarse.dw_min / 10})
    ratios = []
    for device in (coarse, fine):
        floor, dw_min = _stationary_floor(device, method, seed)
        hardware, _ = build(device, 32, 32, seed=seed)
        bound = zero_shift_bound(response_constants(hardware.tile("t0").array("W")), method)
        assert floor <= bound.error_floor, (
            f"stationary floor {floor:.3g} above the bound's floor {bound.error_floor:.3g}")
        ratios.append(floor / dw_min)
    low, high = sorted(ratios)
    assert low > 0.01, f"floor/Δw_min = {ratios}: the floor vanished faster than Δw_min"
    assert high / low < 1.35, (
        f"floor/Δw_min not constant across a decade of Δw_min: {ratios} ({type(coarse).__name__})")


@pytest.mark.parametrize("method", ["stochastic", "cyclic"])
@pytest.mark.parametrize("family", ["SoftBounds", "LinearStep", "PowStep"])
def test_floor_ratio_is_flat_over_states_200_to_2000(family: str, method: str) -> None:
    """The same statement at fixed, named devices across states 200, 632, 2000 (Δw_min = 1e-2 … 1e-3)."""
    ratios = []
    for states in (200, 632, 2000):
        if family == "SoftBounds":
            device: PulsedDeviceConfig = soft_bounds(states, 0.1, 0.3)
        elif family == "LinearStep":
            device = linear_step(states, 0.6, 0.9, 0.1, 0.3)
        else:
            device = pow_step(states, 0.8, 0.1, 0.1, 0.3)
        floor, dw_min = _stationary_floor(device, method, seed=states)
        ratios.append(floor / dw_min)
    assert max(ratios) / min(ratios) < 1.25, f"{family} {method}: floor/Δw_min = {ratios}"


@settings(derandomize=True, deadline=None, max_examples=8)
@given(device=monotone_devices(states=[100, 200, 400]), seed=st.integers(0, 2**16), centre=st.floats(0.0, 1.0),
       steps=st.integers(20, 400))
def test_stochastic_zs_respects_the_average_iterate_bound(device: PulsedDeviceConfig, seed: int, centre: float,
                                                          steps: int) -> None:
    """(1/N)Σ_{n<N} E‖G(W_n)‖² ≤ (φ(W_0) − φ(W⋄))/(N·Δw) + (L_q/2)·Δw·q_max², measured every step."""
    hardware, controller = build(device, 32, 32, seed=seed)
    array = hardware.tile("t0").array("W")
    array.set_conductance(start_states(array, seed, centre, 0.2))
    constants = response_constants(array)
    gap = potential_gap(array, array.g.astype(np.float64))
    assert gap >= 0
    squares: list[tuple[float, float]] = []

    def record() -> None:
        values = array.response()[1] ** 2
        squares.append((float(values.mean()), float(values.std() / math.sqrt(values.size))))

    record()  # G(W_0)
    controller.probes.append(lambda label, step: record() if step < steps else None)

    def program(ctl):  # type: ignore[no-untyped-def]
        return (yield from zero_shift(ctl, "t0", "W", steps, "stochastic", checkpoints=list(range(1, steps + 1))))

    controller.run(program)
    assert len(squares) == steps
    average = float(np.mean([mean for mean, _ in squares]))
    slack = SLACK_SE * float(np.mean([se for _, se in squares]))
    predicted = average_iterate_bound(constants, steps, gap)
    assert average <= predicted + slack, f"average ‖G‖² {average:.4g} > bound {predicted:.4g} after {steps} steps"


def test_error_stats_helper_matches_a_hand_computation() -> None:
    """The truth helper the property tests rely on: mean of (g − SP)² over cells."""
    hardware, _ = build(soft_bounds(100, 0.2, 0.0), 4, 4)
    array = hardware.tile("t0").array("W")
    array.set_conductance(np.linspace(-0.5, 0.5, 16).reshape(4, 4))
    sp = 0.2 / 1.8  # SoftBounds on ±1, up_down 0.2: s⁺ = Δw, s⁻ = 0.8Δw ⇒ SP = (1 − 0.8)/(1 + 0.8)
    expected = np.mean((np.linspace(-0.5, 0.5, 16).astype(np.float32).astype(np.float64) - sp) ** 2)
    mse, _, mean = error_stats(array)
    assert mse == pytest.approx(expected, rel=1e-6)
    assert mean == pytest.approx(float(np.mean(np.linspace(-0.5, 0.5, 16)) - sp), abs=1e-6)
