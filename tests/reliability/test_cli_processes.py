"""The CLI as a process: progress within a second, a quiet exit when its reader goes away, and a
sweep that takes its workers with it when it is told to stop."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[2]
SMALL = ["--set", "hardware.tiles.t0.rows=8", "--set", "hardware.tiles.t0.cols=8"]
SCENARIO = str(ROOT / "scenarios" / "pulse_response.toml")
PULSE_RESPONSE = Path(SCENARIO).read_text()


def _small_scenario(folder: Path, rows: int, pulses: int) -> str:
    """The pulse-response scenario at another size (sweeps take no --set)."""
    path = folder / f"pulse_{rows}_{pulses}.toml"
    path.write_text(PULSE_RESPONSE.replace("rows = 64", f"rows = {rows}").replace("cols = 64", f"cols = {rows}")
                    .replace("pulses = 200", f"pulses = {pulses}").replace("read_every = 20", f"read_every = {pulses}"))
    return str(path)


def _aimc(*args: str, **kwargs: object) -> subprocess.Popen[bytes]:
    env = {**os.environ, "AIMC_PROGRESS_SECONDS": "0.2"}
    return subprocess.Popen([sys.executable, "-m", "emulator", *args], cwd=kwargs.pop("cwd", ROOT), env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)  # type: ignore[call-overload]


def _seconds_to_first_progress_line(args: list[str]) -> tuple[float, bytes]:
    started = time.perf_counter()
    process = _aimc(*args)
    assert process.stderr is not None
    first = process.stderr.readline()
    elapsed = time.perf_counter() - started
    process.communicate(timeout=300)
    assert process.returncode == 0, first
    return elapsed, first


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("progress") / "run"
    subprocess.run([sys.executable, "-m", "emulator", "run", SCENARIO, "--out", str(folder), *SMALL],
                   cwd=ROOT, check=True, capture_output=True)
    return folder


COMMANDS = {
    "run": ["run", SCENARIO, "--out", "{tmp}/run", *SMALL],
    "run --json": ["run", SCENARIO, "--out", "{tmp}/run_json", "--json", *SMALL],
    "budget": ["budget", "--device", "ReRamSB", "--metric", "rms", "--rows", "16", "--cols", "16",
               "--max-pulses", "200"],
    "sweep": ["sweep", "{small}", "--param", "seed=1,2", "--out", "{tmp}/sweep"],
    "report": ["report", "{run}", "--out", "{tmp}/report"],
    "devices": ["devices", "--rows", "8", "--cols", "8"],
}


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_long_command_prints_progress_within_a_second(command: str, tmp_path: Path, run_folder: Path) -> None:
    """Measured from process start (interpreter start-up included) to the first line on stderr;
    the best of two tries, so one slow start-up on a loaded machine does not decide it."""
    small = _small_scenario(tmp_path, 8, 20)
    args = [part.format(tmp=tmp_path / f"try{attempt}", run=run_folder, small=small) for attempt in (0, 1)
            for part in COMMANDS[command]]
    half = len(args) // 2
    timings = [_seconds_to_first_progress_line(args[:half]), _seconds_to_first_progress_line(args[half:])]
    elapsed, first = min(timings)
    assert first.strip(), f"{command}: nothing on stderr"
    assert elapsed < 1.0, f"{command}: first progress line after {elapsed:.2f} s ({first!r})"


@pytest.mark.parametrize("command", [["schema"], ["programs"], ["devices", "--json"]])
def test_a_closed_pipe_ends_the_command_quietly(command: list[str]) -> None:
    """`aimc schema | head -1`: the reader leaves early; no BrokenPipeError, no traceback."""
    process = _aimc(*command)
    assert process.stdout is not None and process.stderr is not None
    process.stdout.read(10)
    process.stdout.close()
    error = process.stderr.read()
    process.wait(timeout=60)
    assert process.returncode == 0, error
    assert b"Traceback" not in error and b"BrokenPipe" not in error, error


def _descendants(process: psutil.Process) -> list[psutil.Process]:
    try:
        return process.children(recursive=True)
    except psutil.NoSuchProcess:
        return []


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_a_stopped_sweep_leaves_no_process_behind(tmp_path: Path, stop_signal: signal.Signals) -> None:
    """A two-worker sweep, stopped once a run has finished: exit 1 with what was kept, and every
    process of its tree (loky workers included) gone."""
    out = tmp_path / "sweep"
    process = _aimc("sweep", _small_scenario(tmp_path, 32, 4000), "--param", "seed=1,2,3,4,5,6,7,8", "--jobs", "2",
                    "--out", str(out))
    tree = psutil.Process(process.pid)
    deadline = time.monotonic() + 120
    workers: list[psutil.Process] = []
    while time.monotonic() < deadline and not list(out.glob("runs/*/summary.json")):
        workers = [child for child in _descendants(tree) if child not in workers] + workers
        time.sleep(0.05)
    workers = list({child.pid: child for child in workers + _descendants(tree)}.values())
    assert list(out.glob("runs/*/summary.json")), "no run finished within two minutes"
    assert len(workers) >= 2, "the sweep should run on worker processes"
    process.send_signal(stop_signal)
    _, error = process.communicate(timeout=60)
    assert process.returncode == 1, error
    assert f"stopped by {stop_signal.name}".encode() in error and b"kept in" in error, error
    gone, alive = psutil.wait_procs(workers, timeout=15)
    assert not alive, f"left running after {stop_signal.name}: {[(p.pid, p.cmdline()[:3]) for p in alive]}"
