"""Hypothesis strategies for controller commands fitting a given tile layout."""

from __future__ import annotations

from typing import Any, Callable, Collection, Generator, Mapping, Sequence

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from emulator.hardware import (
    Digital,
    Parallel,
    ProgramAndVerify,
    PulseCounts,
    PulseTrain,
    Read,
    ReadCells,
    SetPhase,
    SignPattern,
    TileSpec,
    Wait,
)
from emulator.testing._strategies import update_parameters

#: Every command kind the strategies can generate.
COMMAND_KINDS: tuple[str, ...] = ("SignPattern", "PulseCounts", "PulseTrain", "Read", "ReadCells", "Digital",
                                  "Wait", "SetPhase", "Parallel", "ProgramAndVerify")
#: Phase names SetPhase commands use.
PHASES: tuple[str, ...] = ("calibration", "training", "transfer", "programming")

_UNIT = st.floats(-1.0, 1.0, allow_nan=False, allow_infinity=False, allow_subnormal=False, width=32)


def _layout(tiles: Mapping[str, TileSpec]) -> dict[str, tuple[int, int, list[str]]]:
    if not tiles:
        raise ValueError("commands need at least one tile")
    return {name: (spec.rows, spec.cols, list(spec.arrays)) for name, spec in tiles.items()}


def _unit_array(shape: tuple[int, ...]) -> st.SearchStrategy[np.ndarray]:
    return hnp.arrays(np.float64, shape, elements=_UNIT)


@st.composite
def _target(draw: st.DrawFn, tiles: Mapping[str, TileSpec]) -> tuple[str, str, int, int, list[str]]:
    layout = _layout(tiles)
    tile = draw(st.sampled_from(sorted(layout)))
    rows, cols, arrays = layout[tile]
    return tile, draw(st.sampled_from(arrays)), rows, cols, arrays


@st.composite
def _minus(draw: st.DrawFn, array: str, arrays: list[str]) -> str | None:
    others = [name for name in arrays if name != array]
    return draw(st.one_of(st.none(), st.sampled_from(others))) if others else None


@st.composite
def _sign_pattern(draw: st.DrawFn, tiles: Mapping[str, TileSpec]) -> SignPattern:
    tile, array, rows, cols, _ = draw(_target(tiles))
    signs = draw(st.one_of(
        st.integers(-2, 2),
        hnp.arrays(np.bool_, (rows, cols)),
        hnp.arrays(np.int8, (rows, cols), elements=st.integers(-1, 1)),
    ))
    return SignPattern(tile, array, signs)


@st.composite
def _pulse_counts(draw: st.DrawFn, tiles: Mapping[str, TileSpec], max_count: int) -> PulseCounts:
    tile, array, rows, cols, _ = draw(_target(tiles))
    counts = draw(hnp.arrays(np.int64, (rows, cols), elements=st.integers(-max_count, max_count)))
    return PulseCounts(tile, array, counts)


@st.composite
def _pulse_train(draw: st.DrawFn, tiles: Mapping[str, TileSpec], max_samples: int, max_bl: int) -> PulseTrain:
    tile, array, rows, cols, _ = draw(_target(tiles))
    samples = draw(st.integers(0, max_samples))
    x = draw(_unit_array((samples, cols) if samples else (cols,)))
    d = draw(_unit_array((samples, rows) if samples else (rows,)))
    learning_rate = draw(st.one_of(st.sampled_from([0.0, 0.01, -0.01]),
                                   st.floats(-0.5, 0.5, allow_nan=False, allow_subnormal=False)))
    update = draw(st.one_of(st.none(), update_parameters(max_bl=max_bl)))
    granularity = draw(st.one_of(st.none(), st.floats(1e-3, 0.1)))
    return PulseTrain(tile, array, x, d, learning_rate, update, granularity)


@st.composite
def _read(draw: st.DrawFn, tiles: Mapping[str, TileSpec], max_samples: int) -> Read:
    tile, array, rows, cols, arrays = draw(_target(tiles))
    direction = draw(st.sampled_from(["forward", "backward"]))
    width = cols if direction == "forward" else rows
    samples = draw(st.integers(0, max_samples))
    inputs = draw(_unit_array((samples, width) if samples else (width,)))
    return Read(tile, array, inputs, "forward" if direction == "forward" else "backward", one_hot=draw(st.booleans()), minus=draw(_minus(array, arrays)),
                perfect=draw(st.booleans()))


@st.composite
def _read_cells(draw: st.DrawFn, tiles: Mapping[str, TileSpec]) -> ReadCells:
    tile, array, _, _, arrays = draw(_target(tiles))
    return ReadCells(tile, array, repeats=draw(st.integers(1, 2)), minus=draw(_minus(array, arrays)))


@st.composite
def _program_and_verify(draw: st.DrawFn, tiles: Mapping[str, TileSpec]) -> ProgramAndVerify:
    tile, array, rows, cols, _ = draw(_target(tiles))
    target = draw(hnp.arrays(np.float64, (rows, cols), elements=st.floats(-0.5, 0.5, allow_subnormal=False)))
    return ProgramAndVerify(tile, array, target, tolerance=draw(st.floats(0.01, 0.2)),
                            max_iterations=draw(st.integers(1, 3)),
                            max_pulses_per_iteration=draw(st.integers(1, 20)), reads=draw(st.integers(1, 2)))


def _digital() -> st.SearchStrategy[Digital]:
    return st.builds(Digital, st.integers(1, 256), st.sampled_from(["op", "ema", "compare"]), st.integers(1, 3))


def _wait() -> st.SearchStrategy[Wait]:
    return st.builds(Wait, st.one_of(st.just(0.0), st.floats(0.0, 500.0, allow_subnormal=False)))


def commands(
    tiles: Mapping[str, TileSpec],
    *,
    kinds: Collection[str] = COMMAND_KINDS,
    max_count: int = 3,
    max_samples: int = 2,
    max_bl: int = 8,
    phases: Sequence[str] = PHASES,
    max_parallel: int = 3,
    parallel_kinds: Collection[str] | None = None,
) -> st.SearchStrategy[Any]:
    """One command for the tiles of `tiles` (name → TileSpec; arrays and shapes fit).

    `kinds` picks from COMMAND_KINDS; counts are at most `max_count` per cell, batches have
    at most `max_samples` samples (0 = a single vector), overridden trains at most `max_bl`
    slots. A Parallel holds 1..max_parallel commands of `parallel_kinds` (default: the other
    kinds asked for, or all if none; never SetPhase or Parallel), possibly on the same tile.
    """
    unknown = sorted((set(kinds) | set(parallel_kinds or ())) - set(COMMAND_KINDS))
    if unknown:
        raise ValueError(f"unknown command kinds {unknown}; known: {', '.join(COMMAND_KINDS)}")
    _layout(tiles)
    makers: dict[str, st.SearchStrategy[Any]] = {
        "SignPattern": _sign_pattern(tiles),
        "PulseCounts": _pulse_counts(tiles, max_count),
        "PulseTrain": _pulse_train(tiles, max_samples, max_bl),
        "Read": _read(tiles, max_samples),
        "ReadCells": _read_cells(tiles),
        "Digital": _digital(),
        "Wait": _wait(),
        "SetPhase": st.sampled_from(list(phases)).map(SetPhase),
        "ProgramAndVerify": _program_and_verify(tiles),
    }
    inner = set(parallel_kinds) if parallel_kinds is not None else set(kinds) - {"Parallel", "SetPhase"}
    if not inner:
        inner = set(COMMAND_KINDS)
    simple = [makers[kind] for kind in COMMAND_KINDS if kind in inner and kind not in ("Parallel", "SetPhase")]
    chosen = [makers[kind] for kind in COMMAND_KINDS if kind in kinds and kind != "Parallel"]
    if "Parallel" in kinds and simple:
        chosen.append(st.lists(st.one_of(simple), min_size=1, max_size=max_parallel).map(Parallel))
    if not chosen:
        raise ValueError("no command kinds left to generate")
    return st.one_of(chosen)


def command_sequences(tiles: Mapping[str, TileSpec], *, min_size: int = 1, max_size: int = 8,
                      **options: Any) -> st.SearchStrategy[list[Any]]:
    """Lists of commands for `tiles` (options as for `commands`)."""
    return st.lists(commands(tiles, **options), min_size=min_size, max_size=max_size)


def command_program(command_list: Sequence[Any]) -> Callable[..., Generator[Any, Any, list[Any]]]:
    """A controller program that issues `command_list` in order and returns their results."""

    def program(ctl: Any) -> Generator[Any, Any, list[Any]]:
        results = []
        for command in command_list:
            results.append((yield command))
        return results

    return program


__all__ = ["COMMAND_KINDS", "PHASES", "command_program", "command_sequences", "commands"]
