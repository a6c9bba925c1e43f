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
