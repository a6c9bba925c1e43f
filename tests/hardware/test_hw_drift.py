"""Drift in simulated time: applied lazily at the next access of a tile, from the elapsed time
(emulator/hardware/aging.py); idle time costs no events; drift leaves everything else as it was."""

from __future__ import annotations

import numpy as np

from devices import AsymmetricLinearConfig, DriftConfig, soft_bounds_with_states
from emulator.hardware import (Controller, Hardware, ReadCells, SignPattern, TemperatureSchedule, TileSpec, Wait)

SHAPE = (100, 100)


def _tiles(drift: dict[str, DriftConfig] | None = None, temperature: TemperatureSchedule | None = None
           ) -> dict[str, TileSpec]:
    device = AsymmetricLinearConfig(tau=3.0, w_max=20.0, w_min=-20.0, w_max_dtod=0.0, w_min_dtod=0.0)
    return {"t0": TileSpec(*SHAPE, {"W": device, "P": device}, drift=drift or {}, temperature=temperature)}


def _idle_then_read(ctl: Controller, waits_ns: list[float]) -> object:
    for wait in waits_ns:
        yield Wait(wait)
        yield ReadCells("t0", "P")


def test_drift_follows_the_clock_at_the_next_access_and_idle_time_costs_nothing() -> None:
    trend, spread = 2000.0, 500.0   # per second: 2 per ms
    drift = {"P": DriftConfig(sp_trend_per_s=trend, sp_trend_dtod_per_s=spread)}
    results = {}
    for name, waits in (("one wait", [300_000.0]), ("many", [10_000.0] * 30)):
        hardware = Hardware(_tiles(drift), seed=1)
        tile = hardware.tile("t0")
        before = tile.array("P").visible_symmetric_point().copy()
        Controller(hardware).run(_idle_then_read, waits_ns=waits)
        elapsed_s = tile.aging.aged_ps * 1e-12  # the start of the last access
        change = tile.array("P").visible_symmetric_point() - before
        n = change.size
        assert abs(change.mean() - trend * elapsed_s) < 5 * spread * elapsed_s / np.sqrt(n)
        assert abs(change.std() / (spread * elapsed_s) - 1) < 5 * np.sqrt(2 / n)
        results[name] = hardware.recorder.summary()["events"]
    quiet = Hardware(_tiles(), seed=1)
    Controller(quiet).run(_idle_then_read, waits_ns=[300_000.0])
    assert results["one wait"] == quiet.recorder.summary()["events"]


def test_drift_of_one_array_leaves_the_other_arrays_and_streams_as_they_were() -> None:
    drifting = Hardware(_tiles({"P": DriftConfig(sp_walk_per_sqrt_s=1.0, reference_trend_per_s=5.0)}), seed=3)
    still = Hardware(_tiles(), seed=3)
    for hardware in (drifting, still):
        Controller(hardware).run(_idle_then_read, waits_ns=[1000.0, 2000.0])
    for key in ("g", "reference"):
        np.testing.assert_array_equal(getattr(drifting.tile("t0").array("W"), key),
                                      getattr(still.tile("t0").array("W"), key))
    assert drifting.tile("t0").read_rng.bit_generator.state == still.tile("t0").read_rng.bit_generator.state
    assert drifting.tile("t0").array("P").dtype == np.float64


def _wait_then_pulse(ctl: Controller, wait_ns: float) -> object:
    yield Wait(wait_ns)
    yield SignPattern("t0", "P", 1)


def test_temperature_schedule_sets_the_steps_of_the_pulses_after_it() -> None:
    """+20 K from 1 µs: up steps × exp(0.02·20), down steps × exp(−0.01·20); before it, nominal."""
    device = soft_bounds_with_states(200, dw_min_std=0.0)
    schedule = TemperatureSchedule(steps_ns_kelvin=[(1000.0, 20.0)])
    drift = {"P": DriftConfig(step_up_per_kelvin=0.02, step_down_per_kelvin=-0.01)}
    hardware = Hardware({"t0": TileSpec(4, 4, {"P": device}, drift=drift, temperature=schedule)}, seed=5)
    array = hardware.tile("t0").array("P")
    zero = np.zeros((4, 4))
    up0, down0 = array.delta_up(zero), array.delta_down(zero)
    Controller(hardware).run(_wait_then_pulse, wait_ns=500.0)
    np.testing.assert_array_equal(array.delta_up(zero), up0)       # 500 ns: still nominal
    before = array.g.astype(np.float64).copy()
    expected = before + array.delta_up(before) * np.exp(0.4)
    Controller(hardware).run(_wait_then_pulse, wait_ns=1000.0)
    np.testing.assert_allclose(array.g, expected, rtol=1e-6)
    np.testing.assert_allclose(array.delta_up(zero), up0 * np.exp(0.4), rtol=1e-12)
    np.testing.assert_allclose(array.delta_down(zero), down0 * np.exp(-0.2), rtol=1e-12)
