"""SimPy resources of the hardware: observed locks and pools of units.

Tile locks and the controller's digital unit are shared resources; the testing kit checks that
no two writes hold one tile at once by watching them. Observers are plain callables, so the
hardware does not depend on the kit, and without observers this is a `simpy.Resource`.
ADC pools are `UnitPool`s: the events of a `simpy.Container` at a fraction of its bookkeeping.
"""

from __future__ import annotations

from collections import deque
from typing import Callable

import simpy

#: Called with the request event, when it is made and when it is released.
ResourceObserver = Callable[[simpy.resources.resource.Request], None]


class ObservedResource(simpy.Resource):
    """`simpy.Resource` with `on_request` / `on_release` observer lists."""

    def __init__(self, env: simpy.Environment, capacity: int = 1) -> None:
        super().__init__(env, capacity=capacity)
        self.on_request: list[ResourceObserver] = []
        self.on_release: list[ResourceObserver] = []

    def request(self) -> simpy.resources.resource.Request:
        event = super().request()
        for observer in self.on_request:
            observer(event)
        return event

    def release(self, request: simpy.resources.resource.Request) -> simpy.events.Event:  # type: ignore[override]
        for observer in self.on_release:
            observer(request)
        return super().release(request)


class UnitPool:
    """`count` identical units (ADCs) taken and given back, waiters served first come, first served.

    Exactly the events of `simpy.Container(env, capacity=count, init=count)` with `get` and `put`:
    one event per call, scheduled when the units are granted (at once if free and nobody waits
    before, else when a `put` is processed) or, for `put`, at once; waiters are served before the
    putting process resumes. Returned units never exceed the count, so a `put` never waits.
    """

    def __init__(self, env: simpy.Environment, count: int) -> None:
        self.env = env
        self.count = count
        self.level = count
        self._waiting: deque[tuple[simpy.Event, int]] = deque()

    def get(self, units: int) -> simpy.Event:
        """An event that succeeds when `units` units are granted."""
        event = simpy.Event(self.env)
        self._waiting.append((event, units))
        self._serve()
        return event

    def put(self, units: int) -> simpy.Event:
        """Give `units` units back; the event succeeds at once."""
        event = simpy.Event(self.env)
        self.level += units
        event.callbacks.append(self._serve_after)
        return event.succeed()

    def _serve_after(self, event: simpy.Event) -> None:
        self._serve()

    def _serve(self) -> None:
        waiting = self._waiting
        while waiting and self.level >= waiting[0][1]:
            event, units = waiting.popleft()
            self.level -= units
            event.succeed()
