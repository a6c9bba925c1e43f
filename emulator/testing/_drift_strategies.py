"""Hypothesis strategies for drift (devices/drift.py), temperature schedules and recalibration
policies: what a test of a controller under moving symmetric points generates."""

from __future__ import annotations

import dataclasses
from typing import Any, Sequence

from hypothesis import strategies as st

from devices import DriftConfig
from emulator.hardware import TemperatureSchedule, TileSpec
from emulator.testing._strategies import _floats, _zero_or


@st.composite
def _drift(draw: st.DrawFn, sp: bool, reference: bool, temperature: bool, max_rate_per_s: float,
           max_walk_per_sqrt_s: float, max_per_kelvin: float) -> DriftConfig:
    rate, walk = _floats(-max_rate_per_s, max_rate_per_s), _floats(0.0, max_walk_per_sqrt_s)
    fields: dict[str, Any] = {}
    if sp:
        fields.update(sp_trend_per_s=draw(_zero_or(rate)), sp_trend_dtod_per_s=draw(_zero_or(_floats(0, max_rate_per_s))),
                      sp_walk_per_sqrt_s=draw(_zero_or(walk)), sp_walk_dtod=draw(_zero_or(_floats(0.0, 0.5))))
    if reference:
        fields.update(reference_trend_per_s=draw(_zero_or(rate)),
                      reference_trend_dtod_per_s=draw(_zero_or(_floats(0, max_rate_per_s))),
                      reference_walk_per_sqrt_s=draw(_zero_or(walk)),
                      reference_walk_dtod=draw(_zero_or(_floats(0.0, 0.5))))
    if temperature:
        sensitivity = _floats(-max_per_kelvin, max_per_kelvin)
        fields.update(step_up_per_kelvin=draw(_zero_or(sensitivity)), step_down_per_kelvin=draw(_zero_or(sensitivity)),
                      step_per_kelvin_dtod=draw(_zero_or(_floats(0.0, 0.3))))
    return DriftConfig(**fields)


def drift_configs(*, sp: bool = True, reference: bool = True, temperature: bool = True,
                  max_rate_per_s: float = 1e3, max_walk_per_sqrt_s: float = 30.0,
                  max_per_kelvin: float = 0.03) -> st.SearchStrategy[DriftConfig]:
    """Drift of an array: symmetric-point and reference trends (± `max_rate_per_s`, with d2d
    spread) and random walks, step sensitivities to the temperature; each part shrinks to off.
    The defaults move a cell by up to ~1 over a millisecond of simulated time (tiny runs)."""
    return _drift(sp, reference, temperature, max_rate_per_s, max_walk_per_sqrt_s, max_per_kelvin)


@st.composite
def _schedule(draw: st.DrawFn, max_steps: int, max_time_ns: float, max_kelvin: float) -> TemperatureSchedule:
    times = sorted(draw(st.sets(_floats(0.0, max_time_ns), max_size=max_steps)))
    return TemperatureSchedule(steps_ns_kelvin=[(time, draw(_floats(-max_kelvin, max_kelvin))) for time in times])


def temperature_schedules(*, max_steps: int = 3, max_time_ns: float = 1e5,
                          max_kelvin: float = 30.0) -> st.SearchStrategy[TemperatureSchedule]:
    """Staircases of up to `max_steps` temperature offsets (± `max_kelvin`) within `max_time_ns`."""
    return _schedule(max_steps, max_time_ns, max_kelvin)


def drifting(tiles: st.SearchStrategy[TileSpec], *, drift: st.SearchStrategy[DriftConfig] | None = None,
             temperature: bool = True) -> st.SearchStrategy[TileSpec]:
    """The tiles of `tiles` with drift on a subset of their arrays (and a temperature schedule)."""
    drift = drift if drift is not None else drift_configs()

    @st.composite
    def add(draw: st.DrawFn, spec: TileSpec) -> TileSpec:
        names = draw(st.sets(st.sampled_from(sorted(spec.arrays)), min_size=1))
        schedule = draw(st.one_of(st.none(), temperature_schedules())) if temperature else None
        return dataclasses.replace(spec, drift={name: draw(drift) for name in sorted(names)}, temperature=schedule)

    return tiles.flatmap(add)


#: The kinds of policy `recalibration_policies` draws from.
POLICY_KINDS: tuple[str, ...] = ("none", "time", "samples", "monitor", "time+monitor")


@st.composite
def _policy(draw: st.DrawFn, kinds: Sequence[str], max_samples: int, max_ns: float, max_steps: int) -> dict[str, Any]:
    params: dict[str, Any] = {"recalibration_steps": draw(st.integers(1, max_steps)),
                              "recalibration_method": draw(st.sampled_from(["stochastic", "cyclic"])),
                              "recalibration_reads": draw(st.integers(1, 3))}
    kind = draw(st.sampled_from(list(kinds)))
    if "time" in kind:
        params["recalibrate_every_ns"] = draw(_floats(1.0, max_ns))
    if kind == "samples":
        params["recalibrate_every_samples"] = draw(st.integers(1, max_samples))
    if "monitor" in kind:
        params.update(monitor_every_samples=draw(st.integers(1, max_samples)),
                      monitor_pulses=draw(st.integers(0, max_steps)), monitor_reads=draw(st.integers(1, 3)),
                      monitor_threshold=draw(_floats(1e-4, 0.5)), monitor_settle_steps=draw(st.integers(0, max_steps)))
    return params


def recalibration_policies(*, kinds: Sequence[str] = POLICY_KINDS, max_samples: int = 20, max_ns: float = 5e4,
                           max_steps: int = 30) -> st.SearchStrategy[dict[str, Any]]:
    """Recalibration settings of a training program's parameters (`RecalibrationParams` fields),
    of the given `kinds` (`POLICY_KINDS`): none, periodic in time or samples, monitored, or both;
    small budgets for tiny runs. A monitor needs the tile `monitor` with an array `P` (the defaults)."""
    return _policy(kinds, max_samples, max_ns, max_steps)


__all__ = ["POLICY_KINDS", "drift_configs", "drifting", "recalibration_policies", "temperature_schedules"]
