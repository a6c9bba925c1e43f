"""Events per simulated operation, and the fixed wall cost of one command.

For every command type, a program issues it many times on an 8×8 tile (so the numpy work is
negligible and what remains is the event machinery: SimPy, the tile lock, the ADC pool,
counters, costs) and the same on a 512² tile (a handful of times) to check that the number of
events does not depend on the tile size. Reported per command:
- recorder events (`recorder.events` / commands, the emulator's own count);
- SimPy events (env.step calls really processed, counted by wrapping env.step; 0 where a lone
  program skips them, emulator/hardware/environment.py);
- wall µs per command on 8×8 (the per-command overhead a large tile amortizes) and per SimPy event.
Event counts are differences between a run of 2·k and one of k commands; wall is a median of 3.
"""

from __future__ import annotations

import statistics
import time
from typing import Callable

import numpy as np

from _common import Controller, Row, build_hardware, fmt_time, main_single, progress, row, simpy_step_counter
from emulator.hardware import (
    Digital, Parallel, PulseCounts, PulseTrain, Read, ReadCells, SignPattern, UpdateParameters, Wait,
)

SECTION = "events per operation"


def command_factories(n: int, seed: int = 4) -> dict[str, Callable[[int], object]]:
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, n)
    d = 0.3 * rng.standard_normal(n)
    xb = rng.uniform(-1, 1, (8, n))
    db = 0.3 * rng.standard_normal((8, n))
    mask = rng.random((n, n)) < 0.5
    signs = rng.integers(-1, 2, (n, n)).astype(np.int8)
    counts = rng.integers(-3, 4, (n, n))
    lr = 0.01
    return {
        "SignPattern ±1 (tile-wide)": lambda i: SignPattern("t0", "W", 1 if i % 2 == 0 else -1),
        "SignPattern bool mask": lambda i: SignPattern("t0", "W", mask),
        "SignPattern int signs": lambda i: SignPattern("t0", "W", signs),
        "PulseCounts": lambda i: PulseCounts("t0", "W", counts if i % 2 == 0 else -counts),
        "PulseTrain 1 sample": lambda i: PulseTrain("t0", "W", x, d if i % 2 == 0 else -d, lr),
        "PulseTrain batch 8": lambda i: PulseTrain("t0", "W", xb, db if i % 2 == 0 else -db, lr),
        "Read forward": lambda i: Read("t0", "W", x, "forward"),
        "Read backward": lambda i: Read("t0", "W", d, "backward"),
        "Read forward batch 8": lambda i: Read("t0", "W", xb, "forward"),
        "ReadCells": lambda i: ReadCells("t0", "W"),
        "Digital": lambda i: Digital(n * n, "ema"),
        "Wait": lambda i: Wait(10.0),
        "Parallel 2×SignPattern": lambda i: Parallel([SignPattern(f"t{t}", "W", 1 if i % 2 == 0 else -1)
                                                       for t in range(2)]),
    }


def measure(n: int, name: str, count: int, repeats: int = 3) -> dict:
    """Event counts per command as the difference of a run of 2·count and one of count commands
    (the fixed events of starting and ending a program drop out); wall per command as the median
    over `repeats` runs (the fixed cost of a run is negligible against `count` commands)."""
    hardware = build_hardware(n, sigma=0.3, tiles=2, update=UpdateParameters())
    factory = command_factories(n)[name]
    steps = simpy_step_counter(hardware)
    recorder = hardware.recorder

    def program(ctl, count):
        for i in range(count):
            yield factory(i)

    Controller(hardware).run(program, count=2)  # warm-up

    def one(count: int) -> tuple[int, int, int, float]:
        before = (recorder.events, steps[0], sum(recorder.commands.values()))
        ctl = Controller(hardware)
        t = time.perf_counter()
        ctl.run(program, count=count)
        wall = time.perf_counter() - t
        return (recorder.events - before[0], steps[0] - before[1], sum(recorder.commands.values()) - before[2], wall)

    short, long = one(count), one(2 * count)
    walls = [long[3] / (2 * count)] + [one(count)[3] / count for _ in range(repeats - 1)]
    return {"events": (long[0] - short[0]) / count, "simpy_events": (long[1] - short[1]) / count,
            "commands": (long[2] - short[2]) / count, "wall": statistics.median(walls)}


def run(quick: bool = False) -> list[Row]:
    count_small, count_large = (300, 3) if quick else (2000, 6)
    rows: list[Row] = []
    progress(SECTION)
    for name in command_factories(8):
        small = measure(8, name, count_small if "ReadCells" not in name else count_small // 4)
        large = measure(512, name, count_large, repeats=1)
        same = abs(small["events"] - large["events"]) < 1e-9 and abs(small["simpy_events"] - large["simpy_events"]) < 1e-9
        per_event = (f"{fmt_time(small['wall'] / small['simpy_events'])}/SimPy event" if small["simpy_events"]
                     else "no SimPy event: a lone program skips them, emulator/hardware/environment.py")
        rows.append(row(
            SECTION, name,
            f"{small['events']:.2f} recorder / {small['simpy_events']:.2f} SimPy events per command",
            f"{fmt_time(small['wall'])}/command on 8×8 ({per_event})", "", "",
            None,
            note=("same on 512²" if same else
                  f"512²: {large['events']:.2f} recorder / {large['simpy_events']:.2f} SimPy events"),
            events_per_command=small["events"], simpy_events_per_command=small["simpy_events"],
            overhead_s=small["wall"], events_512=large["events"], simpy_events_512=large["simpy_events"],
            commands_per_issued=small["commands"]))
    return rows


if __name__ == "__main__":
    main_single(run, __doc__.splitlines()[0])
