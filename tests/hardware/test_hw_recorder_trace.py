"""Recorder summary and the trace exporters (VCD via pyvcd, Chrome/Perfetto JSON)."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from hardware_test_helpers import build, ideal_constant_step, run_commands
from vcd.reader import TokenKind, tokenize

from emulator.hardware import (
    IOParameters,
    Digital,
    Parallel,
    PulseCounts,
    PulseTrain,
    Read,
    ReadCells,
    SetPhase,
    SignPattern,
    Wait,
)
from emulator.hardware.costs import HardwareCosts
from emulator.hardware.recorder import Recorder
from emulator.results import dumps_json
from emulator.trace import to_perfetto, to_vcd


def traced_run(trace: bool = True):
    hardware, controller = build({"t0": (4, 6), "t1": (4, 6)}, device=ideal_constant_step(dw_min=0.01),
                                 trace=trace, shared_adc_count=4)
    rng = np.random.default_rng(0)
    run_commands(controller, [
        SetPhase("calibration"),
        SignPattern("t0", "W", 1),
        SignPattern("t0", "W", rng.integers(-1, 2, (4, 6))),
        PulseCounts("t0", "W", rng.integers(-2, 3, (4, 6))),
        PulseTrain("t0", "W", rng.uniform(-1, 1, 6), rng.uniform(-1, 1, 4), 0.05),
        SetPhase("training"),
        Parallel([Read("t0", "W", rng.uniform(-1, 1, 6)), Read("t1", "W", rng.uniform(-1, 1, 4), direction="backward")]),
        ReadCells("t1", "W"),
        Digital(100, "ema"),
        Wait(10.0),
    ])
    return hardware, controller


def test_summary_is_json_serializable_as_is():
    hardware, _ = traced_run()
    summary = hardware.recorder.summary()
    text = json.dumps(summary, allow_nan=False)
    back = json.loads(text)
    assert back == summary
    assert back["latency_ps"] == hardware.env.now
    assert back["latency_ns"] == hardware.env.now / 1000
    assert set(back["pulses"]) == {"t0/W", "t1/W"}
    assert back["pulses_by_phase"]["training"] == 0
    assert back["pulses_by_phase"]["calibration"] == back["total_pulses"] > 0
    assert back["energy_pj"]["total"] > 0
    assert json.loads(dumps_json(summary)) == summary


def test_empty_recorder_summary():
    summary = Recorder(HardwareCosts()).summary()
    assert summary["total_pulses"] == 0 and summary["events"] == 0
    json.dumps(summary, allow_nan=False)


def test_metrics_are_stamped_with_time_and_phase():
    hardware, controller = build()

    def program(ctl):
        yield SetPhase("p1")
        ctl.metric("a", 1.5, 3)
        yield Wait(2.0)
        ctl.metric("b", 2, 4)

    controller.run(program)
    assert hardware.recorder.metrics == [(0, "p1", 3, "a", 1.5), (2000, "p1", 4, "b", 2.0)]


def test_negative_energy_is_rejected():
    with pytest.raises(ValueError, match="negative energy"):
        Recorder(HardwareCosts()).add_energy("adc", -1.0)


def test_no_trace_events_unless_tracing():
    hardware, _ = traced_run(trace=False)
    assert hardware.tracer is None


def test_trace_events_cover_every_component_and_stay_in_the_run():
    hardware, _ = traced_run()
    events = hardware.tracer.events
    components = {event.component for event in events}
    assert {"t0/W", "t1/W", "shared.adc", "controller.digital"} <= components
    for event in events:
        assert 0 <= event.start_ps <= event.end_ps <= hardware.env.now


def test_vcd_export_parses_as_valid_vcd():
    hardware, _ = traced_run()
    text = to_vcd(hardware.tracer.events, hardware.recorder.now_ps)
    tokens = list(tokenize(io.BytesIO(text.encode("utf-8"))))
    kinds = [token.kind for token in tokens]
    assert TokenKind.ENDDEFINITIONS in kinds
    timescale = next(token for token in tokens if token.kind is TokenKind.TIMESCALE)
    assert int(timescale.timescale.magnitude) == 1 and timescale.timescale.unit.value == "ps"
    variables = [token.var for token in tokens if token.kind is TokenKind.VAR]
    assert len(variables) == 2 * 4  # busy + activity for each of the 4 components
    identifiers = {var.id_code for var in variables}
    times = [token.time_change for token in tokens if token.kind is TokenKind.CHANGE_TIME]
    assert times == sorted(times)
    assert times[0] == 0 and times[-1] == hardware.env.now
    changes = [token for token in tokens if token.kind in (TokenKind.CHANGE_SCALAR, TokenKind.CHANGE_VECTOR)]
    assert changes
    for change in changes:
        code = change.scalar_change.id_code if change.kind is TokenKind.CHANGE_SCALAR else change.vector_change.id_code
        assert code in identifiers


def test_vcd_of_no_events_is_still_valid():
    text = to_vcd([], 0)
    kinds = [token.kind for token in tokenize(io.BytesIO(text.encode()))]
    assert TokenKind.ENDDEFINITIONS in kinds


def test_perfetto_export_is_valid_trace_event_json():
    hardware, _ = traced_run()
    text = to_perfetto(hardware.tracer.events)
    data = json.loads(text)
    events = data["traceEvents"]
    complete = [event for event in events if event["ph"] == "X"]
    metadata = [event for event in events if event["ph"] == "M"]
    assert len(complete) == len(hardware.tracer.events)
    for event in complete:
        for key in ("name", "ph", "ts", "dur", "pid", "tid"):
            assert key in event
        assert isinstance(event["ts"], (int, float)) and isinstance(event["dur"], (int, float))
        assert event["ts"] >= 0 and event["dur"] >= 0
        assert isinstance(event["pid"], int) and isinstance(event["tid"], int)
        assert event["ts"] + event["dur"] <= hardware.env.now / 1e6 + 1e-12  # µs
    for event in metadata:
        assert {"name", "ph", "pid", "tid", "args"} <= set(event)
    threads = {event["tid"]: event["args"]["name"] for event in metadata if event["name"] == "thread_name"}
    assert set(threads.values()) == {event.component for event in hardware.tracer.events}
    # overlapping activity on two tiles shows as two tracks busy at once
    reads = [event for event in complete if event["name"] == "read"]
    assert len({event["tid"] for event in reads}) == 2


# ---------------------------------------------------------------------------- waveform fidelity
def vcd_waveforms(text: str) -> dict[str, list[tuple[int, int]]]:
    """Value changes per 'scope.signal' as (time, value), in file order (several per time allowed)."""
    tokens = list(tokenize(io.BytesIO(text.encode("utf-8"))))
    names: dict[str, str] = {}
    scope: list[str] = []
    waves: dict[str, list[tuple[int, int]]] = {}
    now = 0
    for token in tokens:
        if token.kind is TokenKind.SCOPE:
            scope.append(token.scope.ident)
        elif token.kind is TokenKind.UPSCOPE:
            scope.pop()
        elif token.kind is TokenKind.VAR:
            names[token.var.id_code] = f"{scope[-1]}.{token.var.reference}"
        elif token.kind is TokenKind.CHANGE_TIME:
            now = token.time_change
        elif token.kind is TokenKind.CHANGE_SCALAR:
            waves.setdefault(names[token.scalar_change.id_code], []).append((now, int(token.scalar_change.value)))
        elif token.kind is TokenKind.CHANGE_VECTOR:
            waves.setdefault(names[token.vector_change.id_code], []).append((now, int(token.vector_change.value)))
    return waves


def value_at(wave: list[tuple[int, int]], time: int) -> int:
    """The settled value of a signal at `time` (last change at or before it)."""
    value = 0
    for change_time, change_value in wave:
        if change_time <= time:
            value = change_value
    return value


def test_vcd_busy_wire_follows_a_tile_read():
    hardware, controller = build({"t0": (8, 8)}, trace=True)
    run_commands(controller, [Wait(5.0), Read("t0", "W", np.ones(8)), Wait(5.0)])
    waves = vcd_waveforms(to_vcd(hardware.tracer.events, hardware.recorder.now_ps))
    busy = waves["t0_W.busy"]
    end_of_read = hardware.env.now - 5000
    assert value_at(busy, 4999) == 0
    assert value_at(busy, 5000) == 1
    assert value_at(busy, end_of_read - 1) == 1
    assert value_at(busy, end_of_read) == 0


def test_vcd_busy_wire_stays_high_while_overlapping_conversions_run():
    """t0 converts 5 MVMs in [200, 250] ns, t1 converts 6 MVMs in [240, 300] ns on a shared pool."""
    hardware, controller = build({"t0": (8, 8), "t1": (8, 8)}, trace=True, shared_adc_count=16,
                                 io=IOParameters(is_perfect=True))
    run_commands(controller, [Parallel([Read("t0", "W", np.ones((5, 8))), Read("t1", "W", np.ones((6, 8)))])])
    converts = sorted((e.start_ps, e.end_ps) for e in hardware.tracer.events if e.component == "shared.adc")
    assert converts == [(200_000, 250_000), (240_000, 300_000)]  # the emulator overlaps them correctly
    busy = vcd_waveforms(to_vcd(hardware.tracer.events, hardware.recorder.now_ps))["shared_adc.busy"]
    assert value_at(busy, 260_000) == 1


def test_vcd_activity_of_first_slot_of_a_pulse_train_is_its_pulse_count():
    hardware, controller = build({"t0": (4, 6)}, trace=True)
    run_commands(controller, [PulseTrain("t0", "W", np.full(6, 0.9), np.full(4, 0.9), 0.05)])
    slots = [e for e in hardware.tracer.events if e.name == "slot"]
    assert len(slots) == 5
    activity = vcd_waveforms(to_vcd(hardware.tracer.events, hardware.recorder.now_ps))["t0_W.activity"]
    for slot in slots[1:]:  # later slots are right
        assert value_at(activity, slot.start_ps) == slot.args["pulses"]
    assert value_at(activity, 0) == slots[0].args["pulses"]


@pytest.mark.parametrize("rule", ["tile-parallel", "row-by-row"])
def test_vcd_activity_counts_every_pulse_of_a_count_write(rule):
    """A tile-wide pulse command (signed counts, as zero-shifting and programming issue) shows
    its pulses on the activity signal: slot by slot, in total the command's cell pulses."""
    counts = np.array([[3, -1, 0], [1, 2, -2]])
    hardware, controller = build({"t0": (2, 3)}, trace=True, costs=HardwareCosts(count_latency_rule=rule))
    run_commands(controller, [PulseCounts("t0", "W", counts), SignPattern("t0", "W", np.array([[1, -1, 0], [1, 1, -1]]))])
    slots = [e for e in hardware.tracer.events if e.name == "slot"]
    assert sum(e.args["pulses"] for e in slots) == np.abs(counts).sum() + 5
    assert len(slots) == hardware.costs.count_slots(counts) + 2
    activity = vcd_waveforms(to_vcd(hardware.tracer.events, hardware.recorder.now_ps))["t0_W.activity"]
    assert max(value for _, value in activity) > 0
    for slot in slots:
        assert value_at(activity, slot.start_ps) == slot.args["pulses"]
