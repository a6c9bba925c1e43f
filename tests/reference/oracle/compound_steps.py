"""Reference side of tests/reference/test_ref_compound.py: transfer compounds step by step.

AIHWKIT 1.1.0 presets `TTv2ReRamSBPreset` (ChoppedTransferCompound, in_chop_prob 0),
`ChoppedTTv2ReRamSBPreset` (ChoppedTransferCompound) and `AGADReRamSBPreset`
(DynamicTransferCompound), made deterministic: both unit-cell devices noise-free and without
device-to-device variation, the gradient update's pulse type MEAN_COUNT, the transfer read
(`transfer_forward`) without output noise. The C++ tile (`tile.tile`) is driven directly, as
in update_counts.py: `set_weights`, `set_learning_rate`, `update(x, d)` (one call per step
with the step's mini-batch, i.e. m_batch vector updates in a row, each followed by its
transfer: rpu.cpp RPUAbstract::updateMatrix, rpu_transfer_device.cpp finishUpdateCycle).

Request (JSON), one entry per case in "cases":
    preset            "ttv2" | "cttv2" | "agad"
    rows, cols        tile shape
    devices           [fast, slow]: {"dw_min", "w_max", "w_min"} (ReRamSB otherwise, noise off)
    learning_rate     the SGD learning rate (scales the transfer lr)
    compound          fields set on the compound (fast_lr, transfer_lr, in_chop_prob,
                      in_chop_random, tail_weightening, auto_granularity, ...)
    update            fields of the gradient UpdateParameters (pulse_type MEAN_COUNT is forced)
    transfer_io       fields of transfer_forward (out_noise 0 is forced)
    w0                initial weights (rows × cols), set with set_weights
    p0                optional: the fast device's weights after set_weights (set_hidden_parameters)
    x, d              steps × batch × cols, steps × batch × rows

Results for case i (index 0 of the step axis is the state right after set-up):
    i__P, i__W        hidden_weights_0 (fast device A = our P), hidden_weights_1 (slow C = our W)
    i__weights        get_weights() (= C: gamma 0, the slow device is "fully hidden")
    i__H              the transfer buffer (in units of the buffer granularity)
    i__mu, i__mu_past AGAD only: running_mean_weight, past_mean_weight
    i__m_x, i__m_d    auto_scale running maxima; i__count_lr: the last vector update's count lr
    i__in_chopper     per column, True = c = −1
    i__transfer_counter, i__slice   full sweeps done, next column to read
    i__granularity    the compound's weight granularity (used by its gradient pulse trains)
"""

from __future__ import annotations

import numpy as np

from _protocol import serve

NOISE_FIELDS = ("dw_min_dtod", "up_down_dtod", "w_max_dtod", "w_min_dtod", "dw_min_std",
                "write_noise_std", "reference_std")


def make_config(case: dict):
    from aihwkit.simulator.parameters.enums import PulseType
    from aihwkit.simulator.presets import AGADReRamSBPreset, ChoppedTTv2ReRamSBPreset, TTv2ReRamSBPreset

    preset = {"ttv2": TTv2ReRamSBPreset, "cttv2": ChoppedTTv2ReRamSBPreset,
              "agad": AGADReRamSBPreset}[case["preset"]]
    config = preset()
    compound = config.device
    for device, fields in zip(compound.unit_cell_devices, case["devices"]):
        for name in NOISE_FIELDS:
            setattr(device, name, 0.0)
        for name, value in fields.items():
            setattr(device, name, value)
    for name, value in case.get("compound", {}).items():
        if not hasattr(compound, name):
            raise AttributeError(f"{type(compound).__name__} has no field {name!r}")
        setattr(compound, name, value)
    compound.transfer_forward.out_noise = 0.0
    for name, value in case.get("transfer_io", {}).items():
        setattr(compound.transfer_forward, name, value)
    for name, value in case.get("update", {}).items():
        setattr(config.update, name, value)
    config.update.pulse_type = PulseType.MEAN_COUNT
    return config


def snapshot(simulator, names: list[str]) -> dict:
    hidden = dict(zip(names, simulator.get_hidden_parameters()))
    extra = simulator.dump_extra()
    buffer = hidden.get("buffered_FP_weight_0", hidden.get("buffered_FP_weight"))
    state = {
        "P": hidden["hidden_weights_0"].numpy().copy(),
        "W": hidden["hidden_weights_1"].numpy().copy(),
        "weights": simulator.get_weights().numpy().copy(),
        "H": buffer.numpy().copy(),
        "m_x": float(extra["rpu.rpu_device.m_x"][0]),
        "m_d": float(extra["rpu.rpu_device.m_d"][0]),
        "count_lr": float(extra["rpu.rpu_device.tmp_count_lr"][0]),
        "in_chopper": np.asarray(extra["rpu.rpu_device.in_chopper"], dtype=bool),
        "transfer_counter": int(extra["rpu.rpu_device.transfer_counter"][0]),
        "slice": int(extra["rpu.rpu_device.current_slice_indices"][0]),
    }
    if "running_mean_weight" in hidden:
        state["mu"] = hidden["running_mean_weight"].numpy().copy()
        state["mu_past"] = hidden["past_mean_weight"].numpy().copy()
    return state


def run_case(case: dict) -> dict:
    import torch

    rows, cols = int(case["rows"]), int(case["cols"])
    config = make_config(case)
    tile = config.tile_class(rows, cols, config)
    simulator = tile.tile  # the C++ tile: no digital periphery (mapping scales) in the way
    simulator.set_learning_rate(float(case["learning_rate"]))
    simulator.set_weights(torch.tensor(case["w0"], dtype=torch.float32))
    names = list(simulator.get_hidden_parameter_names())
    if case.get("p0") is not None:
        hidden = simulator.get_hidden_parameters().clone()
        hidden[names.index("hidden_weights_0")] = torch.tensor(case["p0"], dtype=torch.float32)
        simulator.set_hidden_parameters(hidden)
    x = torch.tensor(case["x"], dtype=torch.float32)
    d = torch.tensor(case["d"], dtype=torch.float32)
    states = [snapshot(simulator, names)]
    for step in range(x.shape[0]):
        simulator.update(x[step].contiguous(), d[step].contiguous(), False, False, False, False)
        states.append(snapshot(simulator, names))
    extra = simulator.dump_extra()
    out = {key: np.stack([s[key] for s in states]) for key in states[0]}
    out["granularity"] = float(extra["rpu.rpu_device.weight_granularity"][0])
    return out


def handle(request: dict) -> dict:
    results: dict = {}
    for index, case in enumerate(request["cases"]):
        for key, value in run_case(case).items():
            results[f"{index}__{key}"] = value
    return results


if __name__ == "__main__":
    serve(handle)
