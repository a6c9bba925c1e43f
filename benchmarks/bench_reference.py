"""The emulator beside the reference simulator (AIHWKIT), measured in one run, interleaved.

    python benchmarks/bench_reference.py [--quick] [--json PATH]

- **training step** 512×512 (σ 0.3, lr 0.01, BL 31 fixed, batch 1): the program of
  `bench_train.training_step` in this process, and `reference/aihwkit_step.py` (the same
  workload on the reference's AnalogLinear + AnalogSGD) in the reference's Python, one repeat
  each in turn; ms per sample, each side timing its own loop (no process start-up).
- **digits 64-32-10 AGAD** (ReRamSB, cell (0.4, 1.0), batch 10, lr 0.2, 40 epochs): end to end as
  a user runs it (`python -m emulator run scenarios/digits_reramsb_agad.toml` against
  `tests/reference/oracle/train_digits.py --algorithm agad`: process wall time, start-up
  included), and the training loop's samples/s with evaluation excluded (the emulator's from the
  same scenario run in a child process with `Trainer.evaluate` timed and subtracted; the
  reference's as its script reports it).

The reference's Python defaults to /work/venvs/aihwkit/bin/python (or $AIMC_REFERENCE_PYTHON);
without it the script prints the emulator's rows alone.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import tomllib
from pathlib import Path


from _common import (
    REPO, Controller, Row, TrainingStep, fmt_ratio, fmt_time, interleaved, main_single, progress, row,
)

SECTION = "beside the reference"
REFERENCE_PYTHON = Path(os.environ.get("AIMC_REFERENCE_PYTHON", "/work/venvs/aihwkit/bin/python"))
DIGITS = REPO / "scenarios" / "digits_reramsb_agad.toml"
N = 512


def _reference_available() -> bool:
    return REFERENCE_PYTHON.is_file()


def step(repeats: int, samples: int) -> list[Row]:
    workload = TrainingStep.build(samples)

    def emulator() -> float:
        workload.reset()
        ctl = Controller(workload.hardware)
        t = time.perf_counter()
        ctl.run(workload.program)
        return (time.perf_counter() - t) / samples

    def reference() -> float:
        out = subprocess.run([str(REFERENCE_PYTHON), str(REPO / "benchmarks" / "reference" / "aihwkit_step.py"),
                              "--samples", str(samples), "--repeats", "1"],
                             check=True, capture_output=True, text=True)
        return json.loads(out.stdout.strip().splitlines()[-1])["best_ms"] / 1e3

    cases = {"emulator": emulator}
    if _reference_available():
        cases["reference"] = reference
    timings = interleaved(cases, repeats=repeats, warmup=1)
    emu = timings["emulator"]
    data = {k + "_s": v.as_dict() for k, v in timings.items()}
    if "reference" not in timings:
        return [row(SECTION, "512×512 step σ=0.3 lr=0.01 BL31", f"{fmt_time(emu.best)}/sample (best)",
                    "reference not available", note=f"median {fmt_time(emu.median)}", **data)]
    ref = timings["reference"]
    return [row(SECTION, "512×512 step σ=0.3 lr=0.01 BL31", f"{fmt_time(emu.best)}/sample (best), "
                f"median {fmt_time(emu.median)}", f"reference {fmt_time(ref.best)} (best), median {fmt_time(ref.median)}",
                f"{ref.best / emu.best:.2f}× faster", "≥ 4×", ref.best / emu.best >= 4.0,
                note=f"ratio of bests (medians: {ref.median / emu.median:.2f}×); {samples} samples per repeat, "
                     f"{repeats} repeats interleaved", **data)]


def _wall(command: list[str], env: dict[str, str] | None = None) -> tuple[float, str]:
    t = time.perf_counter()
    out = subprocess.run(command, check=True, capture_output=True, text=True, env=env, cwd=REPO)
    return time.perf_counter() - t, out.stdout


def digits(repeats: int, epochs: int) -> list[Row]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out_dir = Path("/tmp") / f"aimc_bench_reference_{os.getpid()}"
    results: dict[str, list[float]] = {"emulator_wall": [], "emulator_loop": [], "reference_wall": [],
                                       "reference_loop": []}

    def emulator_end_to_end() -> float:
        wall, _ = _wall([sys.executable, "-m", "emulator", "run", str(DIGITS), "--out", str(out_dir),
                         "--set", f"program.params.epochs={epochs}"], env)
        results["emulator_wall"].append(wall)
        return wall

    def emulator_loop() -> float:
        _, stdout = _wall([sys.executable, __file__, "--digits-loop", str(epochs)], env)
        rate = json.loads(stdout.strip().splitlines()[-1])["train_samples_per_s"]
        results["emulator_loop"].append(rate)
        return 1.0 / rate

    def reference() -> float:
        wall, stdout = _wall([str(REFERENCE_PYTHON), str(REPO / "tests" / "reference" / "oracle" / "train_digits.py"),
                              "--algorithm", "agad", "--ref-mean", "0.4", "--ref-std", "1.0",
                              "--epochs", str(epochs)])
        results["reference_wall"].append(wall)
        results["reference_loop"].append(json.loads(stdout.strip().splitlines()[-1])["train_samples_per_s"])
        return wall

    cases = {"emulator_end_to_end": emulator_end_to_end, "emulator_loop": emulator_loop}
    if _reference_available():
        cases["reference"] = reference
    interleaved(cases, repeats=repeats, warmup=0)
    e_wall, e_loop = min(results["emulator_wall"]), max(results["emulator_loop"])
    rows = []
    if results["reference_wall"]:
        r_wall, r_loop = min(results["reference_wall"]), max(results["reference_loop"])
        rows.append(row(SECTION, f"digits AGAD training loop ({epochs} epochs)", f"{e_loop:.0f} samples/s (best)",
                        f"reference {r_loop:.0f} samples/s (best)", fmt_ratio(e_loop / r_loop), "≥ 7000 samples/s",
                        e_loop >= 7000.0, note=f"evaluation excluded; emulator {', '.join(f'{v:.0f}' for v in results['emulator_loop'])}, "
                                               f"reference {', '.join(f'{v:.0f}' for v in results['reference_loop'])}",
                        **results))
        rows.append(row(SECTION, f"digits AGAD end to end ({epochs} epochs)", f"{fmt_time(e_wall)} (best)",
                        f"reference {fmt_time(r_wall)} (best)", f"{r_wall / e_wall:.2f}× faster", "≤ 8 s",
                        e_wall <= 8.0, note="process wall incl. start-up; emulator "
                                            f"{', '.join(fmt_time(v) for v in results['emulator_wall'])}, reference "
                                            f"{', '.join(fmt_time(v) for v in results['reference_wall'])}"))
    else:
        rows.append(row(SECTION, f"digits AGAD ({epochs} epochs)", f"loop {e_loop:.0f} samples/s, end to end "
                        f"{fmt_time(e_wall)}", "reference not available", **results))
    return rows


def digits_loop(epochs: int) -> None:
    """Child process: the digits scenario with `Trainer.evaluate` timed; prints the training
    loop's samples/s (run wall − hardware build − evaluation) as JSON."""
    from emulator.algorithms import training
    from emulator.runner import run_scenario
    from emulator.scenario import validate_document

    spent: dict[str, float | None] = {"evaluation": 0.0, "first_step": None, "last_end": None}
    evaluate, train_step = training.Trainer.evaluate, training.Trainer.train_step

    def timed_evaluate(self):
        t = time.perf_counter()
        result = yield from evaluate(self)
        spent["last_end"] = time.perf_counter()
        spent["evaluation"] += spent["last_end"] - t
        return result

    def timed_train_step(self, x, y):
        if spent["first_step"] is None:
            spent["first_step"] = time.perf_counter()
        return (yield from train_step(self, x, y))

    training.Trainer.evaluate, training.Trainer.train_step = timed_evaluate, timed_train_step
    with open(DIGITS, "rb") as handle:
        document = tomllib.load(handle)
    document["program"]["params"]["epochs"] = epochs
    result = run_scenario(validate_document(document))
    first, last, evaluation = spent["first_step"], spent["last_end"], spent["evaluation"]
    assert first is not None and last is not None and evaluation is not None
    train_size = result.program_result["_trainer"].workload.train_size
    loop_s = last - first - evaluation  # first step to the end of the last evaluation, less every evaluation
    print(json.dumps({"train_samples_per_s": epochs * train_size / loop_s, "loop_s": loop_s,
                      "evaluation_s": evaluation, "run_s": result.wall_time_s, "train_size": train_size}))


def run(quick: bool = False) -> list[Row]:
    repeats, samples, epochs = (2, 20, 4) if quick else (3, 60, 40)
    progress(f"{SECTION}: 512×512 training step")
    rows = step(repeats, samples)
    progress(f"{SECTION}: digits {epochs} epochs")
    rows += digits(max(1, repeats - 1) if quick else repeats, epochs)
    return rows


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--digits-loop":
        digits_loop(int(sys.argv[2]))
    else:
        main_single(run, __doc__.splitlines()[0])
