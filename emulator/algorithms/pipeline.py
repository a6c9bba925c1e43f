"""A chip-sized inference workload: a teacher network programmed onto its tiles, its inputs streamed
through the layers with the layers pipelined across tiles.

The network is the teacher–student workload's teacher (it ships with its data: inputs and exact
outputs are generated from `workload.data_seed`), written exactly (`SetWeights`, phase
programming). Its test inputs then go through in mini-batches (phase inference). Pipelined, each
tick is one `Parallel` of forward `Read`s: layer k reads batch t − k while layer k − 1 reads batch
t − k + 1, so every tile works at once and, with `hardware.shared_adc_count`, their reads contend
for the shared ADCs; the activations between layers are digital work. Not pipelined, one batch
goes through every layer before the next starts. The result gives simulated throughput, ticks
and the error of the analog outputs against the teacher's exact ones.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Generator

import numpy as np
from pydantic import BaseModel, Field

from devices.inputs import INPUT_CONFIG

from emulator.hardware import Controller, Digital, Parallel, Read, SetPhase, SetWeights
from emulator.registry import ProgramEntry, TileLayout, register
from emulator.workloads import layer_tile_problems, workload_layers
from emulator.workloads.base import activate, append_bias
from emulator.workloads.problems import TeacherStudentParams
from emulator.workloads.registry import build_workload

Gen = Generator[Any, Any, Any]


def _chip_network() -> TeacherStudentParams:
    return TeacherStudentParams(inputs=512, hidden=[512, 512, 512], outputs=512, bias="none",
                                activation="tanh", train_samples=1, test_samples=1024)


class PipelineParams(BaseModel):
    """Parameters of the pipelined inference program."""

    model_config = INPUT_CONFIG

    workload: TeacherStudentParams = Field(default_factory=_chip_network)
    """The network (the teacher of a teacher–student workload, one tile per layer) and its data;
    inputs are its test set."""
    samples: Annotated[int, Field(gt=0)] | None = None
    """Stream only the first this many test inputs (default: all)."""
    batch_size: Annotated[int, Field(gt=0, le=100_000)] = 16
    """Inputs per forward read."""
    pipelined: bool = True
    """Layers work on successive batches at once (one `Parallel` per tick); false: batch by batch."""


def chip_pipeline(ctl: Controller, params: PipelineParams) -> Gen:
    """Program the teacher onto the tiles, stream the test inputs through it; see the module doc."""
    workload = build_workload(params.workload)
    layers = workload.layers
    weights = workload.reference_weights
    assert weights is not None
    yield SetPhase("programming")
    for layer, w in zip(layers, weights):
        yield SetWeights(layer.name, "W", w)
    x = workload.x_test[:params.samples] if params.samples else workload.x_test
    y = workload.y_test[:x.shape[0]]
    batches = [x[start:start + params.batch_size] for start in range(0, x.shape[0], params.batch_size)]
    count, depth = len(batches), len(layers)
    outputs: list[np.ndarray] = [np.empty(0)] * count
    yield SetPhase("inference")
    start_ns = ctl.now_ns
    # stage[k][b]: the input of layer k for batch b (once layer k − 1 has produced it)
    stage: list[dict[int, np.ndarray]] = [dict() for _ in range(depth)]
    stage[0] = dict(enumerate(batches))
    ticks = 0
    schedule = ([[(t - k, k) for k in range(depth) if 0 <= t - k < count] for t in range(count + depth - 1)]
                if params.pipelined else [[(b, k)] for b in range(count) for k in range(depth)])
    for tick in schedule:
        inputs = [stage[k].pop(b) for b, k in tick]
        reads = [Read(layers[k].name, "W", append_bias(a) if layers[k].bias == "analog" else a, "forward")
                 for (b, k), a in zip(tick, inputs)]
        values = (yield Parallel(reads)) if len(reads) > 1 else [(yield reads[0])]
        elements = 0
        for (b, k), z in zip(tick, values):
            z = np.asarray(z, dtype=np.float64)
            elements += z.size
            a = activate(z, layers[k].activation)
            if k + 1 < depth:
                stage[k + 1][b] = a
            else:
                outputs[b] = a
        yield Digital(elements, "activation")
        ticks += 1
        ctl.progress(ticks, len(schedule))
    simulated_ns = ctl.now_ns - start_ns
    error = np.vstack(outputs) - y
    rms = float(np.sqrt(np.mean(error ** 2)))
    ctl.metric("output_rms_error", rms, ticks)
    return {"samples": int(x.shape[0]), "batches": count, "layers": depth, "ticks": ticks,
            "pipelined": params.pipelined, "inference_ns": simulated_ns,
            "samples_per_simulated_s": x.shape[0] / (simulated_ns * 1e-9) if simulated_ns > 0 else math.inf,
            "output_rms_error": rms, "output_rms": float(np.sqrt(np.mean(y ** 2)))}


def _hardware_problems(params: PipelineParams, layout: TileLayout) -> list[tuple[str, str]]:
    return layer_tile_problems(workload_layers(params.workload), ("W",), layout)


register(ProgramEntry(
    name="chip_pipeline",
    params_model=PipelineParams,
    program=chip_pipeline,
    description="a teacher network on its tiles, test inputs streamed through with the layers pipelined",
    hardware_problems=_hardware_problems,
    headline=("samples_per_simulated_s", "output_rms_error"),
))
