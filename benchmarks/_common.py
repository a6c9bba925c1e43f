"""Shared helpers of the benchmark scripts: building hardware, timing, formatting, the table.

Only the public API of `devices` and `emulator` is used, so the scripts keep working while
the hot paths behind it change.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # runnable from any directory even without the editable install
    sys.path.insert(0, str(REPO))

from devices import SoftBoundsConfig  # noqa: E402
from emulator.hardware import (  # noqa: E402
    Controller, Hardware, PulseTrain, Read, SignPattern, TileSpec, UpdateParameters,
)

# ---------------------------------------------------------------------------- reference figures
#: Figures of issue 8, measured on this machine with the established C++ simulator / numpy.
REF_TRAIN_STEP_S = 10.5e-3
REF_ZS_8000_S = 18.6
REF_ZS_CELL_PULSES_PER_S = 113e6
REF_BARE_AFFINE_512_S = 45e-6
REF_NORMALS_PER_S = 100e6


# ---------------------------------------------------------------------------- result rows
@dataclass
class Row:
    """One line of the table. Strings are pre-formatted; `data` keeps the raw numbers (JSON)."""

    section: str
    case: str
    measured: str
    versus: str = ""
    ratio: str = ""
    target: str = ""
    ok: str = ""
    load: str = ""
    note: str = ""
    data: dict[str, Any] = field(default_factory=dict)


def load_now() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.2f}/{five:.2f}"


def row(section: str, case: str, measured: str, versus: str = "", ratio: str = "", target: str = "",
        ok: bool | None = None, note: str = "", **data: Any) -> Row:
    status = "" if ok is None else ("yes" if ok else "NO")
    return Row(section, case, measured, versus, ratio, target, status, load_now(), note, data)


# ---------------------------------------------------------------------------- formatting
def fmt_time(seconds: float) -> str:
    if seconds >= 1.0:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    if seconds >= 1e-6:
        return f"{seconds * 1e6:.1f} µs"
    return f"{seconds * 1e9:.1f} ns"


def fmt_rate(value: float, unit: str) -> str:
    for scale, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            return f"{value / scale:.3g} {prefix}{unit}"
    return f"{value:.3g} {unit}"


def fmt_ratio(value: float) -> str:
    return f"{value:.2f}×"


def cells_label(rows: int, cols: int) -> str:
    return f"{rows}²" if rows == cols else f"{rows}×{cols}"


# ---------------------------------------------------------------------------- timing
@dataclass
class Timing:
    """Repeated measurements of one quantity (seconds, or seconds per unit)."""

    samples: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def best(self) -> float:
        return min(self.samples)

    @property
    def spread(self) -> float:
        """max/min − 1 over the repeats: how noisy the machine was."""
        return max(self.samples) / min(self.samples) - 1.0 if self.samples and min(self.samples) > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"median": self.median, "best": self.best, "samples": list(self.samples)}


def clock(fn: Callable[[], Any]) -> float:
    """Wall seconds of one call."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def interleaved(cases: dict[str, Callable[[], float]], repeats: int, warmup: int = 1) -> dict[str, Timing]:
    """Run every case once per repeat, cases interleaved so they share the machine's load.

    Each case returns its own elapsed seconds (so it can exclude its set-up); warm-up rounds
    are discarded. The caller takes the median (the machine is shared: others run tests).
    """
    for _ in range(warmup):
        for fn in cases.values():
            fn()
    timings = {name: Timing() for name in cases}
    for _ in range(repeats):
        for name, fn in cases.items():
            timings[name].samples.append(fn())
    return timings


def loglog_exponent(x: Sequence[float], y: Sequence[float]) -> float:
    """Slope of log y against log x (numpy polyfit, degree 1)."""
    slope, _ = np.polyfit(np.log(np.asarray(x, float)), np.log(np.asarray(y, float)), 1)
    return float(slope)


# ---------------------------------------------------------------------------- hardware
def soft_bounds(sigma: float) -> SoftBoundsConfig:
    """The benchmark device: SoftBounds defaults (dw_min 1e-3, ±0.6, d2d on), c2c σ = `sigma`."""
    return SoftBoundsConfig(dw_min_std=sigma)


def build_hardware(rows: int, cols: int | None = None, sigma: float = 0.0, tiles: int = 1, seed: int = 1,
                   update: UpdateParameters | None = None) -> Hardware:
    """`tiles` tiles named t0, t1, … each with one array "W" of SoftBounds cells."""
    cols = rows if cols is None else cols
    spec = {"rows": rows, "cols": cols, "arrays": {"W": soft_bounds(sigma)}}
    if update is not None:
        spec["update"] = update
    return Hardware({f"t{i}": TileSpec(**spec) for i in range(tiles)}, seed=seed)


@dataclass
class TrainingStep:
    """The 512×512 training step of issues 8 and 17: per sample a forward read, a backward read of
    the error against a linear teacher and a BL-31 stochastic update (σ 0.3 by default)."""

    hardware: Hardware
    start_state: np.ndarray
    xs: np.ndarray
    targets: np.ndarray
    learning_rate: float

    @classmethod
    def build(cls, samples: int, learning_rate: float = 0.01, sigma: float = 0.3, n: int = 512) -> "TrainingStep":
        update = UpdateParameters(desired_bl=31, update_bl_management=False)
        hardware = build_hardware(n, sigma=sigma, update=update)
        rng = np.random.default_rng(11)
        teacher = (0.05 * rng.standard_normal((n, n))).astype(np.float32)
        xs = rng.uniform(-1.0, 1.0, (samples, n)).astype(np.float32)
        return cls(hardware, hardware.tile("t0").array("W").g.copy(), xs, xs @ teacher.T, learning_rate)

    def program(self, ctl: Controller) -> Any:
        for x, target in zip(self.xs, self.targets):
            y = yield Read("t0", "W", x, "forward")
            d = y - target
            yield Read("t0", "W", d, "backward")
            yield PulseTrain("t0", "W", x, d, self.learning_rate)

    def reset(self) -> None:
        """Back to the starting conductances, so every repeat trains the same tile."""
        self.hardware.tile("t0").array("W").set_conductance(self.start_state)


def alternating_pulses(ctl: Controller, tile: str, array: str, pulses: int):
    """Program: `pulses` tile-wide pulses, alternately all-up and all-down (cyclic ZS steps)."""
    for step in range(pulses):
        yield SignPattern(tile, array, 1 if step % 2 == 0 else -1)


def simpy_step_counter(hardware: Hardware) -> list[int]:
    """Count the events SimPy really processes (wraps env.step); returns a one-element counter."""
    env = hardware.env
    counter = [0]
    original = env.step

    def step() -> None:
        counter[0] += 1
        original()

    env.step = step  # type: ignore[method-assign]
    return counter


# ---------------------------------------------------------------------------- environment / output
def git_state() -> str:
    try:
        head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--", "devices", "emulator"],
                               capture_output=True, text=True, check=True).stdout.strip()
        return head + (" (devices/ or emulator/ modified)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        exported = REPO / "COMMIT"  # an exported tree (git archive) may name its commit here
        return f"{exported.read_text().strip()[:7]} (exported tree)" if exported.exists() else "unknown"


def header() -> str:
    import simpy

    coretype = os.environ.get("OPENBLAS_CORETYPE", "")
    try:
        from threadpoolctl import threadpool_info

        blas = ", ".join(f"{i.get('internal_api')} {i.get('architecture', '')} {i.get('num_threads')} threads"
                         for i in threadpool_info() if i.get("user_api") == "blas")
    except ImportError:
        blas = "?"
    return (f"# aimc benchmarks — {time.strftime('%Y-%m-%d %H:%M:%S')}  commit {git_state()}\n"
            f"# python {platform.python_version()}, numpy {np.__version__}, simpy {simpy.__version__}, "
            f"cpus {os.cpu_count()}, BLAS {blas}, OPENBLAS_CORETYPE={coretype or '(unset)'}\n"
            f"# load average (1/5/15 min) at start: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


COLUMNS = ("section", "case", "measured", "versus", "ratio", "target", "ok", "load", "note")
TITLES = ("benchmark", "case", "measured", "compared with", "ratio", "target / ref", "ok", "load 1/5m", "note")


def format_table(rows: Iterable[Row]) -> str:
    rows = list(rows)
    cells = [TITLES] + [tuple(getattr(r, c) for c in COLUMNS) for r in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(COLUMNS))]
    out = []
    for index, line in enumerate(cells):
        out.append("| " + " | ".join(value.ljust(width) for value, width in zip(line, widths)) + " |")
        if index == 0:
            out.append("|" + "|".join("-" * (width + 2) for width in widths) + "|")
    return "\n".join(out)


def write_json(path: str, rows: Sequence[Row], extra: dict[str, Any] | None = None) -> None:
    payload = {"header": header(), "rows": [asdict(r) for r in rows], **(extra or {})}
    Path(path).write_text(json.dumps(payload, indent=1, default=float))


def parse_args(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="fewer repeats and pulses (smoke run)")
    parser.add_argument("--json", metavar="PATH", help="also write the raw numbers as JSON")
    return parser.parse_args()


def main_single(run: Callable[[bool], list[Row]], description: str) -> None:
    """Entry point of one benchmark script: header, its rows as a table, optional JSON."""
    args = parse_args(description)
    print(header(), flush=True)
    start = time.perf_counter()
    rows = run(args.quick)
    print(format_table(rows))
    print(f"# wall {time.perf_counter() - start:.1f} s, load average at end: "
          f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    if args.json:
        write_json(args.json, rows)


def progress(message: str) -> None:
    """A progress line on stderr (the table goes to stdout)."""
    print(f"  [{time.strftime('%H:%M:%S')}] {message}  (load {load_now()})", file=sys.stderr, flush=True)
