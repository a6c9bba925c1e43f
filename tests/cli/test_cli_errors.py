"""Broken inputs: exit status 2, the field path (or file) in stderr, no traceback, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest

from emulator.cli import main


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def assert_input_error(result, *needles: str) -> None:
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert "Traceback" not in result.output
    assert "Traceback" not in (result.stderr or "")
    for needle in needles:
        assert needle in result.stderr, (needle, result.stderr)
    assert result.exception is None or isinstance(result.exception, SystemExit)


SET_CASES = {
    "unknown-field": (["hardware.tiles.t0.colz=3"], ["hardware.tiles.t0.colz", "Extra inputs"]),
    "unknown-top-level-field": (["bogus=1"], ["bogus"]),
    "negative-pulse-width": (["hardware.costs.pulse_width_ns=-1"], ["hardware.costs.pulse_width_ns"]),
    "unknown-cost-field": (["hardware.costs.pulse_widht_ns=5"], ["hardware.costs.pulse_widht_ns"]),
    "unknown-cost-model": (['hardware.cost_model="nope"'], ["hardware.cost_model", "nope"]),
    "unknown-preset": (['hardware.tiles.t0.arrays.W.preset="NoSuchDevice"'],
                       ["hardware.tiles.t0.arrays.W.preset", "NoSuchDevice"]),
    "bad-preset-override": (["hardware.tiles.t0.arrays.W.overrides.dw_min=-1"],
                            ["hardware.tiles.t0.arrays.W.overrides.dw_min"]),
    "wrong-type-rows": (['hardware.tiles.t0.rows="many"'], ["hardware.tiles.t0.rows"]),
    "wrong-type-seed": (['seed="abc"'], ["seed"]),
    "negative-seed": (["seed=-4"], ["seed"]),
    "zero-rows": (["hardware.tiles.t0.rows=0"], ["hardware.tiles.t0.rows"]),
    "bad-io": (["hardware.tiles.t0.io.out_bound=0"], ["hardware.tiles.t0.io.out_bound"]),
    "bad-update": (['hardware.tiles.t0.update.pulse_type="sometimes"'], ["hardware.tiles.t0.update.pulse_type"]),
    "bad-trace": (['output.trace="gif"'], ["output.trace"]),
    "unknown-program": (['program.name="no_such_program"'], ["program.name", "no_such_program"]),
    "bad-program-param": (["program.params.pulses=0"], ["program.params.pulses"]),
    "unknown-program-param": (["program.params.speed=3"], ["program.params.speed"]),
    "missing-tile": (['program.params.tile="t9"'], ["program.params.tile", "t9"]),
    "missing-array": (['program.params.array="Q"'], ["program.params.array", "Q"]),
    "set-into-scalar": (["name.x=1"], ["name.x"]),
    "set-without-equals": (["program.params.pulses"], ["program.params.pulses"]),
}


@pytest.mark.parametrize("case", sorted(SET_CASES))
def test_broken_override_exits_2_with_field_path(runner, scenario_path, tmp_path, case):
    assignments, needles = SET_CASES[case]
    out = tmp_path / "out"
    args = ["run", str(scenario_path), "--out", str(out)]
    for assignment in assignments:
        args += ["--set", assignment]
    result = runner.invoke(main, args)
    assert_input_error(result, *needles)
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_unknown_field_in_file(runner, tmp_path, small_toml):
    path = write(tmp_path, "s.toml", small_toml.replace("rows = 8", "rows = 8\nrowz = 9"))
    out = tmp_path / "out"
    assert_input_error(runner.invoke(main, ["run", str(path), "--out", str(out)]), "hardware.tiles.t0.rowz")
    assert not out.exists()


def test_negative_pulse_width_in_file(runner, tmp_path, small_toml):
    path = write(tmp_path, "s.toml", small_toml.replace('cost_model = "neurosim-reram-50ns"',
                                                         'cost_model = "neurosim-reram-50ns"\ncosts = { pulse_width_ns = -1 }'))
    out = tmp_path / "out"
    assert_input_error(runner.invoke(main, ["run", str(path), "--out", str(out)]), "hardware.costs.pulse_width_ns")
    assert not out.exists()


def test_malformed_toml(runner, tmp_path, small_toml):
    path = write(tmp_path, "broken.toml", small_toml.replace("rows = 8", "rows = [8"))
    out = tmp_path / "out"
    assert_input_error(runner.invoke(main, ["run", str(path), "--out", str(out)]), "malformed TOML", "broken.toml")
    assert not out.exists()


def test_malformed_yaml(runner, tmp_path):
    path = write(tmp_path, "broken.yaml", "name: x\nhardware:\n  tiles: [\n    t0: {rows: 8\n")
    out = tmp_path / "out"
    assert_input_error(runner.invoke(main, ["run", str(path), "--out", str(out)]), "malformed YAML", "broken.yaml")
    assert not out.exists()


def test_yaml_with_a_broken_field_reports_its_path(runner, tmp_path):
    path = write(tmp_path, "s.yaml", """\
hardware:
  costs: {pulse_width_ns: -1}
  tiles:
    t0: {rows: 8, cols: 8, arrays: {W: {preset: ReRamSB}}}
program: {name: pulse_response}
""")
    out = tmp_path / "out"
    assert_input_error(runner.invoke(main, ["run", str(path), "--out", str(out)]), "hardware.costs.pulse_width_ns")
    assert not out.exists()


@pytest.mark.parametrize("text", ["", "- a\n- b\n", "just a string\n"])
def test_yaml_that_is_not_a_mapping(runner, tmp_path, text):
    path = write(tmp_path, "s.yaml", text)
    assert_input_error(runner.invoke(main, ["validate", str(path)]), "s.yaml")


def test_missing_file(runner, tmp_path):
    missing = tmp_path / "nowhere.toml"
    out = tmp_path / "out"
    assert_input_error(runner.invoke(main, ["run", str(missing), "--out", str(out)]), "nowhere.toml")
    assert not out.exists()


def test_directory_instead_of_a_file(runner, tmp_path):
    folder = tmp_path / "folder.toml"
    folder.mkdir()
    assert_input_error(runner.invoke(main, ["validate", str(folder)]), "folder.toml")


def test_output_under_a_regular_file(runner, scenario_path, tmp_path):
    blocker = write(tmp_path, "blocker", "not a directory\n")
    out = blocker / "out"
    result = runner.invoke(main, ["run", str(scenario_path), "--out", str(out)])
    assert_input_error(result, str(blocker))
    assert blocker.read_text() == "not a directory\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocker"]


def test_output_path_is_an_existing_file(runner, scenario_path, tmp_path):
    target = write(tmp_path, "results", "a file\n")
    result = runner.invoke(main, ["run", str(scenario_path), "--out", str(target)])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert target.read_text() == "a file\n"


def test_output_under_an_executable_regular_file(runner, scenario_path, tmp_path):
    """Same as above with the x bit set on the blocking file (os.access alone would pass it)."""
    blocker = write(tmp_path, "blocker", "#!/bin/sh\n")
    blocker.chmod(0o755)
    out = blocker / "out"
    result = runner.invoke(main, ["run", str(scenario_path), "--out", str(out)])
    assert_input_error(result, str(blocker))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocker"]


def test_negative_seed_option_is_a_usage_error(runner, scenario_path, tmp_path):
    result = runner.invoke(main, ["run", str(scenario_path), "--out", str(tmp_path / "o"), "--seed", "-1"])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert not (tmp_path / "o").exists()


def test_check_output_dir_rejects_a_path_under_an_executable_file(tmp_path):
    from emulator.results import OutputError, check_output_dir

    blocker = write(tmp_path, "blocker", "#!/bin/sh\n")
    blocker.chmod(0o755)
    with pytest.raises(OutputError):
        check_output_dir(blocker / "out")


def test_check_output_dir_rejects_a_path_under_a_plain_file(tmp_path):
    from emulator.results import OutputError, check_output_dir

    blocker = write(tmp_path, "blocker", "data\n")
    blocker.chmod(0o644)
    with pytest.raises(OutputError):
        check_output_dir(blocker / "out")
