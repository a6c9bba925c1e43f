"""Print the tables of docs/budgets.md: what the bounds certify on the presets beside what the
emulation reaches, and how far the prediction of non-affine laws (linearized at each cell's SP)
is from their emulation.

    python scenarios/budget_tables.py presets    [--size 256] [--pulses 4]   (about 2 minutes)
    python scenarios/budget_tables.py nonaffine  [--size 128]                (about 1 minute)

`presets`: every preset with symmetric points, stochastic and cyclic ZS from the construction
state, emulated for min(pulses/Δw_min, 20000) steps on a size×size tile (perfect reads); the
instance bound and the paper's worst-case bound on the iterate's RMS distance to the SP at that
step, beside the emulated one. `nonaffine`: PowStep (γ 0.5 and 2) and the ReRamES and PCM presets
(ExpStep), stochastic ZS from the construction state and from w = −0.5: predicted and emulated
mean and RMS of g − w⋄ at log-spaced steps.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from devices import DeviceArray, PowStepConfig, get_preset, preset_names  # noqa: E402
from emulator.budget import BudgetRefused, BudgetRequest, run_budget  # noqa: E402
from emulator.hardware import IOParameters  # noqa: E402
from emulator.prediction import ZeroShiftPredictor  # noqa: E402

PERFECT = IOParameters(is_perfect=True)


def presets(size: int, pulses: float) -> None:
    print("| preset | method | pulses | emulated RMS | instance bound | ratio | worst-case floor |")
    print("|---|---|---|---|---|---|---|")
    for name in preset_names():
        device = get_preset(name)
        steps = int(min(20000, pulses / device.dw_min)) // 2 * 2
        for method in ("stochastic", "cyclic"):
            request = BudgetRequest(name, device, size, size, 1e-9, "rms", method, max_pulses=steps, io=PERFECT,
                                    seed=1)
            try:
                result = run_budget(request)
            except BudgetRefused:
                print(f"| {name} | — | — | refused: no symmetric point | | | |")
                break
            at = result["instance_at_budget"] if result.get("instance_valid") else {}
            floor = result["theory_error_floor"]
            print(f"| {name} | {method} | {result['pulses_per_cell']} | {at.get('emulated_iterate_rms_error', math.nan):.4g} "
                  f"| {at.get('iterate_rms_error', math.nan):.4g} | {at.get('ratio_to_emulated', math.nan):.2f} "
                  f"| {floor if floor is None else f'{floor:.3g}'} |", flush=True)


def nonaffine(size: int) -> None:
    cases = {"PowStep γ=0.5": PowStepConfig(dw_min=0.004, pow_gamma=0.5, w_max=1, w_min=-1, up_down=0.2),
             "PowStep γ=2": PowStepConfig(dw_min=0.004, pow_gamma=2.0, w_max=1, w_min=-1, up_down=0.2),
             "ReRamES": get_preset("ReRamES"), "PCM": get_preset("PCM")}
    print("| device | start | pulses | mean e: emulated / predicted | RMS e: emulated / predicted |")
    print("|---|---|---|---|---|")
    for name, device in cases.items():
        for start in ("as built", "w = −0.5"):
            array = DeviceArray(device, (size, size), seed=2)
            if start != "as built":
                array.set_visible(-0.5)
            predictor = ZeroShiftPredictor(array, "stochastic", PERFECT)
            rng = np.random.default_rng(1)
            total = int(6 / device.dw_min)
            marks = sorted({int(n) for n in np.geomspace(1, total, 5)})
            for step in range(1, total + 1):
                array.pulse_up_mask(rng.random(array.shape) < 0.5)
                if step in marks:
                    error = array.g.astype(np.float64).reshape(-1) - predictor.sp
                    mean, variance = predictor.iterate(step)
                    print(f"| {name} | {start} | {step} | {error.mean():+.4f} / {mean.mean():+.4f} "
                          f"| {math.sqrt((error ** 2).mean()):.4f} / {math.sqrt((mean ** 2 + variance).mean()):.4f} |",
                          flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("table", choices=["presets", "nonaffine"])
    parser.add_argument("--size", type=int, default=None)
    parser.add_argument("--pulses", type=float, default=4.0, help="presets: steps as a multiple of 1/dw_min")
    args = parser.parse_args()
    if args.table == "presets":
        presets(args.size or 256, args.pulses)
    else:
        nonaffine(args.size or 128)


if __name__ == "__main__":
    main()
