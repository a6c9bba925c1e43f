"""Sanity facts of SPEC §5 on the zero_shift program, and the theory constants against hand values.

Symmetric SoftBounds (τ = 1, bounds ±1): the mean contracts by (1 − Δw_min) per step; for
stochastic ZS the exact per-step rate of E[g − SP] is c = ½(s⁺/b⁺ + s⁻/|b⁻|) for any SoftBounds
cell (E[Δg] = ½(Δ⁺ − Δ⁻) is affine in g); the stochastic stationary spread per cell is
sqrt(Δw_min/2) (exactly sqrt(Δw(1+σ²)/(2 − Δw(1+σ²))) with multiplicative c2c noise σ).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from calibration_test_helpers import build, pow_step, run_zero_shift, soft_bounds, stationary_variance

from emulator.theory import (
    ResponseConstants,
    cyclic_last_iterate,
    response_constants,
    stochastic_last_iterate,
)


def _cyclic_reference(g0: float, steps: int, s_up: float, s_down: float, b_up: float, b_down: float) -> list[float]:
    """Noise-free cyclic ZS on one SoftBounds cell in float64: up on odd steps, down on even."""
    g, out = g0, []
    for step in range(1, steps + 1):
        if step % 2:
            g = min(b_up, g + s_up * (1.0 - g / b_up))
        else:
            g = max(b_down, g - s_down * (1.0 - g / b_down))
        out.append(g)
    return out


@pytest.mark.parametrize("states", [200, 500])
def test_cyclic_noise_free_symmetric_soft_bounds_contracts_by_one_minus_dw_per_step(states: int) -> None:
    device = soft_bounds(states, 0.0, noise=0.0)
    dw = device.dw_min
    hardware, controller = build(device, 8, 8)
    array = hardware.tile("t0").array("W")
    e0 = 0.6
    array.set_conductance(e0)  # SP = 0 for every cell
    steps = 3 * states // 2
    marks = [2, 10, 50, 100, steps // 3, steps // 2, steps - 1, steps]
    run = run_zero_shift(hardware, controller, steps, "cyclic", marks)
    reference = _cyclic_reference(e0, steps, dw, dw, 1.0, -1.0)
    for step, mean in zip(run.steps, run.mean_error):
        # Every cell is the same noise-free cell: the tile follows the float64 recurrence (float32 state).
        assert mean == pytest.approx(reference[step - 1], abs=2e-5)
        # (1 − Δw)^N e0, up to the ±Δw/2 offset of the up/down 2-cycle around the SP.
        assert abs(mean - (1.0 - dw) ** step * e0) <= dw
    # Over a full cycle the distance to the 2-cycle contracts by exactly (1 − Δw)².
    pairs = dict(zip(run.steps, run.mean_error))
    fixed = -dw / (2.0 - dw)  # fixed point after a down pulse: g* = (1 − Δw)²g* − Δw², solved
    for early, late in ((2, 10), (10, 50), (50, 100)):
        ratio = (pairs[late] - fixed) / (pairs[early] - fixed)
        assert ratio == pytest.approx((1.0 - dw) ** (late - early), rel=1e-3)


@pytest.mark.parametrize(
    ("up_down", "w_max", "w_min"),
    [(0.0, 1.0, -1.0), (0.2, 1.0, -1.0), (-0.15, 1.2, -0.8)],
    ids=["symmetric", "up_down=0.2", "skewed-bounds"],
)
def test_stochastic_mean_contracts_at_the_exact_rate(up_down: float, w_max: float, w_min: float) -> None:
    device = soft_bounds(500, up_down, noise=0.3, w_max=w_max, w_min=w_min)
    dw = device.dw_min
    s_up = dw * (1.0 + min(up_down, 0.0))
    s_down = dw * (1.0 - max(up_down, 0.0))
    rate = 0.5 * (s_up / w_max + s_down / abs(w_min))
    if up_down == 0.0 and w_max == 1.0:
        assert rate == pytest.approx(dw)  # the SPEC's (1 − Δw_min) per step
    sp = (s_up - s_down) / (s_up / w_max + s_down / abs(w_min))
    # 128² cells: the fitted rate's sampling spread is then ≈1 %, a third of the tolerance below.
    hardware, controller = build(device, 128, 128, seed=3)
    array = hardware.tile("t0").array("W")
    np.testing.assert_allclose(array.symmetric_point(), sp, atol=1e-12)
    start = sp + 0.5 * (w_max - sp)
    array.set_conductance(start)
    e0 = float(np.mean(array.g.astype(np.float64) - sp))
    marks = [25, 100, 250, 500, 1000, 1500]
    run = run_zero_shift(hardware, controller, 1500, "stochastic", marks)
    for step, mean, std in zip(run.steps, run.mean_error, run.std):
        expected = (1.0 - rate) ** step * e0
        standard_error = std / math.sqrt(array.size)
        assert abs(mean - expected) <= 4.0 * standard_error + 1e-6, (
            f"step {step}: mean error {mean:.5g}, (1 − c)^N e0 = {expected:.5g} "
            f"(c = {rate:.4g}, SE {standard_error:.2g})")
    # A fitted rate recovers c to a few percent (and tells it apart from Δw_min when they differ).
    # (Fitted where the mean error is still far above its sampling noise: N ≤ 1000.)
    keep = [i for i, step in enumerate(run.steps) if step <= 1000]
    steps = np.array([run.steps[i] for i in keep], dtype=float)
    fitted = -np.polyfit(steps, np.log(np.abs([run.mean_error[i] for i in keep])), 1)[0]
    assert -math.log(1.0 - rate) == pytest.approx(fitted, rel=0.03)


@pytest.mark.parametrize(("states", "noise", "up_down"),
                         [(200, 0.0, 0.0), (500, 0.0, 0.0), (500, 0.3, 0.0), (2000, 0.3, 0.0), (500, 0.3, 0.2)])
def test_stochastic_stationary_spread_is_sqrt_dw_over_two(states: int, noise: float, up_down: float) -> None:
    device = soft_bounds(states, up_down, noise=noise)
    dw = device.dw_min
    hardware, controller = build(device, 64, 64, seed=states)
    array = hardware.tile("t0").array("W")
    array.set_conductance(array.symmetric_point())  # the spread then builds up to its stationary value
    steps = int(4 / dw)
    run = run_zero_shift(hardware, controller, steps, "stochastic", list(range(steps // 2, steps + 1, steps // 20)))
    spread = float(np.sqrt(np.mean(np.square(run.std))))
    s_up, s_down = dw * (1 + min(up_down, 0.0)), dw * (1 - max(up_down, 0.0))
    exact = math.sqrt(stationary_variance(s_up, s_down, 1.0, -1.0, noise))
    if up_down == 0.0:
        noisy = dw * (1.0 + noise ** 2)
        assert exact == pytest.approx(math.sqrt(noisy / (2.0 - noisy)), rel=1e-12)
    assert spread == pytest.approx(exact, rel=0.03)
    if noise == 0.0 and up_down == 0.0:
        assert spread == pytest.approx(math.sqrt(dw / 2.0), rel=0.05)  # SPEC §5's sqrt(Δw_min/2)


def test_soft_bounds_constants_match_hand_values() -> None:
    """SoftBounds q₊ = (s⁺/Δw)(1 − g/b⁺), q₋ = (s⁻/Δw)(1 − g/b⁻): μ = min(s⁺/b⁺, s⁻/|b⁻|)/Δw,
    L_q = ½(s⁺/b⁺ + s⁻/|b⁻|)/Δw, q_max = max(s⁺(1 − b⁻/b⁺), s⁻(1 − b⁺/b⁻))/Δw."""
    for up_down, w_max, w_min in [(0.0, 1.0, -1.0), (0.2, 1.0, -1.0), (-0.1, 0.7, -1.3)]:
        device = soft_bounds(400, up_down, 0.3, w_max, w_min)
        hardware, _ = build(device, 4, 4)
        constants = response_constants(hardware.tile("t0").array("W"))
        dw = device.dw_min
        s_up, s_down = dw * (1 + min(up_down, 0)), dw * (1 - max(up_down, 0))
        assert constants.dw_min == dw
        assert constants.mu_q == pytest.approx(min(s_up / w_max, s_down / -w_min) / dw, rel=1e-6)
        assert constants.l_q == pytest.approx(0.5 * (s_up / w_max + s_down / -w_min) / dw, rel=1e-6)
        assert constants.q_max == pytest.approx(max(s_up * (1 - w_min / w_max), s_down * (1 - w_max / w_min)) / dw,
                                                rel=1e-6)
        assert constants.cells == 16


def test_pow_step_constants_match_hand_values() -> None:
    """PowStep γ < 1: |q₊'| = (s⁺/Δw)(γ/R)·base^{γ−1} is smallest at base = 1, so μ = γ·min(s±)/(Δw·R)
    (to grid accuracy); q_max = max(s±)/Δw. With γ > 1 the slope vanishes at a bound: the exact
    infimum is 0, the 257-point grid gives the one-sided secant over the last grid cell, i.e. a small
    μ (far below the γ < 1 value) and a very large, still finite, floor."""
    device = pow_step(400, 0.7, 0.0, 0.2, 0.3)
    hardware, _ = build(device, 4, 4)
    constants = response_constants(hardware.tile("t0").array("W"))
    span = 2.0
    assert constants.mu_q == pytest.approx(0.7 * 0.8 / span, rel=0.01)
    assert constants.q_max == pytest.approx(1.0, rel=1e-9)
    steep = pow_step(400, 1.6, 0.0, 0.0, 0.3)
    hardware, _ = build(steep, 4, 4)
    constants = response_constants(hardware.tile("t0").array("W"))
    secant = 1.6 / span * (1.0 / 256) ** 0.6  # |q'| averaged over the grid cell next to the bound
    assert 0.0 <= constants.mu_q <= 1.01 * secant
    assert stochastic_last_iterate(constants).error_floor > 50 * steep.dw_min


def test_bound_formulas_match_spec_section_5() -> None:
    """The bound objects are the SPEC §5 formulas: contraction 1 − 2Δwμ, floors Δw·q²/μ (stochastic)
    and Δw·q²(4 + L²/μ + 2μ)/μ (cyclic), δ_min = 2·floor, N = log(2‖W0 − W⋄‖²/δ)/(−log ρ)."""
    constants = ResponseConstants(dw_min=1e-3, mu_q=0.8, l_q=0.9, q_max=2.0, cells=10)
    stochastic = stochastic_last_iterate(constants)
    assert stochastic.contraction_per_step == pytest.approx(1 - 2e-3 * 0.8)
    assert stochastic.error_floor == pytest.approx(1e-3 * 4 / 0.8)
    assert stochastic.floor_delta_min == pytest.approx(2 * 1e-3 * 4 / 0.8)
    cyclic = cyclic_last_iterate(constants)
    assert cyclic.contraction_per_step == pytest.approx(1 - 2e-3 * 0.8)
    assert cyclic.error_floor == pytest.approx(1e-3 * 4 * (4 + 0.81 / 0.8 + 1.6) / 0.8)
    assert stochastic.mean_square_error(100, 0.5) == pytest.approx((1 - 1.6e-3) ** 100 * 0.5 + 5e-3)
    target, initial = 0.02, 0.5
    expected_steps = math.log(2 * initial / target) / -math.log(1 - 1.6e-3)
    assert stochastic.steps_for(target, initial) == pytest.approx(expected_steps)
    assert math.isinf(stochastic.steps_for(0.5 * stochastic.floor_delta_min, initial))
    mean_bound = stochastic.for_mean_over(100)
    assert mean_bound.error_floor == pytest.approx(stochastic.error_floor / 100)
    assert mean_bound.contraction_per_step == stochastic.contraction_per_step
