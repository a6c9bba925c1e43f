"""docs/extending.md: every example runs as shown (the files it includes are docs/examples/)."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from emulator.cli import main
from emulator.registry import PROGRAMS, get_program, program_names

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "docs" / "examples"


def test_the_docs_show_the_example_files_verbatim() -> None:
    text = (ROOT / "docs" / "extending.md").read_text(encoding="utf-8")
    for name in re.findall(r"<!-- example: (\S+) -->", text):
        block = text.split(f"<!-- example: {name} -->", 1)[1].split("```", 2)[1]
        body = block.split("\n", 1)[1]
        assert body == (EXAMPLES / name).read_text(encoding="utf-8"), f"docs/extending.md shows a stale {name}"


def test_a_scenario_runs_your_own_program_and_cost_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(EXAMPLES)
    monkeypatch.setattr(sys, "path", list(sys.path))
    out = tmp_path / "run"
    result = CliRunner().invoke(main, ["run", "my_scenario.toml", "--out", str(out)])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["program"] == "my_programs:staircase" and summary["cost_model"] == "flash-adc"
    assert summary["result"]["steps"] == 30
    hardware = summary["hardware"]
    conversions = hardware["total_conversions"]
    assert hardware["energy_pj"]["by_category"]["adc"] == pytest.approx(conversions * 2.0 * 2 ** 9 / 1000.0)
    assert summary["cost_model_parameters"]["comparator_fj"] == 2.0
    metrics = (out / "metrics.csv").read_text().splitlines()
    assert sum("mean_weight" in line for line in metrics) == 30


def test_a_program_of_your_own_is_checked_against_its_signature(monkeypatch: pytest.MonkeyPatch) -> None:
    from emulator.scenario import ScenarioError, validate_document

    monkeypatch.chdir(EXAMPLES)
    monkeypatch.setattr(sys, "path", list(sys.path))
    document = {"hardware": {"tiles": {"t0": {"rows": 2, "cols": 2, "arrays": {"W": {"preset": "ReRamSB"}}}}},
                "program": {"name": "my_programs:staircase", "params": {"steps": "many", "colour": 1}}}
    with pytest.raises(ScenarioError) as error:
        validate_document(document)
    text = error.value.format()
    assert "program.params.steps" in text and "program.params.colour" in text
    document["program"]["name"] = "my_programs:nothing_here"
    with pytest.raises(ScenarioError, match="has no 'nothing_here'"):
        validate_document(document)


def test_installed_programs_come_from_entry_points(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A package that declares `[project.entry-points."aimc.programs"] staircase = "my_programs:staircase"`."""
    info = tmp_path / "my_lab_programs-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: my-lab-programs\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[aimc.programs]\nstaircase = my_programs:staircase\n")
    monkeypatch.setattr(sys, "path", [str(tmp_path), str(EXAMPLES), *sys.path])
    monkeypatch.delitem(PROGRAMS, "staircase", raising=False)
    assert "staircase" in program_names()
    entry = get_program("staircase")
    assert entry.params_model.model_validate({"steps": 3}).steps == 3
    PROGRAMS.pop("staircase", None)


@pytest.fixture
def own_models(monkeypatch: pytest.MonkeyPatch):
    """Run from docs/examples; afterwards forget what its modules registered (other tests, e.g. the
    schema reference, must see the built-in registry only)."""
    from devices import DEVICE_MODELS, unregister_device
    from emulator.workloads import registry as workloads

    monkeypatch.chdir(EXAMPLES)
    monkeypatch.setattr(sys, "path", list(sys.path))
    yield
    if "TanhStep" in DEVICE_MODELS:
        unregister_device("TanhStep")
    workloads.WORKLOAD_KINDS.pop("moons", None)
    workloads._PARAMS_MODELS.pop("moons", None)
    for module in ("my_devices", "my_workloads"):
        sys.modules.pop(module, None)


def test_a_scenario_trains_your_own_workload_on_your_own_device(tmp_path: Path, own_models: None) -> None:
    out = tmp_path / "run"
    result = CliRunner().invoke(main, ["run", "my_training.toml", "--out", str(out)])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["imports"] == ["my_devices", "my_workloads"]
    assert summary["result"]["workload"] == "moons"
    assert summary["result"]["final_test_accuracy"] > 0.75
    assert summary["scenario"]["hardware"]["tiles"]["layer0"]["arrays"]["W"]["device"]["model"] == "TanhStep"


def test_your_own_device_model_follows_its_law(own_models: None) -> None:
    import numpy as np

    from devices import DeviceArray
    from emulator.plugins import import_module

    config = import_module("my_devices").TanhStepConfig(width=0.5, dw_min=0.01, dw_min_std=0.0, dw_min_dtod=0.0, up_down_dtod=0.0)
    array = DeviceArray(config, (8, 8), seed=0, dtype=np.float64)
    array.set_conductance(0.2)
    array.pulse_all(+1)
    np.testing.assert_allclose(array.g, 0.2 + 0.01 * (1 - np.tanh(0.2 / 0.5)), rtol=1e-12)
    np.testing.assert_allclose(array.symmetric_point(), 0.0, atol=1e-9)  # equal steps meet at g = 0
