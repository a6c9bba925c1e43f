"""Fuzzing the command line as a user could: mutated scenario documents and argument lists for
every subcommand, and corrupted results folders. Whatever the input, the CLI exits 0 (it ran) or
2 (it refused, naming why), never prints a traceback or the catch-all message, writes nothing
when it refuses, and never writes outside `--out` (or, for `report`, outside FOLDER/report).

Each example runs in its own fresh working folder, so the check "nothing else appeared" is
exact. Hypothesis runs derandomized: a failure replays from the printed example."""

from __future__ import annotations

import copy
import string
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from document_paths import document_paths

from emulator.cli import main
from emulator.scenario import read_document

ROOT = Path(__file__).resolve().parents[2]
BASE = read_document(ROOT / "scenarios" / "pulse_response.toml")
BASE["hardware"]["tiles"]["t0"].update(rows=6, cols=5)
BASE["program"]["params"].update(pulses=6, cycles=1, read_every=3)

SETTINGS = settings(max_examples=40, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

scalars = st.one_of(st.none(), st.booleans(), st.integers(-1000, 300),
                    st.floats(allow_nan=True, allow_infinity=True, width=32),
                    st.text(alphabet=string.ascii_letters + string.digits + "._-/ ", max_size=10))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=2),
                                                       st.dictionaries(st.text(max_size=6), inner, max_size=2)),
                      max_leaves=4)


PATHS = document_paths(BASE) + [("hardware", "tiles", "t0", "arrays", "W", "overrides", key)
                        for key in ("dw_min", "w_max", "up_down", "reference_mean", "write_noise_std")] \
    + [("hardware", "tiles", "t0", "io", key) for key in ("adc_offset", "out_noise", "out_bound")] \
    + [("hardware", "costs", "pulse_width_ns"), ("name",), ("seed",), ("output", "trace")]


def _mutated(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    document = copy.deepcopy(BASE)
    node = document
    for key in path[:-1]:
        node = node.setdefault(key, {}) if isinstance(node, dict) else node
        if not isinstance(node, dict):
            return document
    node[path[-1]] = value
    return document


def _yaml(document: dict[str, Any]) -> str:
    return yaml.safe_dump(document, allow_unicode=True)


def _files(folder: Path) -> set[str]:
    return {str(path.relative_to(folder)) for path in folder.rglob("*")}


def _check(result: Any, before: set[str], cwd: Path, allowed: list[str]) -> None:
    output = result.output
    event(f"exit {result.exit_code}")
    assert result.exit_code in (0, 2), (result.exit_code, output, repr(result.exception))
    assert "Traceback" not in output and "unexpected failure" not in output, output
    new = _files(cwd) - before
    if result.exit_code == 2:
        assert "error" in output.lower() and not new, (output, new)
    else:
        roots = [(cwd / root).resolve() for root in allowed]
        outside = {name for name in new
                   if not any((cwd / name).resolve().is_relative_to(root) or root.is_relative_to((cwd / name).resolve())
                              for root in roots)}
        assert not outside, (output, outside)


@SETTINGS
@given(st.sampled_from(PATHS), st.one_of(values, st.integers(1, 8), st.floats(0.0, 1.0)))
def test_run_of_a_mutated_scenario_exits_0_or_2_and_writes_only_into_out(path: tuple[str, ...], value: Any) -> None:
    runner = CliRunner()
    with runner.isolated_filesystem() as folder:
        cwd = Path(folder)
        (cwd / "scenario.yaml").write_text(_yaml(_mutated(path, value)))
        before = _files(cwd)
        result = runner.invoke(main, ["run", "scenario.yaml", "--out", "out"])
        _check(result, before, cwd, ["out"])


flag_values = st.one_of(st.text(alphabet=string.printable, max_size=8), st.integers(-5, 70000).map(str),
                        st.sampled_from(["nan", "inf", "-1", "0", "1e400", "", "..", "/", "a=b", "x.y=1"]))
RUN_FLAGS = st.lists(st.tuples(st.sampled_from(["--seed", "--set", "--trace", "--out"]), flag_values), max_size=3)


@SETTINGS
@given(RUN_FLAGS, st.booleans())
def test_run_and_validate_flags(flags: list[tuple[str, str]], as_json: bool) -> None:
    runner = CliRunner()
    with runner.isolated_filesystem() as folder:
        cwd = Path(folder)
        (cwd / "scenario.yaml").write_text(_yaml(BASE))
        args = [part for flag in flags for part in flag]
        before = _files(cwd)
        validated = runner.invoke(main, ["validate", "scenario.yaml",
                                         *[part for flag in flags if flag[0] == "--set" for part in flag]])
        _check(validated, before, cwd, [])
        result = runner.invoke(main, ["run", "scenario.yaml", *args] + (["--json"] if as_json else []))
        outs = [value for flag, value in flags if flag == "--out"]
        _check(result, before, cwd, [outs[-1] if outs else f"results/{BASE['name']}"])


BUDGET_FLAGS = st.lists(st.tuples(st.sampled_from(["--device", "--rows", "--cols", "--target-error", "--metric",
                                                   "--method", "--reads", "--max-pulses", "--checkpoints",
                                                   "--cost-model", "--seed", "--out"]),
                                  st.one_of(flag_values, st.sampled_from(
                                      ["1", "3", "0.1", "rms", "relative-mean", "cyclic", "stochastic", "ReRamSB",
                                       "SoftBounds:dw_min=0.05", "neurosim-reram-50ns", "out", "budget/a"]))),
                        max_size=3)


@SETTINGS
@given(BUDGET_FLAGS)
def test_budget_flags(flags: list[tuple[str, str]]) -> None:
    runner = CliRunner()
    with runner.isolated_filesystem() as folder:
        cwd = Path(folder)
        before = _files(cwd)
        base = ["budget", "--device", "SoftBounds:dw_min=0.01", "--rows", "4", "--cols", "4", "--max-pulses", "60",
                "--checkpoints", "3", "--metric", "rms", "--target-error", "0.5"]
        # a flag given twice: click keeps the last, so the fuzzed value wins; sizes stay small
        args = [part for name, value in flags for part in (name, value)
                if not (name in ("--rows", "--cols", "--max-pulses") and value.isdigit() and int(value) > 64)]
        result = runner.invoke(main, base + args)
        outs = [value for name, value in flags if name == "--out"]
        _check(result, before, cwd, [outs[-1]] if outs else [])


SWEEP_FLAGS = st.lists(st.tuples(st.sampled_from(["--param", "--seeds", "--out", "--backend", "--scheduler"]),
                                 st.one_of(flag_values, st.sampled_from(["seed=1,2", "program.params.pulses=2,4",
                                                                         "program.params.pulses=", "seed=a,b",
                                                                         "x.y=1,2", "seed+program.params.pulses=3"]))),
                       max_size=3)


@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(SWEEP_FLAGS)
def test_sweep_flags(flags: list[tuple[str, str]]) -> None:
    runner = CliRunner()
    with runner.isolated_filesystem() as folder:
        cwd = Path(folder)
        (cwd / "scenario.yaml").write_text(_yaml(BASE))
        before = _files(cwd)
        flags = [(name, value) for name, value in flags if not (name == "--seeds" and value.isdigit() and int(value) > 3)]
        args = [part for flag in flags for part in flag]
        if not any(name == "--out" for name, _ in flags):
            args += ["--out", "sweep"]
        result = runner.invoke(main, ["sweep", "scenario.yaml", "--jobs", "1", *args])
        outs = [value for name, value in flags if name == "--out"]
        _check(result, before, cwd, [outs[-1] if outs else "sweep"])


def _corrupt(text: str, cut: int, junk: str) -> str:
    return text[: cut % (len(text) + 1)] + junk


@settings(max_examples=40, deadline=None, derandomize=True)
@given(st.sampled_from(["summary.json", "metrics.csv"]), st.integers(0, 10**6),
       st.text(alphabet=string.printable, max_size=20))
def test_report_of_a_corrupted_run_folder(name: str, cut: int, junk: str) -> None:
    runner = CliRunner()
    with runner.isolated_filesystem() as folder:
        cwd = Path(folder)
        (cwd / "scenario.yaml").write_text(_yaml(BASE))
        assert runner.invoke(main, ["run", "scenario.yaml", "--out", "run"]).exit_code == 0
        target = cwd / "run" / name
        target.write_text(_corrupt(target.read_text(), cut, junk))
        before = _files(cwd)
        result = runner.invoke(main, ["report", "run"])
        _check(result, before, cwd, ["run/report"])
