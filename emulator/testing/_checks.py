"""Invariant checks of a finished run, continued: energy against the cost model, the pulse budget,
the order in which shared resources served commands, determinism, the calibration bound, and
`check_all`. Each raises AssertionError naming what broke."""

from __future__ import annotations

import json
import math
from typing import Any, Iterable

import numpy as np

from emulator.hardware.operations import Operation
from emulator.session import public_result
from emulator.testing._invariants import (
    Check,
    _close,
    _fail,
    check_conductance_bounds,
    check_counters_add_up,
    check_time_monotone,
)
from emulator.testing._phases import check_phase_ledger
from emulator.testing._records import HarnessResult
from emulator.instance_bounds import InstanceBound, cell_constants
from emulator.theory import response_constants, zero_shift_bound


# ------------------------------------------------------------------------------- energy
def check_energy_non_negative(result: HarnessResult) -> None:
    """Every energy entry is finite and ≥ 0, and the totals by category and by phase agree."""
    problems = []
    for (category, phase), value in result.recorder.energy_pj.items():
        if not math.isfinite(value) or value < 0:
            problems.append(f"energy {category!r} in phase {phase!r} is {value!r} pJ")
    energy = result.recorder.summary()["energy_pj"]
    total = energy["total"]
    if not _close(total, sum(energy["by_category"].values())):
        problems.append(f"total energy {total} pJ != sum over categories {sum(energy['by_category'].values())} pJ")
    if not _close(total, sum(energy["by_phase"].values())):
        problems.append(f"total energy {total} pJ != sum over phases {sum(energy['by_phase'].values())} pJ")
    _fail("energy is negative or does not add up", problems)


def check_energy_matches_costs(result: HarnessResult) -> None:
    """Energy per category and phase is what the cost model's own formulas (`energy_terms`) give
    for the counted events (write pulses, MVM cells, ADC and DAC conversions; digital ops over the
    run), counted independently of the operations that booked it."""
    recorder = result.recorder
    costs = result.hardware.costs
    expected: dict[tuple[str, str], float] = {}

    def add(operation: Operation) -> None:
        for category, value in costs.energy_terms(operation):
            expected[(category, operation.phase)] = expected.get((category, operation.phase), 0.0) + value

    for (key, phase), counts in recorder.phase_pulses.items():
        add(Operation("write", key, 0, 0, phase, array=key, sample_pulses=(int(counts.sum()),)))
    for (key, phase), (mvms, conversions, dac) in recorder.reads.items():
        rows, cols = recorder.arrays[key].shape
        add(Operation("read", key, 0, 0, phase, array=key, mvms=int(mvms), conversions=int(conversions),
                      dac_inputs=int(dac), cells=rows * cols))
    problems = []
    for (category, phase), value in sorted(expected.items()):
        recorded = recorder.energy_pj.get((category, phase), 0.0)
        if not _close(recorded, value):
            problems.append(f"{category} energy in phase {phase!r} is {recorded!r} pJ, the counters and the cost "
                            f"model {costs.name!r} give {value!r} pJ")
    for (category, phase), value in recorder.energy_pj.items():
        if category in ("write_pulses", "mvm", "adc", "dac") and (category, phase) not in expected and value != 0.0:
            problems.append(f"{category} energy {value!r} pJ in phase {phase!r} without any counted event")
    digital = sum(value for (category, _), value in recorder.energy_pj.items() if category == "digital")
    digital_ops = sum(recorder.digital_ops.values())
    digital_expected = sum(value for _, value in costs.energy_terms(
        Operation("digital", "controller.digital", 0, 0, "any", elements=digital_ops)))
    if not _close(digital, digital_expected):
        problems.append(f"digital energy {digital!r} pJ, the {digital_ops} counted digital ops give {digital_expected!r} pJ")
    _fail("energy does not match the cost model", problems)


# ------------------------------------------------------------------------------- budget
def check_pulse_budget(result: HarnessResult, max_pulses_per_cell: int | None = None,
                       arrays: Iterable[str] | None = None) -> None:
    """No cell received more than `max_pulses_per_cell` pulses (up + down); default: the
    budget given to `run_program`. `arrays` limits the check to some "tile/array" keys."""
    budget = max_pulses_per_cell if max_pulses_per_cell is not None else result.spec.max_pulses_per_cell
    if budget is None:
        raise ValueError("no pulse budget: pass max_pulses_per_cell here or to run_program")
    keys = list(arrays) if arrays is not None else list(result.recorder.arrays)
    problems = []
    for key in keys:
        up, down = result.recorder.arrays[key].per_cell()
        total = up + down
        over = total > budget
        if over.any():
            i, j = np.unravel_index(int(np.argmax(total)), total.shape)
            problems.append(f"{key}: {int(over.sum())} cell(s) over budget, worst ({i}, {j}) got "
                            f"{int(total[i, j])} pulses > {budget}")
    _fail("pulse budget exceeded", problems)


# ------------------------------------------------------------------------------- order
def check_resource_order(result: HarnessResult) -> None:
    """Shared resources (tile locks, the digital unit) serve requests first come, first
    served, one at a time; on each tile, commands get the tile in the order they were issued."""
    problems: list[str] = []
    for name, uses in result.resources.items():
        ordered = sorted(uses, key=lambda use: use.request_seq)
        granted = [use for use in ordered if use.grant_seq is not None]
        grant_order = sorted(granted, key=lambda use: use.grant_seq)  # type: ignore[arg-type, return-value]
        if [u.request_seq for u in granted] != [u.request_seq for u in grant_order]:
            first = next(a for a, b in zip(granted, grant_order) if a is not b)
            problems.append(f"{name}: request of command #{first.record} (asked at {first.request_ps} ps) was "
                            "overtaken by a later request (not first come, first served)")
        waiting = [use for use in ordered if use.grant_seq is None]
        if waiting and granted and waiting[0].request_seq < granted[-1].request_seq:
            problems.append(f"{name}: command #{waiting[0].record} still waits while a later request was served")
        for before, after in zip(grant_order, grant_order[1:]):
            assert after.grant_seq is not None
            if before.release_seq is None or after.grant_seq < before.release_seq:
                problems.append(f"{name}: command #{after.record} got it at {after.grant_ps} ps while command "
                                f"#{before.record} (since {before.grant_ps} ps) still held it")
        if result.finished:
            for use in granted:
                if use.release_seq is None:
                    problems.append(f"{name}: command #{use.record} never released it")
        by_index = {record.index: record for record in result.log}
        entries = [(by_index[use.record].entry_seq or 0, use.record) for use in ordered if use.record in by_index]
        if entries != sorted(entries):
            order = [record for _, record in entries]
            problems.append(f"{name}: requested by commands in the order {order}, not the order they were issued")
    _fail("a resource was used out of order", problems)


# ------------------------------------------------------------------------------- determinism
def _first_difference(a: Any, b: Any, path: str = "") -> str | None:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b), key=str):
            if key not in a or key not in b:
                return f"{path}.{key}: present in only one run"
            found = _first_difference(a[key], b[key], f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        if len(a) != len(b):
            return f"{path}: length {len(a)} != {len(b)}"
        for index, (x, y) in enumerate(zip(a, b)):
            found = _first_difference(x, y, f"{path}[{index}]")
            if found:
                return found
        return None
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        x, y = np.asarray(a), np.asarray(b)
        if x.shape != y.shape or x.dtype != y.dtype:
            return f"{path}: arrays of shape/dtype {x.shape}/{x.dtype} vs {y.shape}/{y.dtype}"
        same = np.array_equal(x, y, equal_nan=x.dtype.kind in "fc")
        return None if same else f"{path}: arrays differ"
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return None
    try:
        equal = bool(a == b)
    except Exception:  # noqa: BLE001  (objects without a usable ==)
        equal = a is b
    return None if equal else f"{path}: {a!r} != {b!r}"


def check_deterministic(result: HarnessResult) -> None:
    """Rerunning with the same seed gives the same summary, final state, result and log (the
    result's public part: keys starting with "_" hold live objects, such as a trainer)."""
    again = result.rerun()
    problems = []
    first, second = result.summary, again.summary
    if json.dumps(first, sort_keys=True, default=str) != json.dumps(second, sort_keys=True, default=str):
        problems.append("recorder summary differs: " + str(_first_difference(first, second, "summary")))
    difference = _first_difference(result.final_state(), again.final_state(), "state")
    if difference:
        problems.append("final device state differs: " + difference)
    difference = _first_difference(public_result(result.result), public_result(again.result), "result")
    if difference:
        problems.append("program result differs: " + difference)
    timeline = [(r.kind, r.issue_ps, r.start_ps, r.end_ps) for r in result.log]
    timeline_again = [(r.kind, r.issue_ps, r.start_ps, r.end_ps) for r in again.log]
    if timeline != timeline_again:
        problems.append("command log differs: " + str(_first_difference(timeline, timeline_again, "log")))
    _fail(f"not deterministic under seed {result.spec.seed}", problems)


# ------------------------------------------------------------------------------- calibration
def check_calibration_bound(result: HarnessResult, tile: str, array: str, pulses: int | None = None,
                            method: str = "stochastic", slack: float = 1.0, bound: str = "instance",
                            false_alarm: float = 1e-6) -> None:
    """The zero-shifting last-iterate bound of SPEC §5 holds for an array after calibration (stuck
    cells and dead lines excluded); `pulses` is N (default: the most pulses any cell received),
    `method` "stochastic" or "cyclic". Raises ValueError for devices without a monotone response.

    bound="instance" (tight): each cell's own bound B_i ≥ E (g_N − w⋄)² (emulator/instance_bounds.py);
    fails when Σ_i (g_N,i − w⋄_i)²/B_i exceeds slack × the χ²(cells) quantile at `false_alarm` (each
    term at most a χ²₁ in expectation ≤ 1 when the errors are Gaussian: sums of many small pulses).
    It catches a program whose pulses go the wrong way. bound="worst-case": the paper's bound with
    the worst cell's constants, mean over cells ≤ slack × [(1 − 2Δw·μ_q)^N·mean (g_0 − w⋄)² + floor];
    loose by orders of magnitude on real presets, it only catches gross failures.
    """
    device = result.device(tile, array)
    key = f"{tile}/{array}"
    if pulses is None:
        up, down = result.recorder.arrays[key].per_cell()
        pulses = int((up + down).max(initial=0))
    prm = device.cell_parameters()
    active = np.asarray(prm["b_max"]) > np.asarray(prm["b_min"])
    dead = getattr(result.hardware.tile(tile), "dead", None)
    kept = active & ~dead if dead is not None else active
    if not kept.any():
        raise ValueError(f"{key}: every cell is stuck or on a dead line; nothing was calibrated")
    sp = device.symmetric_point()
    start = result.initial_state[key]["g"].astype(np.float64)
    if bound == "instance":
        _check_instance_bound(key, device, start, sp, active, kept, pulses, method, slack, false_alarm)
        return
    constants = response_constants(device)
    if constants.mu_q <= 0:
        raise ValueError(f"{key}: the response is not monotone (μ_q = {constants.mu_q:.3g}); "
                         "the SPEC §5 bound does not apply")
    worst = zero_shift_bound(constants, method)
    initial = float(np.mean((start - sp)[kept] ** 2))
    measured = float(np.mean((device.g.astype(np.float64) - sp)[kept] ** 2))
    predicted = worst.mean_square_error(pulses, initial)
    if not measured <= slack * predicted:
        raise AssertionError(
            f"calibration bound (worst case) violated on {key} ({method}, N = {pulses}): mean square distance to "
            f"the symmetric point {measured:.4g} > {slack:g} × bound {predicted:.4g} (initial {initial:.4g}, "
            f"contraction {worst.contraction_per_step:.6f}/pulse, floor {worst.error_floor:.4g}; dw_min "
            f"{constants.dw_min:.3g}, mu_q {constants.mu_q:.3g}, q_max {constants.q_max:.3g})")


def _check_instance_bound(key: str, device: Any, start: np.ndarray, sp: np.ndarray, active: np.ndarray,
                          kept: np.ndarray, pulses: int, method: str, slack: float, false_alarm: float) -> None:
    from scipy.stats import chi2  # the kit's test extra

    constants = cell_constants(device)
    if not np.all(constants.mu > 0):
        raise ValueError(f"{key}: the response is not monotone in every cell (min G' = {float(constants.mu.min()):.3g}); "
                         "the SPEC §5 bound does not apply")
    flat_active = active.reshape(-1)
    square, _ = InstanceBound(constants, (start - sp).reshape(-1)[flat_active], method).per_cell(pulses)
    within = kept.reshape(-1)[flat_active]
    error = (device.g.astype(np.float64) - sp).reshape(-1)[flat_active][within]
    # The state's float rounding: a few ulps of the cell's range per cell.
    rounding = (64 * float(np.finfo(device.dtype).eps) * constants.span[within]) ** 2
    ratio = error ** 2 / (square[within] + rounding)
    limit = slack * float(chi2.isf(false_alarm, ratio.size))
    if not float(ratio.sum()) <= limit:
        worst = int(np.argmax(ratio))
        raise AssertionError(
            f"calibration bound (instance) violated on {key} ({method}, N = {pulses}): Σ (g − w⋄)²/B over "
            f"{ratio.size} cells is {float(ratio.sum()):.4g} > {limit:.4g} (χ² quantile at {false_alarm:g}); mean "
            f"square distance {float(np.mean(error ** 2)):.4g} vs mean bound {float(np.mean(square[within])):.4g}; "
            f"worst cell {float(error[worst] ** 2):.4g} vs its bound {float(square[within][worst]):.4g}")


# ------------------------------------------------------------------------------- all
#: The checks that only look at a snapshot (usable after every step of a state machine).
SNAPSHOT_CHECKS: tuple[Check, ...] = (
    check_conductance_bounds, check_counters_add_up, check_time_monotone, check_energy_non_negative,
    check_energy_matches_costs, check_resource_order, check_phase_ledger,
)


def check_all(result: HarnessResult, *, deterministic: bool = True, max_pulses_per_cell: int | None = None) -> None:
    """Every invariant: bounds, counters, time, energy, resource order, the phase ledger, the pulse budget (if
    one is given here or to run_program) and, unless `deterministic=False`, a rerun."""
    checks: list[Check] = list(SNAPSHOT_CHECKS)
    budget = max_pulses_per_cell if max_pulses_per_cell is not None else result.spec.max_pulses_per_cell
    if budget is not None:
        checks.append(lambda r: check_pulse_budget(r, budget))
    if deterministic:
        checks.append(check_deterministic)
    failures = []
    for check in checks:
        try:
            check(result)
        except AssertionError as error:
            failures.append(str(error))
    if failures:
        raise AssertionError("\n".join(failures))


__all__ = [
    "SNAPSHOT_CHECKS", "check_all", "check_calibration_bound", "check_conductance_bounds", "check_counters_add_up",
    "check_deterministic", "check_energy_matches_costs", "check_energy_non_negative", "check_phase_ledger",
    "check_pulse_budget", "check_resource_order", "check_time_monotone",
]
