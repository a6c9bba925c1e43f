"""Sweeps (identical results whatever the backend or worker count, resumable, tied parameters)
and reports (non-empty figures for every kind of result folder, Markdown matching results.csv)."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from emulator.cli import main
from emulator.registry import get_program, program_names
from emulator.report import RUN_FIGURES, build_report, headline_metric
from emulator.sweep import plan_sweep, run_sweep, sweep_seeds
from emulator.workloads import DigitsParams, hardware_toml, training_hardware

ROOT = Path(__file__).resolve().parents[2]

SCENARIO = """
name = "sweep_test"
seed = 5
[hardware.tiles.t0]
rows = 16
cols = 16
[hardware.tiles.t0.arrays.W]
preset = "EcRam"
[program]
name = "zero_shift"
[program.params]
steps = 120
checkpoints = 4
"""
PARAMS = ["program.params.method=stochastic,cyclic", "program.params.reads=1,2"]


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("scenario") / "sweep.toml"
    path.write_text(SCENARIO)
    return path


@pytest.fixture(scope="module")
def serial(scenario: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("serial") / "sweep"
    run_sweep(str(scenario), PARAMS, 2, str(out), jobs=1)
    return out


def _rows(folder: Path) -> list[dict[str, str]]:
    with (folder / "results.csv").open() as stream:
        return list(csv.DictReader(stream))


def test_grid_is_cartesian_with_child_seeds(serial: Path) -> None:
    rows = _rows(serial)
    assert len(rows) == 2 * 2 * 2
    assert {(r["program.params.method"], r["program.params.reads"]) for r in rows} == {
        ("stochastic", "1"), ("stochastic", "2"), ("cyclic", "1"), ("cyclic", "2")}
    assert sorted({int(r["seed"]) for r in rows}) == sorted(sweep_seeds(5, 2))
    for row in rows:
        summary = json.loads((serial / "runs" / row["run_id"] / "summary.json").read_text())
        assert summary["seed"] == int(row["seed"])
        assert summary["scenario"]["program"]["params"]["method"] == row["program.params.method"]


def test_two_workers_give_identical_results(serial: Path, scenario: Path, tmp_path: Path) -> None:
    out = tmp_path / "parallel"
    run_sweep(str(scenario), PARAMS, 2, str(out), jobs=2)
    assert (out / "results.csv").read_bytes() == (serial / "results.csv").read_bytes()


def test_dask_local_cluster_gives_identical_results(serial: Path, scenario: Path, tmp_path: Path) -> None:
    pytest.importorskip("dask.distributed")
    out = tmp_path / "dask"
    run_sweep(str(scenario), PARAMS, 2, str(out), jobs=2, backend="dask")
    assert (out / "results.csv").read_bytes() == (serial / "results.csv").read_bytes()


def test_dask_scheduler_address_gives_identical_results(serial: Path, scenario: Path, tmp_path: Path) -> None:
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        out = tmp_path / "dask_address"
        run_sweep(str(scenario), PARAMS, 2, str(out), jobs=2, backend="dask", scheduler=cluster.scheduler_address)
    assert (out / "results.csv").read_bytes() == (serial / "results.csv").read_bytes()


def test_interrupted_sweep_resumes_keeping_finished_runs(serial: Path, scenario: Path, tmp_path: Path) -> None:
    out = tmp_path / "resumed"
    shutil.copytree(serial, out)
    runs = sorted((out / "runs").iterdir())
    kept = runs[0] / "summary.json"
    kept_time = kept.stat().st_mtime_ns
    for folder in runs[3:]:  # as if killed after three runs
        shutil.rmtree(folder)
    (out / "results.csv").unlink()
    outcome = run_sweep(str(scenario), PARAMS, 2, str(out), jobs=1)
    assert outcome["skipped"] == 3 and outcome["finished"] == 8
    assert kept.stat().st_mtime_ns == kept_time  # finished runs were not redone
    assert (out / "results.csv").read_bytes() == (serial / "results.csv").read_bytes()


def test_tied_parameters_set_every_field(scenario: Path, tmp_path: Path) -> None:
    runs = plan_sweep({"seed": 1}, [("program.params.reads+program.params.checkpoints", [2, 3])], 1)
    assert runs[0].overrides()[:2] == ["program.params.reads=2", "program.params.checkpoints=2"]


def test_invalid_grid_point_fails_before_any_run(scenario: Path, tmp_path: Path) -> None:
    out = tmp_path / "bad"
    result = CliRunner().invoke(main, ["sweep", str(scenario), "--param", "program.params.reads=1,0",
                                       "--out", str(out)])
    assert result.exit_code == 2
    assert "program.params.reads" in result.output and "Traceback" not in result.output
    assert not (out / "runs").exists()


def test_report_of_sweep_has_figures_and_markdown_matching_results(serial: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["report", str(serial), "--out", str(tmp_path / "report")])
    assert result.exit_code == 0, result.output
    report = tmp_path / "report"
    for name in ("sweep_heatmap", "sweep_bars"):
        assert (report / f"{name}.png").stat().st_size > 1000
        assert (report / f"{name}.svg").stat().st_size > 1000
    markdown = (report / "report.md").read_text()
    table = markdown.split("## All runs (results.csv)", 1)[1].strip().split("\n")
    header = [cell.strip() for cell in table[0].strip("|").split("|")]
    rows = _rows(serial)
    assert header == list(rows[0].keys())
    body = [[cell.strip() for cell in line.strip("|").split("|")] for line in table[2:2 + len(rows)]]
    for line, row in zip(body, rows):
        for cell, (column, value) in zip(line, row.items()):
            try:
                assert float(cell) == pytest.approx(float(value), rel=1e-5), column
            except ValueError:
                assert cell == value, column


def test_report_of_each_run_kind_has_nonempty_figures(tmp_path: Path) -> None:
    runner = CliRunner()
    scenario = ROOT / "scenarios" / "pulse_response.toml"
    assert runner.invoke(main, ["run", str(scenario), "--out", str(tmp_path / "pr"),
                                "--set", "program.params.pulses=40"]).exit_code == 0
    assert runner.invoke(main, ["run", str(ROOT / "scenarios" / "zs_error_vs_steps.toml"), "--out",
                                str(tmp_path / "zs"), "--set", "hardware.tiles.t0.rows=16",
                                "--set", "hardware.tiles.t0.cols=16", "--set", "program.params.steps=300"]).exit_code == 0
    assert runner.invoke(main, ["budget", "--device", "SoftBounds:states=200,w_max=1,w_min=-1,up_down=0.2,"
                                "dw_min_dtod=0,w_max_dtod=0,w_min_dtod=0,up_down_dtod=0", "--rows", "8", "--cols", "8",
                                "--target-error", "0.2", "--max-pulses", "400", "--out",
                                str(tmp_path / "budget")]).exit_code == 0
    expected = {"pr": "pulse_response", "zs": "calibration_error", "budget": "budget_curve"}
    for folder, figure in expected.items():
        files, markdown = build_report(tmp_path / folder)
        assert len(files[f"{figure}.png"]) > 1000 and len(files[f"{figure}.svg"]) > 1000
        assert all(len(content) > 500 for content in files.values())
        assert markdown.startswith("#")
    files, _ = build_report(tmp_path / "pr")
    assert {"energy.png", "latency.png", "pulses_by_array_phase.png"} <= set(files)


def test_report_on_empty_folder_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["report", str(tmp_path)])
    assert result.exit_code == 2 and "holds no results" in result.output


TRAINING_SCENARIO = """
name = "training_sweep_test"
seed = 3
[program]
name = "train_ttv2"
[program.params]
workload = { kind = "digits", hidden = [6], train_subset = 400 }
epochs = 1
max_steps = 40
eval_initial = false
log_every = 1
"""


@pytest.fixture(scope="module")
def training_sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("training")
    hardware = training_hardware(DigitsParams(hidden=[6]), {"W": {"preset": "ReRamSB"}, "P": {"preset": "ReRamSB"}})
    (folder / "train.toml").write_text(TRAINING_SCENARIO + hardware_toml(hardware))
    out = folder / "sweep"
    # Learning rates far apart, and 40 steps: the test accuracy leaves chance (0.1) at one of them.
    run_sweep(str(folder / "train.toml"), ["program.params.learning_rate=0.05,1.0"], 1, str(out), jobs=1)
    return out


def test_report_of_training_sweep_plots_the_programs_headline_metric(training_sweep: Path) -> None:
    """A training sweep's report plots test accuracy (the program's headline), not energy."""
    files, markdown = build_report(training_sweep)
    assert "## result.final_test_accuracy (mean ± std over seeds)" in markdown
    assert "program `train_ttv2`" in markdown
    assert len(files["sweep_bars.png"]) > 1000
    assert "energy_pj over" not in markdown
    rows = _rows(training_sweep)
    assert headline_metric(rows, get_program("train_ttv2")) == "result.final_test_accuracy"
    assert headline_metric(rows, None) == "energy_pj"  # a program this installation does not know
    without_accuracy = [{k: v for k, v in row.items() if "accuracy" not in k} for row in rows]
    assert headline_metric(without_accuracy, get_program("train_ttv2")) == "result.final_test_loss"  # regression


def test_report_of_training_run_draws_the_programs_figures(training_sweep: Path) -> None:
    run = next((training_sweep / "runs").iterdir())
    files, markdown = build_report(run)
    assert {"training_vs_step.png", "training_vs_pulses.png", "energy.png"} <= set(files)
    headline = markdown.split("## Headline", 1)[1].split("\n\n")[1]
    assert "result.final_test_accuracy" in headline and "result.final_train_loss" in headline


def test_every_program_declares_known_figures_and_a_headline() -> None:
    for name in program_names():
        entry = get_program(name)
        assert entry.headline, name
        assert set(entry.figures) <= set(RUN_FIGURES), name


def test_sweep_report_skips_a_metric_that_is_the_same_in_every_run() -> None:
    """A headline equal in every run (e.g. accuracy saturated) cannot tell the points apart: the
    report plots the first candidate that varies, and falls back to the headline only if none does."""
    rows = [{"run_id": str(i), "seed": "0", "program.params.learning_rate": lr, "result.final_test_accuracy": "1.0",
             "result.final_test_loss": loss, "energy_pj": "5.0", "latency_ns": "7.0"}
            for i, (lr, loss) in enumerate([("0.1", "0.3"), ("0.2", "0.2")])]
    params = ["program.params.learning_rate"]
    assert headline_metric(rows, get_program("train_ttv2"), params) == "result.final_test_loss"
    flat = [{**row, "result.final_test_loss": "0.3"} for row in rows]
    assert headline_metric(flat, get_program("train_ttv2"), params) == "result.final_test_accuracy"
    assert headline_metric([{**row, "latency_ns": str(i)} for i, row in enumerate(flat)], None, params) == "latency_ns"
