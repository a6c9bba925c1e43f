"""Mini-batch pulse trains on small tiles and a 64-32-10 digits training run, in samples/s.

Pulse trains on the two tiles of the digits network (32×65 and 10×33, ReRamSB cells, batch 10,
x ~ U(0, 1) with a third of the inputs 0, d ~ N(0, 0.05), lr 0.2, BL ≤ 31), per sample:
- kernel:   `plan_pulse_train` + `DeviceArray.pulse_counts` per sample, no events (what the
            emulator wraps);
- emulator: one `PulseTrain` command per batch through `Controller.run` (the untraced path:
            the batch planned and applied in one compiled pass each, one timeout);
- traced:   the same with tracing on (sample by sample, every slot traced).

Digits run: `scenarios/digits_reramsb_agad.toml` cut to a few epochs (70/30 split, 1257
training samples per epoch, test accuracy read after every epoch), training samples per second
of wall time against the reference simulator's ≈ 7000 samples/s (issue 5, same setting).
"""

from __future__ import annotations

import time
import tomllib

import numpy as np

from _common import REPO, Controller, Row, fmt_ratio, fmt_time, interleaved, main_single, progress, row
from devices import DeviceArray, get_preset
from emulator.hardware import Hardware, PulseTrain, TileSpec, UpdateParameters, plan_pulse_train
from emulator.runner import run_scenario
from emulator.scenario import validate_document

SECTION_BATCH = "mini-batch train (small tiles)"
SECTION_DIGITS = "digits 64-32-10 training"
REF_DIGITS_SAMPLES_PER_S = 7000.0
BATCH = 10
LEARNING_RATE = 0.2
DIGITS_TRAIN_SAMPLES = 1257


def _batches(rows: int, cols: int, count: int, seed: int = 4) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [(rng.random((BATCH, cols)) * (rng.random((BATCH, cols)) > 1 / 3), rng.normal(0.0, 0.05, (BATCH, rows)))
            for _ in range(count)]


def minibatch(rows: int, cols: int, repeats: int, batches: int) -> list[Row]:
    device = get_preset("ReRamSB")
    update = UpdateParameters(desired_bl=31)
    inputs = _batches(rows, cols, batches)
    granularity = device.dw_min

    def kernel() -> float:
        array = DeviceArray(device, (rows, cols), seed=1)
        rng = np.random.default_rng(2)
        t = time.perf_counter()
        for xs, ds in inputs:
            for x, d in zip(xs, ds):
                array.pulse_counts(plan_pulse_train(x, d, LEARNING_RATE, granularity, update, rng).counts)
        return (time.perf_counter() - t) / (batches * BATCH)

    def emulator(trace: bool) -> float:
        hardware = Hardware({"t": TileSpec(rows, cols, {"W": device}, update=update)}, seed=1, trace=trace)
        controller = Controller(hardware)

        def program(ctl: Controller):
            for xs, ds in inputs:
                yield PulseTrain("t", "W", xs, ds, LEARNING_RATE)

        t = time.perf_counter()
        controller.run(program)
        return (time.perf_counter() - t) / (batches * BATCH)

    timings = interleaved({"kernel": kernel, "emulator": lambda: emulator(False), "traced": lambda: emulator(True)},
                          repeats)
    k, e, tr = (timings[name].median for name in ("kernel", "emulator", "traced"))
    label = f"{rows}×{cols}, batch {BATCH}"
    return [
        row(SECTION_BATCH, f"{label} kernel", f"{fmt_time(k)}/sample", note="plan + pulse_counts per sample, no events",
            kernel_s=k),
        row(SECTION_BATCH, f"{label} emulator PulseTrain", f"{fmt_time(e)}/sample", f"kernel {fmt_time(k)}",
            fmt_ratio(e / k), "", None, note=f"untraced batch path; spread {timings['emulator'].spread:.0%}",
            emulator_s=e),
        row(SECTION_BATCH, f"{label} traced PulseTrain", f"{fmt_time(tr)}/sample", f"kernel {fmt_time(k)}",
            fmt_ratio(tr / k), "", None, note="sample by sample, every slot traced", traced_s=tr),
    ]


def digits(epochs: int, repeats: int) -> list[Row]:
    path = REPO / "scenarios" / "digits_reramsb_agad.toml"
    if not path.is_file():  # an exported tree without scenarios/
        return [row(SECTION_DIGITS, "AGAD, ReRamSB", "skipped", note=f"{path} not found")]
    with open(path, "rb") as handle:
        document = tomllib.load(handle)
    document["program"]["params"]["epochs"] = epochs
    scenario = validate_document(document)
    run_scenario(validate_document({**document, "program": {**document["program"], "params": {
        **document["program"]["params"], "epochs": 1}}}))  # compile and warm the caches

    def one_run() -> float:
        t = time.perf_counter()
        run_scenario(scenario)
        return time.perf_counter() - t

    timing = interleaved({"run": one_run}, repeats, warmup=0)["run"]
    rate = epochs * DIGITS_TRAIN_SAMPLES / timing.median
    return [row(SECTION_DIGITS, f"AGAD, ReRamSB, {epochs} epochs", f"{rate:.0f} samples/s",
                f"reference {REF_DIGITS_SAMPLES_PER_S:.0f} samples/s", fmt_ratio(rate / REF_DIGITS_SAMPLES_PER_S),
                "≥ 1× (issue 5's reference)", rate >= REF_DIGITS_SAMPLES_PER_S,
                note=f"{fmt_time(timing.median)} per run incl. an evaluation per epoch; spread {timing.spread:.0%}",
                samples_per_s=rate, **timing.as_dict())]


def run(quick: bool = False) -> list[Row]:
    repeats, batches, epochs = (3, 20, 2) if quick else (5, 60, 4)
    rows: list[Row] = []
    for shape in ((32, 65), (10, 33)):
        progress(f"{SECTION_BATCH}: {shape[0]}×{shape[1]}")
        rows += minibatch(*shape, repeats, batches)
    progress(f"{SECTION_DIGITS}: {epochs} epochs")
    rows += digits(epochs, max(1, repeats - 2))
    return rows


if __name__ == "__main__":
    main_single(run, __doc__.splitlines()[0])
