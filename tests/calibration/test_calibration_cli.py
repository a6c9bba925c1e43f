"""`aimc budget` and the zero-shifting scenarios from the command line."""

from __future__ import annotations

import csv
import io
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from calibration_test_helpers import stationary_variance
from click.testing import CliRunner

from emulator.cli import main

REPO = Path(__file__).resolve().parents[2]
DEVICE = ("SoftBounds:states=500,w_max=1,w_min=-1,up_down=0.2,dw_min_dtod=0,w_max_dtod=0,w_min_dtod=0,"
          "up_down_dtod=0")
REQUIRED_KEYS = {"device", "rows", "cols", "method", "pulses_per_cell", "reads_per_cell", "latency_ns", "energy_pj",
                 "rms_error", "relative_mean_error", "reached", "theory_pulses", "theory_error_floor"}


def aimc(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The installed entry point, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "emulator", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=300)


def test_budget_json_has_the_issue_keys() -> None:
    done = aimc("budget", "--device", DEVICE, "--rows", "32", "--cols", "32", "--target-error", "0.05", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert REQUIRED_KEYS <= set(result)
    assert result["device"] == DEVICE
    assert (result["rows"], result["cols"], result["method"]) == (32, 32, "stochastic")
    assert result["reads_per_cell"] == 1 and result["metric"] == "relative-mean"
    assert isinstance(result["reached"], bool)
    assert result["pulses_per_cell"] > 0 and result["latency_ns"] > 0 and result["energy_pj"] > 0
    if result["reached"]:
        assert result["relative_mean_error"] <= 0.05
    assert result["theory_error_floor"] > 0
    assert "Traceback" not in done.stderr
    assert "curve" not in result  # the curve goes to curve.csv, not the JSON


def test_the_readme_example_device_is_budgeted_with_the_default_metric_which_says_what_it_chose() -> None:
    """ReRamSB's mean SP is 0: the default `auto` metric budgets it by RMS instead of refusing."""
    result = CliRunner().invoke(main, ["budget", "--device", "ReRamSB", "--rows", "8", "--cols", "8",
                                       "--max-pulses", "40", "--checkpoints", "4"])
    assert result.exit_code == 0, result.output
    assert "target rms ≤ 0.01" in result.stdout
    assert "metric auto: mean SP" in result.stdout and "RMS error" in result.stdout
    data = json.loads(CliRunner().invoke(main, ["budget", "--device", "ReRamSB", "--rows", "8", "--cols", "8",
                                                "--max-pulses", "40", "--checkpoints", "4", "--json"]).stdout)
    assert (data["metric"], data["metric_requested"]) == ("rms", "auto")


def test_budget_flags_are_honoured(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, [
        "budget", "--device", DEVICE, "--rows", "12", "--cols", "20", "--target-error", "0.3", "--metric", "rms",
        "--method", "cyclic", "--reads", "3", "--max-pulses", "200", "--seed", "5", "--perfect-reads",
        "--checkpoints", "20", "--cost-model", "ecram-5ns", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["rows"], data["cols"], data["method"], data["metric"]) == (12, 20, "cyclic", "rms")
    assert (data["reads_per_cell"], data["seed"], data["cost_model"]) == (3, 5, "ecram-5ns")
    assert data["mvms"] == 3 * 20 and data["read_noise_floor"] == 0.0
    assert data["pulses_per_cell"] <= 200


def test_budget_out_writes_json_curve_csv_and_png(tmp_path: Path) -> None:
    out = tmp_path / "budget"
    result = CliRunner().invoke(main, ["budget", "--device", DEVICE, "--rows", "32", "--cols", "32",
                                       "--target-error", "0.05", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "reached" in result.output  # the human summary
    assert {path.name for path in out.iterdir()} >= {"budget.json", "curve.csv", "curve.png"}
    for name in ("budget.json", "curve.csv", "curve.png"):
        assert (out / name).stat().st_size > 0
    saved = json.loads((out / "budget.json").read_text())
    assert REQUIRED_KEYS <= set(saved)
    rows = list(csv.DictReader(io.StringIO((out / "curve.csv").read_text())))
    assert rows and {"pulses", "rms_error", "relative_mean_error"} <= set(rows[0])
    pulses = [int(row["pulses"]) for row in rows]
    assert pulses == sorted(pulses) and pulses[-1] <= saved["pulses_per_cell"]
    assert (out / "curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_budget_config_sweep_writes_sweep_files(tmp_path: Path) -> None:
    config = tmp_path / "study.toml"
    config.write_text("""\
name = "tiny_sweep"
rows = 16
cols = 16
target_error = 0.1
metric = "relative-mean"
perfect_reads = true
max_pulses = 400
scale_max_pulses = true
checkpoints = 100
sweep_field = "states"
sweep_values = [100, 200, 400]

[device.device]
model = "SoftBounds"
w_max = 1.0
w_min = -1.0
up_down = 0.2
dw_min_dtod = 0.0
up_down_dtod = 0.0
w_max_dtod = 0.0
w_min_dtod = 0.0
""")
    out = tmp_path / "sweep"
    result = CliRunner().invoke(main, ["budget", "--config", str(config), "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["study"] == "tiny_sweep" and data["sweep_field"] == "states"
    assert [row["sweep_value"] for row in data["results"]] == [100, 200, 400]
    assert [row["dw_min"] for row in data["results"]] == pytest.approx([0.02, 0.01, 0.005])
    assert data["pulses_vs_dw_min_exponent"] is not None and -1.3 < data["pulses_vs_dw_min_exponent"] < -0.7
    for name in ("sweep.json", "sweep.csv", "sweep.png"):
        assert (out / name).stat().st_size > 0
    assert json.loads((out / "sweep.json").read_text()) == data
    assert len(list(csv.DictReader(io.StringIO((out / "sweep.csv").read_text())))) == 3


def test_explicit_flags_override_the_config(tmp_path: Path) -> None:
    config = tmp_path / "study.toml"
    config.write_text('rows = 64\ncols = 64\nmax_pulses = 50\nperfect_reads = true\nmetric = "rms"\n'
                      'target_error = 0.5\n[device]\npreset = "EcRam"\n')
    result = CliRunner().invoke(main, ["budget", "--config", str(config), "--rows", "8", "--cols", "8", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["rows"], data["cols"], data["metric"]) == (8, 8, "rms")


@pytest.mark.parametrize("spec", ["NoSuchDevice", "SoftBounds:states=-5", "SoftBounds:bogus_field=1",
                                  "SoftBounds:states=abc,w_max=1"])
def test_bad_device_spec_exits_2_with_a_message(spec: str) -> None:
    done = aimc("budget", "--device", spec, "--rows", "4", "--cols", "4")
    assert done.returncode == 2
    assert "error" in done.stderr.lower() and "device" in done.stderr
    assert "Traceback" not in done.stderr and "Traceback" not in done.stdout


def test_no_device_and_unbudgetable_device_exit_2_without_traceback() -> None:
    runner = CliRunner()
    missing = runner.invoke(main, ["budget", "--rows", "4", "--cols", "4"])
    assert missing.exit_code == 2 and "--device" in missing.output
    refused = runner.invoke(main, ["budget", "--device", "GokmenVlasov", "--rows", "4", "--cols", "4"])
    assert refused.exit_code == 2
    assert "symmetric point" in refused.output and "Traceback" not in refused.output
    zero_mean = runner.invoke(main, ["budget", "--device", "SoftBounds:states=100,dw_min_dtod=0,up_down_dtod=0,"
                                     "w_max_dtod=0,w_min_dtod=0", "--rows", "4", "--cols", "4",
                                     "--metric", "relative-mean"])
    assert zero_mean.exit_code == 2 and "--metric rms" in zero_mean.output
    assert zero_mean.exception is None or isinstance(zero_mean.exception, SystemExit)


def test_zs_error_vs_steps_scenario_runs_and_the_error_falls(tmp_path: Path) -> None:
    out = tmp_path / "zs"
    done = aimc("run", str(REPO / "scenarios" / "zs_error_vs_steps.toml"), "--set", "hardware.tiles.t0.rows=64",
                "--set", "hardware.tiles.t0.cols=64", "--set", "program.params.steps=2000", "--out", str(out))
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO((out / "metrics.csv").read_text())))
    curve = [(int(row["step"]), float(row["value"])) for row in rows if row["metric"] == "iterate_relative_mean_error"]
    assert len(curve) >= 30
    steps = [step for step, _ in curve]
    assert steps == sorted(steps) and steps[-1] == 2000
    values = [value for _, value in curve]
    assert all(later < earlier for earlier, later in zip(values, values[1:])), values
    assert values[0] > 0.99 and values[-1] < 0.25  # (1 − 0.9·Δw)^2000 ≈ 0.165 of the start
    summary = json.loads((out / "summary.json").read_text())
    assert summary["ground_truth"]["relative_mean_error"] > 0.01  # 2000 pulses are not enough for 1 %
    assert summary["hardware"]["pulses"]["t0/W"]["per_cell_max"] == 2000


def test_shipped_budget_study_is_valid() -> None:
    """The paper's Fig. 1 study: 512×512, Δw_min from 5e-3 to 1.6e-6 (three decades and more),
    emulated up to 3·10⁹ cell-pulses, the cap scaled with 1/Δw_min."""
    from emulator.budget import load_budget_config

    study = load_budget_config(str(REPO / "scenarios" / "zs_pulses_vs_dwmin.toml"))
    assert study.sweep_field == "dw_min" and study.metric == "relative-mean" and study.target_error == 0.01
    assert (study.rows, study.cols) == (512, 512) and study.emulate_max_cell_pulses == 3e9
    requests = study.requests()
    dw = [request.device.dw_min for _, request in requests]
    assert max(dw) == 5e-3 and min(dw) == 1.6e-6 and max(dw) / min(dw) > 1000
    assert all(abs(request.device.up_down) > 0 for _, request in requests)  # mean SP ≠ 0
    caps = [request.max_pulses for _, request in requests]
    assert caps == [math.ceil(study.max_pulses * dw[0] / d) for d in dw]  # scale_max_pulses: room ∝ 1/Δw_min


@pytest.mark.slow
def test_zs_pulses_vs_dwmin_study_slope_is_near_minus_one(tmp_path: Path) -> None:
    """SPEC §7.1 (second half) at the paper's scale: the shipped study (~2 min): every budget
    predicted, the affordable ones emulated; slopes ≈ −1 and emulation beside prediction."""
    out = tmp_path / "sweep"
    done = aimc("budget", "--config", str(REPO / "scenarios" / "zs_pulses_vs_dwmin.toml"), "--out", str(out), "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    emulated = [row for row in data["results"] if row["mode"] == "emulated"]
    assert len(emulated) >= 3 and all(row["reached"] for row in emulated)
    assert -1.1 <= data["pulses_vs_dw_min_exponent"] <= -0.9
    assert data["predicted_pulses_vs_dw_min_exponent"] == pytest.approx(-1.0, abs=0.02)
    for row in emulated:
        predicted = row["predicted"]
        gap = abs(predicted["pulses_per_cell"] - row["pulses_per_cell"])
        assert gap <= 4 * predicted["pulses_spread"] + row["agreement"]["checkpoint_resolution"], row


@pytest.mark.slow
def test_zs_error_vs_steps_full_scenario(tmp_path: Path) -> None:
    """SPEC §7.1 (first half) at full size: 512×512, 2000 states, N = 8000, reads through the ADC."""
    out = tmp_path / "zs"
    done = aimc("run", str(REPO / "scenarios" / "zs_error_vs_steps.toml"), "--out", str(out))
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO((out / "metrics.csv").read_text())))
    curve = {int(row["step"]): float(row["value"]) for row in rows if row["metric"] == "iterate_relative_mean_error"}
    at_2000 = curve[max(step for step in curve if step <= 2000)]
    assert at_2000 > 0.01
    summary = json.loads((out / "summary.json").read_text())
    assert summary["ground_truth"]["relative_mean_error"] <= 0.01
    truth = summary["ground_truth"]
    # Per-cell spread of the iterate: the stationary variance of stochastic ZS on this SoftBounds cell
    # (s⁺ = Δw, s⁻ = 0.8Δw, σ = 0.3; ≈ sqrt(Δw_min/2) as SPEC §5 says) ...
    zs_variance = stationary_variance(1e-3, 0.8e-3, 1.0, -1.0, 0.3)
    assert truth["iterate_rms_error"] == pytest.approx(zs_variance ** 0.5, rel=0.05)
    # ... and the residual adds the read noise of 4 averaged reads (out_noise 0.06).
    assert truth["std_error"] == pytest.approx((zs_variance + 0.06 ** 2 / 4) ** 0.5, rel=0.05)


def test_budget_predict_only_answers_for_a_fine_device_and_writes_the_predicted_curve(tmp_path: Path) -> None:
    out = tmp_path / "predicted"
    result = CliRunner().invoke(main, ["budget", "--device", DEVICE.replace("states=500", "states=200000"),
                                       "--rows", "64", "--cols", "64", "--predict-only", "--perfect-reads",
                                       "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["mode"] == "predicted" and "agreement" not in data
    predicted = data["predicted"]
    assert predicted["reached"] and predicted["exact"] and not predicted["clipping_matters"]
    assert data["pulses_per_cell"] == predicted["pulses_per_cell"] > 100_000
    assert data["latency_ns"] > 0 and data["instance_pulses"] is not None
    rows = list(csv.DictReader(io.StringIO((out / "curve.csv").read_text())))
    assert rows and "predicted_relative_mean_error" in rows[0]


def test_budget_start_state_and_confidence_flags(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["budget", "--device", DEVICE, "--rows", "16", "--cols", "16", "--target-error",
                                       "0.1", "--w-init", "sp+0.05", "--confidence", "0.5", "--perfect-reads", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["start"] == "each cell at its symmetric point +0.05" and data["confidence"] == 0.5
    bad = CliRunner().invoke(main, ["budget", "--device", DEVICE, "--rows", "4", "--cols", "4", "--w-init", "sp*2"])
    assert bad.exit_code == 2 and "w_init" in bad.output and "Traceback" not in bad.output


def test_budget_progress_goes_to_stderr_with_the_zs_steps(tmp_path: Path) -> None:
    """Not on a terminal: a line when each budget starts its ZS pulses, then periodic lines with
    the steps done (the shared cli_output.Progress; AIMC_PROGRESS_SECONDS sets the period)."""
    import os

    done = subprocess.run([sys.executable, "-m", "emulator", "budget", "--device", DEVICE, "--rows", "128", "--cols",
                           "128", "--target-error", "0.02", "--json"], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "AIMC_PROGRESS_SECONDS": "0.01"})
    assert done.returncode == 0, done.stderr
    json.loads(done.stdout)  # stdout holds the JSON only
    assert "128×128: prediction, then ZS pulses …" in done.stderr
    assert " steps (" in done.stderr, done.stderr


@pytest.mark.parametrize(("content", "message"), [
    (lambda: __import__("numpy").zeros((3, 3)), "array of shape (3, 3), the tile is (4, 4)"),
    (lambda: __import__("numpy").full((4, 4), float("nan")), "16 of its 16 values are not finite"),
    (lambda: __import__("numpy").array([["a"] * 4] * 4), "not numbers"),
    (lambda: __import__("numpy").zeros(16), "1-D array"),
    (None, "not a numpy array file"),
])
def test_bad_start_state_files_exit_2_naming_w_init(tmp_path: Path, content: Any, message: str) -> None:
    import numpy as np

    path = tmp_path / "start.npy"
    if content is None:
        path.write_text("not an array")
    else:
        np.save(path, content())
    result = CliRunner().invoke(main, ["budget", "--device", DEVICE, "--rows", "4", "--cols", "4", "--max-pulses", "20",
                                       "--w-init", str(path)])
    assert result.exit_code == 2, result.output
    assert "w_init" in result.output and message in result.output and "Traceback" not in result.output


def test_budget_text_says_when_the_worst_case_floor_is_above_the_starting_error() -> None:
    """A worst-case floor larger than the error the tile starts from (ReRamSB's write noise makes it
    about 5e5) is printed with why it says nothing, not as a bare number far outside the weights."""
    result = CliRunner().invoke(main, ["budget", "--device", "ReRamSB", "--rows", "32", "--cols", "32",
                                       "--predict-only"])
    assert result.exit_code == 0, result.output
    worst = next(line for line in result.stdout.splitlines() if line.startswith("bound, worst case"))
    assert "says nothing about this tile" in worst
