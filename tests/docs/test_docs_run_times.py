"""The run times the docs quote come from benchmarks/run_times.py: its rewriting, and that every
shipped scenario and README's quoted times are under its control."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def run_times():
    spec = importlib.util.spec_from_file_location("run_times", REPO / "benchmarks" / "run_times.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["run_times"] = module
    spec.loader.exec_module(module)
    yield module
    del sys.modules["run_times"]


@pytest.mark.parametrize("seconds, text", [
    ((1.04,), "1 s"), ((1.04, 1.26), "1–1.3 s"), ((9.81, 11.4), "9.8–11 s"), ((14.2, 14.4), "14 s"),
    ((150.0, 200.0), "2.5–3.3 min"), ((0.31,), "0.31 s"),
])
def test_times_are_quoted_with_two_significant_digits(run_times, seconds, text):
    assert run_times.Timing("x.toml", "aimc run x.toml", seconds).text == text


def test_header_line_is_replaced_or_inserted_before_the_first_setting(run_times):
    timing = run_times.Timing("x.toml", "aimc run x.toml", (3.0, 4.0))
    fresh = run_times.rewrite_header("# What it does.\n#\nname = 'x'\n", timing, "2-core cpu")
    assert fresh.splitlines()[2].startswith("# Run time: 3–4 s on a 2-core cpu")
    assert fresh.splitlines()[3] == "name = 'x'"
    again = run_times.rewrite_header(fresh, run_times.Timing("x.toml", "", (5.0,)), "2-core cpu")
    assert again.count("# Run time:") == 1 and "# Run time: 5 s" in again


def test_spans_of_measured_files_are_rewritten_and_others_kept(run_times):
    text = ("a <!-- run-time: a.toml -->~1 min<!-- /run-time --> b "
            "<!-- run-time: b.toml -->~2 s<!-- /run-time -->")
    rewritten = run_times.rewrite_spans(text, {"a.toml": run_times.Timing("a.toml", "", (12.3,))})
    assert rewritten == ("a <!-- run-time: a.toml -->12 s<!-- /run-time --> b "
                         "<!-- run-time: b.toml -->~2 s<!-- /run-time -->")


def test_budget_studies_run_through_aimc_budget(run_times, tmp_path):
    assert run_times.command_of(REPO / "scenarios" / "zs_pulses_vs_dwmin.toml", tmp_path)[3:5] == ["budget", "--config"]
    assert run_times.command_of(REPO / "scenarios" / "pulse_response.toml", tmp_path)[3] == "run"


def test_docs_quote_run_times_only_through_the_script(run_times):
    """README's run-time spans name shipped files, and no scenario header states a time by hand."""
    shipped = {path.name for path in (REPO / "scenarios").glob("*.toml")}
    spans = run_times.SPAN.findall((REPO / "README.md").read_text())
    assert spans and {file for file, _ in spans} <= shipped
    by_hand = re.compile(r"^# .*\b(takes|runs in|about) .*\d+(\.\d+)? ?(s|min|minutes|seconds)\b", re.IGNORECASE)
    for path in (REPO / "scenarios").glob("*.toml"):
        stated = [line for line in path.read_text().splitlines() if by_hand.match(line)
                  and not line.startswith(run_times.HEADER_PREFIX)]
        assert not stated, f"{path.name} states a run time by hand: {stated}"
