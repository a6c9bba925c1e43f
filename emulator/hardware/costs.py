"""Time and energy cost model of the hardware (SPEC §4).

Simulated time is an integer number of picoseconds; configuration is in ns and pJ/fJ and is
converted once, here. The model owns its formulas: how long each kind of operation takes and
what each finished `Operation` costs in energy (`energy_terms`), so a cost model with other
formulas is one subclass. Every result names the cost model it used.
"""

from __future__ import annotations

import math
from typing import Annotated, Callable, Literal

import numpy as np
from pydantic import BaseModel, Field, model_validator

from devices.inputs import FROZEN_INPUT_CONFIG, FieldError
from emulator import DEFAULT_COST_MODEL
from emulator.plugins import UnknownReference, installed, is_reference, load_reference
from emulator.hardware.operations import Operation
from emulator.units import fj_to_pj, ns_to_ps

Positive = Annotated[float, Field(gt=0.0)]
NonNegative = Annotated[float, Field(ge=0.0)]


class HardwareCosts(BaseModel):
    """Latency and energy of each hardware operation. Defaults: NeuroSim-style ReRAM tile."""

    model_config = FROZEN_INPUT_CONFIG

    name: str = DEFAULT_COST_MODEL
    """Name of the cost model, carried into every result."""
    pulse_width_ns: Positive = 50.0
    """Width of one write pulse; also the slot period unless slot_period_ns is set."""
    slot_period_ns: Positive | None = None
    """Period of one pulse slot (≥ pulse width); default = pulse_width_ns."""
    write_voltage_v: Positive = 4.0
    """Write pulse amplitude, for the V²·G·t energy formula."""
    device_resistance_ohm: Positive = 240e3
    """Cell resistance during a write pulse, for the V²·G·t energy formula."""
    write_pulse_energy_pj: NonNegative | None = None
    """Energy of one pulse on one cell; default V²/R·t (≈3.3 pJ at 4 V, 240 kΩ, 50 ns)."""
    mvm_integration_ns: Positive = 40.0
    """Analog integration time of one MVM (all outputs in parallel)."""
    mvm_energy_per_cell_fj: NonNegative = 0.5
    """Array energy of one MVM per cell read."""
    dac_bits: Annotated[int, Field(ge=1, le=16)] = 7
    """DAC resolution (for the record and the DAC energy)."""
    dac_energy_fj: NonNegative = 10.0
    """Energy of one DAC conversion (one input element of one MVM)."""
    adc_bits: Annotated[int, Field(ge=1, le=16)] = 9
    """ADC resolution; the SAR conversion time is (bits + 1)·adc_bit_time_ns."""
    adc_bit_time_ns: Positive = 1.0
    """SAR ADC time per bit cycle."""
    adc_conversion_ns: Positive | None = None
    """Override of the ADC conversion time."""
    adc_energy_fj: NonNegative = 200.0
    """Energy of one ADC conversion (NeuroSim SAR: 150–215 fJ at 8 bit)."""
    columns_per_adc: Annotated[int, Field(ge=1)] = 8
    """Columns sharing one ADC (NeuroSim default 8); conversions serialize per ADC."""
    adcs_per_tile: Annotated[int, Field(ge=1)] | None = None
    """ADCs in a tile's pool; default ceil(outputs / columns_per_adc) of the larger dimension."""
    digital_op_ns: NonNegative = 1.0
    """Time of one digital vector operation on one lane group."""
    digital_lanes: Annotated[int, Field(ge=1)] = 64
    """Elements processed in parallel by the digital unit."""
    digital_op_energy_fj: NonNegative = 5.0
    """Energy of one digital operation on one element (EMA, buffer update, compare)."""
    count_latency_rule: Literal["tile-parallel", "row-by-row"] = "tile-parallel"
    """Deterministic per-cell counts: max count × period, or Σ rows of the row max (NeuroSim)."""

    @model_validator(mode="after")
    def _slot_holds_pulse(self) -> "HardwareCosts":
        if self.slot_period_ns is not None and self.slot_period_ns < self.pulse_width_ns:
            raise FieldError("slot_period_ns", f"must be at least pulse_width_ns ({self.pulse_width_ns}), "
                                               f"got {self.slot_period_ns}")
        return self

    # ---------------------------------------------------------------- derived
    @property
    def slot_ps(self) -> int:
        return ns_to_ps(self.slot_period_ns if self.slot_period_ns is not None else self.pulse_width_ns)

    @property
    def pulse_energy_pj(self) -> float:
        if self.write_pulse_energy_pj is not None:
            return self.write_pulse_energy_pj
        joules = self.write_voltage_v ** 2 / self.device_resistance_ohm * self.pulse_width_ns * 1e-9
        return joules * 1e12

    @property
    def adc_conversion_ps(self) -> int:
        if self.adc_conversion_ns is not None:
            return ns_to_ps(self.adc_conversion_ns)
        return ns_to_ps((self.adc_bits + 1) * self.adc_bit_time_ns)

    @property
    def mvm_ps(self) -> int:
        return ns_to_ps(self.mvm_integration_ns)

    def adc_count(self, rows: int, cols: int) -> int:
        """ADCs in the pool of a rows × cols tile."""
        if self.adcs_per_tile is not None:
            return self.adcs_per_tile
        return max(1, math.ceil(max(rows, cols) / self.columns_per_adc))

    def count_slots(self, counts: np.ndarray) -> int:
        """Pulse slots needed to deliver signed per-cell counts (up and down phases separately)."""
        up = np.maximum(counts, 0)
        down = np.maximum(-counts, 0)
        if self.count_latency_rule == "row-by-row":
            return int(up.max(axis=1).sum() + down.max(axis=1).sum())
        return int(up.max(initial=0) + down.max(initial=0))

    def slot_pulses(self, counts: np.ndarray) -> np.ndarray:
        """Cell pulses fired in each of the `count_slots(counts)` slots, in firing order: a cell
        with count c fires in the first |c| slots of its phase (its row's, row by row)."""
        counts = np.asarray(counts).reshape(-1, np.asarray(counts).shape[-1])
        groups = [counts[row:row + 1] for row in range(counts.shape[0])] \
            if self.count_latency_rule == "row-by-row" else [counts]
        per_slot = []
        for group in groups:
            for phase in (np.maximum(group, 0), np.maximum(-group, 0)):
                cells_with = np.bincount(phase.ravel())[1:]  # cells_with[k-1]: cells whose count is k
                per_slot.append(np.cumsum(cells_with[::-1])[::-1])  # slot s fires every cell with count > s
        return np.concatenate(per_slot).astype(np.int64)

    def digital_ps(self, elements: int) -> int:
        """Time of one digital op over `elements` values."""
        return ns_to_ps(math.ceil(elements / self.digital_lanes) * self.digital_op_ns)

    def write_ps(self, slots: int) -> int:
        """Time of `slots` pulse slots (a whole tile in parallel per slot)."""
        return slots * self.slot_ps

    def integration_ps(self, mvms: int) -> int:
        """Analog integration time of `mvms` MVMs, one after another."""
        return mvms * self.mvm_ps

    def conversion_rounds(self, outputs: int, mvms: int, adcs: int) -> int:
        """ADC rounds to convert `outputs` per MVM for `mvms` MVMs on `adcs` ADCs."""
        return math.ceil(outputs / adcs) * mvms

    # ---------------------------------------------------------------- energy
    def energy_terms(self, operation: Operation) -> list[tuple[str, float]]:
        """What a finished operation cost, as (category, pJ) terms in booking order."""
        formula = _ENERGY_FORMULAS.get(operation.kind)
        return formula(self, operation) if formula is not None else []


def _write_energy(costs: HardwareCosts, operation: Operation) -> list[tuple[str, float]]:
    pulse_energy_pj = costs.pulse_energy_pj  # a derived property: once per record, not per sample
    return [("write_pulses", pulses * pulse_energy_pj) for pulses in operation.sample_pulses]


def _read_energy(costs: HardwareCosts, operation: Operation) -> list[tuple[str, float]]:
    return [("mvm", fj_to_pj(operation.mvms * operation.cells * costs.mvm_energy_per_cell_fj)),
            ("adc", fj_to_pj(operation.conversions * costs.adc_energy_fj)),
            ("dac", fj_to_pj(operation.dac_inputs * costs.dac_energy_fj))]


def _digital_energy(costs: HardwareCosts, operation: Operation) -> list[tuple[str, float]]:
    return [("digital", fj_to_pj(operation.elements * costs.digital_op_energy_fj))]


_ENERGY_FORMULAS: dict[str, Callable[[HardwareCosts, Operation], list[tuple[str, float]]]] = {
    "write": _write_energy, "read": _read_energy, "digital": _digital_energy,
}


def _ecram_5ns() -> HardwareCosts:
    return HardwareCosts(
        name="ecram-5ns", pulse_width_ns=5.0, write_pulse_energy_pj=0.001,
        mvm_integration_ns=40.0, adc_bits=8, adc_energy_fj=150.0,
    )


def _taox_hfox() -> HardwareCosts:
    return HardwareCosts(name="taox-hfox-1.6v-50ns", pulse_width_ns=50.0, write_voltage_v=1.6)


COST_MODELS: dict[str, Callable[[], HardwareCosts]] = {
    DEFAULT_COST_MODEL: HardwareCosts,
    "ecram-5ns": _ecram_5ns,
    "taox-hfox-1.6v-50ns": _taox_hfox,
}
"""Named cost models: a name → a factory of the model (a `HardwareCosts`, or a subclass with its
own fields and formulas)."""


def cost_model_names() -> list[str]:
    """Registered and installed cost models."""
    return sorted(set(COST_MODELS) | set(installed("aimc.cost_models")))


def register_cost_model(name: str, factory: Callable[[], HardwareCosts]) -> None:
    """Make a cost model available under `name` (scenarios: `hardware.cost_model`)."""
    COST_MODELS[name] = factory


def get_cost_model(name: str, **overrides: object) -> HardwareCosts:
    """A named cost model (registered, `module:Class` of your own, or installed under the
    `aimc.cost_models` entry points), optionally with fields overridden (validated by the model's
    own class)."""
    factory = COST_MODELS.get(name)
    if factory is None:
        available = installed("aimc.cost_models")
        try:
            factory = load_reference(name) if is_reference(name) else available[name].load()
        except (UnknownReference, KeyError):
            raise KeyError(f"unknown cost model {name!r}; known: {', '.join(cost_model_names())} "
                           "(or name your own as module:Class)") from None
    base = factory()
    if not isinstance(base, HardwareCosts):
        raise KeyError(f"cost model {name!r} is not a HardwareCosts")
    if overrides:
        base = type(base).model_validate({**base.model_dump(), **overrides})
    return base
