"""`UnitPool` (the ADC pools) against `simpy.Container` and `ObservedResource` (tile locks, the
digital unit) against `simpy.Resource`: the same grants at the same times in the same order, and
the same number of SimPy events, for any set of processes contending for them."""

from __future__ import annotations

import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.hardware.resources import ObservedResource, UnitPool

_JOBS = st.lists(st.tuples(st.integers(0, 5), st.integers(1, 8), st.integers(0, 7), st.integers(1, 3)),
                 min_size=1, max_size=12)


def _timeline(make_pool, count: int, jobs: list[tuple[int, int, int, int]]) -> tuple[list[tuple], int]:
    """Each job (start, units, hold, rounds) starts at `start`, then `rounds` times takes `units`
    (capped at the count), holds them `hold`, gives them back. Returns what happened, in order,
    and the SimPy events processed."""
    env = simpy.Environment()
    pool = make_pool(env, count)
    log: list[tuple] = []

    def job(index: int, start: int, units: int, hold: int, rounds: int):
        yield env.timeout(start)
        units = min(units, count)
        for round_ in range(rounds):
            yield pool.get(units)
            log.append((env.now, index, round_, "granted"))
            yield env.timeout(hold)
            yield pool.put(units)
            log.append((env.now, index, round_, "returned"))

    for index, spec in enumerate(jobs):
        env.process(job(index, *spec))
    steps = 0
    while True:
        try:
            env.step()
        except simpy.core.EmptySchedule:
            return log, steps
        steps += 1


@settings(max_examples=200, deadline=None)
@given(count=st.integers(1, 8), jobs=_JOBS)
def test_unit_pool_grants_as_a_simpy_container(count, jobs) -> None:
    container = _timeline(lambda env, n: simpy.Container(env, capacity=n, init=n), count, jobs)
    assert _timeline(UnitPool, count, jobs) == container


_HOLDERS = st.lists(st.tuples(st.integers(0, 5), st.integers(0, 7), st.integers(1, 3), st.booleans()),
                    min_size=1, max_size=12)


def _lock_timeline(make_resource, capacity: int, jobs: list[tuple[int, int, int, bool]]) -> tuple[list[tuple], int]:
    """Each job (start, hold, rounds, interrupted) starts at `start`, then `rounds` times takes a
    place, holds it `hold`, gives it back; an interrupted job is interrupted while it waits for
    its first place (or holds it) and gives up. Returns what happened, in order, and the SimPy
    events processed."""
    env = simpy.Environment()
    resource = make_resource(env, capacity)
    log: list[tuple] = []

    def job(index: int, start: int, hold: int, rounds: int, interrupted: bool):
        yield env.timeout(start)
        for round_ in range(rounds):
            try:
                with resource.request() as request:
                    yield request
                    log.append((env.now, index, round_, "granted"))
                    yield env.timeout(hold)
                log.append((env.now, index, round_, "released"))
            except simpy.Interrupt:
                log.append((env.now, index, round_, "interrupted"))
                return

    def interrupter(process: simpy.Process, at: int):
        yield env.timeout(at)
        if process.is_alive:
            process.interrupt()

    for index, (start, hold, rounds, interrupted) in enumerate(jobs):
        process = env.process(job(index, start, hold, rounds, interrupted))
        if interrupted:
            env.process(interrupter(process, start + 1))
    steps = 0
    while True:
        try:
            env.step()
        except simpy.core.EmptySchedule:
            return log, steps
        steps += 1


@settings(max_examples=200, deadline=None)
@given(capacity=st.integers(1, 3), jobs=_HOLDERS)
def test_observed_resource_grants_as_a_simpy_resource(capacity, jobs) -> None:
    expected = _lock_timeline(lambda env, n: simpy.Resource(env, capacity=n), capacity, jobs)
    assert _lock_timeline(ObservedResource, capacity, jobs) == expected


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
