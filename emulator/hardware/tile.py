"""Crossbar tile: named device arrays behind one SimPy resource, plus its ADC pool.

Each operation is a SimPy generator: it takes the tile (one operation at a time), holds it
for the time the cost model gives, applies its effect as one vectorized numpy operation
and records counts and energy. Events per operation: a few, independent of the cell count;
pulse trains take one event per slot.
"""

from __future__ import annotations

import math
from typing import Generator

import numpy as np
import simpy

from devices import DeviceArray
from emulator.hardware.commands import PulseCounts, PulseTrain, Read, ReadCells, SetWeights, SignPattern, WrittenCounts
from emulator.hardware.costs import HardwareCosts
from emulator.hardware.pulse_trains import UpdateParameters, plan_pulse_train, plan_stochastic_trains
from emulator.hardware.read_path import IOParameters, ReadResult, analog_mvm, read_every_cell
from emulator.hardware.resources import ObservedResource
from emulator.recorder import Recorder

SimGenerator = Generator[simpy.Event, object, object]


class ADCPool:
    """A pool of ADCs; a read's conversions run on up to all of them, in rounds."""

    def __init__(self, env: simpy.Environment, count: int, name: str) -> None:
        self.env = env
        self.count = count
        self.name = name
        self.container = simpy.Container(env, capacity=count, init=count)

    def convert(self, conversions_per_mvm: int, mvms: int, conversion_ps: int,
                recorder: Recorder) -> SimGenerator:
        """Run `mvms` batches of `conversions_per_mvm` conversions; returns the time taken."""
        if mvms == 0 or conversions_per_mvm == 0:
            return 0
        units = min(self.count, conversions_per_mvm)
        yield self.container.get(units)
        rounds = math.ceil(conversions_per_mvm / units) * mvms
        duration = rounds * conversion_ps
        start = self.env.now
        yield self.env.timeout(duration)
        yield self.container.put(units)
        recorder.events += 3
        recorder.add_busy(self.name, duration)
        recorder.trace(self.name, "convert", start, self.env.now, conversions=conversions_per_mvm * mvms)
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
        recorder: Recorder,
        seed: np.random.SeedSequence,
        adc_pool: ADCPool | None = None,
        dead_rows: tuple[int, ...] = (),
        dead_cols: tuple[int, ...] = (),
        slow_process_step_ps: int | None = None,
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
        self.recorder = recorder
        train_seed, read_seed = seed.spawn(2)
        self.train_rng = np.random.default_rng(train_seed)
        self.read_rng = np.random.default_rng(read_seed)
        self.lock = ObservedResource(env, capacity=1)
        self._train_counts = np.zeros(self.shape, dtype=np.int32)  # reused by every pulse train
        rows, cols = self.shape
        self.adc_pool = adc_pool or ADCPool(env, costs.adc_count(rows, cols), f"{name}.adc")
        for array_name, array in arrays.items():
            recorder.register_array(self.key(array_name), array.shape)
        # Slow processes in simulated time: applied lazily from the time elapsed since the last access.
        self.slow_process_step_ps = slow_process_step_ps
        self._aged_ps = 0
        self._aging = [array for array in arrays.values()
                       if array.config.lifetime > 0 or array.config.diffusion > 0] if slow_process_step_ps else []
        # Fault: broken row/column lines. Pulses sent there change nothing; reads see no current.
        self.dead_rows = tuple(sorted(set(dead_rows)))
        self.dead_cols = tuple(sorted(set(dead_cols)))
        self.dead: np.ndarray | None = None
        if self.dead_rows or self.dead_cols:
            self.dead = np.zeros(self.shape, dtype=bool)
            self.dead[list(self.dead_rows), :] = True
            self.dead[:, list(self.dead_cols)] = True

    def _apply_counts(self, array: DeviceArray, counts: np.ndarray) -> None:
        """Pulse counts on the cells the drivers reach."""
        array.pulse_counts(counts if self.dead is None else np.where(self.dead, 0, counts))

    def _keep_dead(self, array: DeviceArray) -> np.ndarray | None:
        return None if self.dead is None else array.g[self.dead].copy()

    def _restore_dead(self, array: DeviceArray, saved: np.ndarray | None) -> None:
        if saved is not None and self.dead is not None:
            array.g[self.dead] = saved

    def age(self) -> None:
        """Bring the slow processes of this tile's arrays up to now (simulated-time clock only)."""
        if self._aging and self.env.now > self._aged_ps:
            steps = (self.env.now - self._aged_ps) / self.slow_process_step_ps
            for array in self._aging:
                array.apply_slow_processes(steps)
            self._aged_ps = self.env.now

    def slow_process_step(self, steps: float) -> None:
        """Per-mini-batch slow processes (the reference simulator's clock); a no-op on the time clock."""
        if self.slow_process_step_ps is None:
            for array in self.arrays.values():
                array.apply_slow_processes(steps)

    def key(self, array: str) -> str:
        return f"{self.name}/{array}"

    def array(self, name: str) -> DeviceArray:
        try:
            return self.arrays[name]
        except KeyError:
            raise KeyError(f"tile {self.name!r} has no array {name!r} (has {sorted(self.arrays)})") from None

    # ---------------------------------------------------------------- writes
    def pulse_train(self, cmd: PulseTrain) -> SimGenerator:
        """One stochastic update per sample (rows of x and d), applied one after another.

        The tile is held for BL slots per sample. Untraced stochastic batches take one timeout
        for all their slots (`_stochastic_batch`); otherwise each sample's train is one timeout
        and, when tracing, every slot is traced. Returns `WrittenCounts`: the signed counts
        (their per-cell sum for a batch) with the exact up and down totals.
        """
        array = self.array(cmd.array)
        params = cmd.update or self.update
        granularity = cmd.granularity if cmd.granularity is not None else array.config.dw_min
        xs = np.atleast_2d(np.asarray(cmd.x, dtype=np.float64))
        ds = np.atleast_2d(np.asarray(cmd.d, dtype=np.float64))
        if xs.shape[0] != ds.shape[0] or xs.shape[1] != array.shape[1] or ds.shape[1] != array.shape[0]:
            raise ValueError(f"pulse train on {self.key(cmd.array)} {array.shape}: x {xs.shape} and d {ds.shape} "
                             "must be (samples × cols) and (samples × rows)")
        slot_ps = self.costs.slot_ps
        key = self.key(cmd.array)
        total: np.ndarray | None = None
        fired = np.zeros(2, dtype=np.int64)  # up, down over every sample
        with self.lock.request() as request:
            yield request
            self.age()
            if params.pulse_type == "stochastic" and not self.recorder.tracing:
                total, fired = yield from self._stochastic_batch(array, cmd, xs, ds, granularity, params)
                return WrittenCounts.of(total, *fired)
            for x, d in zip(xs, ds):
                start = self.env.now
                if params.pulse_type == "none":
                    yield self.env.timeout(slot_ps)
                    delta = -cmd.learning_rate * np.outer(d, x)
                    array.apply_delta(delta if self.dead is None else np.where(self.dead, 0.0, delta))
                    self.recorder.events += 1
                    self._finish_write(cmd.array, start, 1, None)
                    total = np.zeros(array.shape, np.int32) if total is None else total
                    continue
                plan = plan_pulse_train(x, d, cmd.learning_rate, granularity, params, self.train_rng,
                                        counts_out=self._train_counts)
                if plan.bl:
                    yield self.env.timeout(plan.bl * slot_ps)
                    self._apply_counts(array, plan.counts)
                    self.recorder.events += 1
                    if self.recorder.tracing:
                        for slot, pulses in enumerate(plan.slot_pulses):
                            self.recorder.trace(key, "slot", start + slot * slot_ps, start + (slot + 1) * slot_ps,
                                                pulses=int(pulses))
                fired += self._finish_write(cmd.array, start, plan.bl, plan.counts)
                if total is None:
                    total = plan.counts.copy()
                else:
                    total += plan.counts
            self.recorder.events += 1
        return WrittenCounts.of(total if total is not None else np.zeros(array.shape, np.int32), *fired)

    def _stochastic_batch(self, array: DeviceArray, cmd: PulseTrain, xs: np.ndarray, ds: np.ndarray,
                          granularity: float, params: UpdateParameters) -> SimGenerator:
        """A batch's stochastic trains without traces: planned and applied in one pass each, the
        tile held for all their slots in one timeout. The same pulses, draws, counts, energy and
        busy time as the sample-by-sample path (which traces each slot)."""
        counts, slots = plan_stochastic_trains(xs, ds, cmd.learning_rate, granularity, params, self.train_rng)
        start = self.env.now
        if slots.any():
            yield self.env.timeout(int(slots.sum()) * self.costs.slot_ps)
            array.pulse_counts_batch(counts if self.dead is None else np.where(self.dead, 0, counts))
        key = self.key(cmd.array)
        fired = self.recorder.count_pulse_batch(key, counts)
        for pulses in fired.sum(axis=1).tolist():
            self.recorder.add_energy("write_pulses", pulses * self.costs.pulse_energy_pj)
        self.recorder.slots[key] += int(slots.sum())
        self.recorder.add_busy(self.name, self.env.now - start)
        self.recorder.events += int(np.count_nonzero(slots)) + 1
        return (counts[0] if len(counts) == 1 else counts.sum(axis=0, dtype=np.int32)), fired.sum(axis=0)

    def pulse_counts(self, cmd: PulseCounts) -> SimGenerator:
        array = self.array(cmd.array)
        counts = np.asarray(cmd.counts)
        if counts.shape != array.shape:
            raise ValueError(f"counts shape {counts.shape} != array shape {array.shape}")
        with self.lock.request() as request:
            yield request
            self.age()
            start = self.env.now
            slots = self.costs.count_slots(counts)
            if slots:
                yield self.env.timeout(slots * self.costs.slot_ps)
                self._apply_counts(array, counts)
            self.recorder.events += 2
            self._finish_write(cmd.array, start, slots, counts)

    def sign_pattern(self, cmd: SignPattern) -> SimGenerator:
        array = self.array(cmd.array)
        with self.lock.request() as request:
            yield request
            self.age()
            start = self.env.now
            key = self.key(cmd.array)
            pulses: int | None = None
            if isinstance(cmd.signs, (int, np.integer)):
                direction = int(np.sign(cmd.signs))
                slots = 1 if direction else 0
                if slots:
                    yield self.env.timeout(self.costs.slot_ps)
                    saved = self._keep_dead(array)
                    array.pulse_all(direction)
                    self._restore_dead(array, saved)
                    self.recorder.count_uniform_pulse(key, direction)
                    pulses = array.size
            elif np.asarray(cmd.signs).dtype == bool:
                up_mask = np.asarray(cmd.signs)
                slots = int(bool(up_mask.any())) + int(not bool(up_mask.all()))
                yield self.env.timeout(slots * self.costs.slot_ps)
                saved = self._keep_dead(array)
                array.pulse_up_mask(up_mask)
                self._restore_dead(array, saved)
                pulses = sum(self.recorder.count_up_mask(key, up_mask))
            else:
                signs = np.asarray(cmd.signs)
                has_up, has_down = bool(np.any(signs > 0)), bool(np.any(signs < 0))
                slots = int(has_up) + int(has_down)
                if slots:
                    yield self.env.timeout(slots * self.costs.slot_ps)
                    array.pulse_signs(signs if self.dead is None else np.where(self.dead, 0, signs))
                    pulses = sum(self.recorder.count_pulses(key, np.sign(signs).astype(np.int64)))
            self.recorder.events += 2
            self._book_write(key, start, slots, pulses, "sign_pattern")

    def _finish_write(self, array_name: str, start: int, slots: int, counts: np.ndarray | None) -> tuple[int, int]:
        """Count the pulses of a finished write (none for a floating-point update) and book it;
        returns the (up, down) pulses fired."""
        key = self.key(array_name)
        fired = self.recorder.count_pulses(key, counts) if counts is not None else (0, 0)
        self._book_write(key, start, slots, sum(fired) if counts is not None else None, "write")
        return fired

    def _book_write(self, key: str, start: int, slots: int, pulses: int | None, name: str) -> None:
        """Energy, slots, busy time and trace of a finished write (pulses already counted;
        None when nothing was counted)."""
        if pulses is not None:
            self.recorder.add_energy("write_pulses", pulses * self.costs.pulse_energy_pj)
        self.recorder.slots[key] += slots
        self.recorder.add_busy(self.name, self.env.now - start)
        self.recorder.trace(key, name, start, self.env.now, slots=slots)

    # ---------------------------------------------------------------- reads
    def set_weights(self, cmd: SetWeights) -> SimGenerator:
        """Idealized programming (no pulses, no time): see `SetWeights`."""
        array = self.array(cmd.array)
        values = np.asarray(cmd.values, dtype=np.float64)
        if values.shape != array.shape:
            raise ValueError(f"set_weights on {self.key(cmd.array)} {array.shape}: values {values.shape}")
        with self.lock.request() as request:
            yield request
            self.age()
            saved = self._keep_dead(array)
            array.set_visible(values)
            self._restore_dead(array, saved)
            self.recorder.ideal_writes[self.key(cmd.array)] += array.size
            self.recorder.events += 1

    def read(self, cmd: Read) -> SimGenerator:
        with self.lock.request() as request:
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

    def _charge_read(self, array: str, result: ReadResult, input_size: int) -> SimGenerator:
        start = self.env.now
        outputs = result.values.shape[1]
        integration = result.mvm_count * self.costs.mvm_ps
        if integration:
            yield self.env.timeout(integration)
        yield from self.adc_pool.convert(outputs, result.mvm_count, self.costs.adc_conversion_ps, self.recorder)
        dac = result.mvm_count * input_size
        rows, cols = self.shape
        self.recorder.count_read(self.key(array), result.mvm_count, result.conversions, dac)
        self.recorder.add_energy("mvm", result.mvm_count * rows * cols * self.costs.mvm_energy_per_cell_fj / 1000.0)
        self.recorder.add_energy("adc", result.conversions * self.costs.adc_energy_fj / 1000.0)
        self.recorder.add_energy("dac", dac * self.costs.dac_energy_fj / 1000.0)
        self.recorder.events += 2
        self.recorder.add_busy(self.name, self.env.now - start)
        self.recorder.trace(self.key(array), "read", start, self.env.now, mvms=result.mvm_count)
