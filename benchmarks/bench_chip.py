"""A chip-sized workload: `scenarios/chip_pipeline_inference.toml` (512×512 tiles, one per layer, a
shared ADC pool, layers pipelined across tiles), wall time against tiles, inputs and batch size.

Each case is the scenario with its layer count, number of inputs, batch size, ADC pool or schedule
changed, run in this process with `run_scenario` (hardware build, exact programming of the teacher,
the inference, the summary). Rows give the simulated throughput (inputs per simulated second) and
the contention for the shared ADCs (the same run with every tile's own pool of 64) next to the
wall time; the scaling rows fit log wall against log tiles and log inputs (target 0.9–1.1).
"""

from __future__ import annotations

import copy
import time
import tomllib
from typing import Any

import numpy as np

from _common import REPO, Row, fmt_time, loglog_exponent, main_single, progress, row
from emulator.runner import run_scenario
from emulator.scenario import validate_document

SECTION = "chip workload (512² tiles)"
SCENARIO = REPO / "scenarios" / "chip_pipeline_inference.toml"
N = 512


def _document(layers: int, samples: int, batch: int, shared_adcs: int | None, pipelined: bool = True) -> dict[str, Any]:
    with open(SCENARIO, "rb") as handle:
        document = tomllib.load(handle)
    tile = copy.deepcopy(document["hardware"]["tiles"]["layer0"])
    document["hardware"]["tiles"] = {f"layer{i}": copy.deepcopy(tile) for i in range(layers)}
    if shared_adcs is None:
        document["hardware"].pop("shared_adc_count", None)
    else:
        document["hardware"]["shared_adc_count"] = shared_adcs
    params = document["program"]["params"]
    params.update(batch_size=batch, pipelined=pipelined)
    params["workload"].update(hidden=[N] * (layers - 1), test_samples=samples)
    return document


def _run(document: dict[str, Any], repeats: int) -> tuple[float, dict[str, Any], float]:
    """Best wall time of `repeats` runs (run_scenario: hardware build, the teacher's data and exact
    programming, the inference, the summary), the run's result, and the best wall time of the
    inference alone: from the first pipeline tick to the last, by the program's progress calls,
    scaled by ticks / (ticks − 1) for the first tick's share."""
    scenario = validate_document(document)
    best, best_inference, result = float("inf"), float("inf"), {}
    for _ in range(repeats):
        ticks: list[float] = []
        t = time.perf_counter()
        outcome = run_scenario(scenario, progress=lambda done, total: ticks.append(time.perf_counter()))
        best = min(best, time.perf_counter() - t)
        if len(ticks) > 1:
            best_inference = min(best_inference, (ticks[-1] - ticks[0]) * len(ticks) / (len(ticks) - 1))
        result = outcome.summary["result"]
    return best, result, best_inference


def _scaling_rows(what: str, x: list[int], walls: list[float], inference_walls: list[float], unit: str,
                  setting: str) -> list[Row]:
    """Fitted log-log exponents of the inference wall (the target) and of the whole run's wall."""
    rows = []
    for label, values, part in (("inference wall", inference_walls, "first to last pipeline tick"),
                                ("run wall", walls, "run_scenario: build, teacher data, programming, inference, "
                                                    "summary")):
        exponent = loglog_exponent(x, values)
        target = label == "inference wall"
        rows.append(row(SECTION, f"{label} vs {what}", ", ".join(f"{n}: {fmt_time(w)}" for n, w in zip(x, values)),
                        "exponent", f"{exponent:.2f}", "0.9–1.1" if target else "",
                        (0.9 <= exponent <= 1.1) if target else None,
                        note=f"{setting}; {part}; {_linear_note(x, values, unit)}"))
    return rows


def _linear_note(x: list[int], walls: list[float], unit: str) -> str:
    """The least-squares fit wall = fixed + per·x and its largest relative residual."""
    per, fixed = np.polyfit(np.asarray(x, float), np.asarray(walls), 1)
    residual = max(abs(fixed + per * xi - w) / w for xi, w in zip(x, walls))
    return f"linear fit: {1e3 * fixed:+.0f} ms fixed + {fmt_time(per)}/{unit}, largest residual {residual:.0%}"


def run(quick: bool = False) -> list[Row]:
    repeats = 1 if quick else 5
    base_samples = 256 if quick else 2048
    _run(_document(1, 32, 16, 64), 1)  # compile and warm the caches
    rows: list[Row] = []

    progress(f"{SECTION}: tiles")
    tiles = [1, 2, 4] if quick else [1, 2, 4, 8]
    walls, inference_walls = [], []
    for layers in tiles:
        wall, result, inference = _run(_document(layers, base_samples, 16, 64), repeats)
        own, own_result, _ = _run(_document(layers, base_samples, 16, None), 1)
        walls.append(wall)
        inference_walls.append(inference)
        contention = own_result["samples_per_simulated_s"] / result["samples_per_simulated_s"]
        rows.append(row(SECTION, f"{layers} tile(s), {base_samples} inputs, batch 16, 64 shared ADCs",
                        f"wall {fmt_time(wall)}, inference {fmt_time(inference)} "
                        f"({fmt_time(inference / (layers * base_samples))}/input·tile)",
                        f"simulated {result['samples_per_simulated_s'] / 1e6:.2f} M inputs/s",
                        f"contention {contention:.2f}×", "", None,
                        note=f"own pools of 64: {own_result['samples_per_simulated_s'] / 1e6:.2f} M inputs/s, wall "
                             f"{fmt_time(own)}; {result['ticks']} ticks; output RMS error {result['output_rms_error']:.3f} "
                             f"(outputs RMS {result['output_rms']:.3f})",
                        wall_s=wall, result=result, own_pool_result=own_result))
    rows += _scaling_rows("tiles (layers)", tiles, walls, inference_walls, "tile",
                          f"{base_samples} inputs, batch 16, 64 shared ADCs, best of {repeats}")

    progress(f"{SECTION}: inputs")
    counts = [128, 256, 512] if quick else [512, 1024, 2048, 4096, 8192]
    walls, inference_walls = [], []
    for samples in counts:
        wall, result, inference = _run(_document(4, samples, 16, 64), repeats)
        walls.append(wall)
        inference_walls.append(inference)
    rows += _scaling_rows("inputs (4 tiles)", counts, walls, inference_walls, "input",
                          f"batch 16, 64 shared ADCs, best of {repeats}")

    progress(f"{SECTION}: batch size and schedule")
    for batch in (4, 16, 64):
        for pipelined in (True, False):
            wall, result, _ = _run(_document(4, base_samples, batch, 64, pipelined), repeats)
            rows.append(row(SECTION, f"4 tiles, batch {batch}, {'pipelined' if pipelined else 'batch by batch'}",
                            f"wall {fmt_time(wall)}", f"simulated {result['samples_per_simulated_s'] / 1e6:.2f} M inputs/s",
                            "", "", None, note=f"{result['ticks']} ticks; {base_samples} inputs, 64 shared ADCs",
                            wall_s=wall, result=result))
    return rows


if __name__ == "__main__":
    main_single(run, __doc__.splitlines()[0])
