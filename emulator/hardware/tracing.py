"""Traces of the hardware: a `Tracer` observes the operation stream and keeps timed events.

Exporters to VCD and Perfetto live in emulator/trace.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from emulator.hardware.operations import Operation


@dataclass(frozen=True)
class TraceEvent:
    """One timed activity of one component, for trace exports."""

    component: str
    name: str
    start_ps: int
    end_ps: int
    args: dict[str, Any]


class Tracer:
    """Turns the operation stream into trace events: writes (and their slots, with the pulses
    of each), reads, ADC conversions and digital work; subscribing it changes nothing else."""

    wants_slot_pulses = True

    def __init__(self) -> None:
        self.events: list[TraceEvent] = []

    def observe(self, operation: Operation) -> None:
        kind, start, end = operation.kind, operation.start_ps, operation.end_ps
        if kind == "write":
            slot_pulses = operation.slot_pulses
            if slot_pulses is not None and operation.slots:
                period = (end - start) // operation.slots
                for slot, pulses in enumerate(slot_pulses.tolist()):
                    self.events.append(TraceEvent(operation.array or operation.component, "slot",
                                                  start + slot * period, start + (slot + 1) * period,
                                                  {"pulses": int(pulses)}))
            self.events.append(TraceEvent(operation.array or operation.component, operation.name, start, end,
                                          {"slots": operation.slots}))
        elif kind == "read":
            self.events.append(TraceEvent(operation.array or operation.component, "read", start, end,
                                          {"mvms": operation.mvms}))
        elif kind == "convert":
            self.events.append(TraceEvent(operation.component, "convert", start, end,
                                          {"conversions": operation.conversions}))
        elif kind == "digital":
            self.events.append(TraceEvent(operation.component, operation.name, start, end,
                                          {"elements": operation.elements}))
