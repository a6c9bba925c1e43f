"""Ready invariant checks on a `HarnessResult`: each raises AssertionError saying what broke.

Cheap checks (bounds, counters, time, energy, resource order) work on any snapshot, also in
the middle of a run; `check_deterministic` reruns the whole thing; `check_all` runs them all.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from emulator.testing._harness import conductance_problem
from emulator.testing._records import HarnessResult

Check = Callable[[HarnessResult], None]

_REL = 1e-9


def _fail(name: str, problems: Sequence[str]) -> None:
    if problems:
        shown = list(problems[:10])
        if len(problems) > 10:
            shown.append(f"... and {len(problems) - 10} more")
        raise AssertionError(f"{name}:\n  " + "\n  ".join(shown))


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= _REL * max(1.0, abs(a), abs(b))


# ------------------------------------------------------------------------------- state
def check_conductance_bounds(result: HarnessResult) -> None:
    """Every cell's conductance is finite and inside its own [b_min, b_max], now and (if
    tracked) right after every write command."""
    problems = list(result.bound_violations)
    for key, array in result.arrays().items():
        problem = conductance_problem(array)
        if problem:
            problems.append(f"at the end ({result.now_ps} ps): {key} {problem}")
        if not np.all(np.isfinite(array.reference)):
            problems.append(f"{key}: reference has non-finite values")
    _fail("conductances out of bounds", problems)


# ------------------------------------------------------------------------------- counters
def check_counters_add_up(result: HarnessResult) -> None:
    """Pulse counters add up (per cell → per array → per phase → run total), match what the
    logged commands asked for, and reads and command counts agree with the log."""
    recorder = result.recorder
    problems: list[str] = []
    grand = 0
    for key in recorder.arrays:
        array_problems, total = _array_count_problems(result, key)
        problems += array_problems
        grand += total
    problems += _total_problems(result, grand) + _read_problems(result) + _command_count_problems(result)
    _fail("counters do not add up", problems)


def _array_count_problems(result: HarnessResult, key: str) -> tuple[list[str], int]:
    """One array: per cell → array → per phase, and against what the commands asked for; its total."""
    recorder = result.recorder
    problems: list[str] = []
    counter = recorder.arrays[key]
    cells_up, cells_down = counter.per_cell()
    if (cells_up < 0).any() or (cells_down < 0).any():
        problems.append(f"{key}: negative per-cell pulse counts")
    up, down = counter.totals()
    if int(cells_up.sum()) != up or int(cells_down.sum()) != down:
        problems.append(f"{key}: per-cell counts sum to up={int(cells_up.sum())}, down={int(cells_down.sum())} "
                        f"but the array totals are up={up}, down={down}")
    phases = {phase: value for (k, phase), value in recorder.phase_pulses.items() if k == key}
    phase_up = sum(int(v[0]) for v in phases.values())
    phase_down = sum(int(v[1]) for v in phases.values())
    if (phase_up, phase_down) != (up, down):
        problems.append(f"{key}: array totals up={up}, down={down} but the per-phase counts sum to "
                        f"up={phase_up}, down={phase_down}")
    tally = result.commanded.get(key)
    if tally is None:
        return problems, up + down
    if tally.phases_exact:
        for phase in set(tally.by_phase) | set(phases):
            asked_phase = tuple(tally.by_phase.get(phase, (0, 0)))
            counted = tuple(int(v) for v in phases.get(phase, np.zeros(2, np.int64)))
            if asked_phase != counted:
                problems.append(f"{key}: phase {phase!r} counted (up, down) = {counted}, the commands asked "
                                f"for {asked_phase}")
    if tally.exact:
        for direction, recorded, asked in (("up", cells_up, tally.up), ("down", cells_down, tally.down)):
            if not np.array_equal(recorded, asked):
                i, j = (int(v) for v in np.argwhere(recorded != asked)[0])
                problems.append(f"{key}: cell ({i}, {j}) has {int(recorded[i, j])} {direction} pulses counted but "
                                f"the commands asked for {int(asked[i, j])}")
    else:
        for direction, recorded, asked in (("up", cells_up, tally.up), ("down", cells_down, tally.down)):
            if (recorded < asked).any():
                i, j = (int(v) for v in np.argwhere(recorded < asked)[0])
                problems.append(f"{key}: cell ({i}, {j}) has {int(recorded[i, j])} {direction} pulses counted, "
                                f"fewer than the {int(asked[i, j])} the commands certainly caused")
    return problems, up + down


def _total_problems(result: HarnessResult, grand: int) -> list[str]:
    """The run total and the summary agree with the arrays' totals."""
    recorder = result.recorder
    problems: list[str] = []
    if grand != recorder.total_pulses():
        problems.append(f"arrays sum to {grand} pulses but the run total is {recorder.total_pulses()}")
    summary = recorder.summary()
    if summary["total_pulses"] != grand:
        problems.append(f"summary total_pulses {summary['total_pulses']} != {grand}")
    if sum(summary["pulses_by_phase"].values()) != grand:
        problems.append(f"summary pulses_by_phase sums to {sum(summary['pulses_by_phase'].values())}, not {grand}")
    if sum(info["total"] for info in summary["pulses"].values()) != grand:
        problems.append("summary per-array totals do not sum to the run total")
    return problems


def _command_count_problems(result: HarnessResult) -> list[str]:
    """Command counts agree with the log; no slot count is negative."""
    recorder = result.recorder
    problems: list[str] = []
    entered: dict[str, int] = {}
    for record in result.log:
        if record.entered:
            entered[record.kind] = entered.get(record.kind, 0) + 1
    counted = {kind: count for kind, count in recorder.commands.items() if count}
    if entered != counted:
        problems.append(f"recorder counted commands {dict(sorted(counted.items()))} but the log has "
                        f"{dict(sorted(entered.items()))}")
    for key, slots in recorder.slots.items():
        if slots < 0:
            problems.append(f"{key}: negative slot count {slots}")
    return problems


def _read_problems(result: HarnessResult) -> list[str]:
    recorder = result.recorder
    problems: list[str] = []
    totals: dict[str, int] = {}
    for (key, phase), (mvms, conversions, dac) in sorted(recorder.reads.items()):
        mvms, conversions, dac = int(mvms), int(conversions), int(dac)
        totals[key] = totals.get(key, 0) + mvms
        if min(mvms, conversions, dac) < 0:
            problems.append(f"{key} phase {phase!r}: negative read counters")
        counter = recorder.arrays.get(key)
        if counter is not None:
            rows, cols = counter.shape
            low, high = min(rows, cols), max(rows, cols)
            if not low * mvms <= conversions <= high * mvms:
                problems.append(f"{key} phase {phase!r}: {conversions} ADC conversions for {mvms} MVMs of a "
                                f"{rows}×{cols} array")
            if not low * mvms <= dac <= high * mvms:
                problems.append(f"{key} phase {phase!r}: {dac} DAC conversions for {mvms} MVMs of a "
                                f"{rows}×{cols} array")
    running = {f"{r.tile}/{r.array}" for r in result.log
               if r.entered and not r.done and r.error is None and r.kind in ("Read", "ReadCells")}
    for key in sorted(set(totals) | set(result.commanded_reads)):
        expected = result.commanded_reads.get(key)
        mvms = totals.get(key, 0)
        low, high = (expected.min_mvms, expected.max_mvms) if expected is not None else (0, 0)
        if mvms < low or (key not in running and mvms > high):
            problems.append(f"{key}: {mvms} MVMs counted, the logged reads imply {low}..{high}")
    return problems


# ------------------------------------------------------------------------------- time
def check_time_monotone(result: HarnessResult) -> None:
    """Simulated time never runs backwards: every command issued ≤ started ≤ finished ≤ now,
    an issuer's commands follow one another, sub-commands lie inside their parent, metrics,
    probes and trace events are in time order, phase and busy times fit the elapsed time."""
    recorder = result.recorder
    now = result.now_ps
    problems: list[str] = []
    if recorder.now_ps != now:
        problems.append(f"recorder time {recorder.now_ps} ps != environment time {now} ps")
    problems += _command_time_problems(result)
    problems += _clock_problems(result)
    _fail("time is not monotone", problems)


def _command_time_problems(result: HarnessResult) -> list[str]:
    """Every logged command: issued ≤ started ≤ finished ≤ now, inside its parent, after its issuer's previous."""
    now = result.now_ps
    problems: list[str] = []
    by_index = {record.index: record for record in result.log}
    last_by_issuer: dict[int, Any] = {}
    for record in result.log:
        name = f"command #{record.index} ({record.kind})"
        if record.issue_ps < 0 or record.issue_ps > now:
            problems.append(f"{name} issued at {record.issue_ps} ps, outside [0, {now}]")
        if record.start_ps is not None and record.start_ps < record.issue_ps:
            problems.append(f"{name} started at {record.start_ps} ps before it was issued at {record.issue_ps} ps")
        if record.end_ps is not None:
            if record.start_ps is None:
                problems.append(f"{name} finished but never started")
            elif record.end_ps < record.start_ps:
                problems.append(f"{name} finished at {record.end_ps} ps before it started at {record.start_ps} ps")
            if record.end_ps > now:
                problems.append(f"{name} finished at {record.end_ps} ps, after the current time {now} ps")
        if record.parent is not None:
            parent = by_index.get(record.parent)
            if parent is not None:
                if record.issue_ps < parent.issue_ps:
                    problems.append(f"{name} issued before its parent #{parent.index}")
                if parent.end_ps is not None and (record.end_ps is None or record.end_ps > parent.end_ps):
                    problems.append(f"{name} did not finish before its parent #{parent.index} finished")
            continue
        previous = last_by_issuer.get(record.issuer)
        if previous is not None:
            if previous.end_ps is None and previous.error is None:
                problems.append(f"{name} issued while the same issuer's command #{previous.index} was still running")
            elif previous.end_ps is not None and record.issue_ps < previous.end_ps:
                problems.append(f"{name} issued at {record.issue_ps} ps before the previous command "
                                f"#{previous.index} finished at {previous.end_ps} ps")
        last_by_issuer[record.issuer] = record
    return problems


def _clock_problems(result: HarnessResult) -> list[str]:
    """Metrics, probes and traces in time order; phase and busy times fit the elapsed time."""
    recorder = result.recorder
    now = result.now_ps
    problems: list[str] = []
    times = [entry[0] for entry in recorder.metrics]
    if any(b < a for a, b in zip(times, times[1:])) or any(t > now for t in times):
        problems.append("metrics are not recorded in time order")
    probe_times = [probe.time_ps for probe in result.probes]
    if any(b < a for a, b in zip(probe_times, probe_times[1:])):
        problems.append("probes are not recorded in time order")
    phase_total = 0
    for phase, duration in recorder.phase_time_ps.items():
        if duration < 0:
            problems.append(f"phase {phase!r} has negative time {duration} ps")
        phase_total += duration
    if phase_total > now or (result.phase_closed and phase_total != now):
        problems.append(f"phase times sum to {phase_total} ps but {now} ps have elapsed")
    for tile in result.hardware.tiles:
        busy = recorder.busy_ps.get(tile, 0)
        if busy > now:
            problems.append(f"tile {tile} was busy {busy} ps in {now} ps (one operation at a time)")
    for event in (result.hardware.tracer.events if result.hardware.tracer is not None else []):
        if not 0 <= event.start_ps <= event.end_ps <= now:
            problems.append(f"trace event {event.component}.{event.name} spans [{event.start_ps}, {event.end_ps}] ps")
            break
    return problems
