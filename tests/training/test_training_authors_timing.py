"""The "artifact" realization step by step against the [DSPT] authors' CUDA code.

The authors' E-RIDER (and their AGAD) is AIHWKIT's DynamicTransfer device on the CUDA path, patched
(github.com/Jindanli898/E-RIDER, rpucuda/cuda). `AuthorsDynamicTransfer` below transcribes what
that code does at each transfer read, independently of the emulator's implementation:

- `ChoppedWeightOutput` / pwu_kernel.h `updateChopper`: the chopper of the column just read flips
  when (weight-output index // columns) % ⌈1/p⌉ == 0, i.e. after the reads of sweeps 0, N, 2N, …;
- `kernelDynamicTransfer` (rpucuda_dynamic_transfer_device.cu): a chopper switch is detected at
  the read (previous_in_chop != in_chop) and then past_mean ← running_mean; the signal is
  dw_raw = c·(read − past_mean), stored per column into `cpq_out` (the snapshot) and added to the
  buffer ω (units of the threshold) times lr_scale; |ω| ≥ 1 fires trunc(ω) pulses (at most
  desired_bl = 1) and forgets ω; running_mean ← (1 − m)·running_mean + m·read, m = tail/N;
- readAndUpdate: W is written only if more than N·columns·every samples have been counted;
- rpucuda_pulsed.cu / forward_backward_pass.cu: with AIHWKIT_PREF_ON the forward (and backward)
  output is the main pass on W plus γ · (a pass over `cpq_out`).

The emulator's P evolves on its own hardware; the oracle is fed the emulator's transfer reads and
must agree, step by step, on the snapshot, the held mean, the running mean, the chopper signs, the
buffer, which W cells are pulsed and when, and the effective weight the next forward pass sees.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from devices import get_preset
from emulator.algorithms.rider import ERIDER, ERIDERParams
from emulator.algorithms.tiki_taka import AGAD, AGADParams
from emulator.hardware import IOParameters, TileSpec, UpdateParameters
from emulator.testing import HarnessSession
from emulator.workloads.problems import LeastSquaresParams

ROWS, COLS, BATCH, STEPS = 3, 4, 2, 60
IN_CHOP_PROB = 0.34          # N = ⌈1/p⌉ = 3 sweeps of 4 columns; writes from read 13 on
NOISE_OFF = {"dw_min_dtod": 0.0, "dw_min_std": 0.0, "up_down_dtod": 0.0, "w_max_dtod": 0.0,
             "w_min_dtod": 0.0, "write_noise_std": 0.0, "reference_std": 0.0}
SETTINGS = {"batch_size": BATCH, "learning_rate": 0.1, "fast_lr": 0.5, "auto_scale": False,
            "units_in_mbatch": True, "transfer_every": 1.0, "transfer_lr": 0.5, "scale_transfer_lr": False,
            "auto_granularity": 4.0, "in_chop_prob": IN_CHOP_PROB, "in_chop_random": False,
            "chopper_path": "cuda", "tail_weightening": 2.0, "gamma": 0.5, "realization": "artifact",
            "init_programming": "ideal", "fast_init": "zero", "eval_initial": False}


class AuthorsDynamicTransfer:
    """One layer of the authors' DynamicTransfer device, at the granularity of transfer reads."""

    def __init__(self, rows: int, cols: int, in_chop_prob: float, tail_weightening: float,
                 lr_scale: float, every: int) -> None:
        self.cols = cols
        self.n_samples = max(math.ceil(1.0 / in_chop_prob), 2)       # getNumInChopSamples
        self.i_every = math.ceil(1.0 / in_chop_prob)                   # updateChopper
        self.momentum = min(tail_weightening / self.n_samples, 1.0)
        self.lr_scale = lr_scale
        self.n_period = self.n_samples * cols * every                  # readAndUpdate
        self.running_mean = np.zeros((rows, cols))
        self.past_mean = np.zeros((rows, cols))
        self.omega = np.zeros((rows, cols))
        self.cpq = np.zeros((rows, cols))
        self.in_chopper = np.ones(cols)
        self.previous_in_chop = np.ones(cols)
        self.weight_outputs = 0
        self.counter = 0

    def batch(self, samples: int) -> None:
        """cwo counter advanced by the batch before the update kernel runs."""
        self.counter += samples

    def read(self, col: int, values: np.ndarray) -> np.ndarray:
        """One transfer read of column `col` (raw P); returns the signed W steps it writes."""
        in_chop = self.in_chopper[col]
        if self.previous_in_chop[col] != in_chop:              # in_chop_switch
            self.previous_in_chop[col] = in_chop
            self.past_mean[:, col] = self.running_mean[:, col]
        dw_raw = in_chop * (values - self.past_mean[:, col])
        self.cpq[:, col] = dw_raw
        omega = self.omega[:, col] + dw_raw * self.lr_scale
        fire = np.abs(omega) >= 1.0
        steps = np.where(fire, np.clip(np.trunc(omega), -1.0, 1.0), 0.0)
        self.omega[:, col] = np.where(fire, 0.0, omega)
        self.running_mean[:, col] = self.running_mean[:, col] * (1.0 - self.momentum) + values * self.momentum
        write = self.weight_outputs > 0 and self.counter > self.n_period
        if (self.weight_outputs // self.cols) % self.i_every == 0:    # chopper updated after the output
            self.in_chopper[col] = -in_chop
        self.weight_outputs += 1
        return steps if write else np.zeros_like(steps)


def gradients(seed: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x_k, d_k = M·x_k + noise (a persistent direction, so P builds up and transfers fire),
    and a probe input for the effective weight."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((STEPS, BATCH, COLS))
    teacher = rng.uniform(-1.0, 1.0, (ROWS, COLS))
    d = 0.05 * (x @ teacher.T + 0.3 * rng.standard_normal((STEPS, BATCH, ROWS)))
    return x, d, rng.standard_normal((2, COLS))


def run_emulator(trainer_class: type, params_class: type) -> dict[str, list[Any]]:
    """The trainer driven batch by batch on a noise-free tile with perfect reads; per step the
    effective forward output of a probe, W, the pulses on W, and every transfer read's state."""
    device = get_preset("ReRamSB", **NOISE_OFF, subtract_symmetry_point=True)
    update = UpdateParameters(desired_bl=5)
    tile = TileSpec(ROWS, COLS, {"W": device, "P": device}, io=IOParameters(is_perfect=True), update=update)
    params = params_class(workload=LeastSquaresParams(inputs=COLS, rows=ROWS, samples=16), update=update,
                          **SETTINGS)
    log: dict[str, list[Any]] = {key: [] for key in ("forward", "W", "W_pulses", "reads", "after_read")}

    class Recording(trainer_class):  # type: ignore[misc, valid-type]
        def column_signal(self, layer: int, columns: np.ndarray, reads: np.ndarray) -> Any:
            result = super().column_signal(layer, columns, reads)
            block = self.filters[layer]
            log["reads"].append((columns.copy(), reads.copy()))
            log["after_read"].append({"held": block.held[:, columns].copy(), "mean": block.mean.copy(),
                                      "snapshot": self.snapshots[layer].copy()})
            return result

        def after_reads(self, layer: int, columns: np.ndarray) -> Any:
            log["after_read"][-1]["H"] = self.buffer.buffers[layer] / self.buffer.thresholds[layer]
            return (yield from super().after_reads(layer, columns))

    x, d, probe = gradients()

    def program(ctl: Any) -> Any:
        trainer = Recording(ctl, params)
        trainer.workload.init_weights = lambda rng, scale: [np.full((ROWS, COLS), 0.1)]
        yield from trainer.initialize_weights()
        yield from trainer.prepare()
        array = ctl.hardware.tile("layer0").array("W")
        for step in range(STEPS):
            forward = yield from trainer.read_forward(0, probe)
            log["forward"].append(forward)
            log["W"].append(array.visible().astype(np.float64))
            before = session.commanded["layer0/W"].up - session.commanded["layer0/W"].down
            yield from trainer.apply_update([x[step]], [d[step]])
            log["W_pulses"].append(session.commanded["layer0/W"].up - session.commanded["layer0/W"].down - before)
        log["signs"] = [trainer.filters[0].choppers.signs.copy()]
        log["theta"] = [trainer.buffer.thresholds[0]]
        return trainer

    session = HarnessSession({"layer0": tile}, seed=0)
    session.run(program)
    return log


@pytest.mark.parametrize("trainer_class, params_class", [(ERIDER, ERIDERParams), (AGAD, AGADParams)],
                         ids=["erider", "agad"])
def test_artifact_realization_follows_the_authors_cuda_code_step_by_step(trainer_class: type,
                                                                         params_class: type) -> None:
    log = run_emulator(trainer_class, params_class)
    theta = log["theta"][0]
    lr_scale = SETTINGS["transfer_lr"] / theta
    assert theta == pytest.approx(0.002 * SETTINGS["auto_granularity"] / COLS)   # P's dw_min, raw transfer_every
    oracle = AuthorsDynamicTransfer(ROWS, COLS, IN_CHOP_PROB, SETTINGS["tail_weightening"], lr_scale, every=BATCH)
    _, _, probe = gradients()
    assert len(log["reads"]) == STEPS                      # one column per mini-batch
    writes = 0
    for step in range(STEPS):
        # The forward pass of this batch: W plus γ × the snapshot as the last reads left it.
        expected = probe @ log["W"][step].T + SETTINGS["gamma"] * probe @ oracle.cpq.T
        np.testing.assert_allclose(log["forward"][step], expected, rtol=1e-5, atol=1e-6, err_msg=f"step {step}")
        oracle.batch(BATCH)
        columns, reads = log["reads"][step]
        assert list(columns) == [step % COLS]                 # next column, cyclically
        steps = oracle.read(int(columns[0]), reads[:, 0])
        state = log["after_read"][step]
        np.testing.assert_allclose(state["snapshot"], oracle.cpq, atol=1e-12, err_msg=f"snapshot, step {step}")
        np.testing.assert_allclose(state["held"][:, 0], oracle.past_mean[:, columns[0]], atol=1e-12)
        np.testing.assert_allclose(state["mean"], oracle.running_mean, atol=1e-12, err_msg=f"mean, step {step}")
        np.testing.assert_allclose(state["H"], oracle.omega, atol=1e-9, err_msg=f"buffer, step {step}")
        pulses = np.zeros((ROWS, COLS), np.int64)
        pulses[:, columns[0]] = steps.astype(np.int64)
        np.testing.assert_array_equal(log["W_pulses"][step], pulses, err_msg=f"W pulses, step {step}")
        writes += int(np.abs(steps).sum())
    np.testing.assert_array_equal(log["signs"][0], oracle.in_chopper)
    assert writes > 0                                         # the comparison covered written steps
    assert not np.any(log["W_pulses"][:3 * COLS])            # nothing before N sweeps (12 reads)


def test_the_authors_snapshot_lags_the_chopper_until_the_column_is_read_again() -> None:
    """After a flip, the artifact's γ term keeps the old sign for that column until its next
    transfer read (the snapshot is refreshed only there); the live "paper" term uses the new c."""
    oracle = AuthorsDynamicTransfer(1, 2, 0.5, 2.0, lr_scale=0.0, every=1)
    oracle.batch(1)
    oracle.read(0, np.array([0.3]))             # sweep 0: read, then flip (index 0 // 2 = 0)
    assert oracle.in_chopper[0] == -1.0 and oracle.cpq[0, 0] == pytest.approx(0.3)
    oracle.batch(1)
    oracle.read(1, np.array([0.0]))
    oracle.batch(1)
    oracle.read(0, np.array([0.5]))             # switch seen at this read: past_mean ← mean (0.3)
    assert oracle.past_mean[0, 0] == pytest.approx(0.3) and oracle.cpq[0, 0] == pytest.approx(-0.2)
