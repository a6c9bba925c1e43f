"""The digits training grid, emulator beside the reference simulator (final test accuracy).

    python tests/reference/digits_grid.py --algorithms ttv2 agad --seeds 6 --jobs 2

runs every (Ref Mean, Ref Std) cell of the 3×3 offset grid for each algorithm, `--seeds` runs per
side, and prints one row per cell: mean ± std of the final test accuracy on each side, their
difference, its standard error, and whether the cell passes the issue's criterion (within 3
points, or within two standard errors where the spread is larger). Reference runs are cached in
`results/reference_grid/` (the oracle is fixed, so a cached run is still a valid sample); emulator
runs are always fresh. Reference runs use seeds 100, 101, … on their own streams: the reference's
tile streams do not follow torch's seed, so runs are compared as distributions, never paired.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import reference_python  # noqa: E402

CELLS = [(m, s) for m in (0.0, 0.2, 0.4) for s in (0.05, 0.4, 1.0)]
SCENARIOS = {"ttv2": "digits_reramsb_ttv2.toml", "agad": "digits_reramsb_agad.toml",
             "erider": "digits_reramsb_erider.toml", "rider": "digits_reramsb_rider.toml",
             "sgd": "digits_reramsb_sgd.toml"}
#: Algorithms the reference simulator has no preset for (emulator side only).
EMULATOR_ONLY = ("erider", "rider")
CACHE = REPO / "results" / "reference_grid"


def offset_overrides(ref_mean: float, ref_std: float, array: str = "P") -> list[str]:
    """--set assignments that put the offset on the fast array of both layer tiles."""
    return [f"hardware.tiles.layer{layer}.arrays.{array}.overrides.{field}={value}"
            for layer in (0, 1) for field, value in (("reference_mean", ref_mean), ("reference_std", ref_std))]


def emulator_run(algorithm: str, ref_mean: float, ref_std: float, seed: int, epochs: int,
                 extra: list[str]) -> dict[str, Any]:
    from emulator.runner import run_scenario
    from emulator.scenario import load_scenario

    array = "W" if algorithm == "sgd" else "P"
    overrides = offset_overrides(ref_mean, ref_std, array) + [f"program.params.epochs={epochs}", *extra]
    started = time.perf_counter()
    run = run_scenario(load_scenario(REPO / "scenarios" / SCENARIOS[algorithm], overrides, seed=seed))
    result = run.summary["result"]
    return {"final_test_accuracy": 100.0 * result["final_test_accuracy"],
            "history": [100.0 * a for a in result["history"]["test_accuracy"]],
            "wall_s": time.perf_counter() - started}


def reference_run(algorithm: str, ref_mean: float, ref_std: float, seed: int, epochs: int) -> dict[str, Any]:
    key = CACHE / f"{algorithm}_{ref_mean}_{ref_std}_{seed}_{epochs}.json"
    if key.exists():
        return json.loads(key.read_text())
    python = reference_python()
    if python is None:
        raise SystemExit("no reference environment: see tests/reference/conftest.py")
    done = subprocess.run([str(python), str(Path(__file__).resolve().parent / "oracle" / "train_digits.py"),
                           "--algorithm", algorithm, "--ref-mean", str(ref_mean), "--ref-std", str(ref_std),
                           "--seed", str(seed), "--epochs", str(epochs)], capture_output=True, text=True, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    CACHE.mkdir(parents=True, exist_ok=True)
    key.write_text(json.dumps(result))
    return result


def verdict(emulator: list[float], reference: list[float]) -> dict[str, float | bool]:
    """Difference of means, its standard error, and the issue's criterion: |Δ| ≤ 3 points, or
    |Δ| ≤ 2 standard errors where the runs spread more than that."""
    difference = statistics.mean(emulator) - statistics.mean(reference)
    error = math.sqrt(statistics.variance(emulator) / len(emulator) + statistics.variance(reference) / len(reference))
    return {"difference": difference, "standard_error": error,
            "ok": abs(difference) <= 3.0 or abs(difference) <= 2.0 * error}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--algorithms", nargs="+", default=["ttv2", "agad"], choices=sorted(SCENARIOS))
    parser.add_argument("--cells", nargs="*", default=None, help="cells as MEAN,STD (default: the 3×3 grid)")
    parser.add_argument("--seeds", type=int, default=6)
    parser.add_argument("--first-seed", type=int, default=0, help="emulator seeds first-seed, first-seed + 1, …")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--set", action="append", default=[], help="extra emulator overrides")
    parser.add_argument("--side", choices=["both", "emulator", "reference"], default="both")
    parser.add_argument("--json", type=Path, default=None, help="also write every run to this file")
    args = parser.parse_args()
    cells = [tuple(float(v) for v in c.split(",")) for c in args.cells] if args.cells else CELLS
    started = time.perf_counter()
    runs: dict[tuple[str, str, float, float], list[Any]] = {}
    with ProcessPoolExecutor(args.jobs) as pool:
        for algorithm in args.algorithms:
            for ref_mean, ref_std in cells:
                if args.side in ("both", "reference") and algorithm not in EMULATOR_ONLY:
                    runs[("reference", algorithm, ref_mean, ref_std)] = [
                        pool.submit(reference_run, algorithm, ref_mean, ref_std, 100 + k, args.epochs)
                        for k in range(args.seeds)]
                if args.side in ("both", "emulator"):
                    runs[("emulator", algorithm, ref_mean, ref_std)] = [
                        pool.submit(emulator_run, algorithm, ref_mean, ref_std, args.first_seed + k, args.epochs, args.set)
                        for k in range(args.seeds)]
        results = {key: [future.result() for future in futures] for key, futures in runs.items()}
    print("| algorithm | (Ref Mean, Ref Std) | emulator | reference | Δ | SE | ok |")
    print("|---|---|---|---|---|---|---|")
    for algorithm in args.algorithms:
        for ref_mean, ref_std in cells:
            sides = {side: [r["final_test_accuracy"] for r in results.get((side, algorithm, ref_mean, ref_std), [])]
                     for side in ("emulator", "reference")}
            text = {side: (f"{statistics.mean(v):.1f} ± {statistics.stdev(v):.1f}" if len(v) > 1 else "–")
                    for side, v in sides.items()}
            row = f"| {algorithm} | ({ref_mean}, {ref_std}) | {text['emulator']} | {text['reference']} |"
            if len(sides["emulator"]) > 1 and len(sides["reference"]) > 1:
                v = verdict(sides["emulator"], sides["reference"])
                row += f" {v['difference']:+.1f} | {v['standard_error']:.1f} | {'yes' if v['ok'] else 'NO'} |"
            else:
                row += " – | – | – |"
            print(row, flush=True)
    print(f"\n{len(args.algorithms)} algorithms × {len(cells)} cells × {args.seeds} seeds per side, "
          f"{time.perf_counter() - started:.0f} s wall time, {args.jobs} jobs")
    if args.json:
        args.json.write_text(json.dumps([{"side": k[0], "algorithm": k[1], "ref_mean": k[2], "ref_std": k[3],
                                          "runs": v} for k, v in results.items()], indent=1))


if __name__ == "__main__":
    main()
