"""Stochastic pulse-train update (BL 31) and a 512×512 training step, in samples/s and cells/s.

Pulse train (512², SoftBounds, c2c σ = 0.3 and σ = 0):
- plan:     `plan_pulse_train` (row/column firing draws, signed coincidence counts by popcount);
- apply:    `DeviceArray.pulse_counts(plan.counts)` (the device applying the coincidences);
- emulator: a `PulseTrain` command through `Controller.run` (plan + apply + events + counters).
x ~ U(−1, 1), d ~ N(0, 1), learning rate chosen so that k = lr·max|x|·max|d|/dw_min = 31: the
train has BL = 31 slots and update management does not saturate.

Training step (512×512, c2c σ = 0.3, one sample per step): forward `Read` of x, error
d = y − teacher·x, backward `Read` of d, `PulseTrain` (BL fixed at 31: desired_bl 31,
update_bl_management off), everything recorded. lr = 0.01 (primary: ≈2.7 pulses per cell
per sample, an early-training error size) and lr = 0.001 (≈10× fewer pulses) to show how the
cost follows the number of coincidences. The device state is restored before every
repeat so each repeat sees the same errors. Reference: the established C++ simulator, 10.5 ms
per sample on this machine (issue 8); target ≥ 2× faster, aim 4×.
"""

from __future__ import annotations

import time

import numpy as np

from _common import (
    REF_TRAIN_STEP_S, Controller, Row, TrainingStep, build_hardware, fmt_rate, fmt_ratio, fmt_time, interleaved, main_single,
    progress, row,
)
from emulator.hardware import PulseTrain, Read, UpdateParameters, plan_pulse_train


SECTION_TRAIN = "pulse train BL31"
SECTION_STEP = "training step"
N = 512
DW_MIN = 1e-3  # SoftBounds default, the train's granularity


def _train_inputs(n: int, count: int, seed: int = 3) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """(x, d, lr) triples with k = 31 exactly (BL 31 without saturation)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        x = rng.uniform(-1.0, 1.0, n)
        d = rng.standard_normal(n)
        lr = 31 * DW_MIN / (np.max(np.abs(x)) * np.max(np.abs(d)))
        out.append((x, d, float(lr)))
    return out


def pulse_train(sigma: float, repeats: int, samples: int) -> list[Row]:
    hardware = build_hardware(N, sigma=sigma)
    array = hardware.tile("t0").array("W")
    params = UpdateParameters()
    inputs = _train_inputs(N, samples)
    plan_rng = np.random.default_rng(5)
    plans = [plan_pulse_train(x, d, lr, DW_MIN, params, plan_rng) for x, d, lr in inputs]
    assert all(p.bl == 31 for p in plans), [p.bl for p in plans]
    fired = float(np.mean([np.abs(p.counts).sum() for p in plans]))
    max_count = float(np.mean([np.abs(p.counts).max() for p in plans]))
    active = float(np.mean([np.count_nonzero(p.counts) for p in plans])) / array.size
    start_state = array.g.copy()

    def plan() -> float:
        t = time.perf_counter()
        for x, d, lr in inputs:
            plan_pulse_train(x, d, lr, DW_MIN, params, plan_rng)
        return (time.perf_counter() - t) / samples

    def apply() -> float:
        array.set_conductance(start_state)
        t = time.perf_counter()
        for p in plans:
            array.pulse_counts(p.counts)
        return (time.perf_counter() - t) / samples

    def program(ctl):
        for x, d, lr in inputs:
            yield PulseTrain("t0", "W", x, d, lr)

    def emulator() -> float:
        array.set_conductance(start_state)
        ctl = Controller(hardware)
        t = time.perf_counter()
        ctl.run(program)
        return (time.perf_counter() - t) / samples

    cases = {"plan": plan, "apply": apply, "emulator": emulator}
    timings = interleaved(cases, repeats=repeats, warmup=1)
    cells = array.size
    p, a, e = timings["plan"].median, timings["apply"].median, timings["emulator"].median
    case = f"512² σ={sigma:g}"
    note = (f"{fired / cells:.2f} pulses/cell, {100 * active:.0f}% cells hit, max run {max_count:.0f}; "
            f"best {fmt_time(timings['apply'].best)}")
    data = {k + "_s": v.as_dict() for k, v in timings.items()}
    out = [
        row(SECTION_TRAIN, case + " plan", f"{fmt_time(p)}/sample, {fmt_rate(1 / p, 'samples/s')}",
            f"{fmt_rate(cells / p, 'cells/s')}", "", "", None,
            note=f"plan_pulse_train; best {fmt_time(timings['plan'].best)}, spread {timings['plan'].spread:.0%}",
            **data),
        row(SECTION_TRAIN, case + " apply", f"{fmt_time(a)}/sample, {fmt_rate(1 / a, 'samples/s')}",
            f"{fmt_rate(cells / a, 'cells/s')}, {fmt_rate(fired / a, 'cell-pulses/s')}", "", "", None, note=note),
        row(SECTION_TRAIN, case + " emulator PulseTrain", f"{fmt_time(e)}/sample, {fmt_rate(1 / e, 'samples/s')}",
            f"{fmt_rate(cells / e, 'cells/s')}; plan+apply {fmt_time(p + a)}", fmt_ratio(e / (p + a)), "", None,
            note=f"ratio: emulator / (plan + apply); best {fmt_time(timings['emulator'].best)}"),
    ]
    return out


def training_step(repeats: int, samples: int, lr: float, sigma: float = 0.3, primary: bool = True) -> list[Row]:
    workload = TrainingStep.build(samples, lr, sigma, N)
    hardware, xs, targets, step_program = workload.hardware, workload.xs, workload.targets, workload.program

    def reads_program(ctl):
        for x, target in zip(xs, targets):
            y = yield Read("t0", "W", x, "forward")
            yield Read("t0", "W", y - target, "backward")

    recorder = hardware.recorder
    tally = {"events": 0, "commands": 0, "pulses": 0, "runs": 0}

    def run(program) -> float:
        workload.reset()
        ctl = Controller(hardware)
        events, commands, pulses = recorder.events, sum(recorder.commands.values()), recorder.total_pulses()
        t = time.perf_counter()
        ctl.run(program)
        elapsed = time.perf_counter() - t
        if program is step_program:
            tally["events"] += recorder.events - events
            tally["commands"] += sum(recorder.commands.values()) - commands
            tally["pulses"] += recorder.total_pulses() - pulses
            tally["runs"] += 1
        return elapsed / samples

    timings = interleaved({"step": lambda: run(step_program), "reads": lambda: run(reads_program)},
                          repeats=repeats, warmup=1)
    step, reads = timings["step"].median, timings["reads"].median
    cells = workload.start_state.size
    runs = max(1, tally["runs"])
    pulses_per_cell = tally["pulses"] / (runs * samples * cells)
    speedup = REF_TRAIN_STEP_S / step
    data = {k + "_s": v.as_dict() for k, v in timings.items()}
    return [
        row(SECTION_STEP, f"512×512 σ={sigma:g} fwd+bwd+BL31 lr={lr:g}",
            f"{fmt_time(step)}/sample, {fmt_rate(1 / step, 'samples/s')}, {fmt_rate(cells / step, 'cells/s')}",
            f"ref {fmt_time(REF_TRAIN_STEP_S)}/sample", f"{speedup:.2f}× faster",
            "≥2× (aim 4×)" if primary else "(sensitivity)", speedup >= 2.0 if primary else None,
            note=f"{tally['events'] / (runs * samples):.0f} events/sample, {pulses_per_cell:.2f} pulses/cell/sample, "
                 f"best {fmt_time(timings['step'].best)}, spread {timings['step'].spread:.0%}",
            lr=lr, pulses_per_cell_per_sample=pulses_per_cell, **data),
        row(SECTION_STEP, "  of which fwd+bwd reads", f"{fmt_time(reads)}/sample",
            f"update ≈ {fmt_time(step - reads)}/sample", f"{reads / step:.0%} of step", "", None,
            note="same program without the PulseTrain"),
    ]


def run(quick: bool = False) -> list[Row]:
    repeats, train_samples, step_samples = (3, 8, 20) if quick else (5, 16, 60)
    rows: list[Row] = []
    for sigma in (0.3, 0.0):
        progress(f"{SECTION_TRAIN}: σ={sigma}")
        rows += pulse_train(sigma, repeats, train_samples)
    progress(f"{SECTION_STEP}: lr 0.01")
    rows += training_step(repeats, step_samples, lr=0.01)
    progress(f"{SECTION_STEP}: lr 0.001")
    rows += training_step(repeats, step_samples, lr=0.001, primary=False)
    return rows


if __name__ == "__main__":
    main_single(run, __doc__.splitlines()[0])
