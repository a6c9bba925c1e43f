"""`UnitPool` (the ADC pools) against `simpy.Container` and `ObservedResource` (tile locks, the
digital unit) against `simpy.Resource`: the same grants at the same times in the same order, and
the same number of SimPy events, for any set of processes contending for them."""

from __future__ import annotations

import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.hardware.environment import HardwareEnvironment, delay
from emulator.hardware.resources import ObservedResource, UnitPool

_JOBS = st.lists(st.tuples(st.integers(0, 5), st.integers(1, 8), st.integers(0, 7), st.integers(1, 3)),
                 min_size=1, max_size=12)


def _steps_to_the_end(env: simpy.Environment) -> int:
    """Process every event; returns how many SimPy processed."""
    steps = 0
    while True:
        try:
            env.step()
        except simpy.core.EmptySchedule:
            return steps
        steps += 1


def _timeline(make_pool, count: int, jobs: list[tuple[int, int, int, int]],
              environment: type[simpy.Environment] = simpy.Environment) -> tuple[list[tuple], int]:
    """Each job (start, units, hold, rounds) starts at `start`, then `rounds` times takes `units`
    (capped at the count), holds them `hold`, gives them back. Returns what happened, in order,
    and the SimPy events processed."""
    env = environment()
    pool = make_pool(env, count)
    log: list[tuple] = []

    def job(index: int, start: int, units: int, hold: int, rounds: int):
        yield delay(env, start)
        units = min(units, count)
        for round_ in range(rounds):
            yield pool.get(units)
            log.append((env.now, index, round_, "granted"))
            yield delay(env, hold)
            yield pool.put(units)
            log.append((env.now, index, round_, "returned"))

    for index, spec in enumerate(jobs):
        env.process(job(index, *spec))
    return log, _steps_to_the_end(env)


@settings(max_examples=200, deadline=None)
@given(count=st.integers(1, 8), jobs=_JOBS)
def test_unit_pool_grants_as_a_simpy_container(count, jobs) -> None:
    container = _timeline(lambda env, n: simpy.Container(env, capacity=n, init=n), count, jobs)
    assert _timeline(UnitPool, count, jobs) == container


_HOLDERS = st.lists(st.tuples(st.integers(0, 5), st.integers(0, 7), st.integers(1, 3), st.booleans()),
                    min_size=1, max_size=12)


def _lock_timeline(make_resource, capacity: int, jobs: list[tuple[int, int, int, bool]],
                   environment: type[simpy.Environment] = simpy.Environment) -> tuple[list[tuple], int]:
    """Each job (start, hold, rounds, interrupted) starts at `start`, then `rounds` times takes a
    place, holds it `hold`, gives it back; an interrupted job is interrupted while it waits for
    its first place (or holds it) and gives up. Returns what happened, in order, and the SimPy
    events processed."""
    env = environment()
    resource = make_resource(env, capacity)
    log: list[tuple] = []

    def job(index: int, start: int, hold: int, rounds: int, interrupted: bool):
        yield delay(env, start)
        for round_ in range(rounds):
            try:
                with resource.request() as request:
                    yield request
                    log.append((env.now, index, round_, "granted"))
                    yield delay(env, hold)
                log.append((env.now, index, round_, "released"))
            except simpy.Interrupt:
                log.append((env.now, index, round_, "interrupted"))
                return

    def interrupter(process: simpy.Process, at: int):
        yield delay(env, at)
        if process.is_alive:
            process.interrupt()

    for index, (start, hold, rounds, interrupted) in enumerate(jobs):
        process = env.process(job(index, start, hold, rounds, interrupted))
        if interrupted:
            env.process(interrupter(process, start + 1))
    return log, _steps_to_the_end(env)


@settings(max_examples=200, deadline=None)
@given(capacity=st.integers(1, 3), jobs=_HOLDERS)
def test_observed_resource_grants_as_a_simpy_resource(capacity, jobs) -> None:
    expected = _lock_timeline(lambda env, n: simpy.Resource(env, capacity=n), capacity, jobs)
    assert _lock_timeline(ObservedResource, capacity, jobs) == expected


@settings(max_examples=200, deadline=None)
@given(count=st.integers(1, 8), jobs=_JOBS, capacity=st.integers(1, 3), holders=_HOLDERS)
def test_skipped_events_change_no_timeline(count, jobs, capacity, holders) -> None:
    """In the hardware's environment a process that is alone skips events (delays, free units
    and places, returns nobody waits for): what happens, when and in which order is what SimPy's
    own resources do in a plain environment; only fewer events are processed."""
    container_log, container_events = _timeline(lambda env, n: simpy.Container(env, capacity=n, init=n), count, jobs)
    pool_log, pool_events = _timeline(UnitPool, count, jobs, HardwareEnvironment)
    assert pool_log == container_log and pool_events <= container_events
    resource_log, resource_events = _lock_timeline(lambda env, n: simpy.Resource(env, capacity=n), capacity, holders)
    lock_log, lock_events = _lock_timeline(ObservedResource, capacity, holders, HardwareEnvironment)
    assert lock_log == resource_log and lock_events <= resource_events


def test_a_lone_process_skips_every_event_of_its_locks_units_and_delays() -> None:
    env = HardwareEnvironment()
    lock, units = ObservedResource(env), UnitPool(env, 4)

    def job():
        for _ in range(3):
            with lock.request() as request:
                yield request
                yield units.get(2)
                yield env.delay(7)
                yield units.put(2)

    env.process(job())
    assert _steps_to_the_end(env) == 2 and env.now == 21  # the process's start and its end, nothing between
    assert lock.count == 0 and units.level == 4


def test_a_process_is_not_alone_while_others_wait_on_the_event_that_resumed_it() -> None:
    """Two processes resumed by one event: the first may not advance the time in place, or the
    second would resume late."""
    env = HardwareEnvironment()
    gate = env.timeout(3)
    log: list[tuple[str, int]] = []

    def first():
        yield gate
        yield env.delay(5)
        log.append(("first", env.now))

    def second():
        yield gate
        log.append(("second", env.now))

    env.process(first())
    env.process(second())
    env.run()
    assert log == [("second", 3), ("first", 8)]


def test_controller_runs_with_blas_on_one_thread_and_restores_it() -> None:
    """emulator/hardware/_blas.py: from the second run of a process on, every BLAS pool is limited
    to one thread while a program runs (the first run finds the libraries it loads itself), and
    each pool gets its threads back after."""
    import numpy as np
    from threadpoolctl import threadpool_info

    from devices import get_preset
    from emulator.hardware import Controller, Hardware, Read, TileSpec

    def blas_threads() -> dict[str, int]:
        return {info["filepath"]: info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"}

    seen: list[dict[str, int]] = []

    def program(ctl):
        yield Read("t0", "W", np.ones(4), "forward")
        seen.append(blas_threads())

    hardware = Hardware({"t0": TileSpec(4, 4, {"W": get_preset("EcRam")})}, seed=0)
    Controller(hardware).run(program)
    before = blas_threads()
    seen.clear()
    Controller(hardware).run(program)
    assert seen and set(seen[0]) == set(before) and set(seen[0].values()) == {1}
    assert blas_threads() == before
