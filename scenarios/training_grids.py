"""Run the training grids of issue 5 and print their tables (mean ± std over seeds, wall time).

    python scenarios/training_grids.py digits      [--out results/grids/digits] [--jobs 2] [--seeds 3]
    python scenarios/training_grids.py hfo2        [--out results/grids/hfo2] [--seeds 3]
    python scenarios/training_grids.py toy         [--out results/grids/toy]
    python scenarios/training_grids.py pulse-cost  [--out results/grids/pulse_cost]
    python scenarios/training_grids.py hfo2-authors [--seeds 5 --jobs 1]   # the [DSPT] authors' settings
    python scenarios/training_grids.py authors-literal | digits-authors | pulse-cost-authors | realizations

Each grid point is one `aimc run` of a scenario file in this folder with `--set` overrides
and a seed (the exact command is printed with `--dry-run`); every run writes summary.json and
metrics.csv under OUT/runs/<label>/seed<k>/. Finished runs are skipped when re-run
(resumable); wall times go to OUT/timing.json and the table to OUT/table.md.

`aimc sweep` runs the same grids (tie the two layer tiles' offsets with `a.b+c.d=...`, see
docs/training.md); this script adds per-run wall times and prints the mean ± std tables.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


@dataclass
class GridRun:
    """One scenario run: a label (table cell), the scenario file, overrides and a seed."""

    group: str
    """Row of the table (e.g. the cell or setting)."""
    column: str
    """Column of the table (e.g. the algorithm)."""
    scenario: str
    overrides: list[str] = field(default_factory=list)
    seed: int = 0

    @property
    def folder(self) -> str:
        label = f"{self.group}__{self.column}".replace(", ", "_").replace(" ", "")
        safe = "".join(char if char.isalnum() or char in "._-" else "-" for char in label)
        return f"{safe}/seed{self.seed}"

    def command(self, out: Path) -> str:
        sets = " ".join(f"--set {item}" for item in self.overrides)
        return f"aimc run {self.scenario} --seed {self.seed} {sets} --out {out / 'runs' / self.folder}"


def both_tiles(array: str, field_name: str, value: Any, tiles: tuple[str, ...] = ("layer0", "layer1")) -> list[str]:
    return [f"hardware.tiles.{tile}.arrays.{array}.overrides.{field_name}={value}" for tile in tiles]


def seeded_runs(group: str, column: str, scenario: str, overrides: list[str], seeds: int,
                epochs: int | None) -> list[GridRun]:
    """One run per seed of a grid point (plus the epochs override when one is given)."""
    if epochs is not None:
        overrides = overrides + [f"program.params.epochs={epochs}"]
    return [GridRun(group, column, scenario, overrides, seed) for seed in range(seeds)]


DIAGONAL = ((0.0, 0.05), (0.2, 0.4), (0.4, 1.0))


def offset_grid(prefix: str, algorithms: dict[str, str], seeds: int, epochs: int | None,
                diagonal_only: tuple[str, ...] = (), arrays: tuple[str, ...] = ("P",),
                extra: dict[str, list[str]] | None = None) -> list[GridRun]:
    """Ref Mean ∈ {0, 0.2, 0.4} × Ref Std ∈ {0.05, 0.4, 1.0} of both layers' `arrays` (the fast
    array; the authors' runs: P and W), one column per algorithm (scenario
    `scenarios/{prefix}_{key}.toml`, plus the column's `extra` overrides); the algorithms named in
    `diagonal_only` run on the diagonal cells only."""
    runs = []
    for mean in (0.0, 0.2, 0.4):
        for std in (0.05, 0.4, 1.0):
            for name, key in algorithms.items():
                if name in diagonal_only and (mean, std) not in DIAGONAL:
                    continue
                overrides = [item for array in arrays for item in
                             both_tiles(array, "reference_mean", mean) + both_tiles(array, "reference_std", std)]
                overrides += (extra or {}).get(name, [])
                runs += seeded_runs(f"({mean}, {std})", name, f"scenarios/{prefix}_{key}.toml", overrides, seeds, epochs)
    return runs


def digits_grid(seeds: int, epochs: int | None) -> list[GridRun]:
    """Ref Mean × Ref Std: TT-v2, AGAD, E-RIDER (+ RIDER on the diagonal), ReRamSB."""
    return offset_grid("digits_reramsb", {"TT-v2": "ttv2", "AGAD": "agad", "E-RIDER": "erider", "RIDER": "rider"},
                       seeds, epochs, diagonal_only=("RIDER",))


def hfo2_grid(seeds: int, epochs: int | None) -> list[GridRun]:
    """[DSPT] Tables 1–2 with the HfO2 fast array: Ref Mean × Ref Std, TT-v2 vs AGAD vs E-RIDER."""
    return offset_grid("digits_hfo2", {"TT-v2": "ttv2", "AGAD": "agad", "E-RIDER": "erider"}, seeds, epochs)


#: The [DSPT] authors ran 50 MNIST epochs (3,000,000 samples); the digits runs see 40 × 1,257 =
#: 50,280, K ≈ 60 times fewer. At their values the DynamicTransfer thresholds (auto_granularity
#: 1000: samples per W step at unit signal) are never crossed and TT-v2's P (fast_lr 0.01) gets
#: about two pulses per cell, so the laptop-budget grids scale those settings by K and keep the rest.
SAMPLE_BUDGET_RATIO = 60.0
LAPTOP_BUDGET = {
    "AGAD": [f"program.params.auto_granularity={1000.0 / SAMPLE_BUDGET_RATIO:.0f}"],
    "E-RIDER": [f"program.params.auto_granularity={1000.0 / SAMPLE_BUDGET_RATIO:.0f}"],
    "TT-v2 (fast_lr × K)": [f"program.params.fast_lr={0.01 * SAMPLE_BUDGET_RATIO:g}"],
}
AUTHORS = {"TT-v2": "ttv2", "TT-v2 (fast_lr × K)": "ttv2", "AGAD": "agad", "E-RIDER": "erider"}


def hfo2_authors_grid(seeds: int, epochs: int | None) -> list[GridRun]:
    """[DSPT] Tables 1–2 in the authors' settings and realization (HfO2 for P and W, offset on both)
    at the laptop budget: their values with `LAPTOP_BUDGET` applied; TT-v2 also at its own values."""
    return offset_grid("digits_authors_hfo2", AUTHORS, seeds, epochs, arrays=("P", "W"), extra=LAPTOP_BUDGET)


def digits_authors_grid(seeds: int, epochs: int | None) -> list[GridRun]:
    """The same on ReRamSB (diagonal cells): one column per mini-batch caps W's movement."""
    algorithms = {name: key for name, key in AUTHORS.items() if name != "TT-v2 (fast_lr × K)"}
    return offset_grid("digits_authors_reramsb", algorithms, seeds, epochs, diagonal_only=tuple(algorithms),
                       arrays=("P", "W"), extra=LAPTOP_BUDGET)


def realizations_grid(seeds: int, epochs: int | None) -> list[GridRun]:
    """E-RIDER of `hfo2_authors_grid` (diagonal) in the "paper" realization: γ·c·(P − Q̃) read live,
    against an analog Q̃ programmed at flips (HfO2 arrays `Qt`, the cell's offset on all three
    arrays) or a digital one."""
    budget = LAPTOP_BUDGET["E-RIDER"] + ["program.params.realization=paper"]
    analog = [f"hardware.tiles.{tile}.arrays.Qt.preset=ReRamArrayHfO2" for tile in ("layer0", "layer1")]
    name = "paper, analog Q̃"
    runs = offset_grid("digits_authors_hfo2", {name: "erider"}, seeds, epochs, diagonal_only=(name,),
                       arrays=("P", "W", "Qt"), extra={name: budget + analog})
    name = "paper, digital Q̃"
    return runs + offset_grid("digits_authors_hfo2", {name: "erider"}, seeds, epochs, diagonal_only=(name,),
                              arrays=("P", "W"), extra={name: budget + ["program.params.qtilde=digital"]})


def authors_literal_grid(seeds: int, epochs: int | None) -> list[GridRun]:
    """The authors' values exactly (no budget scaling), HfO2, diagonal cells."""
    algorithms = {"TT-v2": "ttv2", "AGAD": "agad", "E-RIDER": "erider"}
    return offset_grid("digits_authors_hfo2", algorithms, seeds, epochs, diagonal_only=tuple(algorithms),
                       arrays=("P", "W"))


def toy_grid(seeds: int, epochs: int | None) -> list[GridRun]:
    """[W25] toy: SP offset c_Lin ∈ {0, 0.1, 0.2, 0.3} of the fast array; TT-v1, residual (ZS), RIDER, E-RIDER."""
    runs = []
    algorithms = {"TT-v1": "ttv1", "ZS + residual": "residual", "RIDER": "rider", "E-RIDER": "erider"}
    for offset in (0.0, 0.1, 0.2, 0.3):
        for name, key in algorithms.items():
            arrays = ("P", "Qt") if key == "erider" else ("P",)
            overrides = [item for array in arrays for item in both_tiles(array, "symmetric_point", offset, ("layer0",))]
            overrides = [item.replace(".overrides.", ".device.") for item in overrides]
            runs += seeded_runs(f"c_Lin = {offset}", name, f"scenarios/lsq_toy_{key}.toml", overrides, seeds, epochs)
    return runs


def pulse_cost_grid(seeds: int, epochs: int | None, erider: str = "erider") -> list[GridRun]:
    """[DSPT] Fig. 4 left: pulses (training + calibration) to a target loss vs number of states."""
    runs = []
    for states in (100, 300, 1000, 3000):
        for name, key in {"E-RIDER": erider, "ZS + TT-v2": "zs_ttv2"}.items():
            arrays = ("W", "P") + (("Qt",) if key == "erider" else ())
            overrides = [f"hardware.tiles.layer0.arrays.{array}.device.states={states}" for array in arrays]
            if key == "zs_ttv2":
                overrides.append(f"program.params.zs_steps={2 * states}")
            runs += seeded_runs(f"{states} states", name, f"scenarios/pulse_cost_{key}.toml", overrides, seeds, epochs)
    return runs


def pulse_cost_authors_grid(seeds: int, epochs: int | None) -> list[GridRun]:
    """Fig. 4 left with E-RIDER in the authors' settings (pulse_cost_erider_authors.toml)."""
    return pulse_cost_grid(seeds, epochs, erider="erider_authors")


GRIDS = {"digits": digits_grid, "hfo2": hfo2_grid, "toy": toy_grid, "pulse-cost": pulse_cost_grid,
         "hfo2-authors": hfo2_authors_grid, "digits-authors": digits_authors_grid,
         "authors-literal": authors_literal_grid, "pulse-cost-authors": pulse_cost_authors_grid,
         "realizations": realizations_grid}
ACCURACY = {"digits": "mean_test_accuracy", "hfo2": "mean_test_accuracy", "hfo2-authors": "final_test_accuracy",
            "digits-authors": "final_test_accuracy", "authors-literal": "final_test_accuracy",
            "realizations": "final_test_accuracy"}
"""The accuracy a digits grid reports (the authors' grids: the final one, as their tables)."""


def execute(run: GridRun, out: str) -> tuple[str, float]:
    """Worker: run one grid point into its folder; returns (folder, wall seconds)."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    sys.path.insert(0, str(HERE.parent))
    from emulator.runner import run_to_directory
    from emulator.scenario import load_scenario

    scenario = load_scenario(HERE.parent / run.scenario, run.overrides, seed=run.seed)
    started = time.perf_counter()
    run_to_directory(scenario, Path(out) / "runs" / run.folder)
    return run.folder, time.perf_counter() - started


def run_pending(runs: list[GridRun], out: Path, jobs: int) -> dict[str, float]:
    """Run the runs whose folder under OUT/runs has no summary.json yet (`jobs` workers), keeping
    each run's wall time in OUT/timing.json; returns every wall time recorded there."""
    out.mkdir(parents=True, exist_ok=True)
    timing_path = out / "timing.json"
    timing = json.loads(timing_path.read_text()) if timing_path.is_file() else {}
    pending = [run for run in runs if not (out / "runs" / run.folder / "summary.json").is_file()]
    print(f"{len(runs)} runs, {len(pending)} to do, {jobs} worker(s)", flush=True)
    if pending:
        from joblib import Parallel, delayed

        for folder, seconds in Parallel(n_jobs=jobs, return_as="generator_unordered")(
                delayed(execute)(run, str(out)) for run in pending):
            timing[folder] = seconds
            timing_path.write_text(json.dumps(timing, indent=1, sort_keys=True))
            print(f"  {folder}: {seconds:.0f} s", flush=True)
    return timing


def value_of(summary: dict[str, Any], grid: str) -> float | None:
    """The number a grid reports per run."""
    result, truth = summary["result"], summary["ground_truth"]
    if grid in ACCURACY:
        return 100.0 * result[ACCURACY[grid]]
    if grid == "toy":
        return truth.get("true_W_train_loss")
    if not result.get("target_reached"):
        return None
    phases = {key[len("pulses_at_target_"):]: value for key, value in truth.items()
              if key.startswith("pulses_at_target_")}
    return sum(value for phase, value in phases.items() if phase in ("calibration", "training", "transfer"))


def table(runs: list[GridRun], out: Path, grid: str, timing: dict[str, float]) -> str:
    import numpy as np

    groups = list(dict.fromkeys(run.group for run in runs))
    columns = list(dict.fromkeys(run.column for run in runs))
    pulses = "pulses (calibration + training + transfer) to the target loss"
    unit = {"toy": "final loss of the true W", "pulse-cost": pulses, "pulse-cost-authors": pulses}.get(grid)
    unit = unit or ("final test accuracy %" if ACCURACY[grid] == "final_test_accuracy"
                    else "test accuracy %, mean of last 5 epochs")
    lines = [f"| {grid} ({unit}) | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for group in groups:
        cells = []
        for column in columns:
            values, walls = [], []
            for run in runs:
                if (run.group, run.column) != (group, column):
                    continue
                path = out / "runs" / run.folder / "summary.json"
                if path.is_file():
                    value = value_of(json.loads(path.read_text()), grid)
                    values.append(np.nan if value is None else value)
                    walls.append(timing.get(run.folder, np.nan))
            if not values:
                cells.append("–")
                continue
            v = np.asarray(values, dtype=float)
            missed = int(np.isnan(v).sum())
            shown = v[~np.isnan(v)]
            fmt = "{:.1f} ± {:.1f}" if grid in ACCURACY else "{:.3g} ± {:.2g}"
            text = fmt.format(shown.mean(), shown.std()) if shown.size else "not reached"
            if missed and shown.size:
                text += f" ({missed} not reached)"
            cells.append(f"{text} [{np.nanmean(walls):.0f} s]")
        lines.append(f"| {group} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n\n(mean ± std over seeds; [mean wall time per run])\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("grid", choices=sorted(GRIDS))
    parser.add_argument("--out", default=None)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=None, help="Override the scenarios' epochs (quick looks).")
    parser.add_argument("--dry-run", action="store_true", help="Print the aimc commands and exit.")
    args = parser.parse_args()
    out = Path(args.out or f"results/grids/{args.grid}")
    runs = GRIDS[args.grid](args.seeds, args.epochs)
    if args.dry_run:
        print("\n".join(run.command(out) for run in runs))
        return
    timing = run_pending(runs, out, args.jobs)
    text = table(runs, out, args.grid, timing)
    (out / "table.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
