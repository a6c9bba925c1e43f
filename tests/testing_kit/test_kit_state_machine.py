"""The controller/tile protocol as a Hypothesis state machine: the kit's ready TestCase, and a
subclass that runs our calibration program amid random concurrent traffic."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import precondition, rule

from devices import get_preset, soft_bounds_with_states
from emulator.algorithms.calibration import zero_shift
from emulator.hardware import HardwareCosts, TileSpec
from emulator.testing import ControllerProtocolTest, ControllerStateMachine  # noqa: F401  (pytest runs the TestCase)


class CalibrationUnderTraffic(ControllerStateMachine):
    """Fixed hardware; besides random commands, a rule runs zero-shifting on t0/W."""

    tiles = {
        "t0": TileSpec(3, 4, {"W": soft_bounds_with_states(60), "P": get_preset("EcRam")}),
        "t1": TileSpec(2, 2, {"W": get_preset("ReRamSB"), "R": get_preset("PCM")}),
    }
    costs = HardwareCosts(name="small-adc-pool", columns_per_adc=16, pulse_width_ns=5.0)

    @precondition(lambda self: self.session is not None)
    @rule(steps=st.integers(1, 25), method=st.sampled_from(["stochastic", "cyclic"]), reads=st.integers(1, 2))
    def calibrate(self, steps: int, method: str, reads: int) -> None:
        assert self.session is not None
        counter = self.session.recorder.arrays["t0/W"]
        before = sum(counter.per_cell())
        estimate = self.session.run(zero_shift, tile="t0", array="W", steps=steps, method=method, reads=reads)
        after = sum(counter.per_cell())
        assert estimate.shape == (3, 4) and np.all(np.isfinite(estimate))
        assert np.all(after - before >= steps)  # concurrent commands may add pulses, never remove them


TestCalibrationUnderTraffic = CalibrationUnderTraffic.TestCase
TestCalibrationUnderTraffic.settings = settings(max_examples=15, stateful_step_count=12, deadline=None,
                                               derandomize=True, suppress_health_check=[HealthCheck.too_slow])
