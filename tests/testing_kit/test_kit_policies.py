"""Every recalibration policy under generated drift keeps the kit's invariants, the phase ledger
above all (pulses, reads, energy and time of each phase add up, "time not training" is exact),
and books exactly the pulses its schedule implies (issue 18)."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulator.testing import (
    POLICY_KINDS,
    check_all,
    check_phase_ledger,
    drift_configs,
    recalibration_policies,
    run_scenario_program,
    temperature_schedules,
)

ROWS, INPUTS, SAMPLES, BATCH = 2, 3, 12, 2
MONITOR = (2, 2)
DEVICE = {"model": "SoftBounds", "states": 50, "w_max": 1.0, "w_min": -1.0}
PROGRAMS = {
    "train_residual": [{"reference": "digital"}, {"reference": "analog"},
                       {"reference": "digital", "transfer_mode": "buffered"}],
    "train_rider": [{}, {"q_init": "read"}],
    "train_erider": [{"qtilde": "digital"}, {"qtilde": "analog"}],
}
ARRAYS = {"train_residual": ("W", "P", "R"), "train_rider": ("W", "P"), "train_erider": ("W", "P", "Qt")}


@st.composite
def policy_documents(draw: st.DrawFn) -> dict[str, Any]:
    """A tiny least-squares run of one policy program, its fast array (and the spare cells) drifting."""
    program = draw(st.sampled_from(sorted(PROGRAMS)))
    drift = draw(drift_configs()).model_dump()
    arrays = {name: {"device": DEVICE} for name in ARRAYS[program]}
    arrays["P"] = {"device": DEVICE, "drift": drift}
    tiles = {"layer0": {"rows": ROWS, "cols": INPUTS, "arrays": arrays},
             "monitor": {"rows": MONITOR[0], "cols": MONITOR[1], "arrays": {"P": {"device": DEVICE, "drift": drift}}}}
    hardware: dict[str, Any] = {"tiles": tiles}
    if draw(st.booleans()):
        hardware["temperature"] = draw(temperature_schedules()).model_dump()
    params = {"workload": {"kind": "least_squares", "inputs": INPUTS, "rows": ROWS, "samples": SAMPLES},
              "epochs": 1, "batch_size": BATCH, "init_iterations": 1, "log_every": 2, **draw(recalibration_policies(kinds=POLICY_KINDS[1:], max_samples=SAMPLES // 2)),
              **draw(st.sampled_from(PROGRAMS[program]))}
    if "monitor_every_samples" in params:  # small thresholds: read noise and drift trip the monitor
        params["monitor_threshold"] = draw(st.sampled_from([1e-4, 1e-3, 0.01, 0.1]))
    if program == "train_residual":
        params["zs_steps"] = draw(st.integers(0, 20))
    return {"seed": draw(st.integers(0, 3)), "hardware": hardware, "program": {"name": program, "params": params}}


def _expected_recalibrations(params: dict[str, Any]) -> int | None:
    """Recalibrations a sample-periodic schedule gives on its own (None for the other policies)."""
    every = params.get("recalibrate_every_samples")
    if every is None or "recalibrate_every_ns" in params or "monitor_every_samples" in params:
        return None
    steps = math.ceil(SAMPLES / BATCH)
    return steps // math.ceil(every / BATCH)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(document=policy_documents())
def test_every_policy_keeps_the_invariants_and_books_its_pulses_by_phase(document: dict[str, Any]) -> None:
    result = run_scenario_program(document)
    check_all(result, deterministic=False)
    check_phase_ledger(result)
    params = document["program"]["params"]
    recalibrations = result.result.get("recalibrations", 0)
    expected = _expected_recalibrations(params)
    if expected is not None:
        assert recalibrations == expected
    pulses = result.summary["pulses_by_phase"]
    # Every recalibration pulses every cell of P once per ZS step (tile-wide steps).
    assert pulses.get("recalibration", 0) == recalibrations * params["recalibration_steps"] * ROWS * INPUTS
    if "monitor_every_samples" in params:
        checks = result.result["monitor_checks"]
        per_cell = params["monitor_settle_steps"] + checks * params["monitor_pulses"]
        assert pulses.get("monitor", 0) == per_cell * MONITOR[0] * MONITOR[1]
        assert result.result["monitor_triggers"] <= checks
    else:
        assert "monitor" not in pulses
