"""Golden outputs of every shipped scenario, budget study and a sweep, shrunk to run in seconds.

Each case runs through the command line into a temporary folder; the SHA-256 of every result file
(summary.json, metrics.csv, results.csv, budget.json, …: all but plots and reports) is compared
with `hashes.json`. A refactoring must leave them all unchanged; a change that is meant to move a
number regenerates them (`python tests/golden/golden.py --update`) and says why in its commit.
The hashes are of this machine kind (numpy/BLAS summation order, float32 kernels).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path

from click.testing import CliRunner

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # this checkout's packages, not whatever is installed
    sys.path.insert(0, str(REPO))
HASHES = Path(__file__).resolve().parent / "hashes.json"
SCENARIOS = REPO / "scenarios"

TRAINING = ["--set", "program.params.epochs=1", "--set", "program.params.max_steps=12"]
SHRINK: dict[str, list[str]] = {
    "pulse_response": [],
    "chip_pipeline_inference": ["--set", "program.params.samples=64"],
    "zs_error_vs_steps": ["--set", "hardware.tiles.t0.rows=48", "--set", "hardware.tiles.t0.cols=40",
                          "--set", "program.params.steps=300", "--set", "program.params.checkpoints=8"],
    "lsq_toy_ttv1": ["--set", "program.params.epochs=1", "--set", "program.params.max_steps=150"],
    "lsq_toy_residual": ["--set", "program.params.epochs=1", "--set", "program.params.max_steps=150",
                         "--set", "program.params.zs_steps=200"],
    "lsq_toy_rider": ["--set", "program.params.epochs=1", "--set", "program.params.max_steps=150"],
    "lsq_toy_erider": ["--set", "program.params.epochs=1", "--set", "program.params.max_steps=150"],
    # Drift and the recalibration policies (issue 18), each policy switched on in its shrunk run.
    "drift_lsq_residual": ["--set", "program.params.epochs=1", "--set", "program.params.max_steps=150",
                           "--set", "program.params.zs_steps=200", "--set", "program.params.recalibration_steps=100",
                           "--set", "program.params.recalibrate_every_ns=1e5",
                           "--set", "program.params.monitor_every_samples=40",
                           "--set", "program.params.monitor_pulses=20", "--set", "program.params.monitor_settle_steps=50",
                           "--set", "hardware.temperature.steps_ns_kelvin=[[0, 5.0], [2e5, -5.0]]",
                           "--set", "hardware.tiles.layer0.arrays.P.drift.step_up_per_kelvin=0.01",
                           "--set", "hardware.tiles.layer0.arrays.P.drift.sp_walk_per_sqrt_s=0.5"],
    "drift_lsq_erider": ["--set", "program.params.epochs=1", "--set", "program.params.max_steps=150",
                         "--set", "program.params.recalibration_steps=100",
                         "--set", "program.params.recalibrate_every_ns=1.5e5"],
    "drift_digits_residual": [*TRAINING, "--set", "program.params.zs_steps=200",
                              "--set", "program.params.recalibration_steps=50",
                              "--set", "program.params.recalibrate_every_samples=60",
                              "--set", "program.params.monitor_every_samples=30",
                              "--set", "program.params.monitor_pulses=20", "--set", "program.params.monitor_settle_steps=50",
                              "--set", "hardware.tiles.layer0.arrays.P.drift.reference_trend_per_s=20"],
    "drift_digits_erider": [*TRAINING, "--set", "program.params.recalibration_steps=50",
                            "--set", "program.params.recalibrate_every_samples=60"],
    "pulse_cost_erider": ["--set", "program.params.epochs=1", "--set", "program.params.max_steps=100"],
    "pulse_cost_erider_authors": ["--set", "program.params.epochs=1", "--set", "program.params.max_steps=100"],
    "pulse_cost_zs_ttv2": ["--set", "program.params.epochs=1", "--set", "program.params.max_steps=100",
                           "--set", "program.params.zs_steps=200"],
}
EXCLUDED_SUFFIXES = (".png", ".svg", ".md")


def cases() -> dict[str, list[str]]:
    """Command-line arguments (after `aimc`) of every golden case, by name."""
    found: dict[str, list[str]] = {}
    for path in sorted(SCENARIOS.glob("*.toml")):
        name = path.stem
        if name in BUDGET_SHRINK:
            found[name] = ["budget", "--config", f"shrunk:{path.name}"]
            continue
        extra = SHRINK.get(name, TRAINING if name.startswith("digits_") else None)
        if extra is None:
            raise KeyError(f"scenario {name} has no golden shrink rule: add one to tests/golden/golden.py")
        found[name] = ["run", f"scenarios/{path.name}", *extra]
    found["sweep_pulse_response"] = ["sweep", "scenarios/pulse_response.toml", "--param",
                                     "program.params.pulses=20,40", "--seeds", "2", "--jobs", "1"]
    return found


#: Budget studies by name, and how each is shrunk: 24×24, short caps, two emulated and one predicted value.
BUDGET_SHRINK: dict[str, dict[str, object]] = {
    "zs_pulses_vs_dwmin": {"rows": 24, "cols": 24, "max_pulses": 600, "checkpoints": 20,
                           "sweep_values": [0.005, 0.0025, 1.6e-6], "emulate_max_cell_pulses": 1e7},
}


def shrunk_budget(path: Path, folder: Path) -> str:
    """A copy of a budget study with its BUDGET_SHRINK applied (YAML, which budgets read as well)."""
    import tomllib

    import yaml

    document = tomllib.loads(path.read_text())
    document.update(BUDGET_SHRINK[path.stem])
    target = folder / f"{path.stem}.yaml"  # the budget's outputs do not record its config path
    target.write_text(yaml.safe_dump(document))
    return str(target)


def run_case(arguments: list[str]) -> dict[str, str]:
    """Run one case through the CLI from the repository root (paths in results are as given,
    relative, so the hashes do not depend on where the clone is); the SHA-256 of each result file."""
    from emulator.cli import main

    with tempfile.TemporaryDirectory() as folder:
        arguments = [shrunk_budget(SCENARIOS / a[len("shrunk:"):], Path(folder)) if a.startswith("shrunk:") else a
                     for a in arguments]
        out = Path(folder) / "out"
        previous = Path.cwd()
        os.chdir(REPO)
        try:
            result = CliRunner().invoke(main, [*arguments, "--out", str(out)], catch_exceptions=False)
        finally:
            os.chdir(previous)
        if result.exit_code != 0:
            raise RuntimeError(f"aimc {' '.join(arguments)} exited {result.exit_code}:\n{result.output}")
        return {str(path.relative_to(out)): hashlib.sha256(path.read_bytes()).hexdigest()
                for path in sorted(out.rglob("*")) if path.is_file() and path.suffix not in EXCLUDED_SUFFIXES}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--update", action="store_true", help="rewrite hashes.json")
    parser.add_argument("names", nargs="*")
    args = parser.parse_args()
    known = json.loads(HASHES.read_text()) if HASHES.exists() else {}
    changed = 0
    for name, arguments in cases().items():
        if args.names and name not in args.names:
            continue
        hashes = run_case(arguments)
        if hashes != known.get(name):
            changed += 1
            print(f"{name}: {'differs' if name in known else 'new'}", file=sys.stderr)
        known[name] = hashes
    if args.update:
        HASHES.write_text(json.dumps(known, indent=1, sort_keys=True) + "\n")
    print(f"{changed} case(s) differ from hashes.json" + (" (rewritten)" if args.update and changed else ""))


if __name__ == "__main__":
    main()
