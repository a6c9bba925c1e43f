"""Scenarios: the schema and validation (structure first, then the program it names).

A scenario says what hardware to build (tiles, arrays, devices or presets, read path, update
settings, cost model), which program to run with which parameters, the seed and the outputs.
Every model forbids unknown fields; every error carries the dotted path of its field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (BaseModel, Field, SerializerFunctionWrapHandler, ValidationError, field_validator,
                      model_serializer, model_validator)

from devices.inputs import INPUT_CONFIG, FieldError
from devices import DeviceConfig, DriftConfig, PulsedDeviceConfig, get_preset, preset_names
from emulator.hardware import (HardwareCosts, HardwareSpec, IOParameters, TemperatureSchedule, TileSpec,
                               UpdateParameters, get_cost_model)
from emulator import DEFAULT_COST_MODEL
from emulator.documents import ScenarioError, apply_overrides, parse_assignment, problems_of, read_document
from emulator.plugins import UnknownReference, import_module
from emulator.registry import UnknownProgram, get_program, program_names


RUN_NAME_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$"
"""A name that is one safe path component (no separators, no "..", not hidden)."""


class _Strict(BaseModel):
    model_config = INPUT_CONFIG

    #: Optional fields written to results only when given, so files that do not use them stay
    #: byte-identical to those of versions without them.
    _omitted_when_unset: ClassVar[tuple[str, ...]] = ()

    @model_serializer(mode="wrap")
    def _omit_unset(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        for name in self._omitted_when_unset:
            if getattr(self, name) is None:
                data.pop(name, None)
        return data


class ArraySpec(_Strict):
    """One array of a tile: a preset (with optional overrides) or a full device config."""

    preset: str | None = None
    """Name of a device preset (SPEC §1.6), e.g. "ReRamSB"."""
    overrides: dict[str, Any] = Field(default_factory=dict)
    """Preset fields to change, e.g. {reference_mean = 0.2}."""
    device: DeviceConfig | None = None
    """A full device configuration with its `model` field (instead of a preset)."""
    drift: DriftConfig | None = None
    """Drift of these cells in simulated time: their symmetric point and reference move (trend and
    random walk, with d2d spread), their steps follow the temperature (see DriftConfig)."""

    _omitted_when_unset: ClassVar[tuple[str, ...]] = ("drift",)

    @field_validator("preset")
    @classmethod
    def _known_preset(cls, preset: str | None) -> str | None:
        if preset is not None and preset not in preset_names():
            raise ValueError(f"unknown preset {preset!r}; known presets: {', '.join(preset_names())}")
        return preset

    @model_validator(mode="after")
    def _one_source(self) -> "ArraySpec":
        if (self.preset is None) == (self.device is None):
            raise ValueError("give exactly one of `preset` or `device`")
        if self.device is not None and self.overrides:
            raise ValueError("`overrides` applies to presets only; put the fields in `device`")
        return self

    def resolve(self) -> PulsedDeviceConfig:
        if self.device is not None:
            return self.device
        assert self.preset is not None
        return get_preset(self.preset, **self.overrides)


class TileFaults(_Strict):
    """Broken row/column lines of a tile."""

    dead_rows: list[Annotated[int, Field(ge=0)]] = Field(default_factory=list)
    """Row lines that are broken (0-based)."""
    dead_cols: list[Annotated[int, Field(ge=0)]] = Field(default_factory=list)
    """Column lines that are broken (0-based)."""


class TileConfig(_Strict):
    """A crossbar tile: shape, arrays, read path and pulse-train settings."""

    rows: Annotated[int, Field(gt=0, le=65536)]
    """Output dimension (rows of the weight matrix)."""
    cols: Annotated[int, Field(gt=0, le=65536)]
    """Input dimension (columns of the weight matrix)."""
    arrays: dict[str, ArraySpec]
    """Named device arrays on this tile, e.g. W, P, R."""
    io: IOParameters = Field(default_factory=IOParameters)
    """Read path (DAC, ADC, noise, bound management, ADC faults)."""
    update: UpdateParameters = Field(default_factory=UpdateParameters)
    """Pulse-train settings of gradient updates."""
    faults: "TileFaults" = Field(default_factory=lambda: TileFaults())
    """Hardware faults of this tile (dead lines; ADC offset/gain live in `io`, stuck cells in the device)."""

    @model_validator(mode="after")
    def _faults_in_range(self) -> "TileConfig":
        for name, limit in (("dead_rows", self.rows), ("dead_cols", self.cols)):
            bad = [index for index in getattr(self.faults, name) if not 0 <= index < limit]
            if bad:
                raise FieldError(f"faults.{name}", f"indices {bad} outside 0..{limit - 1}")
        return self

    @field_validator("arrays")
    @classmethod
    def _not_empty(cls, arrays: dict[str, ArraySpec]) -> dict[str, ArraySpec]:
        if not arrays:
            raise ValueError("a tile needs at least one array")
        return arrays


class HardwareConfig(_Strict):
    """Tiles plus the cost model."""

    cost_model: str = DEFAULT_COST_MODEL
    """Name of a cost model: neurosim-reram-50ns, ecram-5ns, taox-hfox-1.6v-50ns, or your own
    (`module:Class`, a HardwareCosts subclass with its own fields and formulas)."""
    costs: dict[str, Any] = Field(default_factory=dict)
    """Overrides of cost-model fields (see HardwareCosts), e.g. {pulse_width_ns = 5}."""
    shared_adc_count: Annotated[int, Field(gt=0)] | None = None
    """If set, all tiles share one pool of this many ADCs instead of one pool each."""
    slow_process_step_ns: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = None
    """Run the devices' slow processes (lifetime decay, diffusion) in simulated time: one step per
    this many ns, applied lazily at each access of a tile. Unset: one step per mini-batch of a
    training program (the reference simulator's convention)."""
    temperature: TemperatureSchedule | None = None
    """The chip's temperature offset over simulated time (a staircase); it scales the steps of
    arrays whose drift is temperature-sensitive."""
    tiles: dict[str, TileConfig]
    """The tiles by name, e.g. [hardware.tiles.t0]."""

    _omitted_when_unset: ClassVar[tuple[str, ...]] = ("temperature",)

    @field_validator("cost_model")
    @classmethod
    def _known_cost_model(cls, name: str) -> str:
        try:
            get_cost_model(name)
        except KeyError as error:
            raise ValueError(error.args[0]) from None
        return name

    def resolved_costs(self) -> HardwareCosts:
        return get_cost_model(self.cost_model, **self.costs)

    def spec(self) -> HardwareSpec:
        """What the run kernel builds: the tiles, the resolved cost model and the hardware options."""
        return HardwareSpec(self.tile_specs(), self.resolved_costs(), self.shared_adc_count, self.slow_process_step_ns)

    def tile_specs(self) -> dict[str, TileSpec]:
        return {
            name: TileSpec(tile.rows, tile.cols, {a: spec.resolve() for a, spec in tile.arrays.items()},
                           tile.io, tile.update, tuple(tile.faults.dead_rows), tuple(tile.faults.dead_cols),
                           {a: spec.drift for a, spec in tile.arrays.items() if spec.drift is not None},
                           self.temperature)
            for name, tile in self.tiles.items()
        }


class ProgramConfig(_Strict):
    """The controller program and its parameters (validated by the program's own model when the
    program is resolved, after the structure)."""

    name: Annotated[str, Field(min_length=1)]
    """A program name (see `aimc programs`), `module:function` for your own, or an installed one."""
    params: dict[str, Any] = Field(default_factory=dict)
    """The program's parameters (see its section below)."""

    def resolved_params(self) -> BaseModel:
        return get_program(self.name).params_model.model_validate(self.params)


class OutputConfig(_Strict):
    trace: Literal["none", "vcd", "perfetto"] = "none"
    """Event trace to write beside the results."""


class Scenario(_Strict):
    """A complete, runnable scenario."""

    imports: list[Annotated[str, Field(min_length=1)]] = Field(default_factory=list, exclude=True)
    """Python modules imported before the rest is validated, e.g. ["my_devices"]: your own device
    models, workloads, cost models or programs register themselves there (importable from the
    working directory or the Python path). Listed in summary.json when given."""
    name: Annotated[str, Field(pattern=RUN_NAME_PATTERN, max_length=120)] = "scenario"
    """Name of the run, and of its default results folder results/<name>: letters, digits, "_",
    "-" and "." (not first), so that it is one safe path component."""
    description: str = ""
    """Free text carried into the summary."""
    seed: Annotated[int, Field(ge=0)] = 0
    """Root of every random stream of the run (device sampling, noise, pulse trains, reads, program)."""
    hardware: HardwareConfig
    """The emulated chip."""
    program: ProgramConfig
    """The controller program to run."""
    output: OutputConfig = Field(default_factory=OutputConfig)
    """What to write besides summary.json and metrics.csv."""


def validate_document(document: dict[str, Any]) -> Scenario:
    """Validate a parsed document; every problem is reported with its field path."""
    import_problems = _import_modules(document.get("imports", []))
    if import_problems:
        raise ScenarioError(import_problems)
    try:
        scenario = Scenario.model_validate(document)
    except ValidationError as error:
        raise ScenarioError(problems_of(error) + _raw_second_pass(document)) from None
    # Second pass: parts validated by models chosen in the first pass (preset, cost model, program).
    problems: list[tuple[str, str]] = []
    for tile_name, tile in scenario.hardware.tiles.items():
        for array_name, spec in tile.arrays.items():
            if spec.preset is not None and spec.overrides:
                try:
                    spec.resolve()
                except ValidationError as error:
                    problems += problems_of(error, f"hardware.tiles.{tile_name}.arrays.{array_name}.overrides")
    try:
        scenario.hardware.resolved_costs()
    except ValidationError as error:
        problems += problems_of(error, "hardware.costs")
    problems += _program_problems(scenario)
    if problems:
        raise ScenarioError(problems)
    return scenario


def _import_modules(modules: Any) -> list[tuple[str, str]]:
    """Import the scenario's `imports` (so what they register validates); the problems, if any."""
    if not isinstance(modules, list) or not all(isinstance(module, str) for module in modules):
        return [("imports", "must be a list of module names")]
    problems = []
    for index, module in enumerate(modules):
        try:
            import_module(module)
        except UnknownReference as error:
            problems.append((f"imports.{index}", str(error)))
    return problems


def _program_problems(scenario: Scenario) -> list[tuple[str, str]]:
    """Resolve the program a validated structure names: its parameters and its hardware."""
    try:
        entry = get_program(scenario.program.name)
    except UnknownProgram as error:
        return [("program.name", str(error))]
    try:
        params = entry.params_model.model_validate(scenario.program.params)
    except ValidationError as error:
        return problems_of(error, "program.params") + _raw_reference_problems(
            scenario.program.params, {name: tile.model_dump() for name, tile in scenario.hardware.tiles.items()})
    problems = _reference_problems(params, scenario.hardware)
    if entry.hardware_problems is not None:
        layout = {name: (tile.rows, tile.cols, frozenset(tile.arrays)) for name, tile in scenario.hardware.tiles.items()}
        problems += entry.hardware_problems(params, layout)
    return problems


def _raw_second_pass(document: dict[str, Any]) -> list[tuple[str, str]]:
    """Best-effort second-pass checks on the raw document when the first pass already failed,
    so one run of `validate` lists every problem it can."""
    problems: list[tuple[str, str]] = []
    hardware = document.get("hardware")
    hardware = hardware if isinstance(hardware, dict) else {}
    if isinstance(hardware.get("costs"), dict) and isinstance(hardware.get("cost_model", DEFAULT_COST_MODEL), str):
        try:
            get_cost_model(hardware.get("cost_model", DEFAULT_COST_MODEL), **hardware["costs"])
        except ValidationError as error:
            problems += problems_of(error, "hardware.costs")
        except KeyError:
            pass  # reported by the first pass
    tiles: dict[str, Any] = hardware["tiles"] if isinstance(hardware.get("tiles"), dict) else {}
    for tile_name, tile in tiles.items():
        arrays: dict[str, Any] = tile["arrays"] if isinstance(tile, dict) and isinstance(tile.get("arrays"), dict) else {}
        for array_name, spec in arrays.items():
            if isinstance(spec, dict) and spec.get("preset") in preset_names() and isinstance(spec.get("overrides"), dict):
                try:
                    get_preset(spec["preset"], **spec["overrides"])
                except ValidationError as error:
                    problems += problems_of(error, f"hardware.tiles.{tile_name}.arrays.{array_name}.overrides")
    program = document.get("program")
    if isinstance(program, dict) and isinstance(program.get("name"), str) and program["name"]:
        params = program.get("params", {})
        try:
            entry = get_program(program["name"])
        except UnknownProgram as error:
            problems.append(("program.name", str(error)))
        else:
            if isinstance(params, dict):
                try:
                    entry.params_model.model_validate(params)
                except ValidationError as error:
                    problems += problems_of(error, "program.params")
                problems += _raw_reference_problems(params, tiles if isinstance(hardware.get("tiles"), dict) else None)
    return problems


def _raw_reference_problems(params: dict[str, Any], tiles: dict[str, Any] | None) -> list[tuple[str, str]]:
    """Like _reference_problems, on raw data (when the documents do not validate yet);
    `tiles` is None when hardware.tiles is not a table (reported by the first pass)."""
    tile_name = params.get("tile")
    if not isinstance(tile_name, str) or tiles is None:
        return []
    if tile_name not in tiles:
        return [("program.params.tile", f"no tile {tile_name!r} in hardware.tiles ({', '.join(tiles) or 'none'})")]
    tile = tiles[tile_name]
    arrays = tile.get("arrays") if isinstance(tile, dict) and isinstance(tile.get("arrays"), dict) else {}
    return [(f"program.params.{key}", f"tile {tile_name!r} has no array {value!r} (has {', '.join(arrays)})")
            for key, value in params.items()
            if (key == "array" or key.endswith("_array")) and isinstance(value, str) and arrays and value not in arrays]


def _reference_problems(params: BaseModel, hardware: HardwareConfig) -> list[tuple[str, str]]:
    """Program parameters named `tile`/`array` (and `*_array`) must name existing hardware."""
    return _raw_reference_problems(params.model_dump(),
                                   {name: tile.model_dump() for name, tile in hardware.tiles.items()})


def load_scenario(path: str | Path, overrides: list[str] | None = None, seed: int | None = None) -> Scenario:
    """Read, override and validate a scenario file."""
    document = apply_overrides(read_document(path), overrides or [])
    if seed is not None:
        document["seed"] = seed
    return validate_document(document)


__all__ = [
    "ArraySpec", "HardwareConfig", "OutputConfig", "ProgramConfig", "Scenario", "ScenarioError",
    "TileConfig", "apply_overrides", "load_scenario", "parse_assignment", "program_names",
    "read_document", "validate_document",
]


def parse_device_spec(spec: str) -> tuple[str, PulsedDeviceConfig]:
    """A device from the command line: a preset name, `Model:key=value,...`, `Preset:key=value,...`,
    or the path of a TOML/YAML file holding a device table (`model = ...`) or `preset = ...`.

    Returns a display name and the validated config; errors are ScenarioError naming the part.
    """
    text = spec.strip()
    path = Path(text)
    if path.suffix.lower() in (".toml", ".yaml", ".yml"):
        document = read_document(path)
        try:
            array_spec = ArraySpec.model_validate(document if "preset" in document else {"device": document})
            return path.stem, array_spec.resolve()
        except ValidationError as error:
            raise ScenarioError(problems_of(error, "device")) from None
    name, _, assignments = text.partition(":")
    fields: dict[str, Any] = {}
    for assignment in filter(None, (part.strip() for part in assignments.split(","))):
        keys, value = parse_assignment(assignment)
        fields[".".join(keys)] = value
    from devices import DEVICE_MODELS

    try:
        if name in preset_names():
            return text, get_preset(name, **fields)
        if name in DEVICE_MODELS:
            return text, DEVICE_MODELS[name].model_validate(fields)
    except ValidationError as error:
        raise ScenarioError(problems_of(error, "device")) from None
    raise ScenarioError([("device", f"unknown device {name!r}: give a preset ({', '.join(preset_names())}), "
                                    f"a model ({', '.join(DEVICE_MODELS)}) with key=value fields, or a TOML/YAML file")])
