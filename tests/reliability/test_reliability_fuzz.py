"""Fuzzing the scenario loader and the CLI: any document is either a Scenario or a ScenarioError
with field paths, never another exception; broken files exit 2 without a traceback."""

from __future__ import annotations

import copy
import csv
import math
import string
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from document_paths import document_paths

from emulator.cli import main
from emulator.scenario import Scenario, ScenarioError, read_document, validate_document

ROOT = Path(__file__).resolve().parents[2]
BASE = read_document(ROOT / "scenarios" / "pulse_response.toml")

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(st.text(max_size=8), inner, max_size=3)),
                      max_leaves=8)


PATHS = document_paths(BASE)


def _check(document: object) -> None:
    try:
        scenario = validate_document(document)  # type: ignore[arg-type]
    except ScenarioError as error:
        assert error.problems
        for path, reason in error.problems:
            assert isinstance(path, str) and isinstance(reason, str) and reason
    else:
        assert isinstance(scenario, Scenario)


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(PATHS), values)
def test_mutating_one_field_gives_scenario_or_scenario_error(path: tuple[str, ...], value: object) -> None:
    document = copy.deepcopy(BASE)
    node = document
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    _check(document)


@settings(max_examples=100, deadline=None, derandomize=True)
@given(st.dictionaries(st.text(max_size=10), values, max_size=5))
def test_random_documents_give_scenario_or_scenario_error(document: dict[str, object]) -> None:
    _check(document)


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet=string.printable, max_size=200), st.sampled_from([".toml", ".yaml"]))
def test_cli_on_garbage_files_exits_2_without_traceback(tmp_path: Path, text: str, suffix: str) -> None:
    path = tmp_path / f"garbage{suffix}"
    path.write_text(text)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["run", str(path), "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert not out.exists()


@pytest.mark.parametrize("assignment", [
    "hardware.tiles.t0.arrays.W.overrides.dw_min=1.2",  # one pulse spans the whole range
    "hardware.tiles.t0.arrays.W.overrides.corrupt_devices_prob=1.0",
    "hardware.tiles.t0.io.out_bound=1e-6",
    "hardware.tiles.t0.io.adc_offset=1e6",
    "hardware.tiles.t0.arrays.W.overrides.write_noise_std=1e6",
])
def test_extreme_but_valid_configs_give_finite_results(tmp_path: Path, assignment: str) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["run", str(ROOT / "scenarios" / "pulse_response.toml"), "--out", str(out),
                                       "--set", assignment, "--set", "program.params.pulses=20",
                                       "--set", "program.params.read_every=10", "--json"])
    assert result.exit_code in (0, 1), result.output
    if result.exit_code == 0:
        assert "NaN" not in (out / "summary.json").read_text()
        rows = list(csv.DictReader((out / "metrics.csv").open()))
        assert rows and all(math.isfinite(float(row["value"])) for row in rows)
    else:
        assert "diverged" in result.output and not out.exists()
