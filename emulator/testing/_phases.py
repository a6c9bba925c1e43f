"""The phase ledger: pulses, reads, energy and time of each phase add up, and each phase's time
holds the commands issued in it. What a study of controller policies reads off a run (cost by
phase, time not spent training) rests on it, whatever the policy pauses training for."""

from __future__ import annotations

from collections import defaultdict

from emulator.testing._records import HarnessResult

_REL = 1e-9


def _interval_union_ps(intervals: list[tuple[int, int]]) -> int:
    """Length of the union of [start, end] intervals."""
    total, reach = 0, None
    for start, end in sorted(intervals):
        if reach is None or start > reach:
            total += end - start
            reach = end
        elif end > reach:
            total += end - reach
            reach = end
    return total


def _total_problems(result: HarnessResult) -> list[str]:
    """Per-phase pulses, MVMs, conversions, energy and time against the run's totals."""
    summary = result.summary
    recorder = result.recorder
    problems = []
    pulses = sum(summary["pulses_by_phase"].values())
    if pulses != summary["total_pulses"]:
        problems.append(f"pulses by phase sum to {pulses}, the run counted {summary['total_pulses']}")
    reads: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for (_, phase), counts in recorder.reads.items():
        reads[phase][0] += int(counts[0])
        reads[phase][1] += int(counts[1])
    for index, name in enumerate(("total_mvms", "total_conversions")):
        if sum(value[index] for value in reads.values()) != summary[name]:
            problems.append(f"{name}: the phases' sum {sum(value[index] for value in reads.values())} "
                            f"!= {summary[name]}")
    energy = summary["energy_pj"]
    if abs(sum(energy["by_phase"].values()) - energy["total"]) > _REL * max(1.0, energy["total"]):
        problems.append(f"energy by phase sums to {sum(energy['by_phase'].values())} pJ, not {energy['total']} pJ")
    if result.phase_closed and sum(recorder.phase_time_ps.values()) != result.now_ps:
        problems.append(f"phase times sum to {sum(recorder.phase_time_ps.values())} ps, not the {result.now_ps} ps "
                        "of the run")
    for phase, (mvms, _) in reads.items():
        worked = mvms > 0 or any(int(counts.sum()) > 0 for (_, p), counts in recorder.phase_pulses.items()
                                 if p == phase)
        if worked and result.phase_closed and recorder.phase_time_ps.get(phase, 0) <= 0:
            problems.append(f"phase {phase!r} has pulses or reads but no time")
    return problems


def _coverage_problems(result: HarnessResult) -> list[str]:
    """One issuer: the commands issued in a phase run inside that phase's booked time."""
    if any(record.issuer != 0 for record in result.log):
        return []  # several issuers may change the phase under each other's commands
    spans: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for record in result.log:
        if record.parent is None and record.end_ps is not None:
            spans[record.phase].append((record.issue_ps, record.end_ps))
    open_phase = None if result.phase_closed else result.hardware.stream.phase
    problems = []
    for phase, intervals in spans.items():
        busy = _interval_union_ps(intervals)
        booked = result.recorder.phase_time_ps.get(phase, 0)
        if phase != open_phase and busy > booked:
            problems.append(f"phase {phase!r}: its commands ran for {busy} ps but only {booked} ps were booked to it")
    return problems


def check_phase_ledger(result: HarnessResult) -> None:
    """Pulses, reads (MVMs, conversions), energy and time summed over the phases equal the run's
    totals; a phase with pulses or reads has time; with one issuer, the commands issued in each
    phase ran within the time booked to it (so "time not training" is exact)."""
    problems = _total_problems(result) + _coverage_problems(result)
    if problems:
        raise AssertionError("phase ledger does not add up:\n  " + "\n  ".join(problems[:10]))
