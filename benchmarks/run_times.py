"""Measure how long each shipped scenario takes through the CLI and rewrite the run times the docs quote.

The one source of the run times in scenario headers and README: each `scenarios/*.toml` runs as a
user runs it (`aimc run FILE --out DIR`, budget studies `aimc budget --config FILE --out DIR`), wall
time from process start to exit, best and worst of `--repeats`. The script then rewrites

- in each scenario file, its `# Run time: ...` header line (added above the first setting if absent);
- in README.md and docs/*.md, every `<!-- run-time: FILE -->...<!-- /run-time -->` span;
- docs/run_times.md, the whole table with the machine, its load and the date.

    python benchmarks/run_times.py                      # every scenario once, rewrite the docs
    python benchmarks/run_times.py --repeats 3 --only digits_
    python benchmarks/run_times.py --dry-run            # measure and print, write nothing
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
HEADER_PREFIX = "# Run time: "
SPAN = re.compile(r"<!-- run-time: (?P<file>[\w.\-]+) -->(?P<text>.*?)<!-- /run-time -->")


@dataclass(frozen=True)
class Timing:
    """Wall times (s) of one scenario's repeated CLI runs."""

    file: str
    command: str
    seconds: tuple[float, ...]

    @property
    def text(self) -> str:
        """The run time as docs quote it: '1.1 s', '9.8–11 s', '3.2 min'."""
        low, high = min(self.seconds), max(self.seconds)
        if high >= 120:
            return _span(low / 60, high / 60, "min")
        return _span(low, high, "s")


def _span(low: float, high: float, unit: str) -> str:
    def short(value: float) -> str:
        return f"{value:.2g}" if value < 10 else f"{value:.0f}"
    low_text, high_text = short(low), short(high)
    return f"{low_text} {unit}" if low_text == high_text else f"{low_text}–{high_text} {unit}"


def command_of(path: Path, out: Path) -> list[str]:
    """The CLI command a user runs for this scenario file (a run, or a budget study)."""
    document = tomllib.loads(path.read_text())
    if "hardware" in document:
        return [sys.executable, "-m", "emulator", "run", str(path), "--out", str(out)]
    return [sys.executable, "-m", "emulator", "budget", "--config", str(path), "--out", str(out)]


def measure(path: Path, repeats: int) -> Timing:
    """Run the scenario `repeats` times in fresh processes; a failing run stops the script."""
    seconds = []
    with tempfile.TemporaryDirectory() as scratch:
        for index in range(repeats):
            command = command_of(path, Path(scratch) / f"run{index}")
            start = time.perf_counter()
            done = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
            seconds.append(time.perf_counter() - start)
            if done.returncode != 0:
                raise SystemExit(f"{path.name} failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
    shown = " ".join(["aimc", *command[3:-2]]).replace(str(REPO) + os.sep, "")
    return Timing(path.name, shown, tuple(seconds))


def machine_text() -> str:
    """What the times were measured on: cores, CPU, Python."""
    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                 if line.startswith("model name")]
        model = names[0] if names else model
    return f"{os.cpu_count()}-core {model}, Python {platform.python_version()}"


def rewrite_header(text: str, timing: Timing, machine: str) -> str:
    """The scenario file with its `# Run time:` line set (inserted before the first setting if absent)."""
    line = f"{HEADER_PREFIX}{timing.text} on a {machine} (measured by benchmarks/run_times.py)."
    lines = text.splitlines(keepends=True)
    for index, existing in enumerate(lines):
        if existing.startswith(HEADER_PREFIX):
            lines[index] = line + "\n"
            return "".join(lines)
    first_setting = next((i for i, existing in enumerate(lines) if not existing.startswith("#")), len(lines))
    lines.insert(first_setting, line + "\n")
    return "".join(lines)


def rewrite_spans(text: str, timings: dict[str, Timing]) -> str:
    """Markdown with every run-time span of a measured file set to its time; others kept."""
    def replace(match: re.Match[str]) -> str:
        timing = timings.get(match["file"])
        text = timing.text if timing else match["text"]
        return f"<!-- run-time: {match['file']} -->{text}<!-- /run-time -->"
    return SPAN.sub(replace, text)


def table(timings: list[Timing], machine: str, load: tuple[float, float, float], repeats: int) -> str:
    """docs/run_times.md: every shipped scenario's measured wall time."""
    today = datetime.date.today().isoformat()
    rows = "\n".join(f"| `{t.file}` | `{t.command}` | {t.text} |" for t in timings)
    return (
        "# Run times of the shipped scenarios\n\n"
        "Written by `python benchmarks/run_times.py`, which also sets the `# Run time:` line of each\n"
        "scenario file and the run times README quotes. Wall time of the whole CLI process (start-up,\n"
        f"run, writing results), best–worst of {repeats} run(s) each, one after another, measured\n"
        f"{today} on a {machine}; load average before the runs {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}.\n\n"
        "| scenario | command | wall time |\n|---|---|---|\n" + rows + "\n"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1, help="runs per scenario (best and worst are quoted)")
    parser.add_argument("--only", default="", help="only scenario files whose name contains this")
    parser.add_argument("--dry-run", action="store_true", help="measure and print; write nothing")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    paths = sorted(path for path in (REPO / "scenarios").glob("*.toml") if args.only in path.name)
    if not paths:
        parser.error(f"no scenario file matches --only {args.only!r}")
    machine, load = machine_text(), os.getloadavg()
    timings = []
    for path in paths:
        timing = measure(path, args.repeats)
        print(f"{timing.file:40s} {timing.text}", flush=True)
        timings.append(timing)
        if not args.dry_run:
            path.write_text(rewrite_header(path.read_text(), timing, machine))
    if args.dry_run:
        return
    by_file = {timing.file: timing for timing in timings}
    for markdown in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        text = markdown.read_text()
        rewritten = rewrite_spans(text, by_file)
        if rewritten != text:
            markdown.write_text(rewritten)
    if not args.only:
        (REPO / "docs" / "run_times.md").write_text(table(timings, machine, load, args.repeats))


if __name__ == "__main__":
    main()
