"""Tile-wide pulse: the emulator vs the bare in-place numpy kernel of the same law.

For 256², 512², 1024² float32 SoftBounds tiles, without and with c2c noise (dw_min_std 0 / 0.3):
- emulator: `SignPattern(tile, array, ±1)` commands through `Controller.run` on a `Hardware`
  (SimPy events, tile lock, counters, energy: everything a real run does), alternating up/down;
- device:   `DeviceArray.pulse_all(±1)` called directly (no events, no counters);
- bare:     the roofline, in-place numpy on per-cell float32 arrays of the same law:
            noise-free  g *= b; g += a; minimum(g, b_max); maximum(g, b_min)
            with noise  (SoftBounds' multiplicative c2c, Δ·(1 + σξ))
                        standard_normal(out=ξ); ξ *= σ; ξ += 1; t = slope·g; t += a; t *= ξ; g += t; clip
- draws:    `rng.standard_normal(cells, dtype=float32, out=buffer)` alone.
All per pulse, median over interleaved repeats.
"""

from __future__ import annotations

import time

import numpy as np

from _common import (
    REF_BARE_AFFINE_512_S, REF_NORMALS_PER_S, Controller, Row, alternating_pulses, build_hardware, cells_label,
    fmt_rate, fmt_ratio, fmt_time, interleaved, main_single, progress, row,
)

SECTION = "tile-wide pulse"
SIZES = (256, 512, 1024)
SIGMAS = (0.0, 0.3)


class BareKernel:
    """The same affine law as the array, on its own float32 copies, in place."""

    def __init__(self, array, sigma: float, seed: int = 7) -> None:
        shape = array.shape
        zeros, ones = np.zeros(shape), np.ones(shape)
        # Affine step laws: Δ⁺(g) = a⁺ + c⁺·g, Δ⁻(g) = a⁻ + c⁻·g (magnitude), from the public API.
        up_a = array.delta_up(zeros)
        up_c = array.delta_up(ones) - up_a
        down_a = -array.delta_down(zeros)
        down_c = -(array.delta_down(ones) + down_a)
        prm = array.cell_parameters()
        f32 = np.float32
        self.sigma = f32(sigma)
        self.g = np.ascontiguousarray(array.g, dtype=f32).copy()
        self.lo = prm["b_min"].astype(f32)
        self.hi = prm["b_max"].astype(f32)
        # signed maps: g' = a + b·g with b = 1 + c
        self.a = {+1: up_a.astype(f32), -1: down_a.astype(f32)}
        self.c = {+1: up_c.astype(f32), -1: down_c.astype(f32)}
        self.b = {+1: (1.0 + up_c).astype(f32), -1: (1.0 + down_c).astype(f32)}
        self.rng = np.random.default_rng(seed)
        self.xi = np.empty(shape, dtype=f32)
        self.tmp = np.empty(shape, dtype=f32)

    def pulse(self, direction: int) -> None:
        g = self.g
        g *= self.b[direction]
        g += self.a[direction]
        np.minimum(g, self.hi, out=g)
        np.maximum(g, self.lo, out=g)

    def pulse_noisy(self, direction: int) -> None:
        g, xi, tmp = self.g, self.xi, self.tmp
        self.rng.standard_normal(dtype=np.float32, out=xi)
        xi *= self.sigma
        xi += 1.0
        np.multiply(g, self.c[direction], out=tmp)
        tmp += self.a[direction]
        tmp *= xi
        g += tmp
        np.minimum(g, self.hi, out=g)
        np.maximum(g, self.lo, out=g)

    def draw(self) -> None:
        self.rng.standard_normal(dtype=np.float32, out=self.xi)


def measure(n: int, sigma: float, repeats: int, seconds_per_sample: float) -> dict:
    hardware = build_hardware(n, sigma=sigma)
    tile = hardware.tile("t0")
    array = tile.array("W")
    cells = array.size
    bare = BareKernel(array, sigma)

    # exactness of the roofline: noise-free, the bare kernel reproduces the device's state
    mismatch = float("nan")
    if sigma == 0.0:
        start = array.g.copy()
        bare.g[...] = start
        for step in range(10):
            direction = 1 if step % 2 == 0 else -1
            array.pulse_all(direction)
            bare.pulse(direction)
        mismatch = float(np.max(np.abs(array.g.astype(np.float64) - bare.g)))

    # pulses per timed sample, from a rough estimate of the emulator's cost
    probe = Controller(hardware)
    probe.run(alternating_pulses, tile="t0", array="W", pulses=2)
    t0 = time.perf_counter()
    probe.run(alternating_pulses, tile="t0", array="W", pulses=6)
    estimate = max(1e-7, (time.perf_counter() - t0) / 6)
    pulses = int(min(5000, max(6, seconds_per_sample / estimate)))
    pulses += pulses % 2

    issued = [0]
    recorder = hardware.recorder

    def emulator() -> float:
        ctl = Controller(hardware)
        t = time.perf_counter()
        ctl.run(alternating_pulses, tile="t0", array="W", pulses=pulses)
        elapsed = time.perf_counter() - t
        issued.append(pulses)
        return elapsed / pulses

    def device() -> float:
        t = time.perf_counter()
        for step in range(pulses):
            array.pulse_all(1 if step % 2 == 0 else -1)
        return (time.perf_counter() - t) / pulses

    kernel = bare.pulse_noisy if sigma > 0 else bare.pulse

    def bare_kernel() -> float:
        t = time.perf_counter()
        for step in range(pulses):
            kernel(1 if step % 2 == 0 else -1)
        return (time.perf_counter() - t) / pulses

    def draws() -> float:
        t = time.perf_counter()
        for _ in range(pulses):
            bare.draw()
        return (time.perf_counter() - t) / pulses

    def affine_only() -> float:
        g, a, b = bare.g, bare.a[1], bare.b[1]
        t = time.perf_counter()
        with np.errstate(over="ignore", invalid="ignore"):  # unclipped cells with b > 1 may diverge
            for _ in range(pulses):
                g *= b
                g += a
        elapsed = time.perf_counter() - t
        np.clip(g, bare.lo, bare.hi, out=g)
        return elapsed / pulses

    cases = {"emulator": emulator, "device": device, "bare": bare_kernel}
    if sigma > 0:
        cases["draws"] = draws
    elif n == 512:
        cases["affine"] = affine_only
    events_before = recorder.events
    pulses_before = recorder.total_pulses()
    emulator_pulses_before = sum(issued[1:])
    timings = interleaved(cases, repeats=repeats, warmup=1)
    emulated = sum(issued[1:]) - emulator_pulses_before
    counted = recorder.total_pulses() - pulses_before
    return {
        "n": n, "sigma": sigma, "cells": cells, "dtype": str(array.dtype), "pulses_per_sample": pulses,
        "timings": timings, "bare_mismatch": mismatch,
        "events_per_pulse": (recorder.events - events_before) / max(1, emulated),
        "counters_ok": counted == emulated * cells,
    }


def rows_for(result: dict) -> list[Row]:
    n, sigma, cells = result["n"], result["sigma"], result["cells"]
    t = result["timings"]
    emu, dev, bare = t["emulator"].median, t["device"].median, t["bare"].median
    case = f"{cells_label(n, n)} σ={sigma:g} {result['dtype']}"
    data = {"n": n, "sigma": sigma, "cells": cells, "pulses_per_sample": result["pulses_per_sample"],
            **{f"{k}_s": v.as_dict() for k, v in t.items()}, "events_per_pulse": result["events_per_pulse"]}
    checks = "counters ✓" if result["counters_ok"] else "COUNTERS MISMATCH"
    common = (f"{result['pulses_per_sample']} pulses/sample, {result['events_per_pulse']:.1f} events/pulse, {checks}; "
              f"best emulator {fmt_time(t['emulator'].best)}, bare {fmt_time(t['bare'].best)}")
    out: list[Row] = []
    if sigma == 0.0:
        target = "≤1.50×" if n == 512 else "(≤1.50× at 512²)"
        out.append(row(SECTION, case + " emulator", f"{fmt_time(emu)}/pulse, {fmt_rate(cells / emu, 'cell-pulses/s')}",
                       f"bare {fmt_time(bare)}", fmt_ratio(emu / bare), target,
                       emu / bare <= 1.5 if n == 512 else None, note=common, **data))
        out.append(row(SECTION, case + " device only", f"{fmt_time(dev)}/pulse (pulse_all)", f"bare {fmt_time(bare)}",
                       fmt_ratio(dev / bare), "", None,
                       note=f"bare kernel reproduces device g to {result['bare_mismatch']:.1e}"))
        if "affine" in t:
            affine = t["affine"].median
            out.append(row(SECTION, case + " bare a+b·g only", f"{fmt_time(affine)} (no clip)",
                           f"issue: {fmt_time(REF_BARE_AFFINE_512_S)}", fmt_ratio(affine / REF_BARE_AFFINE_512_S), "",
                           None, note="reconciles the issue's 45 µs figure (it has no clip)"))
    else:
        draw = t["draws"].median
        out.append(row(SECTION, case + " emulator", f"{fmt_time(emu)}/pulse, {fmt_rate(cells / emu, 'cell-pulses/s')}",
                       f"bare {fmt_time(bare)}", fmt_ratio(emu / bare), "", None, note=common, **data))
        out.append(row(SECTION, case + " emulator vs draws", f"{fmt_time(emu)}/pulse",
                       f"draws alone {fmt_time(draw)}", fmt_ratio(emu / draw), "≤1.30× (ZS target)", emu / draw <= 1.3))
        out.append(row(SECTION, case + " device only", f"{fmt_time(dev)}/pulse (pulse_all)", f"bare {fmt_time(bare)}",
                       fmt_ratio(dev / bare), "", None))
        out.append(row(SECTION, case + " bare vs draws", f"bare {fmt_time(bare)}", f"draws alone {fmt_time(draw)}",
                       fmt_ratio(bare / draw), "", None, note="what noise costs on top of the draws"))
        out.append(row(SECTION, f"{cells_label(n, n)} random draws alone",
                       f"{fmt_time(draw)}, {fmt_rate(cells / draw, 'normals/s')}",
                       f"issue: {fmt_rate(REF_NORMALS_PER_S, 'normals/s')}",
                       fmt_ratio(draw / (cells / REF_NORMALS_PER_S)), "", None,
                       note="standard_normal(float32, out=buffer)"))
    if not result["counters_ok"]:
        out[0].ok = "NO"
    return out


def run(quick: bool = False) -> list[Row]:
    repeats, seconds = (3, 0.06) if quick else (7, 0.2)
    rows: list[Row] = []
    for sigma in SIGMAS:
        for n in SIZES:
            progress(f"{SECTION}: {n}² σ={sigma}")
            rows += rows_for(measure(n, sigma, repeats, seconds))
    return rows


if __name__ == "__main__":
    main_single(run, __doc__.splitlines()[0])
