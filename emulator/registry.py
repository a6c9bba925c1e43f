"""Registry of controller programs runnable from a scenario file.

Each entry pairs a program (hardware-only view) with its parameter model and, separately,
ground-truth hooks that only the harness runs: `probe` at checkpoints the program announces
and `finalize` after it ends. That split keeps the true symmetric point out of programs.

A scenario's `program.name` is looked up, in this order, among: programs registered so far; the
built-in programs, named in `BUILTIN_PROGRAMS` with the module that defines each (imported only
when asked for, so validating a calibration scenario loads no training code); `module:function`
(a user's own generator function, or a `ProgramEntry`, importable from the working directory or
the Python path); programs installed under the `aimc.programs` entry-point group.

One calling convention: a program is `program(ctl, **params)`. A registered program receives its
validated parameter model as the single keyword `params`; a plain function named as
`module:function` receives its parameters as keywords, validated against its signature.
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Generator

from pydantic import BaseModel, ConfigDict, create_model

from devices.inputs import INPUT_CONFIG
from emulator.plugins import UnknownReference, installed, is_reference, load_reference

if TYPE_CHECKING:
    from emulator.hardware import Controller, Hardware

ProgramFunction = Callable[..., Generator[Any, Any, Any]]
#: (hardware, params, label, step, the state the program passed to `ctl.checkpoint`) → values.
Probe = Callable[["Hardware", Any, str, int, Any], dict[str, float]]
Finalizer = Callable[["Hardware", Any, Any], dict[str, Any]]
#: tile name → (rows, cols, names of its arrays): the declared hardware a program is checked against.
TileLayout = dict[str, tuple[int, int, frozenset[str]]]
HardwareCheck = Callable[[Any, TileLayout], list[tuple[str, str]]]
ENTRY_POINT_GROUP = "aimc.programs"


class HardwareMismatch(ValueError):
    """The scenario's hardware does not fit the program (missing tile or array, wrong shape)."""


class UnknownProgram(KeyError):
    """No program of that name (the message lists what there is)."""

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class ProgramEntry:
    """A named program, its parameters and its ground-truth hooks."""

    name: str
    params_model: type[BaseModel]
    program: ProgramFunction
    """Called as `program(ctl, params=<validated params_model>)`."""
    description: str
    probe: Probe | None = None
    finalize: Finalizer | None = None
    hardware_problems: HardwareCheck | None = None
    """(field path, reason) for every way the declared tiles do not fit the program and its
    parameters, so `aimc validate` reports them before anything runs."""
    headline: tuple[str, ...] = ()
    """Keys of a run's `result` (or, where it has no such key, its `ground_truth`) that sum the
    run up, most telling first, e.g. "final_test_accuracy": `aimc report` plots the first one a
    sweep's results.csv has (columns `result.KEY` / `truth.KEY`) and lists them for a run."""
    figures: tuple[str, ...] = ()
    """Figures `aimc report` draws for a run of this program, by name (`emulator.report.RUN_FIGURES`),
    besides those every run gets (metrics, pulses, energy, latency)."""


#: Every built-in program and the module that registers it.
BUILTIN_PROGRAMS: dict[str, str] = {
    "pulse_response": "emulator.algorithms.pulse_response",
    "zero_shift": "emulator.algorithms.calibration",
    "train_sgd": "emulator.algorithms.sgd",
    "train_digital_sgd": "emulator.algorithms.sgd",
    "train_ttv1": "emulator.algorithms.tiki_taka",
    "train_ttv2": "emulator.algorithms.tiki_taka",
    "train_cttv2": "emulator.algorithms.tiki_taka",
    "train_agad": "emulator.algorithms.tiki_taka",
    "train_residual": "emulator.algorithms.residual",
    "train_rider": "emulator.algorithms.rider",
    "train_erider": "emulator.algorithms.rider",
}

PROGRAMS: dict[str, ProgramEntry] = {}


def register(entry: ProgramEntry) -> ProgramEntry:
    """Make a program available to scenarios under `entry.name`."""
    PROGRAMS[entry.name] = entry
    return entry


def get_program(name: str) -> ProgramEntry:
    """The program a scenario names (see the module docstring for where it is looked up)."""
    if name in PROGRAMS:
        return PROGRAMS[name]
    if name in BUILTIN_PROGRAMS:
        importlib.import_module(BUILTIN_PROGRAMS[name])
        return PROGRAMS[name]
    if is_reference(name):
        try:
            return _entry_of(name, load_reference(name))
        except UnknownReference as error:
            raise UnknownProgram(f"program {error}") from None
    available = installed(ENTRY_POINT_GROUP)
    if name in available:
        return _entry_of(name, available[name].load())
    raise UnknownProgram(f"unknown program {name!r}; known programs: {', '.join(program_names())} "
                         "(or name your own as module:function)")


def program_names() -> list[str]:
    """Built-in, registered and installed program names."""
    return sorted(set(BUILTIN_PROGRAMS) | {name for name in PROGRAMS if not is_reference(name)}
                  | set(installed(ENTRY_POINT_GROUP)))


def _entry_of(name: str, found: Any) -> ProgramEntry:
    """A `ProgramEntry` as is; a generator function wrapped with a parameter model from its signature."""
    if isinstance(found, ProgramEntry):
        return found
    if not callable(found):
        raise UnknownProgram(f"program {name!r} is neither a ProgramEntry nor a function")
    entry = ProgramEntry(name=name, params_model=signature_model(found), program=_keyword_adapter(found),
                         description=(inspect.getdoc(found) or "").split("\n")[0])
    PROGRAMS[name] = entry
    return entry


def signature_model(function: Callable[..., Any]) -> type[BaseModel]:
    """A strict parameter model of `function(ctl, **params)`: one field per keyword, typed by its
    annotation (Any without one), required unless it has a default."""
    fields: dict[str, Any] = {}
    for parameter in list(inspect.signature(function).parameters.values())[1:]:
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        annotation = Any if parameter.annotation is parameter.empty else parameter.annotation
        fields[parameter.name] = (annotation, ... if parameter.default is parameter.empty else parameter.default)
    config = ConfigDict(**INPUT_CONFIG, arbitrary_types_allowed=True)
    return create_model(f"{function.__name__}_params", __config__=config, **fields)


def _keyword_adapter(function: Callable[..., Generator[Any, Any, Any]]) -> ProgramFunction:
    def program(ctl: "Controller", params: BaseModel) -> Generator[Any, Any, Any]:
        return (yield from function(ctl, **dict(params)))

    program.__name__ = getattr(function, "__name__", "program")
    return program
