"""The zero_shift controller program: it never looks at device state, it issues exactly the
commands of SPEC §5 (N tile-wide steps, k reads of every cell, a reference set digitally or by
program-and-verify), counts them under the right phases, and runs from a scenario file."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pytest
from calibration_test_helpers import PERFECT_IO, build, small_spread, soft_bounds
from pydantic import ValidationError

from devices import DeviceArray
from emulator.algorithms.calibration import (
    ZeroShiftParams,
    log_spaced_checkpoints,
    random_up_mask,
    residual_error,
    zero_shift,
)
from emulator.hardware import Controller, Hardware, IOParameters, Tile
from emulator.runner import run_scenario
from emulator.scenario import load_scenario

PROGRAM_MODULE = "emulator.algorithms.calibration"
#: The program side of the calibration module (the truth hooks iterate_error, residual_error,
#: _probe and _finalize live there too, but only the harness calls them).
PROGRAM_FUNCTIONS = {"zero_shift", "zero_shift_pulses", "store_reference", "_calibration_program", "random_up_mask",
                     "log_spaced_checkpoints"}
#: What a program may use of its controller: shapes, the datasheet config, its rng, announcements.
CONTROLLER_API = {"tile_shape", "device_config", "rng", "checkpoint", "progress", "metric", "now_ns"}


@contextmanager
def program_state_guard(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[list[str], list[str]]]:
    """Record every attribute access the program-side functions of the calibration module make on
    device arrays, tiles, the hardware or the controller: (violations, all accesses seen), where a
    violation is anything beyond the controller's program API."""
    violations: list[str] = []
    seen: list[str] = []
    for cls, allowed in ((DeviceArray, set()), (Tile, set()), (Hardware, set()), (Controller, CONTROLLER_API)):
        original = cls.__getattribute__

        def guarded(self: Any, name: str, _original: Any = original, _cls: type = cls,
                    _allowed: set[str] = allowed) -> Any:
            caller = sys._getframe(1)
            if caller.f_globals.get("__name__") == PROGRAM_MODULE and caller.f_code.co_name in PROGRAM_FUNCTIONS:
                seen.append(f"{_cls.__name__}.{name}")
                if name not in _allowed:
                    violations.append(f"{_cls.__name__}.{name}")
            return _original(self, name)

        monkeypatch.setattr(cls, "__getattribute__", guarded)
    yield violations, seen


def test_the_guard_catches_a_program_that_peeks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Negative control: the same guard flags a cheating program living in the program module."""
    source = ("def zero_shift(ctl):\n"
              "    array = ctl.hardware.tile('t0').array('W')\n"
              "    return array.symmetric_point() - array.g\n")
    namespace: dict[str, Any] = {"__name__": PROGRAM_MODULE}
    exec(compile(source, "<cheating program>", "exec"), namespace)
    hardware, controller = build(soft_bounds(100, 0.2), 4, 4)
    with program_state_guard(monkeypatch) as (violations, _):
        namespace["zero_shift"](controller)
    assert "Controller.hardware" in violations
    assert {"DeviceArray.symmetric_point", "DeviceArray.g"} <= set(violations)


@pytest.mark.parametrize("method", ["stochastic", "cyclic"])
@pytest.mark.parametrize("reference", ["digital", "analog"])
def test_the_program_never_touches_device_state(monkeypatch: pytest.MonkeyPatch, method: str, reference: str) -> None:
    device = soft_bounds(100, 0.2, 0.3, spread=small_spread(0.05))
    hardware, controller = build({"W": device, "R": soft_bounds(400, 0.0, 0.0)}, 8, 8, io=IOParameters())

    def program(ctl: Controller) -> Any:
        return (yield from zero_shift(ctl, "t0", "W", 30, method, 2, reference,
                                      "R" if reference == "analog" else None, checkpoints=[5, 30]))

    with program_state_guard(monkeypatch) as (violations, seen):
        estimate = controller.run(program)
    # The guard saw the program at work (its controller API calls), and nothing beyond that API.
    assert {"Controller.tile_shape", "Controller.checkpoint"} <= set(seen)
    assert violations == [], f"the calibration program read device/hardware state: {sorted(set(violations))}"
    assert estimate.shape == (8, 8)


def _run_blind(scramble_truth: bool, method: str, reference: str) -> tuple[np.ndarray, dict, np.ndarray, np.ndarray]:
    device = soft_bounds(100, 0.2, 0.3, spread=small_spread(0.05))
    hardware, controller = build({"W": device, "R": soft_bounds(400, 0.0, 0.0)}, 16, 16, io=IOParameters(), seed=7)
    if scramble_truth:
        for name in ("W", "R"):
            array = hardware.tile("t0").array(name)
            array.true_symmetric_point = array.true_symmetric_point + 0.37 * np.cos(np.arange(array.size)).reshape(
                array.shape)
            array.sp_interior = ~array.sp_interior

    def program(ctl: Controller) -> Any:
        return (yield from zero_shift(ctl, "t0", "W", 60, method, 2, reference,
                                      "R" if reference == "analog" else None))

    estimate = controller.run(program)
    tile = hardware.tile("t0")
    return estimate, hardware.recorder.summary(), tile.array("W").g.copy(), tile.array("R").g.copy()


@pytest.mark.parametrize(("method", "reference"), [("stochastic", "digital"), ("cyclic", "analog")])
def test_the_result_does_not_depend_on_the_true_symmetric_point(method: str, reference: str) -> None:
    """Same seed, same visible behaviour, a different ground-truth SP: bit-identical run."""
    honest = _run_blind(False, method, reference)
    scrambled = _run_blind(True, method, reference)
    np.testing.assert_array_equal(honest[0], scrambled[0])
    assert honest[1] == scrambled[1]
    np.testing.assert_array_equal(honest[2], scrambled[2])
    np.testing.assert_array_equal(honest[3], scrambled[3])


@pytest.mark.parametrize("method", ["stochastic", "cyclic"])
def test_pulses_reads_and_digital_reference_are_counted(method: str) -> None:
    rows, cols, steps, reads = 12, 10, 25, 3
    hardware, controller = build(soft_bounds(100, 0.2), rows, cols, io=IOParameters())

    def program(ctl: Controller) -> Any:
        return (yield from zero_shift(ctl, "t0", "W", steps, method, reads))

    controller.run(program)
    summary = hardware.recorder.summary()
    info = summary["pulses"]["t0/W"]
    assert info["total"] == steps * rows * cols
    assert info["per_cell_max"] == steps and info["per_cell_mean"] == steps
    assert set(info["by_phase"]) == {"calibration"}
    if method == "cyclic":  # odd steps up, even steps down
        assert info["up"] == (steps + 1) // 2 * rows * cols and info["down"] == steps // 2 * rows * cols
    assert summary["slots"]["t0/W"] == steps * (2 if method == "stochastic" else 1)
    assert summary["reads"] == {"t0/W|calibration": {"mvms": reads * cols, "conversions": reads * cols * rows,
                                                     "dac_conversions": reads * cols * cols}}
    assert summary["digital_ops"] == {"store_reference": rows * cols}
    assert summary["commands"]["SignPattern"] == steps and summary["commands"]["ReadCells"] == 1
    assert "programming" not in summary["pulses_by_phase"]


def test_stochastic_steps_flip_a_fair_independent_coin_per_cell() -> None:
    hardware, controller = build(soft_bounds(100, 0.0), 32, 32)
    steps = 400

    def program(ctl: Controller) -> Any:
        return (yield from zero_shift(ctl, "t0", "W", steps, "stochastic"))

    controller.run(program)
    counter = hardware.recorder.arrays["t0/W"]
    up, down = counter.per_cell()
    assert np.all(up + down == steps)
    fraction = up / steps
    # Binomial(400, ½) per cell: mean ½, std 0.025; cells independent of each other.
    assert abs(fraction.mean() - 0.5) < 4 * 0.025 / 32
    assert fraction.std() == pytest.approx(0.025, rel=0.1)
    assert abs(np.corrcoef(fraction[:, :-1].ravel(), fraction[:, 1:].ravel())[0, 1]) < 0.1


def test_random_up_mask_and_checkpoints_helpers() -> None:
    rng = np.random.default_rng(0)
    masks = np.array([random_up_mask(rng, (3, 5)) for _ in range(4000)])
    assert masks.dtype == bool and masks.shape == (4000, 3, 5)
    assert abs(masks.mean() - 0.5) < 0.02
    assert np.all(np.abs(masks.mean(axis=0) - 0.5) < 0.05)
    points = log_spaced_checkpoints(8000, 60)
    assert points == sorted(set(points)) and points[0] == 1 and points[-1] == 8000
    assert 30 <= len(points) <= 60
    assert log_spaced_checkpoints(10, 0) == []
    assert log_spaced_checkpoints(5, 100) == [1, 2, 3, 4, 5]


def test_perfect_reads_return_the_visible_weights_and_averaging_reduces_read_noise() -> None:
    device = soft_bounds(100, 0.2, 0.3, spread=small_spread(0.05), reference_mean=0.05, reference_std=0.02)
    hardware, controller = build(device, 16, 16, io=PERFECT_IO)
    estimate = controller.run(lambda ctl: (yield from zero_shift(ctl, "t0", "W", 40, reads=1)))
    array = hardware.tile("t0").array("W")
    np.testing.assert_allclose(estimate, array.visible(), rtol=0, atol=1e-6)
    spreads = []
    for reads in (1, 16):
        hardware, controller = build(device, 32, 32, io=IOParameters(out_res=0.0), seed=2)
        estimate = controller.run(lambda ctl: (yield from zero_shift(ctl, "t0", "W", 10, reads=reads)))
        spreads.append(float(np.std(estimate - hardware.tile("t0").array("W").visible())))
    assert spreads[0] == pytest.approx(0.06, rel=0.1)  # IOParameters.out_noise
    assert spreads[1] == pytest.approx(0.06 / 4, rel=0.1)


def test_analog_reference_is_programmed_by_program_and_verify_under_phase_programming() -> None:
    rows, cols, steps = 16, 16, 150
    w_device = soft_bounds(100, 0.2, 0.3, spread=small_spread(0.05))
    r_device = soft_bounds(1000, 0.0, 0.0)
    hardware, controller = build({"W": w_device, "R": r_device}, rows, cols, io=PERFECT_IO)

    def program(ctl: Controller) -> Any:
        return (yield from zero_shift(ctl, "t0", "W", steps, "stochastic", 1, "analog", "R"))

    estimate = controller.run(program)
    summary = hardware.recorder.summary()
    pulses_w, pulses_r = summary["pulses"]["t0/W"], summary["pulses"]["t0/R"]
    assert set(pulses_w["by_phase"]) == {"calibration"} and pulses_w["total"] == steps * rows * cols
    assert set(pulses_r["by_phase"]) == {"programming"} and pulses_r["total"] > 0
    assert summary["pulses_by_phase"]["programming"] == pulses_r["total"]
    programming_reads = summary["reads"]["t0/R|programming"]
    assert programming_reads["mvms"] >= cols and programming_reads["mvms"] % cols == 0
    assert "t0/R|calibration" not in summary["reads"]
    assert summary["reads"]["t0/W|calibration"]["mvms"] == cols
    assert "store_reference" not in summary["digital_ops"]
    assert summary["phase_time_ns"]["programming"] > 0
    assert summary["energy_pj"]["by_phase"]["programming"] > 0
    # The reference now holds the estimate, to about the reference device's step.
    reference = hardware.tile("t0").array("R").visible()
    assert np.mean(np.abs(reference - estimate) <= r_device.dw_min) > 0.95
    assert np.max(np.abs(reference - estimate)) < 3 * r_device.dw_min
    assert hardware.recorder.phase == "calibration"


def test_analog_reference_without_a_reference_array_is_rejected() -> None:
    with pytest.raises(ValidationError, match="reference_array"):
        ZeroShiftParams(reference="analog")
    hardware, controller = build(soft_bounds(100, 0.2), 4, 4)
    with pytest.raises(ValueError, match="reference_array"):
        controller.run(lambda ctl: (yield from zero_shift(ctl, "t0", "W", 3, reference="analog")))


SCENARIO = """\
name = "zs_small"
seed = 4

[hardware.tiles.t0]
rows = 16
cols = 16

[hardware.tiles.t0.io]
is_perfect = {perfect}

[hardware.tiles.t0.arrays.W.device]
model = "SoftBounds"
states = 200
w_max = 1.0
w_min = -1.0
up_down = 0.2
dw_min_dtod = 0.0
up_down_dtod = 0.0
w_max_dtod = 0.0
w_min_dtod = 0.0

[hardware.tiles.t0.arrays.R.device]
model = "SoftBounds"
states = 1000
w_max = 1.0
w_min = -1.0
dw_min_std = 0.0

[program]
name = "zero_shift"

[program.params]
steps = 300
method = "{method}"
reads = 2
reference = "{reference}"
{reference_array}
checkpoints = 12
"""


@pytest.mark.parametrize(("method", "reference"), [("stochastic", "digital"), ("cyclic", "analog")])
def test_zero_shift_runs_from_a_scenario_with_ground_truth(tmp_path: Path, method: str, reference: str) -> None:
    path = tmp_path / "zs.toml"
    path.write_text(SCENARIO.format(method=method, reference=reference, perfect="true",
                                    reference_array='reference_array = "R"' if reference == "analog" else ""))
    run = run_scenario(load_scenario(path))
    summary = run.summary
    assert summary["program"] == "zero_shift"
    assert summary["result"]["pulses_per_cell"] == 300 and summary["result"]["reads_per_cell"] == 2
    assert "_estimate" not in summary["result"]
    truth = summary["ground_truth"]
    array = run.hardware.tile("t0").array("W")
    sp = array.visible_symmetric_point()
    reference_values = (run.hardware.tile("t0").array("R").visible() if reference == "analog"
                        else array.visible())  # perfect reads: the digital estimate is the visible weight
    expected = residual_error(run.hardware, "t0", "W", reference_values)
    assert truth["rms_error"] == pytest.approx(expected["rms_error"], rel=1e-4, abs=1e-6)
    assert truth["relative_mean_error"] == pytest.approx(abs(np.mean(sp - reference_values)) / abs(np.mean(sp)),
                                                          rel=1e-3, abs=1e-6)
    assert truth["symmetric_point_mean"] == pytest.approx(0.2 / 1.8)
    iterate_rms = float(np.sqrt(np.mean((array.g - array.symmetric_point()) ** 2)))
    assert truth["iterate_rms_error"] == pytest.approx(iterate_rms, rel=1e-6)
    steps = [step for _, _, step, name, _ in run.recorder.metrics if name == "iterate_rms_error"]
    assert steps == log_spaced_checkpoints(300, 12)
    assert summary["hardware"]["pulses"]["t0/W"]["total"] == 300 * 16 * 16
    if reference == "analog":
        assert summary["hardware"]["pulses_by_phase"].get("programming", 0) > 0
    else:
        assert summary["hardware"]["digital_ops"] == {"store_reference": 256}
