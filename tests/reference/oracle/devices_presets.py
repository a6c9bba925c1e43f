"""Reference side of tests/reference/test_ref_devices.py: AIHWKIT device presets, pulse by pulse.

Request (JSON):
    tiles, rows, cols   every preset runs on `tiles` independent rows × cols tiles (see below)
    presets   {name: {"cls": AIHWKIT preset class, "seeds": [construction_seed per tile],
                      "n": pulses per phase, "updown_checkpoints": [k, …],
                      "alternating_checkpoints": [k, …]}}
    protocol  [dw_min, …]: step sizes for the one-pulse-per-update check
    lr_dw_min_probe [AIHWKIT preset class, …]: fraction of cells pulsed per update at lr = dw_min
    list_probe {"tiles": T, "updates": U, "rows": r, "cols": c}: raw c2c draws of T tiles

Why several small tiles: AIHWKIT's CPU generator (rng.h, RNG<T>::sampleGauss) returns entries of a
list of 32 768 normal numbers drawn once per tile, at construction, from the clock. Every c2c and
in-update write-noise draw of a tile comes from that one list, so within a tile the draws share
the list's mean (≈ N(0, 1/32768)) and variance: a per-tile systematic drift that the cell-to-cell
spread does not show. With independent tiles that drift becomes between-tile variance, which the
test measures (cluster standard errors). `list_probe` returns raw draws to demonstrate it.

One pulse on every cell per update: desired_bl = 1 with a fixed bit-line length and no update
(BL) management gives BL = 1 and A = B = sqrt(lr / granularity) (rpu_pulsed_meta_parameter.cpp,
calculateBlAB); with lr = LEARNING_RATE ≥ every preset's granularity the firing probability
A·|x| = B·|d| ≥ 1 for x = d = ±1 (sparse_bit_line_maker.cpp: a bit fires when P > U[0, 1)), so
each cell sees exactly one coincidence per update. Its sign: ΔW = −lr·d·x, so d = +1 is a DOWN
pulse and d = −1 an UP pulse (PULSED_UPDATE_W_LOOP: sign = d·x > 0 → w −= Δ⁻).

Weights read are `get_weights()` (the apparent weight, write noise included) and, for presets
with write noise, the hidden `persistent_weights` (the noise-free weight, g − reference). Both
sequences start from `set_weights(0)`; after them the tiles are reset (`tile.reset()`) and read
once more ("reset"). Seeds: `construction_seed` fixes the d2d sample; the c2c/write-noise lists
and the reset draws are seeded from the clock by AIHWKIT (seed 0) and do not replay.
"""

from __future__ import annotations

import time

import numpy as np

from _protocol import serve

#: The two pulse sequences, each from visible weight 0 (same definition in test_ref_devices.py).
SEQUENCES = ("updown", "alternating")


def directions(sequence: str, n: int) -> list[int]:
    """+1 = up, −1 = down: n up then n down ("updown"), or 2n alternating from up ("alternating")."""
    if sequence == "updown":
        return [1] * n + [-1] * n
    return [1, -1] * n


#: Larger than the weight granularity of every preset (the largest: ReRamArrayHfO2, 0.4622).
LEARNING_RATE = 1.0


def _tile(device, rows: int, cols: int):
    import torch
    from aihwkit.simulator.configs import SingleRPUConfig
    from aihwkit.simulator.parameters import UpdateParameters
    from aihwkit.simulator.parameters.enums import PulseType

    update = UpdateParameters(desired_bl=1, fixed_bl=True, update_bl_management=False,
                              update_management=False, pulse_type=PulseType.STOCHASTIC_COMPRESSED)
    config = SingleRPUConfig(device=device, update=update)
    tile = config.tile_class(rows, cols, config)
    tile.set_learning_rate(LEARNING_RATE)
    tile.set_weights(torch.zeros(rows, cols))  # the common start: visible weight 0
    return tile


def _read(tile, persistent: bool) -> tuple[np.ndarray, np.ndarray | None]:
    apparent = tile.get_weights()[0].numpy().reshape(-1).astype(np.float32)
    if not persistent:
        return apparent, None
    hidden = np.asarray(tile.get_hidden_parameters()["persistent_weights"], dtype=np.float32)
    return apparent, hidden.reshape(-1)


def _run(tile, rows: int, cols: int, pulses: list[int], checkpoints: list[int], persistent: bool):
    """Apply the ±1 pulse sequence; read (apparent, persistent) weights after k pulses, k in checkpoints."""
    import torch

    x = torch.ones(1, cols)
    d_up, d_down = -torch.ones(1, rows), torch.ones(1, rows)
    wanted = set(checkpoints)
    apparent, hidden = [], []

    def read() -> None:
        a, p = _read(tile, persistent)
        apparent.append(a)
        hidden.append(p)

    if 0 in wanted:
        read()
    for k, direction in enumerate(pulses, start=1):
        tile.update(x, d_up if direction > 0 else d_down)
        if k in wanted:
            read()
    return np.stack(apparent), (np.stack(hidden) if persistent else None)


def _constant_step(dw_min: float, dw_min_std: float):
    from aihwkit.simulator.configs.devices import ConstantStepDevice

    return ConstantStepDevice(dw_min=dw_min, dw_min_dtod=0.0, dw_min_std=dw_min_std, up_down=0.0,
                              up_down_dtod=0.0, w_max=1e6, w_min=-1e6, w_max_dtod=0.0, w_min_dtod=0.0)


def _protocol_check(dw_mins: list[float]) -> dict:
    """Pulses per update on a noise-free, variation-free ConstantStep tile (exact counting)."""
    import torch

    out = {}
    for index, dw_min in enumerate(dw_mins):
        rows, cols = 8, 16
        tile = _tile(_constant_step(dw_min, 0.0), rows, cols)
        x = torch.ones(1, cols)
        steps = []
        for d_sign in (-1.0, -1.0, 1.0, -1.0, 1.0, 1.0, 1.0):  # up, up, down, up, down, down, down
            before = tile.get_weights()[0].numpy().copy()
            tile.update(x, d_sign * torch.ones(1, rows))
            steps.append((tile.get_weights()[0].numpy() - before) / dw_min)
        out[f"protocol__{index}__steps"] = np.stack(steps)
        out[f"protocol__{index}__dw_min"] = dw_min
    return out


def _list_probe(probe: dict) -> dict:
    """Raw c2c draws ξ: ConstantStep, dw_min 1, dw_min_std 1, one up pulse from w = 0 per update,
    so w = 1 + ξ exactly as AIHWKIT computes it (the same float expression for every draw)."""
    import torch

    rows, cols = int(probe["rows"]), int(probe["cols"])
    draws = []
    for _ in range(int(probe["tiles"])):
        tile = _tile(_constant_step(1.0, 1.0), rows, cols)
        values = []
        for _ in range(int(probe["updates"])):
            tile.set_weights(torch.zeros(rows, cols))
            tile.update(torch.ones(1, cols), -torch.ones(1, rows))
            values.append(tile.get_weights()[0].numpy().reshape(-1).copy())
        draws.append(np.concatenate(values))
    return {"list_probe__w": np.stack(draws).astype(np.float32)}


def _lr_dw_min_probe(classes: list[str]) -> dict:
    """Fraction of cells pulsed per update with lr = dw_min (noise off): AIHWKIT scales the firing
    probabilities with its *weight granularity*, which for ExpStep is not dw_min."""
    import torch
    from aihwkit.simulator.presets import devices

    out = {}
    rows = cols = 50
    for cls in classes:
        device = getattr(devices, cls)(dw_min_std=0.0, write_noise_std=0.0)
        tile = _tile(device, rows, cols)
        tile.set_learning_rate(device.dw_min)
        fractions = []
        for _ in range(20):
            tile.set_weights(torch.full((rows, cols), 0.5))
            tile.update(torch.ones(1, cols), -torch.ones(1, rows))
            fractions.append(float((tile.get_weights()[0] != 0.5).float().mean()))
        out[f"lr_dw_min__{cls}__fraction"] = float(np.mean(fractions))
    return out


def handle(request: dict) -> dict:
    import torch
    from aihwkit.simulator.presets import devices

    rows, cols = int(request["rows"]), int(request["cols"])
    results: dict = {"learning_rate": LEARNING_RATE}
    results.update(_protocol_check(request.get("protocol", [])))
    results.update(_lr_dw_min_probe(request.get("lr_dw_min_probe", [])))
    if request.get("list_probe"):
        results.update(_list_probe(request["list_probe"]))
    for name, plan in request["presets"].items():
        start = time.perf_counter()
        parts: dict[str, list[np.ndarray]] = {}

        def keep(key: str, value: np.ndarray, axis: int) -> None:
            parts.setdefault(key, []).append((value, axis))

        for seed in plan["seeds"]:
            tile = _tile(getattr(devices, plan["cls"])(construction_seed=int(seed)), rows, cols)
            hidden = tile.get_hidden_parameters()
            persistent = "persistent_weights" in hidden
            for key, value in hidden.items():
                if key != "persistent_weights":
                    keep(f"{name}__param__{key}", np.asarray(value, dtype=np.float32).reshape(-1), 0)
            for label in SEQUENCES:
                tile.set_weights(torch.zeros(rows, cols))  # the common start again: visible 0
                apparent, kept = _run(tile, rows, cols, directions(label, int(plan["n"])),
                                      plan[f"{label}_checkpoints"], persistent)
                keep(f"{name}__{label}__apparent", apparent, 1)
                if kept is not None:
                    keep(f"{name}__{label}__persistent", kept, 1)
            tile.reset()  # reset_columns over the whole tile: reset bias + reset_std draw, clipped
            apparent, kept = _run(tile, rows, cols, [], [0], persistent)
            keep(f"{name}__reset__apparent", apparent, 1)
            if kept is not None:
                keep(f"{name}__reset__persistent", kept, 1)
        for key, values in parts.items():  # cells of tile t are columns t·rows·cols … (t+1)·rows·cols − 1
            results[key] = np.concatenate([v for v, _ in values], axis=values[0][1])
        results[f"{name}__seconds"] = time.perf_counter() - start
    return results


if __name__ == "__main__":
    serve(handle)
