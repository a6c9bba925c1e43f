"""Digital controller: runs a program (a generator of commands) against the hardware.

A program is any generator function `program(ctl, **params)` that yields commands and gets
each command's result back. It sees the hardware only through `ctl`: tile shapes, the
nominal device configuration (what a datasheet would tell), its own random stream, and
`ctl.metric(...)`. It must not look at device state: the true symmetric point is for the
recorder and reports only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Generator

import numpy as np
import simpy

from devices import PulsedDeviceConfig
from emulator.hardware.commands import (
    Digital,
    Parallel,
    PulseCounts,
    PulseTrain,
    Read,
    ReadCells,
    SetPhase,
    SetWeights,
    SignPattern,
    SlowProcessStep,
    Wait,
)
from emulator.hardware.costs import ns_to_ps
from emulator.hardware.system import Hardware
from emulator.hardware.resources import ObservedResource

Program = Callable[..., Generator[Any, Any, Any]]


@dataclass
class ProgramAndVerify:
    """Program an array's visible weights to `target` by read–pulse–verify (SPEC §2.2).

    Each iteration reads every cell (ReadCells, `reads` repeats) and sends per-cell counts
    toward the target, at most `max_pulses_per_iteration` per cell, until every cell is within
    `tolerance` or `max_iterations` is reached. Result: dict with the final read, iterations,
    and cells still out of tolerance. Everything is counted under the current phase.
    """

    tile: str
    array: str
    target: np.ndarray
    tolerance: float
    max_iterations: int = 20
    max_pulses_per_iteration: int = 1000
    reads: int = 1


class Controller:
    """Executes commands in simulated time on behalf of one program."""

    def __init__(self, hardware: Hardware, name: str = "controller") -> None:
        self.hardware = hardware
        self.env = hardware.env
        self.recorder = hardware.recorder
        self.costs = hardware.costs
        self.name = name
        self.rng = np.random.default_rng(hardware.controller_seed)
        self.digital_unit = ObservedResource(self.env, capacity=1)
        self._phase_started = 0
        self.result: Any = None
        self.probes: list[Callable[[str, int], None]] = []
        self.checkpoint_state: Any = None
        self.progress_callback: Callable[[int, int], None] | None = None

    # ---------------------------------------------------------------- what programs may see
    def tile_shape(self, tile: str) -> tuple[int, int]:
        return self.hardware.tile(tile).shape

    def device_config(self, tile: str, array: str) -> PulsedDeviceConfig:
        """The nominal (datasheet) configuration of an array's devices."""
        return self.hardware.tile(tile).array(array).config

    def metric(self, name: str, value: float, step: int = -1) -> None:
        self.recorder.metric(name, value, step)

    @property
    def now_ns(self) -> float:
        return self.env.now / 1000.0

    def checkpoint(self, label: str, step: int = -1, state: Any = None) -> None:
        """Announce a point worth measuring; the harness's probes (ground truth) run here.

        `state` is whatever of the program's own (digital) state the probes may compare with
        the truth, e.g. a trainer's SP estimates; it is `checkpoint_state` while they run.
        """
        self.checkpoint_state = state
        try:
            for probe in self.probes:
                probe(label, step)
        finally:
            self.checkpoint_state = None

    def progress(self, done: int, total: int) -> None:
        """Report progress of a long program (drives the CLI progress bar)."""
        if self.progress_callback is not None:
            self.progress_callback(done, total)

    # ---------------------------------------------------------------- running
    def start(self, program: Program, **params: Any) -> simpy.Process:
        """Start `program(self, **params)` as a process; its return value lands in `self.result`."""
        return self.env.process(self._drive(program(self, **params)))

    def run(self, program: Program, **params: Any) -> Any:
        """Run a program to completion and return its result."""
        process = self.start(program, **params)
        self.env.run(until=process)
        self._close_phase()
        return self.result

    def _drive(self, generator: Generator[Any, Any, Any]) -> Generator[simpy.Event, Any, None]:
        reply: Any = None
        while True:
            try:
                command = generator.send(reply)
            except StopIteration as stop:
                self.result = stop.value
                return
            reply = yield from self.execute(command)

    def execute(self, command: Any) -> Generator[simpy.Event, Any, Any]:
        """Carry out one command in simulated time and return its result."""
        self.recorder.commands[type(command).__name__] += 1
        if isinstance(command, PulseTrain):
            return (yield from self.hardware.tile(command.tile).pulse_train(command))
        if isinstance(command, SignPattern):
            return (yield from self.hardware.tile(command.tile).sign_pattern(command))
        if isinstance(command, PulseCounts):
            return (yield from self.hardware.tile(command.tile).pulse_counts(command))
        if isinstance(command, Read):
            return (yield from self.hardware.tile(command.tile).read(command))
        if isinstance(command, ReadCells):
            return (yield from self.hardware.tile(command.tile).read_cells(command))
        if isinstance(command, SetWeights):
            return (yield from self.hardware.tile(command.tile).set_weights(command))
        if isinstance(command, SlowProcessStep):
            for tile in self.hardware.tiles.values():
                tile.slow_process_step(command.steps)
            self.recorder.events += 1
            return None
        if isinstance(command, ProgramAndVerify):
            return (yield from self._program_and_verify(command))
        if isinstance(command, Digital):
            return (yield from self._digital(command))
        if isinstance(command, Wait):
            yield self.env.timeout(ns_to_ps(command.duration_ns))
            self.recorder.events += 1
            return None
        if isinstance(command, SetPhase):
            self._close_phase()
            self.recorder.phase = command.phase
            return None
        if isinstance(command, Parallel):
            processes = [self.env.process(self.execute(sub)) for sub in command.commands]
            yield simpy.AllOf(self.env, processes)
            self.recorder.events += len(processes) + 1
            return [process.value for process in processes]
        raise TypeError(f"unknown command {command!r}")

    def _close_phase(self) -> None:
        self.recorder.phase_time_ps[self.recorder.phase] += self.env.now - self._phase_started
        self._phase_started = self.env.now

    def _digital(self, command: Digital) -> Generator[simpy.Event, Any, None]:
        elements = command.elements * max(1, command.repeats)
        with self.digital_unit.request() as request:
            yield request
            duration = self.costs.digital_ps(command.elements) * max(1, command.repeats)
            start = self.env.now
            if duration:
                yield self.env.timeout(duration)
            self.recorder.events += 2
            self.recorder.digital_ops[command.operation] += elements
            self.recorder.add_energy("digital", elements * self.costs.digital_op_energy_fj / 1000.0)
            self.recorder.add_busy(f"{self.name}.digital", duration)
            self.recorder.trace(f"{self.name}.digital", command.operation, start, self.env.now,
                                elements=elements)

    def _program_and_verify(self, command: ProgramAndVerify) -> Generator[simpy.Event, Any, dict[str, Any]]:
        step = self.device_config(command.tile, command.array).dw_min
        target = np.asarray(command.target, dtype=np.float64)
        estimate = yield from self.execute(ReadCells(command.tile, command.array, command.reads))
        iterations = 0
        pending = np.abs(target - estimate) > command.tolerance
        while pending.any() and iterations < command.max_iterations:
            error = target - estimate
            counts = np.clip(np.rint(error / step), -command.max_pulses_per_iteration,
                             command.max_pulses_per_iteration).astype(np.int64)
            counts = np.where(pending & (counts == 0), np.sign(error).astype(np.int64), counts)
            counts = np.where(pending, counts, 0)
            yield from self.execute(PulseCounts(command.tile, command.array, counts))
            estimate = yield from self.execute(ReadCells(command.tile, command.array, command.reads))
            pending = np.abs(target - estimate) > command.tolerance
            iterations += 1
        return {"estimate": estimate, "iterations": iterations, "cells_out_of_tolerance": int(pending.sum())}
