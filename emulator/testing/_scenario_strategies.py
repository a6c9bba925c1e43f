"""Hypothesis strategies for whole scenario documents (what `validate_document` accepts), with
program parameters that fit the generated tiles."""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

from hypothesis import strategies as st

from devices import preset_names
from emulator.hardware import COST_MODELS
from emulator.testing._strategies import (
    ARRAY_NAMES,
    _floats,
    device_configs,
    io_parameters,
    preset_overrides,
    update_parameters,
)


# ------------------------------------------------------------------------------- scenarios
ParamsStrategy = Callable[[Mapping[str, Mapping[str, Any]]], st.SearchStrategy[dict[str, Any]]]
"""Given the document's tiles table, a strategy of a program's `params` table."""


def _pick_tile_array(draw: st.DrawFn, tiles: Mapping[str, Mapping[str, Any]]) -> tuple[str, str, list[str]]:
    tile = draw(st.sampled_from(sorted(tiles)))
    arrays = sorted(tiles[tile]["arrays"])
    return tile, draw(st.sampled_from(arrays)), arrays


@st.composite
def _zero_shift_params(draw: st.DrawFn, tiles: Mapping[str, Mapping[str, Any]], max_steps: int) -> dict[str, Any]:
    tile, array, arrays = _pick_tile_array(draw, tiles)
    params: dict[str, Any] = {
        "tile": tile, "array": array, "steps": draw(st.integers(1, max_steps)),
        "method": draw(st.sampled_from(["stochastic", "cyclic"])), "reads": draw(st.integers(1, 3)),
        "checkpoints": draw(st.integers(0, 5)),
    }
    others = [name for name in arrays if name != array]
    if others and draw(st.booleans()):  # type: ignore[arg-type]  # DrawFn's stub is generic in the wrong argument
        params.update(reference="analog", reference_array=draw(st.sampled_from(others)),
                      program_max_iterations=draw(st.integers(1, 3)))
        if draw(st.booleans()):
            params["program_tolerance"] = draw(_floats(0.001, 0.2))
    return params


@st.composite
def _pulse_response_params(draw: st.DrawFn, tiles: Mapping[str, Mapping[str, Any]], max_steps: int) -> dict[str, Any]:
    tile, array, _ = _pick_tile_array(draw, tiles)
    return {"tile": tile, "array": array, "pulses": draw(st.integers(1, max(1, max_steps // 4))),
            "cycles": draw(st.integers(1, 2)), "read_every": draw(st.integers(1, 10)),
            "reads": draw(st.integers(1, 2))}


#: Built-in parameter strategies of registered programs (name → tiles table → params).
PROGRAM_PARAMS: dict[str, Callable[[Mapping[str, Mapping[str, Any]], int], st.SearchStrategy[dict[str, Any]]]] = {
    "zero_shift": _zero_shift_params,
    "pulse_response": _pulse_response_params,
}


def _dump(model: Any) -> dict[str, Any]:
    return model.model_dump(mode="json", exclude_defaults=True)


@st.composite
def _array_document(draw: st.DrawFn, min_states: float, max_states: float) -> dict[str, Any]:
    if draw(st.booleans()):
        name = draw(st.sampled_from(preset_names()))
        document: dict[str, Any] = {"preset": name}
        overrides = draw(preset_overrides(name))
        if overrides:
            document["overrides"] = overrides
        return document
    config = draw(device_configs(min_states=min_states, max_states=max_states))
    return {"device": {"model": config.model, **_dump(config)}}  # type: ignore[attr-defined]


@st.composite
def _tile_document(draw: st.DrawFn, rows: tuple[int, int], cols: tuple[int, int], max_arrays: int,
                   min_states: float, max_states: float, faults: bool) -> dict[str, Any]:
    count = draw(st.integers(1, max(1, min(max_arrays, len(ARRAY_NAMES)))))
    shape = (draw(st.integers(*rows)), draw(st.integers(*cols)))
    document: dict[str, Any] = {
        "rows": shape[0], "cols": shape[1],
        "arrays": {name: draw(_array_document(min_states, max_states)) for name in ARRAY_NAMES[:count]},
    }
    if faults and draw(st.booleans()):
        document["faults"] = {
            "dead_rows": sorted(draw(st.sets(st.integers(0, shape[0] - 1), max_size=max(0, shape[0] - 1)))),
            "dead_cols": sorted(draw(st.sets(st.integers(0, shape[1] - 1), max_size=max(0, shape[1] - 1)))),
        }
    if draw(st.booleans()):
        document["io"] = _dump(draw(io_parameters(faults=faults)))
    if draw(st.booleans()):
        document["update"] = _dump(draw(update_parameters()))
    return document


_COST_OVERRIDES: dict[str, st.SearchStrategy[Any]] = {
    "pulse_width_ns": _floats(1.0, 100.0),
    "mvm_integration_ns": _floats(1.0, 100.0),
    "adc_bits": st.integers(1, 12),
    "adc_energy_fj": _floats(0.0, 500.0),
    "dac_energy_fj": _floats(0.0, 50.0),
    "columns_per_adc": st.integers(1, 16),
    "digital_op_ns": _floats(0.0, 5.0),
    "digital_op_energy_fj": _floats(0.0, 10.0),
    "count_latency_rule": st.sampled_from(["tile-parallel", "row-by-row"]),
}


@st.composite
def _scenario(draw: st.DrawFn, programs: Sequence[str], params: Mapping[str, ParamsStrategy],
              max_tiles: int, rows: tuple[int, int], cols: tuple[int, int], max_arrays: int,
              max_steps: int, min_states: float, max_states: float, faults: bool) -> dict[str, Any]:
    count = draw(st.integers(1, max_tiles))
    tiles = {f"t{index}": draw(_tile_document(rows, cols, max_arrays, min_states, max_states, faults))
             for index in range(count)}
    hardware: dict[str, Any] = {"tiles": tiles}
    if draw(st.booleans()):
        hardware["cost_model"] = draw(st.sampled_from(sorted(COST_MODELS)))
    costs = draw(st.dictionaries(st.sampled_from(sorted(_COST_OVERRIDES)), st.just(None), max_size=3))
    if costs:
        hardware["costs"] = {name: draw(_COST_OVERRIDES[name]) for name in sorted(costs)}
    if draw(st.booleans()):
        hardware["shared_adc_count"] = draw(st.integers(1, 8))
    program = draw(st.sampled_from(list(programs)))
    if program in params:
        program_params = draw(params[program](tiles))
    else:
        program_params = draw(PROGRAM_PARAMS[program](tiles, max_steps))
    document: dict[str, Any] = {
        "name": draw(st.sampled_from(["generated", "kit-scenario", "s"])),
        "seed": draw(st.integers(0, 2 ** 32 - 1)),
        "hardware": hardware,
        "program": {"name": program, "params": program_params},
    }
    if draw(st.booleans()):
        document["description"] = draw(st.text(max_size=20))
    if draw(st.booleans()):
        document["output"] = {"trace": draw(st.sampled_from(["none", "vcd", "perfetto"]))}
    return document


def scenario_documents(
    programs: Sequence[str] = ("zero_shift", "pulse_response"),
    *,
    params: Mapping[str, ParamsStrategy] | None = None,
    max_tiles: int = 2,
    rows: tuple[int, int] = (1, 4),
    cols: tuple[int, int] = (1, 4),
    max_arrays: int = 2,
    max_steps: int = 40,
    min_states: float = 10.0,
    max_states: float = 200.0,
    faults: bool = False,
) -> st.SearchStrategy[dict[str, Any]]:
    """Valid scenario documents (plain dicts, as parsed from TOML/YAML) that
    `emulator.scenario.validate_document` accepts, for registered programs.

    Built-in parameters exist for "zero_shift" and "pulse_response"; give `params` (program
    name → function of the tiles table returning a strategy of the params table) for others.
    `faults` adds dead lines and ADC offset/gain errors to some tiles.
    """
    custom = dict(params or {})
    missing = [name for name in programs if name not in custom and name not in PROGRAM_PARAMS]
    if missing:
        raise ValueError(f"no parameter strategy for programs {missing}: pass params={{name: ...}}")
    return _scenario(tuple(programs), custom, max_tiles, rows, cols, max_arrays, max_steps, min_states, max_states,
                     faults)


__all__ = ["PROGRAM_PARAMS", "ParamsStrategy", "scenario_documents"]
