"""Scaling of wall time: with tile size (cells), number of tiles, number of pulses; fitted exponents.

All through the emulator (`Controller.run`, events and counters included), float32 SoftBounds:
- tile size: tile-wide cyclic pulses (σ = 0 and σ = 0.3) and BL-31 `PulseTrain`s (σ = 0.3, BL fixed,
  x and d uniform with k = 12, so ≈3 pulses per cell per train at every size) on 128² … 1024²; wall per operation vs cells, exponent of a log-log fit (target 0.9–1.1), and wall per
  cell-pulse vs cells per event (its exponent should be ≈ 0: time per cell-pulse independent of how
  many cells one event moves). The fit over 256²…1024² is given beside the full range, and the
  bare numpy kernel of the same law (see bench_pulse.py) is fitted beside the emulator: where both
  bend, the cause is the memory hierarchy (working set leaving the caches), not the event machinery;
- tiles: 1, 2, 4 tiles of 512² pulsed together each step with `Parallel` (σ = 0 and σ = 0.3);
- pulses: 1000 … 8000 tile-wide cyclic pulses on 512² (σ = 0), total wall vs pulses.
Medians of interleaved repeats; exponents from numpy.polyfit on log-log data.
"""

from __future__ import annotations

import time

import numpy as np

from _common import (
    Controller, Row, alternating_pulses, build_hardware, cells_label, fmt_time, interleaved, loglog_exponent,
    main_single, progress, row,
)
from bench_pulse import BareKernel

from emulator.hardware import Parallel, PulseTrain, SignPattern, UpdateParameters

SECTION = "scaling"
SIZES = (128, 256, 512, 1024)


def _pulse_timer(hardware, pulses: int):
    def timed() -> float:
        ctl = Controller(hardware)
        t = time.perf_counter()
        ctl.run(alternating_pulses, tile="t0", array="W", pulses=pulses)
        return (time.perf_counter() - t) / pulses
    return timed


def _pulse_count(hardware, seconds: float) -> int:
    probe = Controller(hardware)
    probe.run(alternating_pulses, tile="t0", array="W", pulses=2)
    t = time.perf_counter()
    probe.run(alternating_pulses, tile="t0", array="W", pulses=4)
    per_pulse = max(1e-7, (time.perf_counter() - t) / 4)
    pulses = int(min(20000, max(4, seconds / per_pulse)))
    return pulses + pulses % 2


#: BL fixed at 31 for every size; x, d uniform so that max|x|, max|d| ≈ 1 whatever the size, and
#: k = lr·max|x|·max|d|/dw_min = TRAIN_K: every size gets ≈ TRAIN_K/4 pulses per cell per train.
TRAIN_UPDATE = UpdateParameters(desired_bl=31, update_bl_management=False)
TRAIN_K = 12.0


def _train_timer(hardware, samples: int, seed: int = 2):
    rng = np.random.default_rng(seed)
    n_rows, n_cols = hardware.tile("t0").shape
    array = hardware.tile("t0").array("W")
    start = array.g.copy()
    trains = []
    for _ in range(samples):
        x = rng.uniform(-1, 1, n_cols)
        d = rng.uniform(-1, 1, n_rows)
        trains.append((x, d, TRAIN_K * 1e-3 / (np.max(np.abs(x)) * np.max(np.abs(d)))))
    fired = [0, 0]

    def program(ctl):
        for x, d, lr in trains:
            counts = yield PulseTrain("t0", "W", x, d, lr)
            fired[0] += int(np.abs(counts).sum())
            fired[1] += counts.size

    def timed() -> float:
        array.set_conductance(start)
        ctl = Controller(hardware)
        t = time.perf_counter()
        ctl.run(program)
        return (time.perf_counter() - t) / samples
    timed.fired = fired  # type: ignore[attr-defined]
    return timed


def _bare_timer(kernels: list[BareKernel], sigma: float, pulses: int):
    """The roofline of the same pulses: the bare numpy kernel on every tile's copy, in turn."""
    def timed() -> float:
        t = time.perf_counter()
        for step in range(pulses):
            direction = 1 if step % 2 == 0 else -1
            for kernel in kernels:
                (kernel.pulse_noisy if sigma > 0 else kernel.pulse)(direction)
        return (time.perf_counter() - t) / pulses
    return timed


def size_sweep(kind: str, sigma: float, repeats: int, seconds: float) -> list[Row]:
    per_op: list[float] = []
    bare: list[float] = []
    cells: list[int] = []
    pulses_per_cell: list[float] = []
    for n in SIZES:
        progress(f"{SECTION}: {kind} σ={sigma} {n}²")
        hardware = build_hardware(n, sigma=sigma, update=TRAIN_UPDATE if kind == "train" else None)
        if kind == "pulse":
            pulses = _pulse_count(hardware, seconds)
            timings = interleaved({"t": _pulse_timer(hardware, pulses),
                                   "bare": _bare_timer([BareKernel(hardware.tile("t0").array("W"), sigma)], sigma,
                                                       pulses)}, repeats=repeats, warmup=1)
            per_op.append(timings["t"].median)
            bare.append(timings["bare"].median)
            cells.append(n * n)
            continue
        else:
            estimate = _train_timer(hardware, samples=2)()
            timer = _train_timer(hardware, samples=int(min(200, max(2, seconds / max(estimate, 1e-7)))))
        per_op.append(interleaved({"t": timer}, repeats=repeats, warmup=1)["t"].median)
        cells.append(n * n)
        pulses_per_cell.append(timer.fired[0] / max(1, timer.fired[1]))
    full = loglog_exponent(cells, per_op)
    upper = loglog_exponent(cells[1:], per_op[1:])
    per_cell = [t / c for t, c in zip(per_op, cells)]
    label = "tile-wide pulse" if kind == "pulse" else "PulseTrain BL31"
    series = ", ".join(f"{cells_label(n, n)} {fmt_time(t)}" for n, t in zip(SIZES, per_op))
    per_cell_series = ", ".join(f"{cells_label(n, n)} {p * 1e9:.2f}" for n, p in zip(SIZES, per_cell))
    spread = max(per_cell[1:]) / min(per_cell[1:])
    versus = "exponent 128²…1024² / 256²…1024²"
    bare_note = ""
    if bare:
        bare_full, bare_upper = loglog_exponent(cells, bare), loglog_exponent(cells[1:], bare[1:])
        bare_cell = ", ".join(f"{p / c * 1e9:.2f}" for p, c in zip(bare, cells))
        versus += f" (bare kernel: {bare_full:.2f} / {bare_upper:.2f})"
        bare_note = f"; bare ns/cell {bare_cell}"
    if pulses_per_cell:
        bare_note = "; pulses/cell per train " + ", ".join(f"{p:.2f}" for p in pulses_per_cell)
    return [
        row(SECTION, f"wall vs cells: {label} σ={sigma:g}", series, versus,
            f"{full:.2f} / {upper:.2f}", "0.9–1.1", 0.9 <= upper <= 1.1,
            note="wall per operation", cells=cells, per_op_s=per_op, bare_s=bare, exponent_all=full,
            exponent_256_up=upper),
        row(SECTION, f"per cell-pulse vs cells/event: {label} σ={sigma:g}", f"ns/cell: {per_cell_series}",
            "exponent 128²…1024² / 256²…1024²", f"{full - 1:+.2f} / {upper - 1:+.2f}", "≈0 (independent)",
            abs(upper - 1) <= 0.1, note=f"max/min over 256²…1024²: {spread:.2f}{bare_note}"),
    ]


def tiles_sweep(sigma: float, repeats: int, steps: int, n: int = 512) -> list[Row]:
    per_step: list[float] = []
    bare: list[float] = []
    counts = (1, 2, 4)
    for tiles in counts:
        progress(f"{SECTION}: {tiles} tiles σ={sigma}")
        hardware = build_hardware(n, sigma=sigma, tiles=tiles)

        def program(ctl, tiles=tiles):
            for step in range(steps):
                sign = 1 if step % 2 == 0 else -1
                yield Parallel([SignPattern(f"t{t}", "W", sign) for t in range(tiles)])

        def timed(hardware=hardware, program=program) -> float:
            ctl = Controller(hardware)
            t = time.perf_counter()
            ctl.run(program)
            return (time.perf_counter() - t) / steps

        kernels = [BareKernel(hardware.tile(f"t{t}").array("W"), sigma) for t in range(tiles)]
        timings = interleaved({"t": timed, "bare": _bare_timer(kernels, sigma, steps)}, repeats=repeats, warmup=1)
        per_step.append(timings["t"].median)
        bare.append(timings["bare"].median)
    exponent = loglog_exponent(counts, per_step)
    bare_exponent = loglog_exponent(counts, bare)
    series = ", ".join(f"{c} tile{'s' if c > 1 else ''} {fmt_time(t)}" for c, t in zip(counts, per_step))
    bare_series = ", ".join(fmt_time(t) for t in bare)
    return [row(SECTION, f"wall vs tiles ({cells_label(n, n)}, Parallel) σ={sigma:g}", f"per step: {series}",
                f"exponent (bare kernel: {bare_exponent:.2f})", f"{exponent:.2f}", "0.9–1.1",
                0.9 <= exponent <= 1.1,
                note=f"one process: tiles run one after another in wall time; bare per step {bare_series}",
                tiles=list(counts), per_step_s=per_step, bare_s=bare, exponent=exponent,
                bare_exponent=bare_exponent)]


def pulses_sweep(repeats: int, counts: tuple[int, ...], n: int = 512) -> list[Row]:
    progress(f"{SECTION}: pulses {counts}")
    hardware = build_hardware(n, sigma=0.0)

    def make(pulses: int):
        def timed() -> float:
            ctl = Controller(hardware)
            t = time.perf_counter()
            ctl.run(alternating_pulses, tile="t0", array="W", pulses=pulses)
            return time.perf_counter() - t
        return timed

    timings = interleaved({str(p): make(p) for p in counts}, repeats=repeats, warmup=1)
    walls = [timings[str(p)].median for p in counts]
    exponent = loglog_exponent(counts, walls)
    series = ", ".join(f"{p} {fmt_time(w)}" for p, w in zip(counts, walls))
    return [row(SECTION, f"wall vs pulses ({cells_label(n, n)} σ=0)", series, "exponent", f"{exponent:.2f}",
                "0.9–1.1", 0.9 <= exponent <= 1.1, note="total wall of Controller.run", pulses=list(counts),
                wall_s=walls, exponent=exponent)]


def run(quick: bool = False) -> list[Row]:
    if quick:
        repeats, seconds, tile_steps, pulse_counts = 3, 0.05, 100, (250, 500, 1000, 2000)
    else:
        repeats, seconds, tile_steps, pulse_counts = 5, 0.15, 300, (1000, 2000, 4000, 8000)
    rows: list[Row] = []
    rows += size_sweep("pulse", 0.0, repeats, seconds)
    rows += size_sweep("pulse", 0.3, repeats, seconds)
    rows += size_sweep("train", 0.3, repeats, seconds)
    rows += tiles_sweep(0.0, repeats, tile_steps)
    rows += tiles_sweep(0.3, repeats, max(20, tile_steps // 5))
    rows += pulses_sweep(repeats, pulse_counts)
    return rows


if __name__ == "__main__":
    main_single(run, __doc__.splitlines()[0])
