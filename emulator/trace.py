"""Exporters of event traces (the hardware's `Tracer`, emulator/hardware/tracing.py) to VCD
(GTKWave; via pyvcd) and Chrome/Perfetto trace JSON."""

from __future__ import annotations

import io
import json
from typing import Iterable

from vcd import VCDWriter

from emulator.hardware.tracing import TraceEvent


def _identifier(component: str) -> str:
    return "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in component)


def to_vcd(events: Iterable[TraceEvent], end_ps: int) -> str:
    """Per component: `busy` (1 while any of its activities runs) and `activity` (the pulses of
    the slots running now, summed over overlapping activities), time in ps."""
    deltas: dict[str, list[tuple[int, int, int]]] = {}
    for event in events:
        pulses = int(event.args.get("pulses", 0))
        changes = deltas.setdefault(event.component, [])
        changes.append((event.start_ps, 1, pulses))
        changes.append((event.end_ps, -1, -pulses))
    timeline: list[tuple[int, str, str, int]] = []
    for component, changes in deltas.items():
        changes.sort()
        active = activity = 0
        index = 0
        while index < len(changes):
            time_ps = changes[index][0]
            while index < len(changes) and changes[index][0] == time_ps:
                active += changes[index][1]
                activity += changes[index][2]
                index += 1
            timeline.append((time_ps, component, "busy", int(active > 0)))
            timeline.append((time_ps, component, "activity", activity))
    timeline.sort(key=lambda change: change[0])
    buffer = io.StringIO()
    with VCDWriter(buffer, timescale="1 ps", date="", comment="aimc emulator trace") as writer:
        variables = {}
        for component in sorted(deltas):
            scope = f"aimc.{_identifier(component)}"
            variables[(component, "busy")] = writer.register_var(scope, "busy", "wire", size=1, init=0)
            variables[(component, "activity")] = writer.register_var(scope, "activity", "integer", size=32, init=0)
        for time_ps, component, signal, value in timeline:
            writer.change(variables[(component, signal)], time_ps, value)
        if timeline:
            writer.flush(max(end_ps, timeline[-1][0]))
    return buffer.getvalue()


def to_perfetto(events: Iterable[TraceEvent]) -> str:
    """Chrome trace-event JSON: one track (thread) per component, complete ("X") events in µs."""
    events = list(events)
    components = sorted({event.component for event in events})
    track = {component: index + 1 for index, component in enumerate(components)}
    trace_events: list[dict[str, object]] = [
        {"name": "thread_name", "ph": "M", "pid": 1, "tid": track[c], "args": {"name": c}} for c in components
    ]
    trace_events.append({"name": "process_name", "ph": "M", "pid": 1, "tid": 0, "args": {"name": "aimc hardware"}})
    for event in events:
        trace_events.append({
            "name": event.name, "ph": "X", "pid": 1, "tid": track[event.component],
            "ts": event.start_ps / 1e6, "dur": (event.end_ps - event.start_ps) / 1e6,
            "args": {key: (value if isinstance(value, (int, float, str)) else str(value))
                     for key, value in event.args.items()},
        })
    return json.dumps({"traceEvents": trace_events, "displayTimeUnit": "ns"})
