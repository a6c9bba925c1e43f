"""`aimc run`: result files, provenance, hand-computed latency and energy, traces, overrides,
seeds and determinism."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from vcd.reader import TokenKind, tokenize

from emulator import __version__
from emulator.cli import main
from emulator.hardware import get_cost_model

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]


def hand_latency_and_energy(document: dict) -> tuple[float, dict[str, float]]:
    """Latency (ns) and energy (pJ) of a pulse_response scenario with one ReRam tile, by hand:
    2·cycles·pulses tile-wide pulses of one slot each, and a ReadCells of `reads` repeats after
    every `read_every` pulses and at the end of each block; a ReadCells is cols one-hot MVMs,
    each integration + ceil(rows / ADCs) conversion rounds."""
    hardware = document["hardware"]
    costs = get_cost_model(hardware.get("cost_model", "neurosim-reram-50ns"), **hardware.get("costs", {}))
    (tile,) = hardware["tiles"].values()
    rows, cols = tile["rows"], tile["cols"]
    params = document["program"]["params"]
    pulses, cycles, read_every = params["pulses"], params["cycles"], params["read_every"]
    reads = params.get("reads", 1)
    slot_ns = costs.slot_period_ns or costs.pulse_width_ns
    blocks = 2 * cycles
    reads_per_block = len({p for p in range(1, pulses + 1) if p % read_every == 0 or p == pulses})
    read_cells = blocks * reads_per_block
    adcs = costs.adcs_per_tile or math.ceil(max(rows, cols) / costs.columns_per_adc)
    conversion_ns = costs.adc_conversion_ns or (costs.adc_bits + 1) * costs.adc_bit_time_ns
    mvms = read_cells * reads * cols
    latency = blocks * pulses * slot_ns + mvms * (costs.mvm_integration_ns + math.ceil(rows / adcs) * conversion_ns)
    pulse_pj = costs.write_pulse_energy_pj
    if pulse_pj is None:
        pulse_pj = costs.write_voltage_v**2 / costs.device_resistance_ohm * costs.pulse_width_ns * 1e-9 * 1e12
    energy = {
        "write_pulses": blocks * pulses * rows * cols * pulse_pj,
        "mvm": mvms * rows * cols * costs.mvm_energy_per_cell_fj / 1000,
        "adc": mvms * rows * costs.adc_energy_fj / 1000,
        "dac": mvms * cols * costs.dac_energy_fj / 1000,
    }
    return latency, energy


def load_toml(path: Path) -> dict:
    return tomllib.loads(path.read_text(encoding="utf-8"))


def run_ok(runner, *args: str):
    result = runner.invoke(main, [str(arg) for arg in args])
    assert result.exit_code == 0, (result.output, result.exception)
    return result


# ---------------------------------------------------------------------------- result files
def test_run_writes_summary_and_metrics(runner, scenario_path, tmp_path):
    out = tmp_path / "out"
    result = run_ok(runner, "run", scenario_path, "--out", out)
    assert sorted(p.name for p in out.iterdir()) == ["metrics.csv", "summary.json"]
    summary = json.loads((out / "summary.json").read_text())
    for key in ("name", "seed", "package_version", "cost_model", "scenario", "hardware"):
        assert key in summary
    assert summary["name"] == "pulse_response"
    assert summary["seed"] == 7
    assert summary["package_version"] == __version__
    assert summary["cost_model"] == "neurosim-reram-50ns"
    assert summary["scenario"]["program"]["name"] == "pulse_response"
    assert summary["scenario"]["seed"] == 7
    assert "latency_ns" in summary["hardware"]
    assert "total" in summary["hardware"]["energy_pj"]
    assert summary["hardware"]["total_pulses"] == 800 * 64 * 64
    assert "pulse_response" in result.output and str(out) in result.output
    assert "Traceback" not in result.output

    rows = list(csv.reader(io.StringIO((out / "metrics.csv").read_text())))
    assert rows[0] == ["time_ns", "phase", "step", "metric", "value"]
    metrics = {row[3] for row in rows[1:]}
    assert {"read_mean_weight", "read_std_weight", "true_mean_weight"} <= metrics
    times = [float(row[0]) for row in rows[1:]]
    assert times == sorted(times) and times[-1] <= summary["hardware"]["latency_ns"]


def test_latency_and_energy_equal_the_hand_computation(runner, scenario_path, tmp_path):
    out = tmp_path / "out"
    run_ok(runner, "run", scenario_path, "--out", out)
    hardware = json.loads((out / "summary.json").read_text())["hardware"]
    latency, energy = hand_latency_and_energy(load_toml(scenario_path))
    assert latency == 800 * 50 + 40 * 64 * (40 + 8 * 10)  # = 347 200 ns, spelled out
    assert hardware["latency_ns"] == pytest.approx(latency, abs=1e-9)
    assert hardware["latency_ps"] == round(latency * 1000)
    assert hardware["energy_pj"]["by_category"] == pytest.approx(energy, rel=1e-9)
    assert hardware["energy_pj"]["total"] == pytest.approx(sum(energy.values()), rel=1e-9)
    assert hardware["total_mvms"] == 40 * 64
    assert hardware["total_conversions"] == 40 * 64 * 64


def test_set_overrides_change_the_run_as_the_hand_computation_says(runner, scenario_path, tmp_path):
    out = tmp_path / "out"
    overrides = ["program.params.pulses=30", "program.params.cycles=1", "program.params.read_every=7",
                 "hardware.costs.pulse_width_ns=5", "hardware.costs.adcs_per_tile=16",
                 "hardware.tiles.t0.cols=24", 'name="renamed"']
    args = ["run", scenario_path, "--out", out]
    for assignment in overrides:
        args += ["--set", assignment]
    run_ok(runner, *args)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["name"] == "renamed"
    assert summary["scenario"]["program"]["params"]["pulses"] == 30
    assert summary["scenario"]["hardware"]["costs"] == {"pulse_width_ns": 5, "adcs_per_tile": 16}
    assert summary["cost_model_parameters"]["pulse_width_ns"] == 5
    document = load_toml(scenario_path)
    document["program"]["params"].update(pulses=30, cycles=1, read_every=7)
    document["hardware"]["costs"] = {"pulse_width_ns": 5, "adcs_per_tile": 16}
    document["hardware"]["tiles"]["t0"]["cols"] = 24
    latency, energy = hand_latency_and_energy(document)
    assert summary["hardware"]["latency_ns"] == pytest.approx(latency, abs=1e-9)
    assert summary["hardware"]["energy_pj"]["by_category"] == pytest.approx(energy, rel=1e-9)
    assert summary["result"]["pulses_per_cell"] == 60


def test_seed_option_overrides_the_scenario_seed(runner, scenario_path, tmp_path):
    run_ok(runner, "run", scenario_path, "--out", tmp_path / "a", "--seed", "3",
           "--set", "program.params.pulses=20", "--set", "program.params.cycles=1")
    run_ok(runner, "run", scenario_path, "--out", tmp_path / "b", "--seed", "4",
           "--set", "program.params.pulses=20", "--set", "program.params.cycles=1")
    a = json.loads((tmp_path / "a" / "summary.json").read_text())
    b = json.loads((tmp_path / "b" / "summary.json").read_text())
    assert a["seed"] == 3 and a["scenario"]["seed"] == 3
    assert b["seed"] == 4
    assert a["ground_truth"] != b["ground_truth"]
    # counts and time do not depend on the seed in this program
    assert a["hardware"]["latency_ps"] == b["hardware"]["latency_ps"]


def test_same_scenario_and_seed_give_byte_identical_results(runner, scenario_path, tmp_path):
    for name in ("a", "b"):
        run_ok(runner, "run", scenario_path, "--out", tmp_path / name, "--seed", "11")
    for file in ("summary.json", "metrics.csv"):
        assert (tmp_path / "a" / file).read_bytes() == (tmp_path / "b" / file).read_bytes()


def test_rerun_into_an_existing_directory_replaces_the_files(runner, scenario_path, tmp_path):
    out = tmp_path / "out"
    run_ok(runner, "run", scenario_path, "--out", out, "--set", "program.params.pulses=20")
    first = (out / "summary.json").read_bytes()
    run_ok(runner, "run", scenario_path, "--out", out, "--set", "program.params.pulses=40")
    second = (out / "summary.json").read_bytes()
    assert first != second
    assert sorted(p.name for p in out.iterdir()) == ["metrics.csv", "summary.json"]


def test_json_flag_prints_the_summary(runner, scenario_path, tmp_path):
    out = tmp_path / "out"
    result = run_ok(runner, "run", scenario_path, "--out", out, "--json")
    printed = json.loads(result.stdout)
    assert printed == json.loads((out / "summary.json").read_text())
    assert result.stdout == (out / "summary.json").read_text()


# ---------------------------------------------------------------------------- traces
def test_trace_vcd_writes_a_valid_vcd(runner, scenario_path, tmp_path):
    out = tmp_path / "out"
    run_ok(runner, "run", scenario_path, "--out", out, "--trace", "vcd",
           "--set", "program.params.pulses=20", "--set", "program.params.cycles=1")
    assert sorted(p.name for p in out.iterdir()) == ["metrics.csv", "summary.json", "trace.vcd"]
    tokens = list(tokenize(io.BytesIO((out / "trace.vcd").read_bytes())))
    kinds = {token.kind for token in tokens}
    assert {TokenKind.TIMESCALE, TokenKind.VAR, TokenKind.ENDDEFINITIONS, TokenKind.CHANGE_TIME} <= kinds
    times = [token.time_change for token in tokens if token.kind is TokenKind.CHANGE_TIME]
    summary = json.loads((out / "summary.json").read_text())
    assert times == sorted(times) and times[-1] == summary["hardware"]["latency_ps"]
    assert summary["scenario"]["output"]["trace"] == "vcd"


def test_trace_perfetto_writes_valid_trace_json(runner, scenario_path, tmp_path):
    out = tmp_path / "out"
    run_ok(runner, "run", scenario_path, "--out", out, "--trace", "perfetto",
           "--set", "program.params.pulses=20", "--set", "program.params.cycles=1")
    assert sorted(p.name for p in out.iterdir()) == ["metrics.csv", "summary.json", "trace.json"]
    data = json.loads((out / "trace.json").read_text())
    complete = [event for event in data["traceEvents"] if event["ph"] == "X"]
    assert complete
    for event in complete:
        assert {"ph", "ts", "dur", "pid", "tid", "name"} <= set(event)
        assert event["dur"] >= 0 and event["ts"] >= 0
    names = {event["name"] for event in complete}
    assert {"sign_pattern", "read", "convert"} <= names


# ---------------------------------------------------------------------------- YAML
def test_yaml_scenario_loads_and_runs_like_the_toml(runner, scenario_path, tmp_path):
    document = load_toml(scenario_path)
    yaml_path = tmp_path / "pulse_response.yaml"
    yaml_path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    from emulator.scenario import load_scenario

    assert load_scenario(yaml_path).model_dump() == load_scenario(scenario_path).model_dump()
    run_ok(runner, "run", scenario_path, "--out", tmp_path / "toml")
    run_ok(runner, "run", yaml_path, "--out", tmp_path / "yaml")
    for file in ("summary.json", "metrics.csv"):
        assert (tmp_path / "toml" / file).read_bytes() == (tmp_path / "yaml" / file).read_bytes()


def test_handwritten_yaml_with_yml_suffix(runner, tmp_path, small_toml):
    text = """\
name: small
seed: 5
hardware:
  cost_model: neurosim-reram-50ns
  tiles:
    t0:
      rows: 8
      cols: 8
      arrays:
        W: {preset: ReRamSB}
program:
  name: pulse_response
  params: {tile: t0, array: W, pulses: 10, cycles: 1, read_every: 5}
"""
    (tmp_path / "s.yml").write_text(text)
    (tmp_path / "s.toml").write_text(small_toml)
    from emulator.scenario import load_scenario

    assert load_scenario(tmp_path / "s.yml").model_dump() == load_scenario(tmp_path / "s.toml").model_dump()


# ---------------------------------------------------------------------------- real processes
def test_real_aimc_process_runs_the_scenario(scenario_path, tmp_path):
    executable = shutil.which("aimc")
    assert executable, "the aimc console script is not installed"
    out = tmp_path / "out"
    process = subprocess.run([executable, "run", str(scenario_path), "--out", str(out), "--json"],
                             capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert process.returncode == 0, process.stderr
    assert "Traceback" not in process.stderr
    summary = json.loads(process.stdout)
    assert summary == json.loads((out / "summary.json").read_text())
    latency, _ = hand_latency_and_energy(load_toml(scenario_path))
    assert summary["hardware"]["latency_ns"] == pytest.approx(latency)


def test_real_process_rejects_bad_input_without_traceback(scenario_path, tmp_path):
    out = tmp_path / "never"
    process = subprocess.run([sys.executable, "-m", "emulator", "run", str(scenario_path), "--out", str(out),
                              "--set", "hardware.costs.pulse_width_ns=-1"],
                             capture_output=True, text=True, timeout=120, cwd=tmp_path,
                             env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert process.returncode == 2
    assert "hardware.costs.pulse_width_ns" in process.stderr
    assert "Traceback" not in process.stderr + process.stdout
    assert not out.exists()
