"""Calibration budgets (issue 14): `aimc budget` with emulation against one calibration's pulses,
and the predicted budget at the paper's finest Δw_min, on 512×512.

- emulated: `aimc budget` (in-process, `--json`) on the reference's tile — SoftBoundsReference,
  Δw_min 1e-3, up_down 0.4, bounds ±1, no d2d, cyclic ZS from w = −0.5 — beside the time the same
  N cyclic pulses take through the devices API alone (`DeviceArray.pulse_all` on a 512² array of
  that device, N from the budget): target ≤ 1.5×. Beside them, in the same interleaved rounds,
  `--predict-only` on the same tile: the predictor against the emulation (ratio of wall times).
  Median of the repeats.
- predicted: `aimc budget --predict-only` for Δw_min 1.6e-6 on 512² (the SPEC §5 SoftBounds
  device, up_down 0.2, no d2d): wall time of the command in-process (target ≤ 2 s), and of a
  fresh `python -m emulator` process (imports included) as a note.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Callable

from _common import REPO, Row, Timing, fmt_ratio, fmt_time, interleaved, main_single, progress, row
from click.testing import CliRunner

from devices import DeviceArray, SoftBoundsReferenceConfig
from emulator.cli import main

SECTION = "budget"
REFERENCE = "SoftBoundsReference:dw_min=1e-3,up_down=0.4,w_max=1,w_min=-1,dw_min_dtod=0,up_down_dtod=0," \
            "w_max_dtod=0,w_min_dtod=0"
FINEST = "SoftBounds:dw_min=1.6e-6,w_max=1,w_min=-1,up_down=0.2,dw_min_dtod=0,up_down_dtod=0,w_max_dtod=0,w_min_dtod=0"


def budget(*args: str) -> tuple[float, dict]:
    start = time.perf_counter()
    result = CliRunner().invoke(main, ["budget", *args, "--json"], catch_exceptions=False)
    elapsed = time.perf_counter() - start
    return elapsed, json.loads(result.stdout)


def pulses_alone(steps: int) -> float:
    """Seconds for `steps` cyclic ZS pulses on a fresh 512² array of the reference device."""
    device = SoftBoundsReferenceConfig(dw_min=1e-3, up_down=0.4, w_max=1, w_min=-1, dw_min_dtod=0, up_down_dtod=0,
                                       w_max_dtod=0, w_min_dtod=0)
    array = DeviceArray(device, (512, 512), seed=0)
    start = time.perf_counter()
    for step in range(steps):
        array.pulse_all(1 if step % 2 == 0 else -1)
    return time.perf_counter() - start


def emulated(repeats: int) -> list[Row]:
    progress(f"{SECTION}: aimc budget 512² with emulation vs its pulses alone")
    _, first = budget("--device", REFERENCE, "--method", "cyclic", "--w-init", "-0.5")
    steps = first["pulses_per_cell"]
    results: list[dict] = []
    cpu: dict[str, Timing] = {"budget": Timing(), "pulses": Timing()}

    def with_cpu(name: str, case: Callable[[], float]) -> Callable[[], float]:
        """The case's wall time, its process CPU time kept aside (fairer on a loaded machine)."""
        def timed() -> float:
            started = time.process_time()
            elapsed = case()
            cpu[name].samples.append(time.process_time() - started)
            return elapsed
        return timed

    predictions: list[dict] = []

    def run_budget() -> float:
        elapsed, data = budget("--device", REFERENCE, "--method", "cyclic", "--w-init", "-0.5")
        results.append(data)
        return elapsed

    def run_prediction() -> float:
        elapsed, data = budget("--device", REFERENCE, "--method", "cyclic", "--w-init", "-0.5", "--predict-only")
        predictions.append(data)
        return elapsed

    timings = interleaved({"budget": with_cpu("budget", run_budget),
                           "pulses": with_cpu("pulses", lambda: pulses_alone(steps)), "predict": run_prediction},
                          repeats, warmup=0)
    cpu_ratio = cpu["budget"].median / cpu["pulses"].median
    ratio = timings["budget"].median / timings["pulses"].median
    speedup = timings["budget"].median / timings["predict"].median
    agreement = results[-1]["agreement"]
    note = (f"N = {steps} emulated, {results[-1]['predicted']['pulses_per_cell']} predicted; "
            f"max |z| mean {agreement['max_abs_z_mean_error']:.2f}, mean square {agreement['max_abs_z_mean_square']:.2f}; "
            f"process CPU {fmt_time(cpu['budget'].median)} vs {fmt_time(cpu['pulses'].median)}, "
            f"{fmt_ratio(cpu_ratio)}; spread {timings['budget'].spread:.0%} / {timings['pulses'].spread:.0%}, "
            f"n={repeats}")
    return [row(SECTION, "512² Δw 1e-3 cyclic, emulated", f"{fmt_time(timings['budget'].median)}",
                f"{steps} pulses alone {fmt_time(timings['pulses'].median)}", fmt_ratio(ratio), "≤ 1.5×",
                ratio <= 1.5, note=note, budget_s=timings["budget"].as_dict(), pulses_s=timings["pulses"].as_dict(),
                budget_cpu_s=cpu["budget"].as_dict(), pulses_cpu_s=cpu["pulses"].as_dict(), steps=steps),
            row(SECTION, "512² Δw 1e-3 cyclic, predict-only", fmt_time(timings["predict"].median),
                f"emulated {fmt_time(timings['budget'].median)}", f"{speedup:.1f}× faster", note=(
                    f"same N predicted ({predictions[-1]['pulses_per_cell']}), priced by one period of the real "
                    f"program; spread {timings['predict'].spread:.0%}, n={repeats}"),
                predict_s=timings["predict"].as_dict())]


def predicted(repeats: int) -> list[Row]:
    progress(f"{SECTION}: aimc budget --predict-only, Δw 1.6e-6 on 512²")
    budget("--device", FINEST, "--predict-only", "--perfect-reads")  # warm-up (compiled kernels, imports)
    timing, cpu, data = Timing(), Timing(), {}
    for _ in range(repeats):
        started = time.process_time()
        elapsed, data = budget("--device", FINEST, "--predict-only", "--perfect-reads")
        timing.samples.append(elapsed)
        cpu.samples.append(time.process_time() - started)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "emulator", "budget", "--device", FINEST, "--predict-only", "--perfect-reads",
                    "--json"], cwd=REPO, capture_output=True, check=True)
    process = time.perf_counter() - start
    note = (f"N = {data['pulses_per_cell']} (± {data['predicted']['pulses_spread']:.3g}); process CPU time "
            f"{fmt_time(cpu.median)} (wall above it: waiting for a core); a fresh process with imports "
            f"{fmt_time(process)}; spread {timing.spread:.0%}, n={repeats}")
    return [row(SECTION, "512² Δw 1.6e-6, predict-only", fmt_time(timing.median), "", "", "≤ 2 s",
                timing.median <= 2.0, note=note, predict_s=timing.as_dict(), cpu_s=cpu.as_dict(), process_s=process,
                pulses=data["pulses_per_cell"])]


def run(quick: bool = False) -> list[Row]:
    return emulated(1 if quick else 3) + predicted(2 if quick else 5)


if __name__ == "__main__":
    main_single(run, __doc__.splitlines()[0])
