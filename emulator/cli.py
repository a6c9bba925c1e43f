"""Command-line interface `aimc` (also `python -m emulator`).

Input problems (bad scenario, unknown field, unwritable output) exit with status 2 and one
message naming the field or path, never a traceback; a diverged run exits with status 1.
"""

from __future__ import annotations

import functools
import math
import json
import os
import sys
import time
import warnings
from typing import Any, Callable, TypeVar

import click
import numpy as np
from pydantic import ValidationError

from emulator import __version__
from emulator import DEFAULT_COST_MODEL
from emulator.cli_output import Progress, budget_text, budget_sweep_rows, format_table, render_summary
from emulator.results import OutputError, check_output_dir, dumps_json

F = TypeVar("F", bound=Callable[..., Any])

INPUT_ERROR = 2
RUN_FAILED = 1


class OutFolder(click.Path):
    """A results folder: a non-empty path that is not an existing file."""

    def __init__(self) -> None:
        super().__init__(file_okay=False)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and not value.strip():
            self.fail("must name a folder, not be empty", param, ctx)
        return super().convert(value, param, ctx)


class FiniteFloat(click.FloatRange):
    """A finite number (no nan, no inf) in the given range."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


OUT_FOLDER = OutFolder()


def fail(message: str, status: int = INPUT_ERROR) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(status)


def handle_errors(function: F) -> F:
    """Turn the project's expected errors into one clear message and an exit status."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            with warnings.catch_warnings():
                # overflow/invalid-value warnings print source lines; a run that goes non-finite
                # is reported by name instead (RunDiverged)
                warnings.simplefilter("ignore", RuntimeWarning)
                return function(*args, **kwargs)
        except KeyboardInterrupt:
            fail("interrupted; nothing was written", RUN_FAILED)
        except BrokenPipeError:
            # the reader went away (`aimc programs | head -1`): stop quietly, as Unix tools do
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(0)
        except Exception as error:  # noqa: BLE001 - sorted below; the catch-all is for bugs only
            _report_failure(error)

    return wrapper  # type: ignore[return-value]


def _report_failure(error: Exception) -> None:
    """One message and an exit status for a failure (the project's classes are imported here, not
    at start-up, so that a command prints its first progress line at once)."""
    from emulator.registry import HardwareMismatch
    from emulator.runner import RunDiverged
    from emulator.scenario import ScenarioError

    if isinstance(error, ScenarioError):
        click.echo(f"error: invalid {error.subject}:", err=True)
        click.echo(error.format(), err=True)
        sys.exit(INPUT_ERROR)
    if isinstance(error, OutputError):
        fail(str(error))
    if isinstance(error, HardwareMismatch):
        fail(f"invalid scenario: {error}")
    if isinstance(error, RunDiverged):
        fail(str(error), RUN_FAILED)
    if os.environ.get("AIMC_DEBUG"):
        raise error
    fail(f"unexpected failure ({type(error).__name__}: {error}); nothing was written. "
         "Set AIMC_DEBUG=1 to see the traceback.", RUN_FAILED)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="aimc")
def main() -> None:
    """Discrete-event emulator of analog in-memory training hardware."""


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of a table.")
@click.option("--rows", default=64, show_default=True, help="Rows of the sampled array.")
@click.option("--cols", default=64, show_default=True, help="Columns of the sampled array.")
@click.option("--seed", default=0, show_default=True, help="Seed of the device sampling.")
@handle_errors
def devices(as_json: bool, rows: int, cols: int, seed: int) -> None:
    """List the device presets with their symmetric-point statistics."""
    with Progress(f"devices: sampling {rows}×{cols} arrays", unit="preset") as progress:
        from devices import DeviceArray, get_preset, preset_names

        table = []
        names = preset_names()
        for done, name in enumerate(names):
            progress(done, len(names))
            config = get_preset(name)
            array = DeviceArray(config, (rows, cols), seed=seed)
            sp = array.visible_symmetric_point()
            table.append({
                "name": name, "model": config.model, "dw_min": config.dw_min,  # type: ignore[attr-defined]
                "states": round(config.number_of_states, 1),
                "sp_mean": float(np.mean(sp)), "sp_std": float(np.std(sp)),
                "sp_interior_fraction": float(np.mean(array.sp_interior)),
            })
    if as_json:
        click.echo(json.dumps(table, indent=2))
    else:
        click.echo(format_table(table, ["name", "model", "dw_min", "states", "sp_mean", "sp_std",
                                        "sp_interior_fraction"]))


@main.command()
@handle_errors
def programs() -> None:
    """List the programs a scenario can run."""
    from emulator.registry import get_program, program_names

    for name in program_names():
        click.echo(f"{name:24s} {get_program(name).description}")


@main.command()
@handle_errors
def schema() -> None:
    """Print the scenario schema reference (Markdown, generated from the models)."""
    from emulator.schema_doc import schema_markdown

    click.echo(schema_markdown(), nl=False)


@main.command()
@click.argument("scenario", type=click.Path(dir_okay=False))
@click.option("--set", "assignments", multiple=True, metavar="KEY=VALUE", help="Override a field (dotted path).")
@handle_errors
def validate(scenario: str, assignments: tuple[str, ...]) -> None:
    """Check a scenario file; exit 0 if valid, 2 with every error's field path if not."""
    from emulator.scenario import load_scenario

    loaded = load_scenario(scenario, list(assignments))
    click.echo(f"ok: {scenario} is a valid scenario (program {loaded.program.name}, "
               f"{len(loaded.hardware.tiles)} tile(s))")


@main.command()
@click.argument("scenario", type=click.Path(dir_okay=False))
@click.option("--out", "out_dir", type=OUT_FOLDER, default=None,
              help="Results directory (default results/<scenario name>).")
@click.option("--seed", type=click.IntRange(min=0), default=None, help="Override the scenario seed.")
@click.option("--set", "assignments", multiple=True, metavar="KEY=VALUE", help="Override a field (dotted path).")
@click.option("--trace", type=click.Choice(["none", "vcd", "perfetto"]), default=None, help="Write an event trace.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@handle_errors
def run(scenario: str, out_dir: str | None, seed: int | None, assignments: tuple[str, ...],
        trace: str | None, as_json: bool) -> None:
    """Run a scenario and write summary.json and metrics.csv."""
    with Progress(f"run: reading {scenario}") as progress:
        from emulator.runner import run_to_directory
        from emulator.scenario import load_scenario

        extra = list(assignments) + ([f"output.trace={json.dumps(trace)}"] if trace else [])
        loaded = load_scenario(scenario, extra, seed=seed)
        target = out_dir or f"results/{loaded.name}"
        check_output_dir(target)
        progress.stage(f"run {loaded.name} ({loaded.program.name})")
        result = run_to_directory(loaded, target, progress=progress)
    if as_json:
        click.echo(dumps_json(result.summary), nl=False)
        return
    click.echo(render_summary(result.summary, result.wall_time_s, target))


_BUDGET_FIELDS = ("rows", "cols", "target_error", "metric", "method", "reads", "max_pulses", "checkpoints",
                  "cost_model", "perfect_reads", "seed", "confidence", "w_init", "predict_only")


def _budget_study(ctx: click.Context, device: str | None, config_path: str | None,
                  options: dict[str, Any]) -> tuple[Any, str | None]:
    """The budget study the flags describe (a config file, overridden by explicit flags) and the
    device's label when one was given on the command line."""
    from emulator.budget import BudgetConfig, load_budget_config
    from emulator.scenario import ScenarioError, parse_device_spec, problems_of

    explicit = {name: options[name] for name in _BUDGET_FIELDS
                if ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE}
    label = None
    if config_path is not None:
        base = load_budget_config(config_path).model_dump(exclude_none=True)
        if device is not None:
            label, config = parse_device_spec(device)
            base["device"] = {"device": config.model_dump()}
    elif device is not None:
        label, config = parse_device_spec(device)
        base = {"device": {"device": config.model_dump()}, **{name: options[name] for name in _BUDGET_FIELDS}}
    else:
        fail("give --device (or --config FILE)")
    try:
        return BudgetConfig.model_validate({**base, **explicit}), label
    except ValidationError as error:
        raise ScenarioError(problems_of(error)) from None


@main.command()
@click.option("--device", default=None,
              help="Preset name, Model:key=value,... (e.g. SoftBounds:states=2000,up_down=0.2), or a TOML/YAML device file.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="A budget study file (see scenarios/zs_*.toml); flags given explicitly override it.")
@click.option("--rows", type=click.IntRange(1, 65536), default=512, show_default=True)
@click.option("--cols", type=click.IntRange(1, 65536), default=512, show_default=True)
@click.option("--target-error", type=FiniteFloat(min=0, min_open=True), default=0.01, show_default=True,
              help="Target residual SP error (absolute RMS, or relative error of the mean SP).")
@click.option("--metric", type=click.Choice(["auto", "rms", "relative-mean"]), default="auto", show_default=True,
              help="auto: the relative error of the mean SP where the mean SP is away from 0, else the RMS error "
                   "(the output says which it chose).")
@click.option("--method", type=click.Choice(["stochastic", "cyclic"]), default="stochastic", show_default=True)
@click.option("--reads", type=click.IntRange(1, 10000), default=1, show_default=True,
              help="Reads of every cell averaged for the final estimate.")
@click.option("--max-pulses", type=click.IntRange(1, 10_000_000), default=20000, show_default=True,
              help="Cap on ZS steps (pulses per cell).")
@click.option("--checkpoints", type=click.IntRange(1, 10000), default=100, show_default=True,
              help="Truth checks spread over the emulation (plus a dense run around the predicted budget).")
@click.option("--confidence", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.95,
              show_default=True, help="Probability with which the k-read must meet the target.")
@click.option("--w-init", default=None, metavar="STATE",
              help="Start state: reset, a visible weight (e.g. -0.5), sp / sp+0.05 (each cell near its own "
                   "symmetric point: recalibration), or a .npy array of visible weights (default: as built).")
@click.option("--predict-only", is_flag=True,
              help="Only the exact prediction and the bounds (any dw_min, any tile, in about a second).")
@click.option("--cost-model", default=DEFAULT_COST_MODEL, show_default=True)
@click.option("--perfect-reads", is_flag=True, help="Ideal read path (isolates the ZS error from ADC noise).")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--out", "out_dir", type=OUT_FOLDER, default=None,
              help="Write budget.json, curve.csv and curve.png (sweeps: sweep.json/csv/png) here.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
@handle_errors
def budget(ctx: click.Context, device: str | None, config_path: str | None, out_dir: str | None, as_json: bool,
           **options: Any) -> None:
    """Pulses, reads, time and energy to calibrate symmetric points to a target error."""
    started = time.perf_counter()
    with Progress("budget: reading the study", unit="pulse") as progress:
        from emulator.budget import BudgetRefused, run_budget
        from emulator.scenario import ScenarioError

        try:
            study, label = _budget_study(ctx, device, config_path, options)
        except ScenarioError as error:
            error.subject = "budget study"
            raise
        if out_dir is not None:
            check_output_dir(out_dir)
        requests = study.requests()
        if label is not None and len(requests) == 1:
            requests[0][1].device_name = label
        results = []
        for value, request in requests:
            request.predicted_curve = out_dir is not None and len(requests) == 1  # only curve.csv needs it
            progress.stage(f"budget {request.device_name} {request.rows}×{request.cols}: prediction, then ZS pulses", unit="step")
            try:
                results.append(run_budget(request, progress=progress))
            except BudgetRefused as error:
                progress.close()
                fail(f"cannot budget {request.device_name}: {error}")
            if value is not None:
                results[-1]["sweep_value"] = value
    _budget_output(study, results, out_dir, as_json)
    if not as_json:
        click.echo(f"wall time {time.perf_counter() - started:.2f} s")


def _budget_output(study: Any, results: list[dict[str, Any]], out_dir: str | None, as_json: bool) -> None:
    """Write the budget's files (one budget, or a study's sweep) and print them."""
    from emulator.budget import scaling_exponent
    from emulator.results import rows_csv, write_files_atomically

    brief = [{key: value for key, value in result.items() if key != "curve"} for result in results]
    if len(results) == 1:
        output: Any = brief[0]
    else:
        output = {"study": study.name, "sweep_field": study.sweep_field, "results": brief,
                  "pulses_vs_dw_min_exponent": scaling_exponent([r for r in brief if r["mode"] == "emulated"]),
                  "predicted_pulses_vs_dw_min_exponent": scaling_exponent(brief, "predicted_pulses_per_cell")}
    if out_dir is not None:  # the figure is drawn only when it is written (a second of matplotlib)
        from emulator.plots import budget_curve_figure, budget_sweep_figure, figure_bytes

        files: dict[str, str | bytes]
        if len(results) == 1:
            files = {"budget.json": dumps_json(output), "curve.csv": rows_csv(results[0]["curve"]),
                     "curve.png": figure_bytes(budget_curve_figure(results[0]))}
        else:
            files = {"sweep.json": dumps_json(output), "sweep.csv": rows_csv(budget_sweep_rows(brief)),
                     "sweep.png": figure_bytes(budget_sweep_figure(output))}
        write_files_atomically(out_dir, files)
    if as_json:
        click.echo(dumps_json(output), nl=False)
        return
    for result in brief:
        click.echo(budget_text(result))
    if len(brief) > 1:
        click.echo(format_table(budget_sweep_rows(brief), list(budget_sweep_rows(brief)[0])))
        for label, key in (("emulated", "pulses_vs_dw_min_exponent"), ("predicted", "predicted_pulses_vs_dw_min_exponent")):
            exponent = output[key]
            click.echo(f"fitted log-log slope of pulses vs dw_min ({label}): {exponent:.3f}" if exponent is not None
                       else f"fitted slope ({label}): not enough points")


@main.command()
@click.argument("scenario", type=click.Path(dir_okay=False))
@click.option("--param", "params", multiple=True, metavar="KEY=V1,V2,...",
              help="A swept field (dotted path) and its values; repeat for a Cartesian grid; "
                   "a.b+c.d=... ties two fields to the same value.")
@click.option("--seeds", type=click.IntRange(1, 100_000), default=1, show_default=True,
              help="Seeds per grid point (children of the scenario seed's SeedSequence).")
@click.option("--out", "out_dir", type=OUT_FOLDER, required=True, help="Sweep directory.")
@click.option("--jobs", type=click.IntRange(1, 1024), default=1, show_default=True, help="Parallel workers.")
@click.option("--backend", type=click.Choice(["loky", "dask"]), default="loky", show_default=True)
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Dask scheduler address (tcp://host:port); default: a local cluster of --jobs workers.")
@handle_errors
def sweep(scenario: str, params: tuple[str, ...], seeds: int, out_dir: str, jobs: int, backend: str,
          scheduler: str | None) -> None:
    """Run a scenario over a grid of parameters and seeds; resumes where it stopped."""
    import time

    started = time.perf_counter()
    with Progress(f"sweep {scenario}", unit="run") as progress:
        from emulator.sweep import run_sweep
        from emulator.sweep_execution import SweepStopped

        try:
            outcome = run_sweep(scenario, list(params), seeds, out_dir, jobs, backend, scheduler, progress=progress)
        except SweepStopped as stopped:
            progress.close()
            fail(str(stopped), RUN_FAILED)
    click.echo(f"{outcome['runs']} runs ({outcome['skipped']} already finished), {outcome['finished']} in "
               f"{outcome['results']}; wall time {time.perf_counter() - started:.1f} s "
               f"({backend}, {jobs} worker(s))")


@main.command()
@click.argument("folder", type=click.Path(file_okay=False))
@click.option("--out", "out_dir", type=OUT_FOLDER, default=None,
              help="Where to write the report (default FOLDER/report).")
@click.option("--metric", default=None, help="Sweeps: the results.csv column to plot (default: a headline one).")
@handle_errors
def report(folder: str, out_dir: str | None, metric: str | None) -> None:
    """Plots (PNG, SVG) and a Markdown summary of a run, sweep or budget folder."""
    from pathlib import Path

    target = out_dir or str(Path(folder) / "report")
    check_output_dir(target)
    with Progress(f"report {folder}", unit="figure") as progress:
        from emulator.report import ReportError, build_report
        from emulator.results import write_files_atomically

        try:
            figures, markdown = build_report(folder, metric)
        except ReportError as error:
            progress.close()
            fail(str(error))
        write_files_atomically(target, {**figures, "report.md": markdown}, replace=False)
    images = sum(1 for name in figures if name.endswith(".png"))
    click.echo(f"report: {images} figure(s) (PNG + SVG) and report.md in {target}/")


if __name__ == "__main__":
    main()
