"""The hardware's SimPy environment: SimPy's, plus a way for an operation with nothing to
contend with to skip its events.

A tile read is six SimPy events (lock, integration, ADC units, conversion, units back, release),
a pulse train three; on the digits network the event loop and the events' bookkeeping were a
fifth of a run. When the running process is *alone* — no event is scheduled and no callback of
the event being processed is still to run — nothing else can happen before whatever it yields
next, so SimPy would pop that very event next and resume it at once: the process may instead
let the time pass itself (`delay`), take a free place or unit, or give one back that nobody
waits for (resources.py), and carry on; the tiles and the controller do not even yield such an
already processed event (SimPy would only hand it straight back). Simulated times, the order of
everything and every record are exactly those of the plain event loop
(tests/hardware/test_hw_resources.py checks timelines against SimPy's own resources; the golden
outputs did not change); only the SimPy events actually processed are fewer.
"""

from __future__ import annotations

from heapq import heappop

import simpy
from simpy.core import EmptySchedule, StopSimulation
from simpy.events import EventPriority


def mark_processed(event: simpy.Event) -> simpy.Event:
    """Make `event` one that has already happened (succeeded, callbacks run): yielding it resumes
    the process at once, without the event queue. Returns it."""
    event._ok = True
    event._value = None
    event.callbacks = None  # type: ignore[assignment]
    return event


def processed_event(env: simpy.Environment) -> simpy.Event:
    """A new event that has already happened (see `mark_processed`)."""
    return mark_processed(simpy.Event(env))


class HardwareEnvironment(simpy.Environment):
    """`simpy.Environment` that knows when the running process is alone (see the module)."""

    def __init__(self, initial_time: int = 0) -> None:
        super().__init__(initial_time)
        self._callbacks_left = 0
        self.done = processed_event(self)
        """An event already processed, shared: what a lone process yields instead of a skipped one."""

    def alone(self) -> bool:
        """Whether nothing can happen before the running process's next event."""
        return not self._queue and not self._callbacks_left

    def delay(self, duration: int) -> simpy.Event:
        """An event `duration` ps from now for the running process to yield: a `Timeout`, or,
        when the process is alone, the time advanced in place and an event already processed."""
        if self._queue or self._callbacks_left:
            return self.timeout(duration)
        self._now += duration
        return self.done

    def step(self) -> None:
        """SimPy's `step`, counting the callbacks of the event still to run."""
        try:
            self._now, _, _, event = heappop(self._queue)
        except IndexError:
            raise EmptySchedule from None
        callbacks, event.callbacks = event.callbacks, None  # type: ignore[assignment]
        left = len(callbacks)
        try:
            for callback in callbacks:
                left -= 1
                self._callbacks_left = left
                callback(event)
        except StopSimulation:
            event.callbacks = callbacks[callbacks.index(callback) + 1:]
            self.schedule(event, EventPriority(-1))
            raise
        finally:
            self._callbacks_left = 0
        if not event._ok and not hasattr(event, "_defused"):
            exc = type(event._value)(*event._value.args)
            exc.__cause__ = event._value
            raise exc


def hardware_environment(env: simpy.Environment) -> HardwareEnvironment | None:
    """`env` if it is the hardware's environment (where events may be skipped), else None."""
    return env if isinstance(env, HardwareEnvironment) else None


def delay(env: simpy.Environment, duration: int) -> simpy.Event:
    """`env.delay(duration)` for the hardware's environment, a `Timeout` for any other."""
    return env.delay(duration) if isinstance(env, HardwareEnvironment) else env.timeout(duration)
