"""The chip_pipeline program (scenarios/chip_pipeline_inference.toml) on small tiles: the schedule
changes the time, never the values; a shared ADC pool only slows it; the outputs follow the teacher."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from emulator.scenario import validate_document
from training_helpers import run_document

WIDTH, LAYERS = 24, 3


def _document(pipelined: bool = True, shared_adc_count: int | None = 2, perfect: bool = False) -> dict[str, Any]:
    tile: dict[str, Any] = {"rows": WIDTH, "cols": WIDTH, "arrays": {"W": {"preset": "EcRam"}}}
    if perfect:
        tile["io"] = {"is_perfect": True}
    hardware: dict[str, Any] = {"cost_model": "ecram-5ns", "tiles": {f"layer{i}": tile for i in range(LAYERS)}}
    if shared_adc_count is not None:
        hardware["shared_adc_count"] = shared_adc_count
    workload = {"kind": "teacher_student", "inputs": WIDTH, "hidden": [WIDTH] * (LAYERS - 1), "outputs": WIDTH,
                "bias": "none", "train_samples": 1, "test_samples": 40}
    return {"name": "chip", "seed": 3, "hardware": hardware,
            "program": {"name": "chip_pipeline", "params": {"batch_size": 8, "pipelined": pipelined,
                                                            "workload": workload}}}


def test_pipelining_overlaps_the_layers_without_changing_a_value() -> None:
    pipelined, serial = run_document(_document(True)), run_document(_document(False))
    p, s = pipelined.summary["result"], serial.summary["result"]
    assert (p["batches"], p["ticks"], s["ticks"]) == (5, 5 + LAYERS - 1, 5 * LAYERS)
    assert p["output_rms_error"] == s["output_rms_error"]  # every tile reads the same inputs in the same order
    assert p["inference_ns"] < s["inference_ns"]


def test_a_shared_adc_pool_only_slows_the_pipeline() -> None:
    shared = run_document(_document(shared_adc_count=1)).summary["result"]
    own = run_document(_document(shared_adc_count=None)).summary["result"]
    assert shared["output_rms_error"] == own["output_rms_error"]
    assert shared["inference_ns"] > own["inference_ns"]


def test_perfect_reads_give_the_teacher_outputs() -> None:
    result = run_document(_document(perfect=True)).summary["result"]
    assert result["output_rms_error"] < 1e-5 * max(1.0, result["output_rms"])


def test_a_missing_layer_tile_is_reported() -> None:
    document = _document()
    del document["hardware"]["tiles"][f"layer{LAYERS - 1}"]
    with pytest.raises(Exception, match=f"layer{LAYERS - 1}"):
        validate_document(document)
