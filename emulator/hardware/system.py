"""The emulated chip: tiles on one SimPy environment, a cost model, a recorder and seeds."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
import simpy

from devices import DeviceArray, DriftConfig, DriftProcess, PulsedDeviceConfig
from emulator.hardware.aging import TemperatureSchedule
from emulator.hardware.costs import HardwareCosts
from emulator.hardware.environment import HardwareEnvironment
from emulator.hardware.operations import OperationStream
from emulator.hardware.streams import RunStreams
from emulator.hardware.pulse_trains import UpdateParameters
from emulator.hardware.read_path import IOParameters
from emulator.hardware.tile import ADCPool, Tile
from emulator.hardware.recorder import Recorder
from emulator.hardware.tracing import Tracer
from emulator.units import ns_to_ps, ps_to_ns


@dataclass
class TileSpec:
    """What to build for one tile: its shape and a device config per named array."""

    rows: int
    cols: int
    arrays: dict[str, PulsedDeviceConfig]
    io: IOParameters = field(default_factory=IOParameters)
    update: UpdateParameters = field(default_factory=UpdateParameters)
    dead_rows: tuple[int, ...] = ()
    """Fault: broken row lines (no pulse reaches them, reads see no current)."""
    dead_cols: tuple[int, ...] = ()
    """Fault: broken column lines."""
    drift: Mapping[str, DriftConfig] = field(default_factory=dict)
    """Drift of some arrays in simulated time (array name → its drift); those keep a float64 state."""
    temperature: TemperatureSchedule | None = None
    """The operating point over time, for arrays whose drift is temperature-sensitive."""


@dataclass(frozen=True)
class HardwareSpec:
    """What to build: tiles, the cost model, a shared ADC pool, the slow-process clock."""

    tiles: Mapping[str, TileSpec]
    costs: HardwareCosts = field(default_factory=HardwareCosts)
    shared_adc_count: int | None = None
    slow_process_step_ns: float | None = None


def _drift_processes(spec: TileSpec, arrays: Mapping[str, DeviceArray],
                     tile_seed: np.random.SeedSequence) -> dict[str, DriftProcess]:
    """The drift processes of a tile's drifting arrays, each on its own child of the tile's seed
    (spawned after the arrays' and the tile's own, so those stay what they were without drift)."""
    unknown = sorted(set(spec.drift) - set(arrays))
    if unknown:
        raise ValueError(f"drift given for arrays {unknown} the tile does not have (has {sorted(arrays)})")
    if not spec.drift:
        return {}
    seeds = tile_seed.spawn(len(spec.drift))
    return {name: DriftProcess(arrays[name], config, seed) for (name, config), seed in zip(spec.drift.items(), seeds)}


class Hardware:
    """Tiles, cost model and recorder on one environment; every random stream from one seed.

    Its random streams are the named children of the seed (`RunStreams`): one per tile (then per
    array, pulse trains, reads), one for the controller and one for ground truth.
    """

    def __init__(
        self,
        tiles: dict[str, TileSpec],
        costs: HardwareCosts | None = None,
        seed: int | np.random.SeedSequence | None = 0,
        trace: bool = False,
        shared_adc_count: int | None = None,
        slow_process_step_ns: float | None = None,
    ) -> None:
        """`slow_process_step_ns`: run the devices' slow processes (decay, diffusion) in simulated
        time, one step per this many ns, applied lazily at each access of a tile; None keeps the
        reference simulator's clock (one step per `SlowProcessStep` command, i.e. per mini-batch)."""
        self.env = HardwareEnvironment()
        self.costs = costs or HardwareCosts()
        self.stream = OperationStream()
        self.recorder = Recorder(self.costs)
        self.recorder.env = self.env
        self.stream.subscribe(self.recorder)
        self.tracer: Tracer | None = None
        if trace:
            self.tracer = Tracer()
            self.stream.subscribe(self.tracer)
        self.streams = RunStreams.of(seed, tiles)
        self.seed_sequence = self.streams.root
        self.controller_seed = self.streams.controller
        shared_pool = ADCPool(self.env, shared_adc_count, "shared.adc") if shared_adc_count else None
        step_ps = ns_to_ps(slow_process_step_ns) if slow_process_step_ns else None
        self.tiles: dict[str, Tile] = {}
        for name, spec in tiles.items():
            tile_seed = self.streams.tiles[name]
            array_seeds = tile_seed.spawn(len(spec.arrays) + 1)
            arrays = {
                array_name: DeviceArray(config, (spec.rows, spec.cols), seed=array_seed,
                                        dtype=np.float64 if array_name in spec.drift else None)
                for (array_name, config), array_seed in zip(spec.arrays.items(), array_seeds)
            }
            for array_name, array in arrays.items():
                self.recorder.register_array(f"{name}/{array_name}", array.shape)
            self.tiles[name] = Tile(self.env, name, arrays, self.costs, spec.io, spec.update,
                                    self.stream, array_seeds[-1], adc_pool=shared_pool,
                                    dead_rows=spec.dead_rows, dead_cols=spec.dead_cols,
                                    slow_process_step_ps=step_ps, drift=_drift_processes(spec, arrays, tile_seed),
                                    temperature=spec.temperature)

    def tile(self, name: str) -> Tile:
        try:
            return self.tiles[name]
        except KeyError:
            raise KeyError(f"no tile {name!r} (tiles: {sorted(self.tiles)})") from None

    def fault_report(self) -> dict[str, dict[str, int]]:
        """Damage per tile: dead lines and cells, stuck cells per array."""
        report = {}
        for name, tile in self.tiles.items():
            entry = {"dead_rows": len(tile.dead_rows), "dead_cols": len(tile.dead_cols),
                     "dead_cells": int(tile.dead.sum()) if tile.dead is not None else 0}
            for array_name, array in tile.arrays.items():
                entry[f"stuck_cells.{array_name}"] = int(array.stuck.sum())
            report[name] = entry
        return report

    @property
    def now_ns(self) -> float:
        return ps_to_ns(self.env.now)
