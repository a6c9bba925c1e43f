"""Crossbar tile: named device arrays behind one SimPy resource, plus its ADC pool.

Each operation is a SimPy generator: it takes the tile (one operation at a time), holds it for
the time the cost model gives, applies its effect as one vectorized numpy operation and emits
one `Operation` record; the bookkeeping (counters, energy, traces) subscribes to those records.
Events per operation: a few, independent of the cell count and of whether anyone traces.
"""

from __future__ import annotations

from typing import Any, Generator, Mapping

import numpy as np
import simpy

from devices import DeviceArray, DriftProcess
from emulator._kernels import signed_totals
from emulator.hardware.commands import PulseCounts, PulseTrain, Read, ReadCells, SetWeights, SignPattern, WrittenCounts
from emulator.hardware.aging import TemperatureSchedule, TileAging
from emulator.hardware.costs import HardwareCosts
from emulator.hardware.operations import CellPulses, OperationStream
from emulator.hardware.finite_watch import NonFiniteInput
from emulator.units import ps_to_ns
from emulator.hardware.pulse_trains import UpdateParameters, plan_pulse_train, plan_stochastic_trains
from emulator.hardware.read_path import IOParameters, ReadResult, analog_mvm, read_every_cell
from emulator.hardware.environment import delay
from emulator.hardware.resources import ObservedResource, UnitPool

SimGenerator = Generator[simpy.Event, Any, Any]
"""A tile operation: SimPy events out, their values in, the operation's result at the end."""
Done = Generator[simpy.Event, Any, None]
"""A tile operation without a result."""


def pulse_totals(counts: np.ndarray) -> np.ndarray:
    """(up, down) pulses of each update of signed counts (updates × rows × cols), int64."""
    totals = np.empty((counts.shape[0], 2), dtype=np.int64)
    signed_totals(np.ascontiguousarray(counts).reshape(counts.shape[0], -1), totals)
    return totals


class ADCPool:
    """A pool of ADCs; a read's conversions run on up to all of them, in rounds."""

    def __init__(self, env: simpy.Environment, count: int, name: str) -> None:
        self.env = env
        self.count = count
        self.name = name
        self.units = UnitPool(env, count)

    def convert(self, conversions_per_mvm: int, mvms: int, costs: HardwareCosts, stream: OperationStream) -> SimGenerator:
        """Run `mvms` batches of `conversions_per_mvm` conversions; returns the time taken."""
        if mvms == 0 or conversions_per_mvm == 0:
            return 0
        units = min(self.count, conversions_per_mvm)
        if not (event := self.units.get(units)).processed:
            yield event
        duration = costs.conversion_rounds(conversions_per_mvm, mvms, units) * costs.adc_conversion_ps
        start = self.env.now
        if not (event := delay(self.env, duration)).processed:
            yield event
        if not (event := self.units.put(units)).processed:
            yield event
        stream.emit("convert", self.name, start, self.env.now, name="convert", busy=True, events=3,
                    conversions=conversions_per_mvm * mvms)
        return duration


class Tile:
    """One crossbar tile: device arrays of the same shape, a lock, a read path and an ADC pool."""

    def __init__(
        self,
        env: simpy.Environment,
        name: str,
        arrays: dict[str, DeviceArray],
        costs: HardwareCosts,
        io: IOParameters,
        update: UpdateParameters,
        stream: OperationStream,
        seed: np.random.SeedSequence,
        adc_pool: ADCPool | None = None,
        dead_rows: tuple[int, ...] = (),
        dead_cols: tuple[int, ...] = (),
        slow_process_step_ps: int | None = None,
        drift: Mapping[str, DriftProcess] | None = None,
        temperature: TemperatureSchedule | None = None,
    ) -> None:
        shapes = {a.shape for a in arrays.values()}
        if len(shapes) != 1:
            raise ValueError(f"tile {name!r}: arrays must share one shape, got {sorted(shapes)}")
        self.env = env
        self.name = name
        self.arrays = arrays
        self.shape: tuple[int, int] = shapes.pop()
        self.costs = costs
        self.io = io
        self.update = update
        self.stream = stream
        train_seed, read_seed = seed.spawn(2)
        self.train_rng = np.random.default_rng(train_seed)
        self.read_rng = np.random.default_rng(read_seed)
        self.lock = ObservedResource(env, capacity=1)
        rows, cols = self.shape
        self.adc_pool = adc_pool or ADCPool(env, costs.adc_count(rows, cols), f"{name}.adc")
        # Slow processes and drift in simulated time: applied lazily from the time elapsed since the last access.
        self.slow_process_step_ps = slow_process_step_ps
        self.aging = TileAging(arrays, slow_process_step_ps, drift, temperature)
        # Fault: broken row/column lines. Pulses sent there change nothing; reads see no current.
        self.dead_rows = tuple(sorted(set(dead_rows)))
        self.dead_cols = tuple(sorted(set(dead_cols)))
        self.dead: np.ndarray | None = None
        if self.dead_rows or self.dead_cols:
            self.dead = np.zeros(self.shape, dtype=bool)
            self.dead[list(self.dead_rows), :] = True
            self.dead[:, list(self.dead_cols)] = True

    # ---------------------------------------------------------------- helpers
    def _reachable(self, counts: np.ndarray) -> np.ndarray:
        """Counts as the drivers deliver them: nothing reaches cells on dead lines."""
        return counts if self.dead is None else np.where(self.dead, 0, counts)

    def _keep_dead(self, array: DeviceArray) -> np.ndarray | None:
        return None if self.dead is None else array.g[self.dead].copy()

    def _restore_dead(self, array: DeviceArray, saved: np.ndarray | None) -> None:
        if saved is not None and self.dead is not None:
            array.g[self.dead] = saved

    def key(self, array: str) -> str:
        return f"{self.name}/{array}"

    def array(self, name: str) -> DeviceArray:
        try:
            return self.arrays[name]
        except KeyError:
            raise KeyError(f"tile {self.name!r} has no array {name!r} (has {sorted(self.arrays)})") from None

    def age(self) -> None:
        """Bring the time-dependent processes of this tile's arrays up to now (`TileAging`)."""
        if self.aging.active:
            self.aging.advance(int(self.env.now))

    def slow_process_step(self, steps: float) -> None:
        """Per-mini-batch slow processes (the reference simulator's clock); a no-op on the time clock."""
        if self.slow_process_step_ps is None:
            for array in self.arrays.values():
                array.apply_slow_processes(steps)

    def _written(self, key: str, name: str, start: float, slots: int, counts: np.ndarray | None,
                 events: int, slot_pulses: np.ndarray | None = None, sample_totals: np.ndarray | None = None
                 ) -> tuple[int, int]:
        """Emit a finished write of signed counts (samples × rows × cols; None for a floating-point
        update; `sample_totals`: their (up, down) per sample if known); returns its (up, down)
        pulses, every sample together."""
        if sample_totals is None and counts is not None:
            sample_totals = pulse_totals(counts)
        totals = sample_totals.tolist() if sample_totals is not None else []
        up, down = sum(pair[0] for pair in totals), sum(pair[1] for pair in totals)
        self.stream.emit("write", self.name, start, self.env.now, name=name, array=key, busy=True, events=events,
                         slots=slots, pulses=None if counts is None else CellPulses(counts=counts),
                         sample_pulses=tuple(u + d for u, d in totals), slot_pulses=slot_pulses,
                         up_pulses=up, down_pulses=down)
        return up, down

    # ---------------------------------------------------------------- writes
    def pulse_train(self, cmd: PulseTrain) -> SimGenerator:
        """One stochastic update per sample (rows of x and d), applied one after another.

        The tile is held for BL slots per sample, in one timeout for the whole batch. Returns
        `WrittenCounts`: the signed counts (their per-cell sum for a batch) with the exact up and
        down totals.
        """
        array = self.array(cmd.array)
        params = cmd.update or self.update
        granularity = cmd.granularity if cmd.granularity is not None else array.config.dw_min
        xs = np.atleast_2d(np.asarray(cmd.x, dtype=np.float64))
        ds = np.atleast_2d(np.asarray(cmd.d, dtype=np.float64))
        if xs.shape[0] != ds.shape[0] or xs.shape[1] != array.shape[1] or ds.shape[1] != array.shape[0]:
            raise ValueError(f"pulse train on {self.key(cmd.array)} {array.shape}: x {xs.shape} and d {ds.shape} "
                             "must be (samples × cols) and (samples × rows)")
        for label, values in (("inputs x", xs), ("errors d", ds)):
            if not np.isfinite(values).all():
                sample, index = (int(i) for i in np.argwhere(~np.isfinite(values))[0])
                raise NonFiniteInput(f"the pulse train on {self.key(cmd.array)} got non-finite {label} (sample {sample}, "
                                     f"element {index}) at {ps_to_ns(self.env.now):.6g} ns, phase {self.stream.phase!r}")
        with self.lock.request() as request:
            if not request.processed:
                yield request
            self.age()
            start = self.env.now
            if params.pulse_type == "none":
                if not (event := delay(self.env, self.costs.write_ps(xs.shape[0]))).processed:
                    yield event
                for x, d in zip(xs, ds):
                    array.apply_delta(self._reachable(-cmd.learning_rate * np.outer(d, x)))
                self._written(self.key(cmd.array), "write", start, xs.shape[0], None, xs.shape[0] + 1)
                return WrittenCounts.of(np.zeros(array.shape, np.int32), 0, 0)
            sample_totals = None
            if params.pulse_type == "stochastic":
                sample_totals = np.empty((xs.shape[0], 2), dtype=np.int64)
                counts, slots, slot_pulses = plan_stochastic_trains(xs, ds, cmd.learning_rate, granularity, params,
                                                                    self.train_rng, sample_totals)
            else:
                plans = [plan_pulse_train(x, d, cmd.learning_rate, granularity, params, self.train_rng) for x, d in zip(xs, ds)]
                counts = np.stack([plan.counts for plan in plans])
                slots = np.array([plan.bl for plan in plans], dtype=np.int64)
                slot_pulses = np.concatenate([plan.slot_pulses for plan in plans])
            slot_counts = slots.tolist()
            total_slots = sum(slot_counts)
            if total_slots:
                if not (event := delay(self.env, self.costs.write_ps(total_slots))).processed:
                    yield event
                array.pulse_counts_batch(self._reachable(counts))
            events = sum(1 for slot_count in slot_counts if slot_count) + 1
            up, down = self._written(self.key(cmd.array), "write", start, total_slots, counts, events, slot_pulses,
                                     sample_totals)
        total = counts[0] if len(counts) == 1 else counts.sum(axis=0, dtype=np.int32)
        return WrittenCounts.of(total, up, down)

    def pulse_counts(self, cmd: PulseCounts) -> Done:
        array = self.array(cmd.array)
        counts = np.asarray(cmd.counts)
        if counts.shape != array.shape:
            raise ValueError(f"counts shape {counts.shape} != array shape {array.shape}")
        with self.lock.request() as request:
            if not request.processed:
                yield request
            self.age()
            start = self.env.now
            slots = self.costs.count_slots(counts)
            if slots:
                if not (event := delay(self.env, self.costs.write_ps(slots))).processed:
                    yield event
                array.pulse_counts(self._reachable(counts))
            self._written(self.key(cmd.array), "write", start, slots, counts[np.newaxis], 2,
                          self.costs.slot_pulses(counts) if self.stream.wants_slot_pulses else None)

    def sign_pattern(self, cmd: SignPattern) -> Done:
        array = self.array(cmd.array)
        with self.lock.request() as request:
            if not request.processed:
                yield request
            self.age()
            start = self.env.now
            key = self.key(cmd.array)
            if isinstance(cmd.signs, (int, np.integer)):
                direction = int(np.sign(cmd.signs))
                if not direction:
                    self.stream.emit("write", self.name, start, start, name="sign_pattern", array=key, busy=True, events=2)
                    return
                if not (event := delay(self.env, self.costs.slot_ps)).processed:
                    yield event
                saved = self._keep_dead(array)
                array.pulse_all(direction)
                self._restore_dead(array, saved)
                up, down = (array.size, 0) if direction > 0 else (0, array.size)
                self.stream.emit("write", self.name, start, self.env.now, name="sign_pattern", array=key, busy=True,
                                 events=2, slots=1, pulses=CellPulses(uniform=direction), sample_pulses=(array.size,),
                                 slot_pulses=np.array([array.size]), up_pulses=up, down_pulses=down)
            elif np.asarray(cmd.signs).dtype == bool:
                up_mask = np.asarray(cmd.signs)
                ups = int(np.count_nonzero(up_mask))
                slot_pulses = np.array([n for n in (ups, up_mask.size - ups) if n], dtype=np.int64)
                if not (event := delay(self.env, self.costs.write_ps(slot_pulses.size))).processed:
                    yield event
                saved = self._keep_dead(array)
                array.pulse_up_mask(up_mask)
                self._restore_dead(array, saved)
                self.stream.emit("write", self.name, start, self.env.now, name="sign_pattern", array=key, busy=True,
                                 events=2, slots=slot_pulses.size, pulses=CellPulses(up_mask=up_mask),
                                 sample_pulses=(up_mask.size,), slot_pulses=slot_pulses,
                                 up_pulses=ups, down_pulses=up_mask.size - ups)
            else:
                signs = np.sign(np.asarray(cmd.signs)).astype(np.int64)
                slots = int(np.any(signs > 0)) + int(np.any(signs < 0))
                if slots:
                    if not (event := delay(self.env, self.costs.write_ps(slots))).processed:
                        yield event
                    array.pulse_signs(self._reachable(signs))
                fired = (int(np.count_nonzero(signs > 0)), int(np.count_nonzero(signs < 0)))
                self._written(key, "sign_pattern", start, slots, signs[np.newaxis] if slots else None, 2,
                              np.array([n for n in fired if n], dtype=np.int64) if self.stream.wants_slot_pulses
                              else None)

    def set_weights(self, cmd: SetWeights) -> Done:
        """Idealized programming (no pulses, no time): see `SetWeights`."""
        array = self.array(cmd.array)
        values = np.asarray(cmd.values, dtype=np.float64)
        if values.shape != array.shape:
            raise ValueError(f"set_weights on {self.key(cmd.array)} {array.shape}: values {values.shape}")
        with self.lock.request() as request:
            if not request.processed:
                yield request
            self.age()
            saved = self._keep_dead(array)
            array.set_visible(values)
            self._restore_dead(array, saved)
            self.stream.emit("set", self.name, self.env.now, self.env.now, name="set_weights", array=self.key(cmd.array),
                             events=1, elements=array.size)

    # ---------------------------------------------------------------- reads
    def read(self, cmd: Read) -> SimGenerator:
        with self.lock.request() as request:
            if not request.processed:
                yield request
            self.age()
            weights = self._weights(cmd.array, cmd.minus)
            inputs = np.asarray(cmd.inputs, dtype=np.float32)
            vector = inputs.ndim == 1
            result = self._mvm(weights, inputs, cmd.direction, cmd.one_hot, cmd.perfect, cmd.io)
            yield from self._charge_read(cmd.array, result, inputs.shape[-1])
            return result.values[0] if vector else result.values

    def read_cells(self, cmd: ReadCells) -> SimGenerator:
        """Column-by-column one-hot reads of every cell, `repeats` times, averaged."""
        with self.lock.request() as request:
            if not request.processed:
                yield request
            self.age()
            weights = self._weights(cmd.array, cmd.minus)
            rows, cols = self.shape
            total = np.zeros((rows, cols), dtype=np.float64)
            for _ in range(max(1, cmd.repeats)):
                result = read_every_cell(weights, self.io, self.read_rng)
                total += result.values.T
                yield from self._charge_read(cmd.array, result, cols)
            return total / max(1, cmd.repeats)

    def _weights(self, array: str, minus: str | None) -> np.ndarray:
        weights = self.array(array).visible()
        if minus is not None:
            weights = weights - self.array(minus).visible()
        if self.dead is not None:
            weights = np.where(self.dead, 0.0, weights).astype(weights.dtype)
        return weights

    def _mvm(self, weights: np.ndarray, inputs: np.ndarray, direction: str, one_hot: bool,
             perfect: bool, io: IOParameters | None = None) -> ReadResult:
        io = io or self.io
        io = io.model_copy(update={"is_perfect": True}) if perfect else io
        return analog_mvm(
            weights, inputs, io, self.read_rng,
            transposed=(direction == "backward"),
            allow_bound_management=(direction == "forward" and not one_hot),
            noise_management=not one_hot,
        )

    def _charge_read(self, array: str, result: ReadResult, input_size: int) -> Done:
        start = self.env.now
        outputs = result.values.shape[1]
        integration = self.costs.integration_ps(result.mvm_count)
        if integration:
            if not (event := delay(self.env, integration)).processed:
                yield event
        yield from self.adc_pool.convert(outputs, result.mvm_count, self.costs, self.stream)
        rows, cols = self.shape
        self.stream.emit("read", self.name, start, self.env.now, name="read", array=self.key(array), busy=True,
                         events=2, mvms=result.mvm_count, conversions=result.conversions,
                         dac_inputs=result.mvm_count * input_size, cells=rows * cols)
