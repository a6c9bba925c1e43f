"""The hardware section a training scenario needs for a workload: generate it, check it.

Training programs put layer `l` on tile `layer{l}` (rows = outputs, cols = inputs + bias)
and need named arrays on every tile (W; P for the transfer family; R, Qt for some).
`training_hardware` writes that section so shapes never have to be worked out by hand;
`layer_tile_problems` lists how declared tiles miss it. Both use the workload's layers only
(no data is generated or loaded).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

from emulator import DEFAULT_COST_MODEL
from emulator.workloads.base import LayerSpec
from emulator.workloads.problems import WorkloadParams
from emulator.workloads.registry import workload_layers

if TYPE_CHECKING:
    from emulator.registry import TileLayout


def training_hardware(
    workload: WorkloadParams,
    arrays: Mapping[str, Mapping[str, Any]],
    io: Mapping[str, Any] | None = None,
    cost_model: str = DEFAULT_COST_MODEL,
    costs: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The `hardware` table (as a dict) with one tile per layer and the given arrays on each.

    `arrays` maps array names to array specs as a scenario writes them, e.g.
    {"W": {"preset": "ReRamSB"}, "P": {"preset": "ReRamSB", "overrides": {"reference_mean": 0.4}}}.
    """
    tiles: dict[str, Any] = {}
    for layer in workload_layers(workload):
        tile: dict[str, Any] = {"rows": layer.rows, "cols": layer.cols,
                                "arrays": {name: dict(spec) for name, spec in arrays.items()}}
        if io:
            tile["io"] = dict(io)
        tiles[layer.name] = tile
    section: dict[str, Any] = {"cost_model": cost_model, "tiles": tiles}
    if costs:
        section["costs"] = dict(costs)
    return section


def layer_tile_problems(layers: list[LayerSpec], needed: tuple[str, ...], layout: "TileLayout") -> list[tuple[str, str]]:
    """(field path, reason) for each layer tile that is missing, misshapen or lacks an array."""
    problems = []
    for layer in layers:
        path = f"hardware.tiles.{layer.name}"
        if layer.name not in layout:
            problems.append((path, f"tile {layer.name!r} ({layer.rows} rows × {layer.cols} cols) is missing: "
                                   "the training workload puts layer weights on it"))
            continue
        rows, cols, arrays = layout[layer.name]
        if (rows, cols) != layer.shape:
            problems.append((path, f"tile {layer.name!r} is {rows}×{cols}, the workload needs "
                                   f"{layer.rows}×{layer.cols} (rows = outputs, cols = inputs + bias)"))
        for array in needed:
            if array not in arrays:
                problems.append((f"{path}.arrays", f"tile {layer.name!r} has no array {array!r} "
                                                   f"(this program needs {list(needed)})"))
    return problems


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{key} = {_toml_value(item)}" for key, item in value.items()) + " }"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    return repr(value)


def hardware_toml(section: Mapping[str, Any]) -> str:
    """TOML text of a hardware section from `training_hardware` (paste under a scenario)."""
    lines = ["[hardware]"]
    for key, value in section.items():
        if key != "tiles":
            lines.append(f"{key} = {_toml_value(value)}")
    for name, tile in section["tiles"].items():
        lines += ["", f"[hardware.tiles.{name}]", f"rows = {tile['rows']}", f"cols = {tile['cols']}"]
        if "io" in tile:
            lines.append(f"io = {_toml_value(tile['io'])}")
        for array, spec in tile["arrays"].items():
            lines.append(f"arrays.{array} = {_toml_value(spec)}")
    return "\n".join(lines) + "\n"
