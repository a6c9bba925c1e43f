"""A catalogue of broken inputs, each refused at the edge: exit status 2, one message per problem
naming the field (as the user writes it) and the offending value, no traceback, nothing written —
neither in `--out` nor anywhere else in the working folder.

Scenario cases mutate the shipped pulse-response scenario; CLI cases give broken flags to every
subcommand; folder cases hand `aimc report` corrupted results."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pytest
from click.testing import CliRunner

from emulator.cli import main

ROOT = Path(__file__).resolve().parents[2]
PULSE = (ROOT / "scenarios" / "pulse_response.toml").read_text()
NAN, INF = "nan", "inf"


@dataclass(frozen=True)
class Case:
    """One broken input: the command line (FILE stands for the written scenario, OUT for the output
    folder, DIR for a prepared results folder) and what the message must name."""

    args: tuple[str, ...]
    needles: tuple[str, ...]
    scenario: str | None = None
    """The scenario text written to FILE (default: the pulse-response scenario)."""
    prepare: Callable[[Path], None] | None = None
    """Builds DIR (a results folder) for `report` cases."""
    extra_files: dict[str, str] = field(default_factory=dict)


def run_set(assignment: str, *needles: str) -> Case:
    return Case(("run", "FILE", "--out", "OUT", "--set", assignment), needles or (assignment.split("=")[0],))


CASES: dict[str, Case] = {}

# ------------------------------------------------------------------ numbers that make no physical sense
_DEVICE = "hardware.tiles.t0.arrays.W.overrides"
for name, values in {
    "dw_min": [NAN, INF, "-0.001", "0"],
    "w_max": [NAN, INF, "-1.0"],
    "w_min": [NAN, "-inf", "1.0"],
    "up_down": [NAN, INF],
    "reference_mean": [NAN, INF, "-inf"],
    "reference_std": [NAN, "-0.1"],
    "write_noise_std": [NAN, "-1"],
    "dw_min_dtod": [NAN, "-0.5"],
    "dw_min_std": [INF, "-1"],
    "lifetime": [NAN, "-5"],
    "diffusion": [INF, "-0.01"],
    "reset_std": [NAN],
}.items():
    for value in values:
        CASES[f"device-{name}-{value}"] = run_set(f"{_DEVICE}.{name}={value}", f"{_DEVICE}.{name}")
_IO = "hardware.tiles.t0.io"
for name, values in {
    "adc_offset": [NAN, INF], "adc_gain": [NAN, "0", "-1"], "out_noise": [NAN, INF, "-0.1"],
    "out_bound": [NAN, INF, "0"], "inp_res": [NAN, "-0.1"], "out_res": [INF, "-1"], "inp_bound": ["0", NAN],
    "inp_noise": ["-1"], "max_bm_factor": ["-1", "true", "2.5"], "max_bm_res": ["0", NAN],
    "is_perfect": ["1", '"yes"'], "noise_management": ['"max"'],
}.items():
    for value in values:
        CASES[f"io-{name}-{value}"] = run_set(f"{_IO}.{name}={value}", f"{_IO}.{name}")
_COSTS = "hardware.costs"
for name, values in {
    "pulse_width_ns": [NAN, INF, "0", "-5"], "write_voltage_v": [NAN, "0"], "adc_bits": ["0", "40", "true", "8.5"],
    "adc_energy_fj": [NAN, "-1"], "mvm_integration_ns": [INF], "digital_lanes": ["0", "1.5"],
    "columns_per_adc": ["0"], "slot_period_ns": ["10"],
}.items():
    for value in values:
        CASES[f"costs-{name}-{value}"] = run_set(f"{_COSTS}.{name}={value}", f"{_COSTS}.{name}")
_TILE = "hardware.tiles.t0"
for name, values in {"rows": ["0", "-3", "true", "2.5", '"8"', "100000"], "cols": ["0", "false", "1e3"]}.items():
    for value in values:
        CASES[f"tile-{name}-{value}"] = run_set(f"{_TILE}.{name}={value}", f"{_TILE}.{name}")
for name, values in {"update.desired_bl": ["0", "true", "3.5"], "update.update_management": ["1", '"on"'],
                     "faults.dead_rows": ["[99]", "[-1]", '["a"]']}.items():
    for value in values:
        CASES[f"tile-{name}-{value}"] = run_set(f"{_TILE}.{name}={value}", f"{_TILE}.{name}")
for name, values in {"seed": ["-1", "1.5", "true", '"x"'], "hardware.shared_adc_count": ["0", "true"],
                     "hardware.slow_process_step_ns": [NAN, "0", "-1"],
                     "program.params.pulses": ["0", "-5", "2.5", "true", NAN],
                     "program.params.read_every": ["0", NAN]}.items():
    for value in values:
        CASES[f"field-{name}-{value}"] = run_set(f"{name}={value}", name)

# ------------------------------------------------------------------ names and structure
for label, value in {"parent": '"../../escaped"', "empty": '""', "dot": '"."', "dotdot": '".."',
                     "slash": '"a/b"', "backslash": '"a\\\\b"', "newline": '"a\\nb"', "absolute": '"/tmp/x"'}.items():
    CASES[f"name-{label}"] = Case(("run", "FILE", "--set", f"name={value}"), ("name",))
for label, assignment in {"empty-segment": "hardware..tiles.t0.rows=8", "leading-dot": ".seed=1",
                          "trailing-dot": "seed.=1", "no-key": "=3", "no-equals": "seed",
                          "into-scalar": "seed.x=1", "unknown-field": "hardware.tiles.t0.colz=3",
                          "unknown-top": "bogus=1", "unknown-program": 'program.name="nope"',
                          "unknown-preset": f'{_TILE}.arrays.W.preset="NoSuch"',
                          "unknown-cost-model": 'hardware.cost_model="nope"',
                          "bad-trace": 'output.trace="gif"', "tiles-not-table": "hardware.tiles=3",
                          "empty-tiles": "hardware.tiles={}", "empty-arrays": f"{_TILE}.arrays={{}}",
                          "missing-array": 'program.params.array="Q"', "missing-tile": 'program.params.tile="t9"',
                          "bad-imports": 'imports=["no_such_module_here"]', "imports-not-list": 'imports="x"'}.items():
    needle = {"no-equals": "seed", "empty-segment": "hardware..tiles", "leading-dot": ".seed", "trailing-dot": "seed.", "no-key": "=3",
              "into-scalar": "seed.x", "unknown-field": "colz", "unknown-top": "bogus", "unknown-program": "program.name",
              "unknown-preset": "preset", "unknown-cost-model": "cost_model", "bad-trace": "output.trace",
              "tiles-not-table": "hardware.tiles", "empty-tiles": "hardware.tiles", "empty-arrays": "arrays",
              "missing-array": "program.params.array", "missing-tile": "program.params.tile",
              "bad-imports": "imports", "imports-not-list": "imports"}.get(label, label)
    CASES[f"set-{label}"] = Case(("run", "FILE", "--out", "OUT", "--set", assignment), (needle,))

# ------------------------------------------------------------------ files
DEEP = "a = " + "[" * 3000 + "]" * 3000 + "\n"
for label, (text, needle) in {
    "malformed-toml": ("name = [\n", "malformed TOML"),
    "empty-file": ("", "hardware"),
    "deeply-nested": (DEEP, "nested"),
    "binary": ("\x00\x01\x02\xff", "scenario.toml"),
    "no-program": ("[hardware.tiles.t0]\nrows = 2\ncols = 2\narrays.W = { preset = \"ReRamSB\" }\n", "program"),
}.items():
    CASES[f"file-{label}"] = Case(("run", "FILE", "--out", "OUT"), (needle,), scenario=text)
CASES["file-yaml-list"] = Case(("run", "FILE.yaml", "--out", "OUT"), ("mapping",), extra_files={"FILE.yaml": "- 1\n- 2\n"})
CASES["file-yaml-malformed"] = Case(("run", "FILE.yaml", "--out", "OUT"), ("malformed YAML",),
                                    extra_files={"FILE.yaml": "a: [1, 2\n"})
CASES["file-yaml-deep"] = Case(("run", "FILE.yaml", "--out", "OUT"), ("nested",),
                               extra_files={"FILE.yaml": "a: " + "[" * 3000 + "]" * 3000 + "\n"})
CASES["file-json"] = Case(("run", "FILE.json", "--out", "OUT"), ("TOML", "YAML"), extra_files={"FILE.json": "{}"})
CASES["file-missing"] = Case(("run", "missing.toml", "--out", "OUT"), ("missing.toml",))
CASES["file-directory"] = Case(("run", "adir", "--out", "OUT"), ("adir",), extra_files={"adir/keep": "x"})
CASES["validate-missing"] = Case(("validate", "missing.toml"), ("missing.toml",))
CASES["validate-bad-set"] = Case(("validate", "FILE", "--set", "seed=-1"), ("seed",))

# ------------------------------------------------------------------ run flags
CASES["run-out-empty"] = Case(("run", "FILE", "--out", ""), ("--out",))
CASES["run-out-is-file"] = Case(("run", "FILE", "--out", "afile"), ("afile",), extra_files={"afile": "x"})
CASES["run-seed-negative"] = Case(("run", "FILE", "--out", "OUT", "--seed", "-1"), ("--seed",))
CASES["run-seed-text"] = Case(("run", "FILE", "--out", "OUT", "--seed", "x"), ("--seed",))
CASES["run-trace-bogus"] = Case(("run", "FILE", "--out", "OUT", "--trace", "gif"), ("--trace",))
CASES["run-unknown-flag"] = Case(("run", "FILE", "--speed", "3"), ("--speed",))

# ------------------------------------------------------------------ budget flags
_BUDGET = ("budget", "--device", "SoftBounds:states=200,up_down=0.2", "--rows", "8", "--cols", "8", "--out", "OUT")
for label, (flags, needle) in {
    "target-inf": (("--target-error", INF), "--target-error"), "target-nan": (("--target-error", NAN), "--target-error"),
    "target-zero": (("--target-error", "0"), "--target-error"), "target-negative": (("--target-error", "-0.1"), "--target-error"),
    "rows-zero": (("--rows", "0"), "--rows"), "cols-text": (("--cols", "x"), "--cols"),
    "reads-zero": (("--reads", "0"), "--reads"), "max-pulses-zero": (("--max-pulses", "0"), "--max-pulses"),
    "metric-unknown": (("--metric", "max"), "--metric"), "method-unknown": (("--method", "random"), "--method"),
    "checkpoints-zero": (("--checkpoints", "0"), "--checkpoints"), "seed-negative": (("--seed", "-2"), "--seed"),
    "cost-model-unknown": (("--cost-model", "nope"), "cost_model"),
}.items():
    CASES[f"budget-{label}"] = Case(_BUDGET + flags, (needle,))
for label, (device, needle) in {
    "unknown-preset": ("NoSuchDevice", "NoSuchDevice"), "unknown-model": ("Tilted:states=3", "Tilted"),
    "bad-field": ("SoftBounds:colour=1", "colour"), "nan-field": ("SoftBounds:states=nan", "states"),
    "negative-dw": ("SoftBounds:dw_min=-0.1", "dw_min"), "bad-syntax": ("SoftBounds:states", "states"),
    "preset-bad-override": ("ReRamSB:dw_min=inf", "dw_min"), "missing-file": ("nodevice.toml", "nodevice.toml"),
}.items():
    CASES[f"budget-device-{label}"] = Case(("budget", "--device", device, "--rows", "4", "--cols", "4"), (needle,))
CASES["budget-no-device"] = Case(("budget",), ("--device",))
CASES["budget-config-missing"] = Case(("budget", "--config", "nope.toml"), ("nope.toml",))
_STUDY = ('name = "s"\nrows = 8\ncols = 8\nmax_pulses = 100\ncheckpoints = 5\n'
          '[device.device]\nmodel = "SoftBounds"\nstates = 200\nup_down = 0.2\n')
for label, (tail, needle) in {
    "sweep-unknown-field": ('sweep_field = "colour"\nsweep_values = [1, 2]\n', "colour"),
    "sweep-invalid-value": ('sweep_field = "states"\nsweep_values = [200, -5]\n', "states"),
    "sweep-nan-value": ('sweep_field = "dw_min"\nsweep_values = [nan]\n', "sweep_values.0"),
    "sweep-without-values": ('sweep_field = "states"\n', "sweep_values"),
    "sweep-preset-field": ('sweep_field = "dw_min"\nsweep_values = [0.001, 0]\n', "sweep_values.1"),
    "target-inf": ("target_error = inf\n", "target_error"),
    "unknown-key": ("colour = 1\n", "colour"),
}.items():
    top, _, device_table = _STUDY.partition("[device.device]")
    CASES[f"budget-study-{label}"] = Case(("budget", "--config", "study.toml", "--out", "OUT"), (needle,),
                                          extra_files={"study.toml": top + tail + "[device.device]" + device_table})

# ------------------------------------------------------------------ sweep flags
_SWEEP = ("sweep", "FILE", "--out", "OUT")
for label, (flags, needle) in {
    "param-no-equals": (("--param", "program.params.pulses"), "--param"),
    "param-no-values": (("--param", "program.params.pulses="), "program.params.pulses"),
    "param-bad-value": (("--param", "program.params.pulses=10,-3"), "program.params.pulses"),
    "param-unknown-field": (("--param", "program.params.speed=1,2"), "program.params.speed"),
    "seeds-zero": (("--param", "program.params.pulses=10", "--seeds", "0"), "--seeds"),
    "jobs-zero": (("--param", "program.params.pulses=10", "--jobs", "0"), "--jobs"),
    "backend-unknown": (("--param", "program.params.pulses=10", "--backend", "mpi"), "--backend"),
    "seeds-text": (("--seeds", "x"), "--seeds"),
}.items():
    CASES[f"sweep-{label}"] = Case(_SWEEP + flags, (needle,))
CASES["sweep-no-out"] = Case(("sweep", "FILE", "--param", "program.params.pulses=10"), ("--out",))


# ------------------------------------------------------------------ corrupted results folders
def _summary_folder(text: str | None, metrics: str | None = None) -> Callable[[Path], None]:
    def prepare(folder: Path) -> None:
        folder.mkdir()
        if text is not None:
            (folder / "summary.json").write_text(text)
        if metrics is not None:
            (folder / "metrics.csv").write_text(metrics)
    return prepare


_GOOD_METRICS = "time_ns,phase,step,metric,value\n0.000,idle,0,x,1.0\n"
_GOOD_SUMMARY = json.dumps({
    "name": "x", "program": "pulse_response", "seed": 0, "cost_model": "neurosim-reram-50ns", "package_version": "0",
    "result": {}, "hardware": {"latency_ns": 0.0, "energy_pj": {"total": 0.0, "by_category": {}, "by_phase": {}},
                               "total_pulses": 0, "total_mvms": 0, "total_conversions": 0, "pulses_by_phase": {},
                               "pulses": {}, "phase_time_ns": {}, "busy_ns": {}}})
for label, (prepare, needle) in {
    "empty-folder": (_summary_folder(None), "DIR"),
    "truncated-summary": (_summary_folder('{"name": "x", "hard', _GOOD_METRICS), "summary.json"),
    "summary-not-object": (_summary_folder("[1, 2]", _GOOD_METRICS), "summary.json"),
    "summary-missing-keys": (_summary_folder('{"name": "x"}', _GOOD_METRICS), "summary.json"),
    "metrics-other-columns": (_summary_folder(_GOOD_SUMMARY, "a,b\n1,2\n"), "metrics.csv"),
    "metrics-bad-number": (_summary_folder(_GOOD_SUMMARY, "time_ns,phase,step,metric,value\nx,idle,0,m,1\n"),
                           "metrics.csv"),
    "summary-hardware-incomplete": (_summary_folder(_GOOD_SUMMARY.replace('"total_mvms": 0, ', ''), _GOOD_METRICS),
                                    "total_mvms"),
}.items():
    CASES[f"report-{label}"] = Case(("report", "DIR"), (needle,), prepare=prepare)


def _sweep_folder(results: str | None, sweep: str | None) -> Callable[[Path], None]:
    def prepare(folder: Path) -> None:
        folder.mkdir()
        if results is not None:
            (folder / "results.csv").write_text(results)
        if sweep is not None:
            (folder / "sweep.json").write_text(sweep)
    return prepare


for label, (prepare, needle) in {
    "results-without-sweep-json": (_sweep_folder("run_id,seed\n0000-x,1\n", None), "sweep.json"),
    "sweep-json-truncated": (_sweep_folder("run_id,seed\n0000-x,1\n", '{"params": '), "sweep.json"),
    "results-missing-columns": (_sweep_folder("a,b\n1,2\n", json.dumps(
        {"scenario": "s.toml", "params": [["program.params.pulses", [10]]], "seeds": 1})), "results.csv"),
}.items():
    CASES[f"report-{label}"] = Case(("report", "DIR"), (needle,), prepare=prepare)
CASES["report-missing-folder"] = Case(("report", "nofolder"), ("nofolder",))
CASES["report-metric-unknown"] = Case(("report", "DIR", "--metric", "bogus"), ("bogus",), prepare=_sweep_folder(
    "run_id,seed,program.params.pulses,result.final_mean\n0000-x,1,10,0.5\n",
    json.dumps({"scenario": "s.toml", "params": [["program.params.pulses", [10]]], "seeds": 1})))


def test_the_catalogue_is_large() -> None:
    assert len(CASES) >= 150


def _snapshot(folder: Path) -> dict[str, float]:
    return {str(path.relative_to(folder)): path.stat().st_mtime for path in folder.rglob("*")}


@pytest.mark.parametrize("name", sorted(CASES))
def test_broken_input_is_refused_by_name(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    case = CASES[name]
    work = tmp_path / "a" / "b"  # two levels deep: a name like "../../escaped" stays inside tmp_path
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    (work / "scenario.toml").write_text(case.scenario if case.scenario is not None else PULSE)
    for relative, text in case.extra_files.items():
        path = work / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    if case.prepare is not None:
        case.prepare(work / "results")
    substitutions = {"FILE": "scenario.toml", "FILE.yaml": "FILE.yaml", "FILE.json": "FILE.json", "OUT": "out",
                     "DIR": "results"}
    args = [substitutions.get(arg, arg) for arg in case.args]
    before = _snapshot(tmp_path)
    result = CliRunner().invoke(main, args)
    message = result.stderr if result.stderr else result.output
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    for needle in case.needles:
        needle = substitutions.get(needle, needle)
        assert needle in message, (needle, message)
    assert _snapshot(tmp_path) == before, "something was written (inside or outside the working folder)"
