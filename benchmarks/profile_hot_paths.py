"""Profile the three hot paths of issue 8 (cProfile; optionally py-spy for per-line shares).

    python benchmarks/profile_hot_paths.py                       # cProfile, all three paths
    python benchmarks/profile_hot_paths.py --path train          # one path
    python benchmarks/profile_hot_paths.py --py-spy              # + py-spy line-level sampling
    python benchmarks/profile_hot_paths.py --path none --experiments   # only the micro-measurements

Paths (all 512², float32 SoftBounds, through Controller.run with events, counters and costs):
- zs_stochastic: `zero_shift` stochastic, c2c σ 0.3 (a random up/down mask per step), 300 steps;
- train:         training step (forward Read, backward Read, BL-31 PulseTrain, σ 0.3), 40 samples;
- zs_cyclic:     `zero_shift` cyclic, noise-free, 4000 steps.

cProfile sees Python functions only: time spent in numpy ufuncs and in-place operators is
charged to the Python function that calls them (its "tottime"). py-spy (pip install py-spy)
samples the stack and charges each sample to the deepest line of devices/ or emulator/ on
it, which splits a kernel such as DeviceArray._step line by line (the draw, each ufunc, the clip).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

from _common import REPO, Controller, TrainingStep, build_hardware, header
from emulator.algorithms.calibration import zero_shift


def workload(path: str):
    """(setup-free callable running the hot path, description)."""
    if path == "zs_stochastic":
        hardware = build_hardware(512, sigma=0.3)
        steps = 300
        return (lambda: Controller(hardware).run(zero_shift, tile="t0", array="W", steps=steps,
                                                 method="stochastic"),
                f"512² stochastic ZS σ=0.3, {steps} steps (+ final ReadCells)")
    if path == "zs_cyclic":
        hardware = build_hardware(512, sigma=0.0)
        steps = 4000
        return (lambda: Controller(hardware).run(zero_shift, tile="t0", array="W", steps=steps, method="cyclic"),
                f"512² cyclic ZS σ=0, {steps} steps (+ final ReadCells)")
    if path == "train":
        samples = 40
        workload = TrainingStep.build(samples)
        hardware, program = workload.hardware, workload.program

        return (lambda: Controller(hardware).run(program),
                f"512×512 training step σ=0.3, BL 31, lr 0.01, {samples} samples")
    raise SystemExit(f"unknown path {path!r}")


PATHS = ("zs_stochastic", "train", "zs_cyclic")


def short(filename: str) -> str:
    for marker in (str(REPO) + os.sep, "site-packages" + os.sep):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename


def cprofile_report(path: str, top: int, save: Path | None) -> str:
    run, description = workload(path)
    run_warm, _ = workload(path)
    run_warm()  # imports, allocator, first-touch
    start = time.perf_counter()
    run()
    plain = time.perf_counter() - start
    run, _ = workload(path)
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.runcall(run)
    profiled = time.perf_counter() - start
    stats = pstats.Stats(profiler)
    if save:
        stats.dump_stats(save / f"{path}.prof")
    entries = stats.stats  # type: ignore[attr-defined]
    total = sum(v[2] for v in entries.values())
    out = io.StringIO()
    out.write(f"\n## {path}: {description}\n")
    out.write(f"wall {plain:.2f} s unprofiled, {profiled:.2f} s under cProfile; load {os.getloadavg()[0]:.2f}\n\n")
    out.write("top functions by own time (tottime; numpy ufunc work is charged to the caller):\n")
    out.write(f"{'own %':>6} {'own s':>7} {'cum s':>7} {'calls':>8}  function\n")
    ranked = sorted(entries.items(), key=lambda kv: kv[1][2], reverse=True)[:top]
    for (filename, line, name), (_cc, ncalls, tottime, cumtime, _callers) in ranked:
        where = f"{short(filename)}:{line}({name})" if line else name
        out.write(f"{100 * tottime / total:6.1f} {tottime:7.3f} {cumtime:7.3f} {ncalls:8d}  {where}\n")
    out.write("\ncumulative time of the repo's functions (share of the profiled run):\n")
    repo = [(k, v) for k, v in entries.items() if str(REPO) in k[0] and "benchmarks" not in k[0]]
    for (filename, line, name), (_cc, ncalls, _tt, cumtime, _callers) in sorted(
            repo, key=lambda kv: kv[1][3], reverse=True)[:top]:
        out.write(f"{100 * cumtime / total:6.1f}% {cumtime:7.3f} s {ncalls:8d}  {short(filename)}:{line}({name})\n")
    return out.getvalue()


def pyspy_report(path: str, top: int, rate: int) -> str:
    exe = shutil.which("py-spy")
    if exe is None:
        return "\n(py-spy not found: pip install py-spy)\n"
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.txt"
        cmd = [exe, "record", "-r", str(rate), "-f", "raw", "-o", str(raw), "--",
               sys.executable, str(Path(__file__).resolve()), "--path", path, "--run-only"]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        lines = raw.read_text().splitlines()
    by_repo_line: Counter[str] = Counter()
    by_leaf: Counter[str] = Counter()
    total = 0
    for entry in lines:
        stack, _, count = entry.rpartition(" ")
        if not count.isdigit():
            continue
        frames = stack.split(";")
        if not any("run_only_target" in f for f in frames):
            continue  # start-up and imports
        n = int(count)
        total += n
        by_leaf[_frame_label(frames[-1])] += n
        repo_frames = [f for f in frames if ("devices/" in f or "emulator/" in f) and "benchmarks" not in f]
        by_repo_line[_frame_label(repo_frames[-1]) if repo_frames else "(outside devices/ and emulator/)"] += n
    out = io.StringIO()
    out.write(f"\npy-spy {path}: {total} samples at {rate} Hz (run only, start-up excluded)\n")
    out.write("deepest line of devices/ or emulator/ on the stack (numpy work charged to the line calling it):\n")
    for label, n in by_repo_line.most_common(top):
        out.write(f"{100 * n / max(total, 1):6.1f}%  {label}\n")
    out.write("leaf frames (where Python was when sampled):\n")
    for label, n in by_leaf.most_common(8):
        out.write(f"{100 * n / max(total, 1):6.1f}%  {label}\n")
    return out.getvalue()


def _median_us(fn, repeats: int = 7, inner: int = 20) -> float:
    fn()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(inner):
            fn()
        samples.append((time.perf_counter() - start) / inner)
    return 1e6 * float(np.median(samples))


def experiments() -> str:
    """Micro-measurements behind the suggestions in PROFILE.md (512² float32 unless noted)."""
    n = 512
    rng = np.random.default_rng(0)
    f32 = np.float32
    g = rng.uniform(-0.5, 0.5, (n, n)).astype(f32)
    lo, hi = np.full((n, n), -0.6, f32), np.full((n, n), 0.6, f32)
    up, down = rng.random((n, n)).astype(f32), rng.random((n, n)).astype(f32)
    diff = up - down
    mask = rng.random((n, n)) < 0.5
    buf, choose = np.empty((n, n), f32), np.empty((n, n), f32)
    flat = np.empty(n * n, f32)
    uniforms = np.empty(n * n, f32)
    half = n * n // 2
    radius, angle = np.empty(half, f32), np.empty(half, f32)

    def box_muller() -> None:
        rng.random(dtype=f32, out=uniforms)
        np.subtract(f32(1.0), uniforms[:half], out=radius)  # (0, 1]
        np.log(radius, out=radius)
        np.multiply(radius, f32(-2.0), out=radius)
        np.sqrt(radius, out=radius)
        np.multiply(uniforms[half:], f32(2 * np.pi), out=angle)
        np.cos(angle, out=flat[:half])
        np.sin(angle, out=flat[half:])
        np.multiply(flat[:half], radius, out=flat[:half])
        np.multiply(flat[half:], radius, out=flat[half:])

    sfc = np.random.Generator(np.random.SFC64(0))

    def arithmetic_select() -> None:
        np.copyto(choose, mask)
        np.multiply(choose, diff, out=buf)
        np.add(buf, down, out=buf)

    bl, rows = 31, n
    row_fires, col_fires = rng.random((bl, rows)) < 0.4, rng.random((bl, rows)) < 0.4
    signed_rows = np.ascontiguousarray(row_fires.T, dtype=f32)
    signed_cols = col_fires.astype(f32)
    weights = (1 << np.arange(bl, dtype=np.uint32))

    def popcount() -> None:
        r = (row_fires.T.astype(np.uint32) * weights).sum(axis=1, dtype=np.uint32)
        c = (col_fires.T.astype(np.uint32) * weights).sum(axis=1, dtype=np.uint32)
        np.bitwise_count(np.bitwise_and.outer(r, c))

    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        threadpool_limits = None

    class BlasOneThread:
        """Marker: timed with the BLAS pool limited to one thread (limit set outside the timing)."""

        def __call__(self) -> None:
            signed_rows @ signed_cols

    blas_one_thread = BlasOneThread()

    magnitude = rng.integers(1, 32, 200_000).astype(np.int32)
    small = (31 - magnitude).astype(np.uint8)
    index = np.sort(rng.choice(n * n, 200_000, replace=False))
    gathered = np.empty(200_000, f32)
    cases = [
        ("draw: rng.standard_normal(float32, out=) PCG64", lambda: rng.standard_normal(dtype=f32, out=flat)),
        ("draw: standard_normal float32, SFC64 bit generator", lambda: sfc.standard_normal(dtype=f32, out=flat)),
        ("draw: Box-Muller float32 from rng.random (vectorized)", box_muller),
        ("draw: rng.random(float32, out=) alone", lambda: rng.random(dtype=f32, out=uniforms)),
        ("affine: g *= b; g += a", lambda: (np.multiply(g, up, out=g), np.add(g, down, out=g))),
        ("clip: np.minimum + np.maximum (out=g)", lambda: (np.minimum(g, hi, out=g), np.maximum(g, lo, out=g))),
        ("clip: np.clip(g, lo, hi, out=g)", lambda: np.clip(g, lo, hi, out=g)),
        ("select: np.where(mask, up, down)", lambda: np.where(mask, up, down)),
        ("select: arithmetic, preallocated (copyto, *, +)", arithmetic_select),
        ("select: mask.astype(float32) alone", lambda: mask.astype(f32)),
        ("coincidences 512x31 @ 31x512 float32, BLAS default threads", lambda: signed_rows @ signed_cols),
        ("coincidences 512x31 @ 31x512, popcount of packed uint32 bits", popcount),
        ("sort 200k run lengths: argsort(-int32, stable)", lambda: np.argsort(-magnitude, kind="stable")),
        ("sort 200k run lengths: argsort(uint8, stable) = radix", lambda: np.argsort(small, kind="stable")),
        ("gather 200k of 512²: fancy index", lambda: flat[index]),
        ("gather 200k of 512²: np.take(out=)", lambda: np.take(flat, index, out=gathered)),
        ("draw 200k float32 normals", lambda: rng.standard_normal(200_000, dtype=f32)),
    ]
    if threadpool_limits is not None:
        cases.insert(11, ("coincidences 512x31 @ 31x512 float32, BLAS 1 thread", blas_one_thread))
    out = io.StringIO()
    out.write(f"\n## micro-measurements (median of 7, µs; load {os.getloadavg()[0]:.2f})\n")
    for name, fn in cases:
        if isinstance(fn, BlasOneThread):
            with threadpool_limits(1, user_api="blas"):
                value = _median_us(fn)
        else:
            value = _median_us(fn)
        out.write(f"{value:10.1f}  {name}\n")
    return out.getvalue()


def _frame_label(frame: str) -> str:
    # py-spy raw frame: "function (path/to/file.py:123)"
    name, _, where = frame.partition(" (")
    where = where.rstrip(")")
    return f"{short(where)} {name}"


def run_only_target(run) -> None:
    """The function py-spy's samples are filtered on (hardware built before it is called)."""
    run()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", choices=PATHS + ("all", "none"), default="all")
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--py-spy", action="store_true", help="also sample with py-spy (line-level shares)")
    parser.add_argument("--rate", type=int, default=250, help="py-spy samples per second")
    parser.add_argument("--save", metavar="DIR", help="write the .prof files (snakeviz, pstats) here")
    parser.add_argument("--experiments", action="store_true",
                        help="also time the alternatives PROFILE.md suggests (draws, clip, select, sort, …)")
    parser.add_argument("--run-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run_only:
        workload(args.path)[0]()  # warm-up
        run, _ = workload(args.path)
        run_only_target(run)
        return
    save = Path(args.save) if args.save else None
    if save:
        save.mkdir(parents=True, exist_ok=True)
    print(header())
    for path in (PATHS if args.path == "all" else () if args.path == "none" else (args.path,)):
        print(cprofile_report(path, args.top, save), flush=True)
        if args.py_spy:
            print(pyspy_report(path, args.top, args.rate), flush=True)
    if args.experiments:
        print(experiments(), flush=True)


if __name__ == "__main__":
    main()
