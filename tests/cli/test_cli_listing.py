"""`aimc validate`, `aimc devices`, `aimc programs`, `aimc --version`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devices import get_preset, preset_names
from emulator import __version__
from emulator.cli import main


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------------------- validate
def test_validate_accepts_the_shipped_scenario(runner, scenario_path):
    result = runner.invoke(main, ["validate", str(scenario_path)])
    assert result.exit_code == 0, result.output
    assert "ok" in result.stdout and "pulse_response" in result.stdout


def test_validate_with_set_overrides(runner, scenario_path):
    good = runner.invoke(main, ["validate", str(scenario_path), "--set", "program.params.pulses=5"])
    assert good.exit_code == 0
    bad = runner.invoke(main, ["validate", str(scenario_path), "--set", "program.params.pulses=-5"])
    assert bad.exit_code == 2 and "program.params.pulses" in bad.stderr


MULTI = """\
name = "multi"
seed = 1
bogus_top = 3

[hardware]
costs = { pulse_width_ns = -1 }

[hardware.tiles.t0]
rows = 8
cols = "eight"

[hardware.tiles.t0.arrays.W]
preset = "Nope"

[program]
name = "pulse_response"

[program.params]
pulses = -5
"""


def test_validate_lists_every_error_with_its_path(runner, tmp_path):
    result = runner.invoke(main, ["validate", str(write(tmp_path, "multi.toml", MULTI))])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    for path in ("bogus_top", "hardware.costs.pulse_width_ns", "hardware.tiles.t0.cols",
                 "hardware.tiles.t0.arrays.W.preset", "program.params.pulses"):
        assert path in result.stderr, (path, result.stderr)
    # one line per problem
    problem_lines = [line for line in result.stderr.splitlines() if line.startswith("  ")]
    assert len(problem_lines) >= 5


def test_validate_lists_override_errors_of_several_tiles(runner, tmp_path):
    text = """\
[hardware.tiles.a]
rows = 4
cols = 4
[hardware.tiles.a.arrays.W]
preset = "ReRamSB"
overrides = { dw_min = -2 }
[hardware.tiles.b]
rows = 4
cols = 4
[hardware.tiles.b.arrays.P]
preset = "EcRam"
overrides = { no_such_field = 1 }
[program]
name = "pulse_response"
params = { tile = "a" }
"""
    result = runner.invoke(main, ["validate", str(write(tmp_path, "s.toml", text))])
    assert result.exit_code == 2
    assert "hardware.tiles.a.arrays.W.overrides.dw_min" in result.stderr
    assert "hardware.tiles.b.arrays.P.overrides.no_such_field" in result.stderr


def test_validate_lists_override_errors_together_with_schema_errors(runner, tmp_path):
    text = """\
[hardware.tiles.a]
rows = -1
cols = 4
[hardware.tiles.a.arrays.W]
preset = "ReRamSB"
[hardware.tiles.b]
rows = 4
cols = 4
[hardware.tiles.b.arrays.P]
preset = "EcRam"
overrides = { no_such_field = 1 }
[program]
name = "pulse_response"
"""
    result = runner.invoke(main, ["validate", str(write(tmp_path, "s.toml", text))])
    assert result.exit_code == 2
    assert "hardware.tiles.a.rows" in result.stderr
    assert "hardware.tiles.b.arrays.P.overrides.no_such_field" in result.stderr


def test_validate_lists_a_missing_tile_together_with_other_param_errors(runner, tmp_path):
    text = """\
[hardware.tiles.t0]
rows = 8
cols = 8
[hardware.tiles.t0.arrays.W]
preset = "ReRamSB"
[program]
name = "pulse_response"
[program.params]
tile = "t9"
pulses = 0
"""
    result = runner.invoke(main, ["validate", str(write(tmp_path, "s.toml", text))])
    assert result.exit_code == 2
    assert "program.params.pulses" in result.stderr
    assert "program.params.tile" in result.stderr


def test_validate_checks_training_tiles_against_the_workload(runner, tmp_path):
    """A training scenario whose tiles do not fit the workload fails `validate` (exit 2), with
    the field path of every misfit, before anything runs."""
    text = """\
[hardware.tiles.layer0]
rows = 32
cols = 64
arrays.W = { preset = "ReRamSB" }
[program]
name = "train_erider"
[program.params]
qtilde = "analog"
[program.params.workload]
kind = "digits"
hidden = [32]
"""
    result = runner.invoke(main, ["validate", str(write(tmp_path, "s.toml", text))])
    assert result.exit_code == 2
    assert "Traceback" not in result.output + result.stderr
    assert "hardware.tiles.layer0: tile 'layer0' is 32×64, the workload needs 32×65" in result.stderr
    assert "hardware.tiles.layer0.arrays: tile 'layer0' has no array 'Qt'" in result.stderr
    assert "hardware.tiles.layer1: tile 'layer1' (10 rows × 33 cols) is missing" in result.stderr
    fixed = text.replace('qtilde = "analog"', 'qtilde = "digital"')
    result = runner.invoke(main, ["validate", str(write(tmp_path, "s.toml", fixed))])
    assert "'Qt'" not in result.stderr  # the digital Q̃ needs no array


def test_validate_malformed_and_missing_files(runner, tmp_path):
    broken = runner.invoke(main, ["validate", str(write(tmp_path, "b.toml", "x = = 1\n"))])
    assert broken.exit_code == 2 and "b.toml" in broken.stderr and "Traceback" not in broken.output
    missing = runner.invoke(main, ["validate", str(tmp_path / "gone.yaml")])
    assert missing.exit_code == 2 and "gone.yaml" in missing.stderr and "Traceback" not in missing.output


# ---------------------------------------------------------------------------- devices
def test_devices_json_lists_every_preset(runner):
    result = runner.invoke(main, ["devices", "--json", "--rows", "16", "--cols", "16"])
    assert result.exit_code == 0, result.output
    table = json.loads(result.stdout)
    assert isinstance(table, list) and len(table) == 10
    assert [row["name"] for row in table] == preset_names()
    for row in table:
        assert {"name", "model", "dw_min", "states", "sp_mean", "sp_std"} <= set(row)
        config = get_preset(row["name"])
        assert row["model"] == config.model
        assert row["dw_min"] == pytest.approx(config.dw_min)
        assert row["states"] > 0
        assert isinstance(row["sp_mean"], float) and row["sp_std"] >= 0


def test_devices_json_default_size_and_seed_is_deterministic(runner):
    first = runner.invoke(main, ["devices", "--json"])
    second = runner.invoke(main, ["devices", "--json"])
    assert first.exit_code == 0
    assert first.stdout == second.stdout
    assert len(json.loads(first.stdout)) == 10


def test_devices_table(runner):
    result = runner.invoke(main, ["devices", "--rows", "8", "--cols", "8"])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split()[:6] == ["name", "model", "dw_min", "states", "sp_mean", "sp_std"]
    for name in preset_names():
        assert any(line.startswith(name + " ") for line in lines), name


# ---------------------------------------------------------------------------- programs, version, help
def test_programs_lists_pulse_response(runner):
    result = runner.invoke(main, ["programs"])
    assert result.exit_code == 0
    names = [line.split()[0] for line in result.stdout.splitlines() if line.strip()]
    assert "pulse_response" in names


def test_version_and_help(runner):
    version = runner.invoke(main, ["--version"])
    assert version.exit_code == 0 and __version__ in version.stdout
    helptext = runner.invoke(main, ["--help"])
    assert helptext.exit_code == 0
    for command in ("run", "validate", "devices", "programs"):
        assert command in helptext.stdout
