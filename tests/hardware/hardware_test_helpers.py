"""Plain helpers of the hardware tests: devices, hardware builders and an independent
implementation of the SPEC §2.1 firing probabilities (so tests do not trust the code under test).
"""

from __future__ import annotations

import math
from typing import Any, Iterable

import numpy as np

from devices import ConstantStepConfig
from emulator.hardware import Controller, Hardware, HardwareCosts, IOParameters, TileSpec, UpdateParameters

PERFECT_IO = IOParameters(is_perfect=True)


def ideal_constant_step(dw_min: float = 0.01, bound: float = 1.0, **extra: Any) -> ConstantStepConfig:
    """ConstantStep without any d2d or c2c spread: every pulse moves a cell by exactly dw_min."""
    fields = dict(dw_min=dw_min, dw_min_dtod=0.0, dw_min_std=0.0, up_down=0.0, up_down_dtod=0.0,
                  w_max=bound, w_min=-bound, w_max_dtod=0.0, w_min_dtod=0.0)
    fields.update(extra)
    return ConstantStepConfig(**fields)


def build(
    tiles: dict[str, tuple[int, int]] | None = None,
    arrays: Iterable[str] = ("W",),
    device: Any = None,
    io: IOParameters | None = None,
    update: UpdateParameters | None = None,
    costs: HardwareCosts | None = None,
    seed: int = 0,
    trace: bool = False,
    shared_adc_count: int | None = None,
) -> tuple[Hardware, Controller]:
    """A small Hardware and its Controller."""
    tiles = tiles or {"t0": (4, 6)}
    device = device or ideal_constant_step()
    specs = {
        name: TileSpec(rows, cols, {a: device for a in arrays}, io or IOParameters(), update or UpdateParameters())
        for name, (rows, cols) in tiles.items()
    }
    hardware = Hardware(specs, costs=costs, seed=seed, trace=trace, shared_adc_count=shared_adc_count)
    return hardware, Controller(hardware)


def run_commands(controller: Controller, commands: list[Any]) -> tuple[list[Any], list[int]]:
    """Run commands in order; return their results and env.now (ps) after each one."""
    results: list[Any] = []
    times: list[int] = []

    def program(ctl: Controller):
        for command in commands:
            results.append((yield command))
            times.append(ctl.env.now)

    controller.run(program)
    return results, times


def elapsed_ps(controller: Controller, command: Any) -> int:
    """Simulated time one command takes on otherwise idle hardware."""
    start = controller.env.now
    run_commands(controller, [command])
    return controller.env.now - start


def ns(value: float) -> int:
    """ns → integer ps, as the test computes it by hand."""
    return int(round(value * 1000))


def expected_probabilities(
    x: np.ndarray, d: np.ndarray, lr: float, granularity: float, params: UpdateParameters
) -> tuple[int, np.ndarray, np.ndarray]:
    """(BL, q_i rows, p_j columns) straight from SPEC §2.1 (bl management implies update
    management, as in the reference simulator)."""
    x = np.asarray(x, dtype=np.float64)
    d = np.asarray(d, dtype=np.float64)
    x_m, d_m = np.abs(x).max(), np.abs(d).max()
    eta = abs(lr)
    k = eta * x_m * d_m / granularity
    bl = min(math.ceil(k), params.desired_bl) if params.update_bl_management else params.desired_bl
    a = b = math.sqrt(eta / (granularity * bl))
    if params.update_management or params.update_bl_management:
        if k > params.desired_bl:
            d_m = d_m * params.desired_bl / k
        a *= math.sqrt(x_m / d_m)
        b *= math.sqrt(d_m / x_m)
    q = np.minimum(1.0, a * np.abs(d))
    p = np.minimum(1.0, b * np.abs(x))
    return bl, q, p

