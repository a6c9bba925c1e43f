"""Hypothesis strategies for devices, tiles, cost models, read/update settings and scenarios.

Everything generated is valid (pydantic accepts it) and small by default: few states, tiny
tiles, short programs. Parameters scale it up. Values shrink toward simple devices (no
spread, no noise) so a failing example reads easily.
"""

from __future__ import annotations

from typing import Any, Sequence

from hypothesis import strategies as st

from devices import DEVICE_MODELS, PulsedDeviceConfig, get_preset, preset_names
from emulator.hardware import (
    COST_MODELS,
    HardwareCosts,
    IOParameters,
    TileSpec,
    UpdateParameters,
)

#: Every device family, by its `model` name.
FAMILIES: tuple[str, ...] = tuple(DEVICE_MODELS)
#: Families whose response is strictly monotone (μ_q > 0), so the SPEC §5 bounds apply.
MONOTONE_FAMILIES: tuple[str, ...] = ("SoftBounds", "SoftBoundsReference", "LinearStep", "AsymmetricLinear")
#: Array names tiles are given when none are asked for.
ARRAY_NAMES: tuple[str, ...] = ("W", "P", "R", "Q")

#: Numeric preset fields `preset_configs` may scale (all stay valid under a positive factor).
_SCALABLE_PRESET_FIELDS = ("dw_min", "dw_min_dtod", "dw_min_std", "up_down_dtod", "w_max_dtod", "w_min_dtod",
                           "write_noise_std")


def _floats(low: float, high: float) -> st.SearchStrategy[float]:
    return st.floats(low, high, allow_nan=False, allow_infinity=False, allow_subnormal=False)


def _zero_or(strategy: st.SearchStrategy[float], enabled: bool = True) -> st.SearchStrategy[float]:
    """0.0 (shrinks there) or a value from `strategy`; always 0.0 when not enabled."""
    return st.one_of(st.just(0.0), strategy) if enabled else st.just(0.0)


# ------------------------------------------------------------------------------- devices
@st.composite
def _device(
    draw: st.DrawFn,
    families: Sequence[str],
    min_states: float,
    max_states: float,
    d2d: bool,
    noise: bool,
    write_noise: bool,
    references: bool,
    stuck: bool,
    monotone: bool,
) -> PulsedDeviceConfig:
    family = draw(st.sampled_from(list(families)))
    w_max = draw(_floats(0.2, 1.5))
    w_min = -draw(_floats(0.2, 1.5))
    states = draw(_floats(min_states, max_states))
    fields: dict[str, Any] = {
        "w_max": w_max,
        "w_min": w_min,
        "dw_min": (w_max - w_min) / states,
        "dw_min_dtod": draw(_zero_or(_floats(0.0, 0.3), d2d)),
        "dw_min_dtod_log_normal": draw(st.booleans()) if d2d else False,
        "dw_min_std": draw(_zero_or(_floats(0.0, 0.3 if monotone else 0.5), noise)),
        "up_down": draw(_zero_or(_floats(-0.2, 0.2))),
        "up_down_dtod": draw(_zero_or(_floats(0.0, 0.05), d2d)),
        "w_max_dtod": draw(_zero_or(_floats(0.0, 0.2 if monotone else 0.3), d2d)),
        "w_min_dtod": draw(_zero_or(_floats(0.0, 0.2 if monotone else 0.3), d2d)),
        "write_noise_std": draw(_zero_or(_floats(0.0, 3.0), write_noise)),
        "reset": draw(_zero_or(_floats(0.5 * w_min, 0.5 * w_max))),
        "reset_dtod": draw(_zero_or(_floats(0.0, 0.05), d2d)),
    }
    if references:
        fields["reference_mean"] = draw(_zero_or(_floats(-0.3, 0.3)))
        fields["reference_std"] = draw(_zero_or(_floats(0.0, 0.1)))
        fields["subtract_symmetry_point"] = draw(st.booleans())
    if stuck:
        fields["corrupt_devices_prob"] = draw(_zero_or(_floats(0.0, 0.2)))
        fields["corrupt_devices_range"] = draw(_floats(0.0, 0.2))
    fields.update(draw(_family_fields(family, w_min, w_max, d2d, monotone)))
    return DEVICE_MODELS[family](**fields)


def _family_fields(family: str, w_min: float, w_max: float, d2d: bool,
                   monotone: bool) -> st.SearchStrategy[dict[str, Any]]:
    gamma_dtod = _zero_or(_floats(0.0, 0.05 if monotone else 0.1), d2d)
    if family == "LinearStep":
        return st.fixed_dictionaries({
            "gamma_up": _floats(0.3, 1.0) if monotone else _floats(0.0, 1.0),
            "gamma_down": _floats(0.3, 1.0) if monotone else _floats(0.0, 1.0),
            "gamma_up_dtod": gamma_dtod, "gamma_down_dtod": gamma_dtod,
            "mean_bound_reference": st.booleans(), "mult_noise": st.booleans(),
        })
    if family == "SoftBounds":
        return st.fixed_dictionaries({"mult_noise": st.booleans()})
    if family == "SoftBoundsReference":
        return st.fixed_dictionaries({
            "mult_noise": st.booleans(),
            "slope_up_dtod": _zero_or(_floats(0.0, 0.1), d2d and not monotone),
            "slope_down_dtod": _zero_or(_floats(0.0, 0.1), d2d and not monotone),
        })
    if family in ("PowStep", "PowStepReference"):
        return st.fixed_dictionaries({
            "pow_gamma": _floats(0.5, 3.0), "pow_gamma_dtod": _zero_or(_floats(0.0, 0.2), d2d),
            "pow_up_down": _zero_or(_floats(-0.3, 0.3)), "pow_up_down_dtod": _zero_or(_floats(0.0, 0.1), d2d),
        })
    if family == "ExpStep":
        return st.fixed_dictionaries({
            "A_up": _floats(-1.5, 0.9), "A_down": _floats(-1.5, 0.9),
            "gamma_up": _floats(0.5, 6.0), "gamma_down": _floats(0.5, 6.0),
            "a": _floats(-1.0, 1.0), "b": _floats(-1.0, 1.0),
            "dw_min_std_add": _zero_or(_floats(0.0, 0.05)), "dw_min_std_slope": _zero_or(_floats(0.0, 0.2)),
        })
    if family == "PiecewiseStep":
        return st.integers(1, 6).flatmap(lambda nodes: st.fixed_dictionaries({
            "piecewise_up": st.lists(_floats(0.0, 2.0), min_size=nodes, max_size=nodes),
            "piecewise_down": st.lists(_floats(0.0, 2.0), min_size=nodes, max_size=nodes),
        }))
    if family == "AsymmetricLinear":
        return st.fixed_dictionaries({
            "tau": _floats(0.5, 5.0) if monotone else _floats(0.3, 5.0),
            "symmetric_point": _floats(0.3 * w_min, 0.3 * w_max),
        })
    return st.just({})


def device_configs(
    families: Sequence[str] | None = None,
    *,
    min_states: float = 10.0,
    max_states: float = 200.0,
    d2d: bool = True,
    noise: bool = True,
    write_noise: bool = True,
    references: bool = True,
    stuck: bool = False,
) -> st.SearchStrategy[PulsedDeviceConfig]:
    """Valid device configs of the given families (default: every family in DEVICE_MODELS).

    dw_min follows from a number of states in [min_states, max_states] over the bounds; the
    flags switch d2d spread, c2c noise, write noise, references and stuck cells on or off.
    """
    chosen = tuple(families) if families is not None else FAMILIES
    unknown = sorted(set(chosen) - set(FAMILIES))
    if unknown:
        raise ValueError(f"unknown device families {unknown}; known: {', '.join(FAMILIES)}")
    return _device(chosen, min_states, max_states, d2d, noise, write_noise, references, stuck, False)


def monotone_device_configs(
    families: Sequence[str] | None = None,
    *,
    min_states: float = 20.0,
    max_states: float = 200.0,
    d2d: bool = True,
    noise: bool = True,
) -> st.SearchStrategy[PulsedDeviceConfig]:
    """Devices with a strictly monotone response (μ_q > 0) and no stuck cells: the ones the
    zero-shifting bounds of SPEC §5 are stated for (SoftBounds, LinearStep with γ > 0, …)."""
    chosen = tuple(families) if families is not None else MONOTONE_FAMILIES
    unknown = sorted(set(chosen) - set(MONOTONE_FAMILIES))
    if unknown:
        raise ValueError(f"families {unknown} are not monotone; choose from {', '.join(MONOTONE_FAMILIES)}")
    return _device(chosen, min_states, max_states, d2d, noise, False, True, False, True)


@st.composite
def _preset_overrides(draw: st.DrawFn, name: str, max_change: float, references: bool) -> dict[str, Any]:
    base = get_preset(name)
    overrides: dict[str, Any] = {}
    factor = _floats(1.0 - max_change, 1.0 + max_change)
    for field_name in draw(st.lists(st.sampled_from(_SCALABLE_PRESET_FIELDS), unique=True, max_size=4)):
        overrides[field_name] = getattr(base, field_name) * draw(factor)
    if draw(st.booleans()):
        scale = draw(factor)
        overrides["w_max"] = base.w_max * scale
        overrides["w_min"] = base.w_min * scale
    if references and draw(st.booleans()):
        overrides["reference_mean"] = draw(_floats(-0.3, 0.3))
        overrides["reference_std"] = draw(_floats(0.0, 0.2))
    return overrides


def preset_overrides(name: str, *, max_change: float = 0.5,
                     references: bool = True) -> st.SearchStrategy[dict[str, Any]]:
    """Field overrides that perturb a preset and keep it valid (scaled spreads, steps, bounds;
    optionally a reference offset), for `get_preset(name, **overrides)` or a scenario."""
    if name not in preset_names():
        raise ValueError(f"unknown preset {name!r}; known presets: {', '.join(preset_names())}")
    return _preset_overrides(name, max_change, references)


def preset_configs(names: Sequence[str] | None = None, *, perturb: bool = True, max_change: float = 0.5,
                   references: bool = True) -> st.SearchStrategy[PulsedDeviceConfig]:
    """SPEC §1.6 presets, each optionally perturbed by `preset_overrides`."""
    chosen = list(names) if names is not None else preset_names()
    if not perturb:
        return st.sampled_from(chosen).map(get_preset)
    return st.sampled_from(chosen).flatmap(
        lambda name: preset_overrides(name, max_change=max_change, references=references).map(
            lambda overrides: get_preset(name, **overrides)))


def devices(*, min_states: float = 10.0, max_states: float = 200.0) -> st.SearchStrategy[PulsedDeviceConfig]:
    """Any device: a generated config of any family, or a (perturbed) preset."""
    return st.one_of(device_configs(min_states=min_states, max_states=max_states), preset_configs())


# ------------------------------------------------------------------------------- periphery
@st.composite
def _costs(draw: st.DrawFn, named: bool) -> HardwareCosts:
    if named and draw(st.booleans()):
        return COST_MODELS[draw(st.sampled_from(sorted(COST_MODELS)))]()
    pulse_width = draw(_floats(1.0, 100.0))
    return HardwareCosts(
        name="generated",
        pulse_width_ns=pulse_width,
        slot_period_ns=draw(st.one_of(st.none(), _floats(pulse_width, 2.0 * pulse_width))),
        write_voltage_v=draw(_floats(0.5, 5.0)),
        device_resistance_ohm=draw(_floats(1e3, 1e6)),
        write_pulse_energy_pj=draw(st.one_of(st.none(), _floats(0.0, 10.0))),
        mvm_integration_ns=draw(_floats(1.0, 100.0)),
        mvm_energy_per_cell_fj=draw(_floats(0.0, 2.0)),
        dac_bits=draw(st.integers(1, 16)),
        dac_energy_fj=draw(_floats(0.0, 50.0)),
        adc_bits=draw(st.integers(1, 12)),
        adc_bit_time_ns=draw(_floats(0.1, 2.0)),
        adc_conversion_ns=draw(st.one_of(st.none(), _floats(0.5, 20.0))),
        adc_energy_fj=draw(_floats(0.0, 500.0)),
        columns_per_adc=draw(st.integers(1, 16)),
        adcs_per_tile=draw(st.one_of(st.none(), st.integers(1, 8))),
        digital_op_ns=draw(_floats(0.0, 5.0)),
        digital_lanes=draw(st.integers(1, 128)),
        digital_op_energy_fj=draw(_floats(0.0, 10.0)),
        count_latency_rule=draw(st.sampled_from(["tile-parallel", "row-by-row"])),
    )


def hardware_costs(*, named: bool = True) -> st.SearchStrategy[HardwareCosts]:
    """Cost models: the named ones (if `named`) or every field drawn from a sensible range."""
    return _costs(named)


def _resolution() -> st.SearchStrategy[float]:
    return st.one_of(st.just(0.0), st.integers(2, 10).map(lambda bits: 1.0 / (2 ** bits - 2)))


def io_parameters(*, perfect: bool | None = None, faults: bool = False) -> st.SearchStrategy[IOParameters]:
    """Read-path settings (DAC/ADC resolution and bounds, noise, managements); `perfect`
    forces ideal reads on (True) or off (False); `faults` adds ADC offset and gain errors."""
    return st.builds(
        IOParameters,
        adc_offset=_zero_or(_floats(-0.5, 0.5), faults),
        adc_gain=st.one_of(st.just(1.0), _floats(0.8, 1.2)) if faults else st.just(1.0),
        is_perfect=st.booleans() if perfect is None else st.just(perfect),
        inp_res=_resolution(),
        inp_bound=_floats(0.5, 2.0),
        inp_noise=_zero_or(_floats(0.0, 0.05)),
        out_res=_resolution(),
        out_bound=_floats(1.0, 20.0),
        out_noise=_zero_or(_floats(0.0, 0.1)),
        noise_management=st.sampled_from(["abs_max", "none"]),
        bound_management=st.sampled_from(["iterative", "none"]),
        max_bm_factor=st.integers(0, 16),
    )


def update_parameters(*, max_bl: int = 31) -> st.SearchStrategy[UpdateParameters]:
    """Pulse-train settings: desired_bl up to `max_bl`, both managements, every pulse type."""
    return st.builds(
        UpdateParameters,
        desired_bl=st.integers(1, max_bl),
        update_bl_management=st.booleans(),
        update_management=st.booleans(),
        pulse_type=st.sampled_from(["stochastic", "mean_count", "none"]),
    )


# ------------------------------------------------------------------------------- tiles
@st.composite
def _tile(draw: st.DrawFn, rows: tuple[int, int], cols: tuple[int, int], arrays: Sequence[str] | int,
          device: st.SearchStrategy[PulsedDeviceConfig], same_device: bool,
          io: st.SearchStrategy[IOParameters], update: st.SearchStrategy[UpdateParameters],
          faults: bool) -> TileSpec:
    if isinstance(arrays, int):
        names = list(ARRAY_NAMES[:draw(st.integers(1, max(1, min(arrays, len(ARRAY_NAMES)))))])
    else:
        names = list(arrays)
    if same_device:
        shared = draw(device)
        configs = {name: shared for name in names}
    else:
        configs = {name: draw(device) for name in names}
    shape = (draw(st.integers(*rows)), draw(st.integers(*cols)))
    dead_rows: tuple[int, ...] = ()
    dead_cols: tuple[int, ...] = ()
    if faults:
        dead_rows = tuple(draw(st.sets(st.integers(0, shape[0] - 1), max_size=max(0, shape[0] - 1))))
        dead_cols = tuple(draw(st.sets(st.integers(0, shape[1] - 1), max_size=max(0, shape[1] - 1))))
    return TileSpec(shape[0], shape[1], configs, draw(io), draw(update), dead_rows=tuple(sorted(dead_rows)),
                    dead_cols=tuple(sorted(dead_cols)))


def tile_specs(
    *,
    rows: tuple[int, int] = (1, 4),
    cols: tuple[int, int] = (1, 4),
    arrays: Sequence[str] | int = ("W",),
    device: st.SearchStrategy[PulsedDeviceConfig] | None = None,
    same_device: bool = False,
    io: st.SearchStrategy[IOParameters] | None = None,
    update: st.SearchStrategy[UpdateParameters] | None = None,
    faults: bool = False,
) -> st.SearchStrategy[TileSpec]:
    """One tile: shape in the `rows`/`cols` ranges, named arrays (a list of names, or an int:
    1..n of "W", "P", "R", "Q"), a device per array (or one shared), read path and update
    settings; `faults` adds dead rows/columns (and ADC faults to the default read path)."""
    return _tile(rows, cols, arrays, device if device is not None else devices(), same_device,
                 io if io is not None else io_parameters(faults=faults),
                 update if update is not None else update_parameters(), faults)


def tile_layouts(*, max_tiles: int = 2, **tile_options: Any) -> st.SearchStrategy[dict[str, TileSpec]]:
    """1..max_tiles tiles named "t0", "t1", …: what `run_program(tiles=...)` takes.
    Keyword options go to `tile_specs`."""
    tile = tile_specs(**tile_options)
    return st.lists(tile, min_size=1, max_size=max_tiles).map(
        lambda specs: {f"t{index}": spec for index, spec in enumerate(specs)})


__all__ = [
    "ARRAY_NAMES", "FAMILIES", "MONOTONE_FAMILIES", "device_configs", "devices", "hardware_costs",
    "io_parameters", "monotone_device_configs", "preset_configs", "preset_overrides", "tile_layouts", "tile_specs",
    "update_parameters",
]
