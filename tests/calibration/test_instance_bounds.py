"""The instance bounds (emulator/instance_bounds.py): valid on random monotone devices at every
checkpoint (Hypothesis, stochastic and cyclic ZS), and tight on the presets — within 10× (RMS) of
the error the emulation reaches — where the paper's worst-case bound certifies nothing."""

from __future__ import annotations

import math

import numpy as np
import pytest
from calibration_test_helpers import build, run_zero_shift, start_states
from hypothesis import given, settings
from hypothesis import strategies as st
from test_calibration_bounds import monotone_devices

from devices import PulsedDeviceConfig, get_preset
from emulator.instance_bounds import InstanceBound, cell_constants

SLACK_SE = 4.0


def _bound_and_run(device: PulsedDeviceConfig, method: str, seed: int, size: int, steps: int,
                   centre: float | None = None) -> tuple[InstanceBound, object, float]:
    hardware, controller = build(device, size, size, seed=seed)
    array = hardware.tile("t0").array("W")
    if centre is not None:
        array.set_conductance(start_states(array, seed, centre, 0.2))
    sp = array.symmetric_point().reshape(-1)
    bound = InstanceBound(cell_constants(array), array.g.astype(np.float64).reshape(-1) - sp, method)
    marks = sorted({int(n) + int(n) % 2 for n in np.geomspace(2, steps, 10)})
    run = run_zero_shift(hardware, controller, marks[-1], method, marks)
    return bound, run, float(np.mean(array.visible_symmetric_point()))


@settings(derandomize=True, deadline=None, max_examples=16)
@given(device=monotone_devices(), method=st.sampled_from(["stochastic", "cyclic"]), seed=st.integers(0, 2 ** 16),
       centre=st.floats(0.0, 1.0))
def test_the_instance_bound_holds_at_every_checkpoint(device: PulsedDeviceConfig, method: str, seed: int,
                                                      centre: float) -> None:
    steps = int(3.0 * (device.w_max - device.w_min) / device.dw_min)
    bound, run, _ = _bound_and_run(device, method, seed, 48, min(steps, 2400), centre)
    cells = 48 * 48
    for step, mse, se, mean in zip(run.steps, run.mse, run.mse_se, run.mean_error):
        square, first = bound.per_cell(step)
        assert mse <= float(np.mean(square)) + SLACK_SE * se, (step, mse, float(np.mean(square)))
        mean_bound = math.sqrt(float(np.mean(first)) ** 2 + float(np.mean(square)) / cells)
        assert abs(mean) <= mean_bound * 3.0, (step, mean, mean_bound)


AFFINE_PRESETS = ["ReRamSB", "EcRam", "EcRamMO", "Capacitor", "ReRamArrayOM"]


@pytest.mark.parametrize("name", AFFINE_PRESETS)
@pytest.mark.parametrize("method", ["stochastic", "cyclic"])
def test_the_instance_bound_is_within_ten_times_of_the_emulation_on_the_presets(name: str, method: str) -> None:
    """At the end of a calibration long enough to settle (or 8000 pulses), the instance bound's RMS
    is within 10× of the emulated RMS distance to the SP."""
    device = get_preset(name)
    steps = int(min(8000, 4.0 / device.dw_min))
    bound, run, _ = _bound_and_run(device, method, 0, 64, steps)
    measured = math.sqrt(run.mse[-1])
    certified = math.sqrt(bound.mean_square(run.steps[-1]))
    assert measured <= certified <= 10 * measured, (name, method, measured, certified)
