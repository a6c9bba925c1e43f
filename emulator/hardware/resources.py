"""SimPy resources of the hardware: observed locks and pools of units.

Tile locks and the controller's digital unit are shared resources; the testing kit checks that
no two writes hold one tile at once by watching them. Observers are plain callables, so the
hardware does not depend on the kit; they grant as a `simpy.Resource` would.
ADC pools are `UnitPool`s: the events of a `simpy.Container` at a fraction of its bookkeeping.
"""

from __future__ import annotations

from collections import deque
from types import TracebackType
from typing import Callable

import simpy

from emulator.hardware.environment import HardwareEnvironment, hardware_environment, mark_processed

#: Called with the request event, when it is made and when it is released.
ResourceObserver = Callable[["LockRequest"], None]


class LockRequest(simpy.Event):
    """A request for one place of an `ObservedResource`; `with resource.request() as request:
    yield request` holds it until the block ends."""

    def __init__(self, resource: ObservedResource) -> None:
        super().__init__(resource.env)
        self.resource = resource
        self.granted = False

    def __enter__(self) -> LockRequest:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc_value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if not self.triggered:  # still waiting (e.g. interrupted): leave the queue
            self.resource.put_queue.remove(self)
        if exc_type is not GeneratorExit:  # generator clean-up releases nothing, as in SimPy
            self.resource.release(self)


class ObservedResource:
    """A resource of `capacity` places (tile locks, the digital unit) with `on_request` /
    `on_release` observer lists.

    Exactly the events of `simpy.Resource` with `request` and `release`: a request succeeds at
    once if a place is free and it is first in line, else when an earlier holder's release is
    processed; a release frees the place at once and succeeds at once. It keeps a count and a
    queue where SimPy's bound event classes, put and get queues cost a visible share of a
    small-tile run (each tile command takes and gives back its tile's lock).
    """

    PutQueue: type[list[LockRequest]] = list
    """Where waiting requests line up; the head is served first."""

    def __init__(self, env: simpy.Environment, capacity: int = 1) -> None:
        self.env = env
        self._lone_env = hardware_environment(env)
        self.capacity = capacity
        self.count = 0
        """Places held now."""
        self.put_queue: list[LockRequest] = self.PutQueue()
        self.on_request: list[ResourceObserver] = []
        self.on_release: list[ResourceObserver] = []

    def request(self) -> LockRequest:
        event = LockRequest(self)
        if self.count < self.capacity and self._quiet() is not None:  # granted and processed at once (environment.py)
            self.count += 1
            event.granted = True
            mark_processed(event)
            return event
        self.put_queue.append(event)
        self._serve()
        for observer in self.on_request:
            observer(event)
        return event

    def release(self, request: LockRequest) -> simpy.Event:
        for observer in self.on_release:
            observer(request)
        if request.granted:
            request.granted = False
            self.count -= 1
        lone = self._quiet()
        if lone is not None:  # its processing would serve nobody, before anything else happens
            return lone.done
        event = simpy.Event(self.env)
        event.callbacks.append(self._serve_after)
        return event.succeed()

    def _quiet(self) -> HardwareEnvironment | None:
        """The environment if nobody waits, nobody watches and the running process is alone
        (events may be skipped), else None."""
        lone = self._lone_env
        if lone is not None and not self.put_queue and not self.on_request and not self.on_release and lone.alone():
            return lone
        return None

    def _serve_after(self, event: simpy.Event) -> None:
        self._serve()

    def _serve(self) -> None:
        """Grant the head of the queue if a place is free (one request per call, as SimPy)."""
        queue = self.put_queue
        if queue and self.count < self.capacity:
            head = queue.pop(0)
            self.count += 1
            head.granted = True
            head.succeed()


class UnitPool:
    """`count` identical units (ADCs) taken and given back, waiters served first come, first served.

    Exactly the events of `simpy.Container(env, capacity=count, init=count)` with `get` and `put`:
    one event per call, scheduled when the units are granted (at once if free and nobody waits
    before, else when a `put` is processed) or, for `put`, at once; waiters are served before the
    putting process resumes. Returned units never exceed the count, so a `put` never waits.
    """

    def __init__(self, env: simpy.Environment, count: int) -> None:
        self.env = env
        self._lone_env = hardware_environment(env)
        self.count = count
        self.level = count
        self._waiting: deque[tuple[simpy.Event, int]] = deque()

    def get(self, units: int) -> simpy.Event:
        """An event that succeeds when `units` units are granted."""
        lone = self._lone_env
        if lone is not None and not self._waiting and self.level >= units and lone.alone():  # granted at once
            self.level -= units
            return lone.done
        event = simpy.Event(self.env)
        self._waiting.append((event, units))
        self._serve()
        return event

    def put(self, units: int) -> simpy.Event:
        """Give `units` units back; the event succeeds at once."""
        self.level += units
        lone = self._lone_env
        if lone is not None and not self._waiting and lone.alone():  # its processing would serve nobody
            return lone.done
        event = simpy.Event(self.env)
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
