"""Calibration: 512×512 × 8000-step zero-shifting (ZS), end to end, vs the reference simulator.

Runs the real program `emulator.algorithms.calibration.zero_shift` (8000 tile-wide pulse steps,
then a ReadCells of every cell and the digital reference store) on a float32 SoftBounds tile:
- cyclic, noise-free (dw_min_std 0): target < 2 s end to end; reference 18.6 s (113 M cell-pulses/s);
- cyclic with c2c noise (σ 0.3) and stochastic with c2c noise (σ 0.3, a random up/down mask per step):
  compared with the time their random draws alone take (8000 × cells float32 normals, plus the
  packed-bit masks for stochastic ZS); target within 1.3×.
"End to end" = building the Hardware + `Controller.run` + `recorder.summary()`; "run" = `Controller.run`.
--quick runs the noisy cases for 500 steps and scales to 8000 (marked "est."); the draws-alone
time is measured over at most 2000 steps and scaled to 8000.
"""

from __future__ import annotations

import time

import numpy as np

from _common import (
    REF_ZS_8000_S, REF_ZS_CELL_PULSES_PER_S, Controller, Row, Timing, build_hardware, fmt_rate, fmt_time,
    main_single, progress, row,
)
from emulator.algorithms.calibration import random_up_mask, zero_shift

SECTION = "calibration ZS"
N = 512
STEPS = 8000


def one_run(method: str, sigma: float, steps: int) -> dict:
    t0 = time.perf_counter()
    hardware = build_hardware(N, sigma=sigma)
    t1 = time.perf_counter()
    ctl = Controller(hardware)
    ctl.run(zero_shift, tile="t0", array="W", steps=steps, method=method)
    t2 = time.perf_counter()
    summary = hardware.recorder.summary()
    t3 = time.perf_counter()
    cells = N * N
    return {"build": t1 - t0, "run": t2 - t1, "summary": t3 - t2, "end_to_end": t3 - t0,
            "pulses_ok": summary["total_pulses"] == steps * cells, "events": summary["events"],
            "commands": sum(summary["commands"].values()), "latency_ns": summary["latency_ns"]}


def draws_alone(method: str, steps: int, seed: int = 9) -> float:
    """Seconds to draw what the noisy program draws: a normal per cell per step (+ the ZS masks)."""
    rng = np.random.default_rng(seed)
    buffer = np.empty(N * N, dtype=np.float32)
    t = time.perf_counter()
    for _ in range(steps):
        rng.standard_normal(dtype=np.float32, out=buffer)
        if method == "stochastic":
            random_up_mask(rng, (N, N))
    return time.perf_counter() - t


def case(method: str, sigma: float, steps: int, repeats: int) -> list[Row]:
    scale = STEPS / steps
    label = f"{method} σ={sigma:g} 512²×{STEPS}" + ("" if scale == 1 else f" (est. from {steps})")
    runs: list[dict] = []
    draws = Timing()
    progress(f"{SECTION}: {label}")
    one_run(method, sigma, min(steps, 200))  # warm-up (imports, allocator, caches)
    draw_steps = min(steps, 2000)  # a steady rate: fewer steps suffice, scaled to STEPS
    for _ in range(repeats):
        runs.append(one_run(method, sigma, steps))
        if sigma > 0:
            draws.samples.append(draws_alone(method, draw_steps) * STEPS / draw_steps)
    end_to_end = Timing([r["end_to_end"] * scale for r in runs])
    run_only = Timing([r["run"] * scale for r in runs])
    build = float(np.median([r["build"] for r in runs]))
    cell_pulses = STEPS * N * N
    e2e, run = end_to_end.median, run_only.median
    ok_counts = all(r["pulses_ok"] for r in runs)
    events = runs[0]["events"] / max(1, runs[0]["commands"])
    note = (f"build {fmt_time(build)}, run {fmt_time(run)}; {events:.2f} events/command; "
            f"{'counters ✓' if ok_counts else 'COUNTERS MISMATCH'}; best {fmt_time(end_to_end.best)}, spread {end_to_end.spread:.0%}, n={repeats}")
    data = {"method": method, "sigma": sigma, "steps_measured": steps, "end_to_end_s": end_to_end.as_dict(),
            "run_s": run_only.as_dict(), "build_s": build, "simulated_latency_ns": runs[0]["latency_ns"] * scale}
    rows = []
    if sigma == 0.0:
        rows.append(row(SECTION, label, f"{fmt_time(e2e)} end to end, {fmt_rate(cell_pulses / e2e, 'cell-pulses/s')}",
                        f"ref {REF_ZS_8000_S:.1f} s, {fmt_rate(REF_ZS_CELL_PULSES_PER_S, 'cell-pulses/s')}",
                        f"{REF_ZS_8000_S / e2e:.1f}× faster", "< 2 s", e2e < 2.0 and ok_counts, note=note, **data))
    else:
        d = draws.median
        what = "normals + masks" if method == "stochastic" else "normals"
        rows.append(row(SECTION, label, f"{fmt_time(e2e)} end to end, {fmt_rate(cell_pulses / e2e, 'cell-pulses/s')}",
                        f"ref {REF_ZS_8000_S:.1f} s; draws alone ({what}) {fmt_time(d)}",
                        f"{e2e / d:.2f}× draws", "≤1.30× draws", e2e / d <= 1.3 and ok_counts, note=note,
                        draws_s=draws.as_dict(), **data))
    return rows


def run(quick: bool = False) -> list[Row]:
    rows = case("cyclic", 0.0, STEPS, 3 if quick else 5)
    noisy_steps, noisy_repeats = (500, 2) if quick else (STEPS, 3)
    rows += case("cyclic", 0.3, noisy_steps, noisy_repeats)
    rows += case("stochastic", 0.3, noisy_steps, noisy_repeats)
    return rows


if __name__ == "__main__":
    main_single(run, __doc__.splitlines()[0])
