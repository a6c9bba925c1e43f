"""Issue 18 policy study: recalibration against online tracking when the symmetric point drifts.

    python scenarios/drift_study.py [--out results/drift_study] [--jobs 1] [--seeds 1]
                                    [--workloads lsq digits] [--figure docs/figures/drift_pareto.png]

Trains the least-squares toy and the digits network under increasing drift rates of the fast
arrays' symmetric points (each cell's SP moves at its own constant rate, mean `rate`, spread
rate/2; `sp_trend_per_s` on every P array, the monitor's spare cells included), under every
policy: ZS once then residual learning ("one-shot"), periodic recalibration ("periodic"),
monitor-triggered recalibration ("monitor"), tracking (RIDER on the toy, E-RIDER) and tracking
plus periodic recalibration ("E-RIDER + periodic"). Each run is one `aimc run` of a drift_*.toml
(or lsq_toy_rider.toml) file in this folder with `--set` overrides (`--dry-run` prints them);
runs are resumable and wall times go to OUT/timing.json. It prints, per workload and drift rate,
each policy's result over simulated time, pulses and energy by phase and the time spent not
training, then the drift rate at which each policy stops holding its drift-free result; it
writes OUT/table.md and the Pareto figure OUT/pareto.png (result against calibration energy,
one front per drift rate), also to --figure if given.
"""

from __future__ import annotations

import argparse
import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from training_grids import GridRun, run_pending

HERE = Path(__file__).resolve().parent
#: Phases whose work is not training: calibration, recalibration, the monitor, programming (initial
#: weights, Q̃ syncs); evaluation (test-set reads, a measurement of the study) is left out.
OVERHEAD = ("calibration", "recalibration", "monitor", "programming")
TRAINING = ("training", "transfer")


@dataclass(frozen=True)
class Workload:
    """One workload of the study: its drift rates, its policies and how its result is read."""

    rates: tuple[float, ...]
    """Mean SP drift rates (weight units per second of simulated time)."""
    policies: dict[str, tuple[str, tuple[str, ...], list[str]]]
    """Policy → (scenario file, tiles whose P drifts, extra overrides)."""
    metric: str
    """"loss" (ground_truth.true_W_train_loss, lower is better) or "accuracy" (test accuracy %)."""
    tolerance: float
    """How far from its drift-free result a policy may be and still hold (loss: relative; accuracy: points)."""


WORKLOADS = {
    "lsq": Workload(
        rates=(0.0, 6.0, 20.0, 60.0),
        policies={
            "one-shot": ("drift_lsq_residual.toml", ("layer0", "monitor"), []),
            "periodic": ("drift_lsq_residual.toml", ("layer0", "monitor"), ["program.params.recalibrate_every_ns=4e6"]),
            "monitor": ("drift_lsq_residual.toml", ("layer0", "monitor"), ["program.params.monitor_every_samples=250"]),
            "RIDER": ("lsq_toy_rider.toml", ("layer0",), []),
            "E-RIDER": ("drift_lsq_erider.toml", ("layer0",), []),
            "E-RIDER + periodic": ("drift_lsq_erider.toml", ("layer0",), ["program.params.recalibrate_every_ns=4e6"]),
        },
        metric="loss", tolerance=0.05),
    "digits": Workload(
        rates=(0.0, 2.0, 6.0, 20.0),
        policies={
            "one-shot": ("drift_digits_residual.toml", ("layer0", "layer1", "monitor"), []),
            "periodic": ("drift_digits_residual.toml", ("layer0", "layer1", "monitor"),
                         ["program.params.recalibrate_every_ns=8e6"]),
            "monitor": ("drift_digits_residual.toml", ("layer0", "layer1", "monitor"),
                        ["program.params.monitor_every_samples=500"]),
            "E-RIDER": ("drift_digits_erider.toml", ("layer0", "layer1"), []),
            "E-RIDER + periodic": ("drift_digits_erider.toml", ("layer0", "layer1"),
                                   ["program.params.recalibrate_every_ns=8e6"]),
        },
        metric="accuracy", tolerance=3.0),
}


def study_runs(workloads: list[str], seeds: int, rates: list[float] | None = None,
               policies: list[str] | None = None) -> list[GridRun]:
    """Every run of the study: workload × drift rate × policy × seed (group "<workload> <rate>");
    `rates` and `policies` restrict it (quick looks)."""
    runs = []
    for name in workloads:
        workload = WORKLOADS[name]
        for rate in rates if rates is not None else workload.rates:
            for policy, (scenario, tiles, extra) in workload.policies.items():
                if policies is not None and policy not in policies:
                    continue
                drift = [f"hardware.tiles.{tile}.arrays.P.drift.{field}={value}" for tile in tiles
                         for field, value in (("sp_trend_per_s", rate), ("sp_trend_dtod_per_s", rate / 2))]
                runs += [GridRun(f"{name} {rate:g}", policy, f"scenarios/{scenario}", drift + extra, seed)
                         for seed in range(seeds)]
    return runs


def _series(folder: Path, metric: str, latency_ns: float) -> list[float]:
    """The result at 25, 50, 75 and 100 % of the run's simulated time (last value recorded by then)."""
    name = "true_W_train_loss" if metric == "loss" else "test_accuracy"
    points = []
    with open(folder / "metrics.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["metric"] == name:
                points.append((float(row["time_ns"]), float(row["value"]) * (100.0 if metric == "accuracy" else 1.0)))
    values = []
    for fraction in (0.25, 0.5, 0.75, 1.0):
        seen = [value for time, value in points if time <= fraction * latency_ns + 1e-6]
        values.append(seen[-1] if seen else float("nan"))
    return values


def measure(folder: Path, metric: str) -> dict[str, Any]:
    """What the study reports of one run."""
    summary = json.loads((folder / "summary.json").read_text())
    hardware, result, truth = summary["hardware"], summary["result"], summary["ground_truth"]
    latency_ns = hardware["latency_ns"]
    by_phase = hardware["pulses_by_phase"]
    energy = hardware["energy_pj"]["by_phase"]
    times = hardware["phase_time_ns"]
    value = truth["true_W_train_loss"] if metric == "loss" else 100.0 * result["mean_test_accuracy"]
    return {
        "value": value,
        "series": _series(folder, metric, latency_ns),
        "overhead_pulses": sum(by_phase.get(phase, 0) for phase in OVERHEAD),
        "training_pulses": sum(by_phase.get(phase, 0) for phase in TRAINING),
        "pulses_by_phase": by_phase,
        "overhead_energy_uj": sum(energy.get(phase, 0.0) for phase in OVERHEAD) / 1e6,
        "total_energy_uj": hardware["energy_pj"]["total"] / 1e6,
        "not_training_ms": sum(times.get(phase, 0.0) for phase in OVERHEAD) / 1e6,
        "latency_ms": latency_ns / 1e6,
        "recalibrations": result.get("recalibrations", 0),
        "sp_error_rms": truth.get("sp_error_rms", float("nan")),
    }


def collect(runs: list[GridRun], out: Path, workloads: list[str]) -> dict[tuple[str, float, str], dict[str, Any]]:
    """Per (workload, rate, policy): the mean over its finished seeds of every measured number."""
    import numpy as np

    cells: dict[tuple[str, float, str], list[dict[str, Any]]] = {}
    for run in runs:
        workload, rate = run.group.split(" ")
        folder = out / "runs" / run.folder
        if (folder / "summary.json").is_file():
            cells.setdefault((workload, float(rate), run.column), []).append(
                measure(folder, WORKLOADS[workload].metric))
    merged = {}
    for key, found in cells.items():
        merged[key] = {name: (np.mean([item[name] for item in found], axis=0) if name != "pulses_by_phase"
                              else found[0][name]) for name in found[0]}
        merged[key]["spread"] = float(np.std([item["value"] for item in found]))
        merged[key]["seeds"] = len(found)
    return merged


def holding(cells: dict[tuple[str, float, str], dict[str, Any]], workload: str) -> dict[str, str]:
    """Per policy: the largest drift rate up to which it holds its drift-free result (within the
    workload's tolerance), and the first rate where it does not."""
    spec = WORKLOADS[workload]
    verdicts = {}
    for policy in spec.policies:
        rates = sorted(rate for (name, rate, p) in cells if (name, p) == (workload, policy))
        if not rates:
            continue
        base = cells[(workload, rates[0], policy)]
        held, failed = rates[0], None
        for rate in rates[1:]:
            cell = cells[(workload, rate, policy)]
            ok = (cell["value"] <= base["value"] * (1 + spec.tolerance) if spec.metric == "loss"
                  else cell["value"] >= base["value"] - spec.tolerance)
            if not ok:
                failed = rate
                break
            held = rate
        verdicts[policy] = (f"holds up to {held:g}/s, not at {failed:g}/s" if failed is not None
                            else f"holds at every rate tried (up to {held:g}/s)")
    return verdicts


def table(cells: dict[tuple[str, float, str], dict[str, Any]], workloads: list[str]) -> str:
    """The study's tables (Markdown): per workload and drift rate, one row per policy."""
    lines = []
    for workload in workloads:
        spec = WORKLOADS[workload]
        unit = ("loss of the true W (lower is better)" if spec.metric == "loss"
                else "test accuracy %, mean of the last 5 epochs")
        lines += [f"### {workload}: {unit}", "",
                  "| drift /s | policy | SP moved | result | at 25/50/75/100 % of the run | overhead pulses "
                  "| training pulses | overhead energy µJ | total energy µJ | not training ms (%) | recal. |",
                  "|---|---|---|---|---|---|---|---|---|---|---|"]
        for rate in spec.rates:
            for policy in spec.policies:
                cell = cells.get((workload, rate, policy))
                if cell is None:
                    continue
                fmt = "{:.2f}" if spec.metric == "loss" else "{:.1f}"
                value = fmt.format(cell["value"]) + (f" ± {fmt.format(cell['spread'])}" if cell["seeds"] > 1 else "")
                series = " / ".join(fmt.format(v) for v in cell["series"])
                share = 100.0 * cell["not_training_ms"] / cell["latency_ms"]
                moved = rate * cell["latency_ms"] / 1000.0
                lines.append(f"| {rate:g} | {policy} | {moved:.2f} | {value} | {series} | {cell['overhead_pulses']:.3g} "
                             f"| {cell['training_pulses']:.3g} | {cell['overhead_energy_uj']:.1f} "
                             f"| {cell['total_energy_uj']:.0f} | {cell['not_training_ms']:.2f} ({share:.0f} %) "
                             f"| {cell['recalibrations']:.0f} |")
        tolerance = (f"within {100 * spec.tolerance:.0f} % of its drift-free loss" if spec.metric == "loss"
                     else f"within {spec.tolerance:g} points of its drift-free accuracy")
        lines += ["", f"Holding its result ({tolerance}):", ""]
        lines += [f"- {policy}: {verdict}" for policy, verdict in holding(cells, workload).items()]
        lines.append("")
    return "\n".join(lines)


def pareto_figure(cells: dict[tuple[str, float, str], dict[str, Any]], workloads: list[str]) -> bytes:
    """One panel per workload: result against overhead (calibration) energy, one front per drift rate."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter

    figure, axes = plt.subplots(1, len(workloads), figsize=(6.2 * len(workloads), 4.6), squeeze=False)
    markers = dict(zip(sorted({policy for spec in WORKLOADS.values() for policy in spec.policies}), "os^vDPX*"))
    for axis, workload in zip(axes[0], workloads):
        spec = WORKLOADS[workload]
        better = min if spec.metric == "loss" else max
        for index, rate in enumerate(spec.rates):
            color = plt.get_cmap("viridis")(index / max(1, len(spec.rates) - 1))
            points = [(cells[(workload, rate, p)]["overhead_energy_uj"], cells[(workload, rate, p)]["value"], p)
                      for p in spec.policies if (workload, rate, p) in cells]
            for x, y, policy in points:
                axis.scatter(x, y, color=color, marker=markers[policy], s=45, zorder=3)
            front, best = [], None
            for x, y, _ in sorted(points):
                if best is None or better(y, best) == y and y != best:
                    front.append((x, y))
                    best = y
            axis.plot(*zip(*front), color=color, label=f"drift {rate:g}/s", zorder=2) if front else None
        for policy, marker in markers.items():
            if policy in spec.policies:
                axis.scatter([], [], color="gray", marker=marker, label=policy)
        axis.set_xscale("log")
        axis.xaxis.set_minor_formatter(NullFormatter())
        if spec.metric == "loss":
            axis.set_yscale("log")  # from the drift-free ~14 to the thousands of a lost run
        axis.set_xlabel("calibration energy: calibration + recalibration + monitor + programming (µJ)")
        axis.set_ylabel("final loss of the true W" if spec.metric == "loss" else "test accuracy % (last 5 epochs)")
        axis.set_title(f"{workload}: Pareto front per SP drift rate")
        axis.grid(True, alpha=0.3)
        axis.legend(fontsize=7)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    plt.close(figure)
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="results/drift_study")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--workloads", nargs="+", choices=sorted(WORKLOADS), default=["lsq", "digits"])
    parser.add_argument("--rates", type=float, nargs="+", default=None, help="Only these drift rates (quick looks).")
    parser.add_argument("--policies", nargs="+", default=None, help="Only these policies (quick looks).")
    parser.add_argument("--figure", default=None, help="Also write the Pareto figure here (e.g. docs/figures/drift_pareto.png).")
    parser.add_argument("--dry-run", action="store_true", help="Print the aimc commands and exit.")
    args = parser.parse_args()
    out = Path(args.out)
    runs = study_runs(args.workloads, args.seeds, args.rates, args.policies)
    if args.dry_run:
        print("\n".join(run.command(out) for run in runs))
        return
    timing = run_pending(runs, out, args.jobs)
    cells = collect(runs, out, args.workloads)
    text = table(cells, args.workloads)
    text += f"\nWall time of the runs: {sum(timing.get(run.folder, 0.0) for run in runs):.0f} s in total.\n"
    (out / "table.md").write_text(text)
    figure = pareto_figure(cells, args.workloads)
    (out / "pareto.png").write_bytes(figure)
    if args.figure:
        Path(args.figure).write_bytes(figure)
    print(text)


if __name__ == "__main__":
    main()
