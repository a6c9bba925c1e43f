"""Run every benchmark and print one table (issue 8).

    python benchmarks/run_all.py            # full run, ~10 min on the 2-core machine
    python benchmarks/run_all.py --quick    # smoke run, < 2 min
    python benchmarks/run_all.py --only pulse,train --json out.json
    python benchmarks/run_all.py --only train,minibatch,reference   # beside the reference simulator

`reference` (bench_reference: AIHWKIT side by side, several minutes) runs only when named.

Progress lines go to stderr, the table to stdout.
"""

from __future__ import annotations

import argparse
import os
import time

import bench_budget
import bench_calibration
import bench_chip
import bench_events
import bench_minibatch
import bench_pulse
import bench_reference
import bench_scaling
import bench_train
from _common import Row, format_table, header, write_json

BENCHMARKS = {
    "pulse": bench_pulse,
    "train": bench_train,
    "calibration": bench_calibration,
    "budget": bench_budget,
    "events": bench_events,
    "minibatch": bench_minibatch,
    "scaling": bench_scaling,
    "chip": bench_chip,
    "reference": bench_reference,
}
OPT_IN = {"reference"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, pulses and steps (< 2 min)")
    parser.add_argument("--only", help=f"comma-separated subset of {','.join(BENCHMARKS)}")
    parser.add_argument("--json", metavar="PATH", help="also write every raw number as JSON")
    args = parser.parse_args()
    names = [n for n in BENCHMARKS if n not in OPT_IN] if not args.only else [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; known: {list(BENCHMARKS)}")

    print(header(), flush=True)
    start = time.perf_counter()
    cpu_start = time.process_time()
    rows: list[Row] = []
    durations: dict[str, float] = {}
    for name in names:
        t = time.perf_counter()
        rows += BENCHMARKS[name].run(args.quick)
        durations[name] = time.perf_counter() - t
    print(format_table(rows))
    checked = [r for r in rows if r.ok]
    missed = [f"{r.section}: {r.case}" for r in checked if r.ok != "yes"]
    print(f"# targets met: {len(checked) - len(missed)}/{len(checked)}"
          + (f"; missed: {'; '.join(missed)}" if missed else ""))
    print(f"# mode {'quick' if args.quick else 'full'}; wall {time.perf_counter() - start:.0f} s ("
          + ", ".join(f"{n} {d:.0f} s" for n, d in durations.items())
          + f"); process CPU/wall {(time.process_time() - cpu_start) / (time.perf_counter() - start):.2f} "
          "(< 1: the process waited for a core; > 1: BLAS threads)"
          + f"; load average at end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    if args.json:
        write_json(args.json, rows, {"durations_s": durations, "quick": args.quick})


if __name__ == "__main__":
    main()
