"""Registry of controller programs runnable from a scenario file.

Each entry pairs a program (hardware-only view) with its parameter model and, separately,
ground-truth hooks that only the harness runs: `probe` at checkpoints the program announces
and `finalize` after it ends. That split keeps the true symmetric point out of programs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Generator

from pydantic import BaseModel

if TYPE_CHECKING:
    from emulator.hardware import Controller, Hardware

ProgramFunction = Callable[["Controller", Any], Generator[Any, Any, Any]]
#: (hardware, params, label, step, the state the program passed to `ctl.checkpoint`) → values.
Probe = Callable[["Hardware", Any, str, int, Any], dict[str, float]]
Finalizer = Callable[["Hardware", Any, Any], dict[str, Any]]
#: tile name → (rows, cols, names of its arrays): the declared hardware a program is checked against.
TileLayout = dict[str, tuple[int, int, frozenset[str]]]
HardwareCheck = Callable[[Any, TileLayout], list[tuple[str, str]]]


class HardwareMismatch(ValueError):
    """The scenario's hardware does not fit the program (missing tile or array, wrong shape)."""


@dataclass(frozen=True)
class ProgramEntry:
    """A named program, its parameters and its ground-truth hooks."""

    name: str
    params_model: type[BaseModel]
    program: ProgramFunction
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


PROGRAMS: dict[str, ProgramEntry] = {}


def register(entry: ProgramEntry) -> ProgramEntry:
    """Make a program available to scenarios under `entry.name`."""
    PROGRAMS[entry.name] = entry
    return entry


def get_program(name: str) -> ProgramEntry:
    _load_builtin_programs()
    try:
        return PROGRAMS[name]
    except KeyError:
        raise KeyError(f"unknown program {name!r}; known programs: {', '.join(sorted(PROGRAMS))}") from None


def program_names() -> list[str]:
    _load_builtin_programs()
    return sorted(PROGRAMS)


def _load_builtin_programs() -> None:
    import emulator.algorithms  # noqa: F401  (registers the built-in programs)
