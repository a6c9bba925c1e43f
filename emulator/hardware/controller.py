"""Digital controller: runs a program (a generator of commands) against the hardware.

A program is any generator function `program(ctl, **params)` that yields commands and gets
each command's result back. It sees the hardware only through `ctl`: tile shapes, the
nominal device configuration (what a datasheet would tell), its own random stream, and
`ctl.metric(...)`. It must not look at device state: the true symmetric point is for the
recorder and reports only.
"""

from __future__ import annotations


from typing import Any, Callable, Generator

import numpy as np
import simpy

from devices import PulsedDeviceConfig
from emulator.hardware.commands import (
    Command,
    Digital,
    Parallel,
    ProgramAndVerify,
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
from emulator.hardware._blas import single_threaded_blas
from emulator.hardware.read_path import IOParameters
from emulator.hardware.environment import delay
from emulator.hardware.resources import ObservedResource
from emulator.hardware.system import Hardware
from emulator.units import ns_to_ps, ps_to_ns

Program = Callable[..., Generator[Command, Any, Any]]
"""A controller program: `program(ctl, **params)`, a generator that yields commands and receives
each command's result."""


class Controller:
    """Executes commands in simulated time on behalf of one program."""

    def __init__(self, hardware: Hardware, name: str = "controller") -> None:
        self.hardware = hardware
        self.env = hardware.env
        self.recorder = hardware.recorder
        self.stream = hardware.stream
        self.costs = hardware.costs
        self.name = name
        self.rng = np.random.default_rng(hardware.controller_seed)
        self.digital_unit = ObservedResource(self.env, capacity=1)
        self._phase_started = 0
        self._running_phase = self.stream.phase
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

    def read_settings(self, tile: str) -> IOParameters:
        """The configured read-path settings (DAC, ADC, noise) of a tile's periphery."""
        return self.hardware.tile(tile).io

    def metric(self, name: str, value: float, step: int = -1) -> None:
        self.recorder.metric(name, value, step)

    @property
    def now_ns(self) -> float:
        return ps_to_ns(self.env.now)

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
        """Run a program to completion and return its result (BLAS on one thread meanwhile:
        emulator/hardware/_blas.py)."""
        with single_threaded_blas():
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

    def execute(self, command: Command) -> Generator[simpy.Event, Any, Any]:
        """Carry out one command in simulated time and return its result."""
        self.stream.emit("command", self.name, self.env.now, self.env.now, name=type(command).__name__)
        handler = _HANDLERS.get(type(command))
        if handler is None:
            raise TypeError(f"unknown command {command!r}")
        return (yield from handler(self, command))

    def _tile_command(self, command: Any) -> Generator[simpy.Event, Any, Any]:
        tile = self.hardware.tile(command.tile)
        return (yield from getattr(tile, _TILE_OPERATIONS[type(command)])(command))

    def _slow_process_step(self, command: SlowProcessStep) -> Generator[simpy.Event, Any, None]:
        for tile in self.hardware.tiles.values():
            tile.slow_process_step(command.steps)
        self.stream.emit("step", "hardware", self.env.now, self.env.now, events=1)
        return
        yield

    def _wait(self, command: Wait) -> Generator[simpy.Event, Any, None]:
        start = self.env.now
        if not (event := delay(self.env, ns_to_ps(command.duration_ns))).processed:
            yield event
        self.stream.emit("wait", self.name, start, self.env.now, name="wait", events=1)

    def _set_phase(self, command: SetPhase) -> Generator[simpy.Event, Any, None]:
        self.stream.phase = command.phase
        self._close_phase()
        return
        yield

    def _parallel(self, command: Parallel) -> Generator[simpy.Event, Any, list[Any]]:
        start = self.env.now
        processes = [self.env.process(self.execute(sub)) for sub in command.commands]
        yield simpy.AllOf(self.env, processes)
        self.stream.emit("wait", self.name, start, self.env.now, name="parallel", events=len(processes) + 1)
        return [process.value for process in processes]

    def _close_phase(self) -> None:
        """Book the time since the last phase change to the phase that was running."""
        self.stream.emit("phase", self.name, self._phase_started, self.env.now, name=self._running_phase)
        self._running_phase = self.stream.phase
        self._phase_started = int(self.env.now)

    def _digital(self, command: Digital) -> Generator[simpy.Event, Any, None]:
        elements = command.elements * max(1, command.repeats)
        with self.digital_unit.request() as request:
            if not request.processed:
                yield request
            duration = self.costs.digital_ps(command.elements) * max(1, command.repeats)
            start = self.env.now
            if duration:
                if not (event := delay(self.env, duration)).processed:
                    yield event
            self.stream.emit("digital", f"{self.name}.digital", start, self.env.now, name=command.operation,
                             busy=True, events=2, elements=elements)

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


_TILE_OPERATIONS: dict[type, str] = {
    PulseTrain: "pulse_train", SignPattern: "sign_pattern", PulseCounts: "pulse_counts", Read: "read",
    ReadCells: "read_cells", SetWeights: "set_weights",
}
_HANDLERS: dict[type, Callable[[Controller, Any], Generator[simpy.Event, Any, Any]]] = {
    **{kind: Controller._tile_command for kind in _TILE_OPERATIONS},
    ProgramAndVerify: Controller._program_and_verify, Digital: Controller._digital, Wait: Controller._wait,
    SetPhase: Controller._set_phase, Parallel: Controller._parallel, SlowProcessStep: Controller._slow_process_step,
}
