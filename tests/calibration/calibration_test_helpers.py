"""Plain helpers of the calibration tests: devices, a harness that runs the zero-shifting program
on emulated hardware while measuring the true iterate error at checkpoints, and an independent
prediction of what a calibration's command sequence costs under a HardwareCosts model.

Nothing here trusts the code under test for the quantities it checks: the mean-square error is
computed from the array's conductance and symmetric point directly, and the cost prediction is
written from the cost-model fields (SPEC §4), not from the tile or recorder code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from devices import DeviceArray, LinearStepConfig, PowStepConfig, PulsedDeviceConfig, SoftBoundsConfig
from emulator.algorithms.calibration import zero_shift
from emulator.hardware import Controller, Hardware, HardwareCosts, IOParameters, TileSpec

PERFECT_IO = IOParameters(is_perfect=True)

#: No device-to-device spread at all (each family adds its own d2d fields).
NO_SPREAD = dict(dw_min_dtod=0.0, up_down_dtod=0.0, w_max_dtod=0.0, w_min_dtod=0.0)


def small_spread(scale: float) -> dict[str, float]:
    """A small device-to-device spread of steps, asymmetry and bounds (`scale` ≤ ~0.05)."""
    return dict(dw_min_dtod=scale, up_down_dtod=0.2 * scale, w_max_dtod=scale, w_min_dtod=scale)


def soft_bounds(states: float, up_down: float = 0.0, noise: float = 0.3, w_max: float = 1.0,
                w_min: float = -1.0, spread: dict[str, float] | None = None, **extra: Any) -> SoftBoundsConfig:
    """SoftBounds on [w_min, w_max] with `states` states (Δw_min = range/states)."""
    fields: dict[str, Any] = dict(states=states, up_down=up_down, dw_min_std=noise, w_max=w_max, w_min=w_min)
    fields.update(spread if spread is not None else NO_SPREAD)
    fields.update(extra)
    return SoftBoundsConfig(**fields)


def linear_step(states: float, gamma_up: float, gamma_down: float, up_down: float = 0.0, noise: float = 0.3,
                w_max: float = 1.0, w_min: float = -1.0, spread: dict[str, float] | None = None,
                gamma_dtod: float = 0.0) -> LinearStepConfig:
    """Monotone LinearStep (γ± > 0), Δw_min = range/states."""
    fields: dict[str, Any] = dict(dw_min=(w_max - w_min) / states, gamma_up=gamma_up, gamma_down=gamma_down,
                                  gamma_up_dtod=gamma_dtod, gamma_down_dtod=gamma_dtod, up_down=up_down,
                                  dw_min_std=noise, w_max=w_max, w_min=w_min)
    fields.update(spread if spread is not None else NO_SPREAD)
    return LinearStepConfig(**fields)


def pow_step(states: float, gamma: float, pow_up_down: float = 0.0, up_down: float = 0.0, noise: float = 0.3,
             w_max: float = 1.0, w_min: float = -1.0, spread: dict[str, float] | None = None,
             gamma_dtod: float = 0.0) -> PowStepConfig:
    """PowStep with exponent `gamma`, Δw_min = range/states."""
    fields: dict[str, Any] = dict(dw_min=(w_max - w_min) / states, pow_gamma=gamma, pow_gamma_dtod=gamma_dtod,
                                  pow_up_down=pow_up_down, up_down=up_down, dw_min_std=noise,
                                  w_max=w_max, w_min=w_min)
    fields.update(spread if spread is not None else NO_SPREAD)
    return PowStepConfig(**fields)


def build(device: PulsedDeviceConfig | dict[str, PulsedDeviceConfig], rows: int = 64, cols: int = 64,
          io: IOParameters = PERFECT_IO, costs: HardwareCosts | None = None,
          seed: int = 0) -> tuple[Hardware, Controller]:
    """One tile "t0" holding array "W" (or the given named arrays), and its controller."""
    arrays = device if isinstance(device, dict) else {"W": device}
    hardware = Hardware({"t0": TileSpec(rows, cols, dict(arrays), io)}, costs=costs, seed=seed)
    return hardware, Controller(hardware)


def error_stats(array: DeviceArray) -> tuple[float, float, float]:
    """Truth: mean over cells of (g − SP)², its standard error across cells, and the mean of g − SP."""
    error = array.g.astype(np.float64) - array.symmetric_point()
    square = error ** 2
    return float(square.mean()), float(square.std() / math.sqrt(square.size)), float(error.mean())


@dataclass
class ZSRun:
    """What a harness run of zero-shifting measured."""

    estimate: np.ndarray
    initial_mse: float
    initial_mean_error: float
    steps: list[int] = field(default_factory=list)
    mse: list[float] = field(default_factory=list)
    mse_se: list[float] = field(default_factory=list)
    mean_error: list[float] = field(default_factory=list)
    std: list[float] = field(default_factory=list)


def run_zero_shift(hardware: Hardware, controller: Controller, steps: int, method: str = "stochastic",
                   checkpoints: list[int] | None = None, reads: int = 1, **options: Any) -> ZSRun:
    """Run the zero_shift program on t0/W, recording the true error at each checkpoint."""
    array = hardware.tile("t0").array("W")
    mse0, _, mean0 = error_stats(array)
    run = ZSRun(np.empty(0), mse0, mean0)

    def probe(label: str, step: int) -> None:
        mse, se, mean = error_stats(array)
        run.steps.append(step)
        run.mse.append(mse)
        run.mse_se.append(se)
        run.mean_error.append(mean)
        run.std.append(float(np.std(array.g.astype(np.float64) - array.symmetric_point())))

    controller.probes.append(probe)

    def program(ctl: Controller) -> Any:
        return (yield from zero_shift(ctl, "t0", "W", steps, method, reads, checkpoints=checkpoints or [],
                                      **options))

    run.estimate = controller.run(program)
    return run


def start_states(array: DeviceArray, seed: int, centre: float, jitter: float) -> np.ndarray:
    """Per-cell start conductances: a fraction `centre` of each cell's range, ± `jitter` (uniform)."""
    rng = np.random.default_rng(seed)
    prm = array.cell_parameters()
    low, high = prm["b_min"], prm["b_max"]
    fraction = np.clip(centre + jitter * rng.uniform(-1.0, 1.0, array.shape), 0.0, 1.0)
    return low + (high - low) * fraction


def stationary_variance(s_up: float, s_down: float, b_up: float, b_down: float, noise: float) -> float:
    """Exact stationary E[(g − SP)²] of stochastic ZS on one SoftBounds cell with multiplicative c2c noise σ.

    With e = g − SP, an up pulse moves e by (D − a⁺e)(1 + σζ) and a down pulse by −(D + a⁻e)(1 + σζ),
    where a⁺ = s⁺/b⁺, a⁻ = s⁻/|b⁻| and D = s⁺(1 − SP/b⁺) is the step at the SP. Setting E[e'²] = E[e²]
    (E[e] = 0 at stationarity) gives V = (1+σ²)D² / ((a⁺ + a⁻) − ½(1+σ²)(a⁺² + a⁻²)); for the
    symmetric cell on ±1 this is Δw(1+σ²)/(2 − Δw(1+σ²)) ≈ Δw_min/2 (SPEC §5).
    """
    a_up, a_down = s_up / b_up, s_down / abs(b_down)
    sp = (s_up - s_down) / (a_up + a_down)
    step = s_up * (1.0 - sp / b_up)
    gain = 1.0 + noise ** 2
    return gain * step ** 2 / ((a_up + a_down) - 0.5 * gain * (a_up ** 2 + a_down ** 2))


# ---------------------------------------------------------------------- cost model (SPEC §4)
@dataclass(frozen=True)
class PredictedCost:
    latency_ns: float
    energy_pj: float
    pulses: int
    mvms: int
    conversions: int


def predicted_calibration_cost(costs: HardwareCosts, rows: int, cols: int, steps: int, method: str,
                               reads: int, digital_reference: bool = True) -> PredictedCost:
    """Latency and energy of N ZS steps + k ReadCells + storing a digital reference, from the fields.

    A stochastic step is a mixed up/down pattern: two slots (up phase, down phase), one pulse per
    cell. A cyclic step is one tile-wide pulse: one slot. A ReadCells repeat is `cols` one-hot MVMs,
    each an integration plus ceil(rows / ADCs) conversion rounds. Storing the reference is one
    digital op over every cell.
    """
    cells = rows * cols
    slot_ns = costs.slot_period_ns if costs.slot_period_ns is not None else costs.pulse_width_ns
    slots_per_step = 2 if method == "stochastic" else 1
    adcs = costs.adcs_per_tile
    if adcs is None:
        adcs = max(1, math.ceil(max(rows, cols) / costs.columns_per_adc))
    adcs = min(adcs, rows)
    conversion_ns = costs.adc_conversion_ns
    if conversion_ns is None:
        conversion_ns = (costs.adc_bits + 1) * costs.adc_bit_time_ns
    mvms = reads * cols
    read_ns = mvms * (costs.mvm_integration_ns + math.ceil(rows / adcs) * conversion_ns)
    digital_ns = math.ceil(cells / costs.digital_lanes) * costs.digital_op_ns if digital_reference else 0.0
    pulse_pj = costs.write_pulse_energy_pj if costs.write_pulse_energy_pj is not None else \
        costs.write_voltage_v ** 2 / costs.device_resistance_ohm * costs.pulse_width_ns * 1e-9 * 1e12
    pulses = steps * cells
    energy = (pulses * pulse_pj
              + mvms * cells * costs.mvm_energy_per_cell_fj / 1000.0      # array
              + mvms * cols * costs.dac_energy_fj / 1000.0                # one DAC per input element
              + mvms * rows * costs.adc_energy_fj / 1000.0                # one conversion per output
              + (cells * costs.digital_op_energy_fj / 1000.0 if digital_reference else 0.0))
    latency = steps * slots_per_step * slot_ns + read_ns + digital_ns
    return PredictedCost(latency, energy, pulses, mvms, mvms * rows)
