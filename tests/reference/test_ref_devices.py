"""Device physics against the reference simulator (AIHWKIT 1.1.0), preset by preset (SPEC §1).

What is compared, for every preset of SPEC §1.6, on 10 240 devices per side:
1. Pulse response, from the same start: visible weight 0 (AIHWKIT `set_weights(0)`, which puts
   g at the reference; emulator `set_conductance(reference)`, the same state). Two sequences of
   one tile-wide pulse at a time: "updown" = N up pulses then N down pulses, "alternating" = up,
   down, … (2N pulses), N = max(200, 2 × states), so that the cells reach their bounds. At
   ~15 checkpoints per phase: mean, standard deviation and distribution (KS) across devices, of
   the apparent weight (AIHWKIT `get_weights()`, emulator `visible()`: both carry write noise)
   and, for presets with write noise, of the noise-free weight g − r (AIHWKIT hidden
   `persistent_weights`, emulator `g − reference`), which resolves the dynamics far better.
   The start itself (k = 0) is test_start_state.
2. Sampled d2d parameters: bounds, up/down steps, LinearStep slopes, references, decay scales,
   reset biases (`get_hidden_parameters()` versus `cell_parameters()` and DeviceArray attributes).
3. The state right after a reset.

Sampling design. The two simulators draw from unrelated streams (AIHWKIT seeds its generators
from the clock and does not expose them; only its d2d `construction_seed` is fixed), so nothing
is paired: distributions are compared. The emulator runs one 64 × 160 array (i.i.d. cells). The
reference runs 40 independent 16 × 16 tiles, because AIHWKIT's CPU draws every c2c and in-update
write-noise number of a tile from one list of 32 768 normals made at construction
(src/rpucuda/rng.h `RNG::sampleGauss`): the list's mean (≈ N(0, 1/32768)) is a drift shared by all
cells of a tile, invisible in the cell-to-cell spread (test_reference_artifact_* demonstrates it).
Its sampling error is therefore estimated between tiles (cluster standard errors: the tile means
for a mean, a delete-one-tile jackknife for a standard deviation, with 39 degrees of freedom).

Tolerances. Each family of comparisons (means, stds, KS, d2d, start, reset) may raise a false
alarm with probability FAMILY_ALPHA in total (Bonferroni over the whole file's comparisons of that
family): a difference of means or of standard deviations must be within t·SE of the difference
(Welch–Satterthwaite degrees of freedom), a two-sample KS p-value above FAMILY_ALPHA/K. The issue's
criterion for means, |mean_emu − mean_ref| ≤ max(2·dw_min, 0.1·std), is asserted as well.

Set AIMC_REFERENCE_REPORT=<file.md> to append every comparison (worst checkpoint per case) there.
"""

from __future__ import annotations

import math
import os
import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from scipy import stats

from conftest import _reference_available, run_oracle
from devices import DeviceArray, get_preset

#: AIHWKIT class of each of our presets (aihwkit.simulator.presets.devices).
PRESET_CLASSES = {
    "ReRamES": "ReRamESPresetDevice",
    "ReRamSB": "ReRamSBPresetDevice",
    "Capacitor": "CapacitorPresetDevice",
    "EcRam": "EcRamPresetDevice",
    "EcRamMO": "EcRamMOPresetDevice",
    "Idealized": "IdealizedPresetDevice",
    "GokmenVlasov": "GokmenVlasovPresetDevice",
    "PCM": "PCMPresetDevice",
    "ReRamArrayOM": "ReRamArrayOMPresetDevice",
    "ReRamArrayHfO2": "ReRamArrayHfO2PresetDevice",
}
PRESETS = list(PRESET_CLASSES)
TILES, TILE_SHAPE = 40, (16, 16)          # reference: 40 independent tiles, 10 240 cells
CELLS = TILES * TILE_SHAPE[0] * TILE_SHAPE[1]
SHAPE = (64, 160)                          # emulator: one array of the same number of cells
SEQUENCES = ("updown", "alternating")      # same definitions as oracle/devices_presets.py
#: Fractions of a phase at which both sides read the weights.
FRACTIONS = (0.0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
#: Total false-alarm probability of each family of comparisons over the whole file.
FAMILY_ALPHA = 1e-3
#: Step sizes for the reference-side check of "one pulse per cell per update".
PROTOCOL_DW_MIN = (0.4622, 0.0016, 0.0002)
#: Raw c2c draws of the reference: tiles × updates × rows × cols.
LIST_PROBE = {"tiles": 4, "updates": 20, "rows": 100, "cols": 100}
GAUSS_LIST_SIZE = 32768                    # FIXED_LIST_SIZE in src/rpucuda/rng.h
#: Presets probed with lr = dw_min (two ExpStep presets and one whose granularity is dw_min).
LR_DW_MIN_PROBE = ("ReRamES", "PCM", "ReRamSB")
#: Presets whose reference carries the symmetric point (SoftBoundsReference, subtract_symmetry_point).
SP_REFERENCE = [n for n in PRESETS if get_preset(n).subtract_symmetry_point]

#: Reference artifacts (see the test_reference_artifact_* tests): measured sizes in the reasons.
START_ARTIFACT = pytest.mark.xfail(strict=True, reason=(
    "AIHWKIT artifact: set_weights(0) clips the *visible* weight to the conductance bounds "
    "(PulsedRPUDevice::onSetWeights), so cells whose reference lies outside [b_min, b_max] start with "
    "g = r outside their hard bounds (83 / 10240 OM cells, 93 / 10240 HfO2 cells with these seeds); the "
    "emulator clips g, so 63 (OM) / 80 (HfO2) of its cells start at a visible weight ≠ 0 (noise-free std "
    "0.0028 / 0.0036 instead of exactly 0). Shown in test_reference_artifact_start_outside_bounds."))
RESET_ARTIFACT = pytest.mark.xfail(strict=True, reason=(
    "AIHWKIT artifact: SoftBoundsReference adds the symmetric point to the reset bias of the *visible* "
    "weight (rpu_softbounds_reference_device.cpp populate: w_reset_bias_ += sp), so after a reset "
    "g = reset + 2·sp + reference offset: the reset conductance follows the reference device (slope 1.1 "
    "of g on r). The emulator resets g to reset + sp. Noise-free visible std after reset: emulator 0.050 "
    "(OM) / 0.051 (HfO2), AIHWKIT 0.021 / 0.020 (KS p < 1e-270). "
    "Shown in test_reference_artifact_reset_follows_reference."))


def directions(sequence: str, n: int) -> list[int]:
    """+1 = up, −1 = down: n up then n down ("updown"), or 2n alternating from up ("alternating")."""
    if sequence == "updown":
        return [1] * n + [-1] * n
    return [1, -1] * n


def pulses_per_phase(name: str) -> int:
    return max(200, math.ceil(2.0 * get_preset(name).number_of_states))


def checkpoints(sequence: str, n: int) -> list[int]:
    phase = {int(round(f * n)) for f in FRACTIONS} | {1}
    if sequence == "updown":
        return sorted(phase | {n + k for k in phase})
    return sorted({2 * k for k in phase})


def plans() -> dict[str, dict[str, Any]]:
    out = {}
    for index, name in enumerate(PRESETS):
        n = pulses_per_phase(name)
        # AIHWKIT's d2d generator is a std::default_random_engine (an LCG): neighbouring seeds give
        # nearly equal first draws, so the tiles' construction seeds are spread over its range.
        seeds = np.random.SeedSequence(7100 + index).generate_state(TILES) % (2**31 - 2) + 1
        out[name] = {
            "cls": PRESET_CLASSES[name], "n": n, "seeds": [int(s) for s in seeds],
            "emu_seed": 1000 + index,  # never paired with the reference's seeds
            **{f"{s}_checkpoints": checkpoints(s, n) for s in SEQUENCES},
        }
    return out


# ---------------------------------------------------------------------------------------------
# Emulator side

def _readouts(array: DeviceArray) -> tuple[np.ndarray, np.ndarray]:
    apparent = np.array(array.visible(), dtype=np.float32).reshape(-1)
    persistent = np.array(array.g - array.reference, dtype=np.float32).reshape(-1)
    return apparent, persistent


def emulate(name: str, plan: dict[str, Any]) -> dict[str, Any]:
    start = time.perf_counter()
    config = get_preset(name)
    array = DeviceArray(config, SHAPE, seed=plan["emu_seed"])
    prm = array.cell_parameters()
    params = {"max_bound": prm["b_max"], "min_bound": prm["b_min"],
              "dwmin_up": prm["s_up"], "dwmin_down": prm["s_down"],
              "reference": array.reference, "decay_scales": array._state.decay_scale,
              "reset_bias": array.reset_value}
    if config.model == "LinearStep":
        params["slope_up"], params["slope_down"] = prm["up_slope"], prm["down_slope"]
    out: dict[str, Any] = {"params": {k: np.asarray(v, dtype=np.float64).reshape(-1) for k, v in params.items()}}
    for sequence in SEQUENCES:
        wanted = set(plan[f"{sequence}_checkpoints"])
        array.set_conductance(array.reference)  # visible weight 0, as the reference's set_weights(0)
        apparent, persistent = [], []

        def read() -> None:
            a, p = _readouts(array)
            apparent.append(a)
            persistent.append(p)

        if 0 in wanted:
            read()
        for k, direction in enumerate(directions(sequence, plan["n"]), start=1):
            array.pulse_all(direction)
            if k in wanted:
                read()
        out[sequence] = {"apparent": np.stack(apparent), "persistent": np.stack(persistent)}
    array.reset()
    a, p = _readouts(array)
    out["reset"] = {"apparent": a[None], "persistent": p[None]}
    out["seconds"] = time.perf_counter() - start
    return out


# ---------------------------------------------------------------------------------------------
# Both sides, once per module: the oracle runs in the reference environment (a subprocess, one
# call for every preset) while this process computes the emulator side.

@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Any]:
    available, why = _reference_available()
    if not available:
        pytest.skip(why)
    plan = plans()
    request = {"rows": TILE_SHAPE[0], "cols": TILE_SHAPE[1], "protocol": list(PROTOCOL_DW_MIN),
               "list_probe": LIST_PROBE, "lr_dw_min_probe": [PRESET_CLASSES[n] for n in LR_DW_MIN_PROBE],
               "presets": {name: {k: v for k, v in p.items() if k != "emu_seed"} for name, p in plan.items()}}
    folder = tmp_path_factory.mktemp("devices_presets")
    result: dict[str, Any] = {}

    def call_oracle() -> None:
        try:
            result["reference"] = run_oracle("devices_presets", request, folder)
        except BaseException as error:  # re-raised in the main thread
            result["error"] = error

    start = time.perf_counter()
    worker = threading.Thread(target=call_oracle)
    worker.start()
    emulator = {name: emulate(name, plan[name]) for name in PRESETS}
    worker.join()
    if "error" in result:
        raise result["error"]
    ref = result["reference"]
    reference: dict[str, Any] = {}
    for name in PRESETS:
        entry: dict[str, Any] = {"params": {}, "seconds": ref[f"{name}__seconds"]}
        prefix = f"{name}__param__"
        for key, value in ref.items():
            if key.startswith(prefix):
                entry["params"][key[len(prefix):]] = np.asarray(value, dtype=np.float64)
        for sequence in (*SEQUENCES, "reset"):
            entry[sequence] = {"apparent": np.atleast_2d(ref[f"{name}__{sequence}__apparent"])}
            if f"{name}__{sequence}__persistent" in ref:
                entry[sequence]["persistent"] = np.atleast_2d(ref[f"{name}__{sequence}__persistent"])
        reference[name] = entry
    return {"plan": plan, "emulator": emulator, "reference": reference, "raw": ref,
            "seconds": time.perf_counter() - start}


# ---------------------------------------------------------------------------------------------
# Statistics

@dataclass
class Summary:
    mean: float
    std: float
    se_mean: float
    se_std: float
    df: float  # degrees of freedom of the standard errors


def iid_summary(x: np.ndarray) -> Summary:
    """Independent cells: SE of the mean; SE of the std by the delta method with the sample's kurtosis."""
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    n = x.size
    mean = float(x.mean())
    centred = x - mean
    var = float(np.mean(centred ** 2))
    std = math.sqrt(var * n / (n - 1))
    kurtosis = float(np.mean(centred ** 4) / var ** 2) if var > 0 else 1.0
    return Summary(mean, std, std / math.sqrt(n), std * math.sqrt(max(kurtosis - 1.0, 0.0) / (4.0 * n)), n - 1)


def cluster_summary(x: np.ndarray, clusters: int = TILES) -> Summary:
    """Cells in `clusters` equal, independent groups (the reference's tiles), any dependence within."""
    groups = np.asarray(x, dtype=np.float64).reshape(clusters, -1)
    m = groups.shape[1]
    n = groups.size
    sums, squares = groups.sum(axis=1), (groups ** 2).sum(axis=1)
    mean = float(sums.sum() / n)
    std = math.sqrt(max(float(squares.sum() - n * mean ** 2), 0.0) / (n - 1))
    se_mean = float(np.std(sums / m, ddof=1) / math.sqrt(clusters))
    keep = n - m  # delete-one-tile jackknife of the pooled std
    loo_mean = (sums.sum() - sums) / keep
    loo_std = np.sqrt(np.maximum(squares.sum() - squares - keep * loo_mean ** 2, 0.0) / (keep - 1))
    se_std = float(math.sqrt((clusters - 1) / clusters * np.sum((loo_std - loo_std.mean()) ** 2)))
    return Summary(mean, std, se_mean, se_std, clusters - 1)


def welch_tolerance(a: float, df_a: float, b: float, df_b: float, alpha: float) -> float:
    """t·SE of a difference of two independent estimates with standard errors a, b."""
    variance = a * a + b * b
    if variance == 0.0:
        return 0.0
    terms = (a ** 4 / df_a if a else 0.0) + (b ** 4 / df_b if b else 0.0)
    df = variance ** 2 / terms
    return float(stats.t.isf(alpha / 2.0, df)) * math.sqrt(variance)


def readouts(runs: dict[str, Any], name: str, part: str) -> list[str]:
    """'apparent' always; 'persistent' (noise-free g − r) where the reference exposes it."""
    return [r for r in ("apparent", "persistent") if r in runs["reference"][name][part]]


def trajectory_points(runs: dict[str, Any], name: str, sequence: str) -> list[tuple[int, int]]:
    """(row index, k) of the checkpoints after the start (k = 0 is test_start_state)."""
    return [(i, k) for i, k in enumerate(runs["plan"][name][f"{sequence}_checkpoints"]) if k > 0]


def count_trajectory_comparisons(runs: dict[str, Any]) -> int:
    return sum(len(trajectory_points(runs, name, s)) * len(readouts(runs, name, s))
               for name in PRESETS for s in SEQUENCES)


def compare_samples(emu: np.ndarray, ref: np.ndarray, alpha: float, ks: bool = True) -> dict[str, Any]:
    """Mean, std (Welch t with cluster SE on the reference side) and KS of emulator vs reference."""
    e, r = iid_summary(emu), cluster_summary(ref)
    out = {"emu": e, "ref": r,
           "tol_mean": welch_tolerance(e.se_mean, e.df, r.se_mean, r.df, alpha),
           "tol_std": welch_tolerance(e.se_std, e.df, r.se_std, r.df, alpha)}
    out["ok_mean"] = abs(e.mean - r.mean) <= out["tol_mean"]
    out["ok_std"] = abs(e.std - r.std) <= out["tol_std"]
    if ks:
        result = stats.ks_2samp(np.asarray(emu).reshape(-1), np.asarray(ref).reshape(-1))
        out["ks_d"], out["ks_p"] = float(result.statistic), float(result.pvalue)
        out["ok_ks"] = out["ks_p"] >= alpha
    return out


_REPORT: list[str] = []


def report(row: str) -> None:
    _REPORT.append(row)


@pytest.fixture(scope="module", autouse=True)
def _write_report():
    yield
    path = os.environ.get("AIMC_REFERENCE_REPORT")
    if path and _REPORT:
        with open(path, "a") as handle:
            handle.write("\n".join(_REPORT) + "\n")


def _verdict(ok: bool) -> str:
    return "pass" if ok else "FAIL"


# ---------------------------------------------------------------------------------------------
# 0. The reference side: protocol and artifacts

def test_reference_gives_one_pulse_per_cell_per_update(runs):
    """desired_bl 1, fixed BL, no (BL) management, lr ≥ granularity: Δw/dw_min = ±1 exactly on a
    noise-free ConstantStep tile, up for d = −1 and down for d = +1."""
    raw = runs["raw"]
    expected = np.array([1, 1, -1, 1, -1, -1, -1], dtype=np.float32)  # d = −1, −1, +1, −1, +1, +1, +1
    for index, dw_min in enumerate(PROTOCOL_DW_MIN):
        steps = raw[f"protocol__{index}__steps"]
        assert raw[f"protocol__{index}__dw_min"] == pytest.approx(dw_min)
        np.testing.assert_allclose(steps, np.broadcast_to(expected[:, None, None], steps.shape),
                                   atol=2e-3, err_msg=f"dw_min={dw_min}: not one pulse per update")


def expstep_granularity(name: str) -> float:
    """AIHWKIT's weight granularity of an ExpStep device (rpu_expstep_device.h, calcWeightGranularity):
    the mean down step at w = 0, written (dw_down + dw_down)/2 there."""
    c = get_preset(name)
    scale_down = (1.0 - max(c.up_down, 0.0)) * c.dw_min
    z = c.b  # at w = 0
    return scale_down * max(1.0 - c.A_down * math.exp(-c.gamma_down * z), 0.0)


@pytest.mark.parametrize("name", LR_DW_MIN_PROBE)
def test_reference_lr_equal_dw_min_is_not_one_pulse_for_expstep(runs, name):
    """With lr = dw_min (instead of this suite's lr = 1) a cell fires with probability
    A·B = dw_min / granularity: 1 where the granularity is dw_min, but for ExpStep AIHWKIT's
    granularity is the mean step at w = 0, so ReRamES cells get a pulse in ~68 % of the updates and
    PCM cells in ~31 %. Measured on 20 updates of a 50 × 50 tile (noise off)."""
    config = get_preset(name)
    expected = min(1.0, config.dw_min / expstep_granularity(name)) if config.model == "ExpStep" else 1.0
    measured = runs["raw"][f"lr_dw_min__{PRESET_CLASSES[name]}__fraction"]
    # rows and columns fire independently (50 each per update): SE of the 20-update mean ≤ 0.015, so ±0.08 ≥ 5 SE
    ok = abs(measured - expected) <= 0.08
    report(f"| AIHWKIT | lr = dw_min | {name}: fraction of cells pulsed per update | {measured:.3f} | "
           f"expected dw_min/granularity = {expected:.3f} | ±0.08 | {_verdict(ok)} |")
    assert ok


def test_reference_artifact_c2c_noise_from_a_finite_list(runs):
    """AIHWKIT's CPU c2c draws of one tile take at most 32 768 distinct values (a list made once per
    tile): 200 000 draws of ConstantStep noise (dw_min 1, dw_min_std 1, w = 1 + ξ) repeat each value
    ~6 times, where i.i.d. float32 normals computed the same way give ~199 000 distinct values. Within
    a tile every draw therefore shares the list's mean, a drift of the whole tile of size
    ~N(0, 1/32768) per pulse (in units of the noise std): measured below in i.i.d. standard errors."""
    w = runs["raw"]["list_probe__w"].astype(np.float32)
    control = (np.float32(1.0) + np.random.default_rng(0).standard_normal(w.shape[1]).astype(np.float32))
    control_distinct = np.unique(control).size
    rows = []
    for t in range(w.shape[0]):
        distinct = np.unique(w[t])
        xi = w[t].astype(np.float64) - 1.0
        list_mean = float(distinct.astype(np.float64).mean() - 1.0)
        z = float(xi.mean() * math.sqrt(xi.size))
        rows.append((distinct.size, list_mean, z))
        report(f"| AIHWKIT | c2c list | tile {t}: distinct / draws, list mean, draw mean in iid SE | "
               f"{distinct.size} / {xi.size} | mean {list_mean:+.4f}, z = {z:+.1f} | ≤ {GAUSS_LIST_SIZE} "
               f"(iid control: {control_distinct}) | {_verdict(distinct.size <= GAUSS_LIST_SIZE)} |")
    assert control_distinct > 5 * GAUSS_LIST_SIZE
    for distinct, _, _ in rows:
        assert distinct <= GAUSS_LIST_SIZE, "c2c draws of one tile are not from a 32768-entry list"


@pytest.mark.parametrize("name", SP_REFERENCE)
def test_reference_artifact_start_outside_bounds(runs, name):
    """AIHWKIT's set_weights(0) on a SoftBoundsReference tile leaves g = r (the visible weight 0 is
    clipped to the conductance bounds, PulsedRPUDevice::onSetWeights), so cells whose reference is
    outside [b_min, b_max] hold a conductance outside their hard bounds until the first pulse."""
    prm = runs["reference"][name]["params"]
    start = runs["reference"][name]["updown"]["persistent"][0]
    outside = (prm["reference"] < prm["min_bound"]) | (prm["reference"] > prm["max_bound"])
    report(f"| AIHWKIT | start | {name}: cells with g = r outside [b_min, b_max] after set_weights(0) | "
           f"{np.count_nonzero(outside)} / {outside.size} | visible exactly 0: {bool(np.all(start == 0))} | > 0 | "
           f"{_verdict(np.count_nonzero(outside) > 0 and np.all(start == 0))} |")
    assert np.all(start == 0.0)
    assert np.count_nonzero(outside) > 0


@pytest.mark.parametrize("name", SP_REFERENCE)
def test_reference_artifact_reset_follows_reference(runs, name):
    """After `tile.reset()` AIHWKIT's SoftBoundsReference visible weight is reset + sp (+ reset_std
    noise), so the conductance g = w + r is reset + 2·sp + reference offset: regressed on the
    reference r, g has slope ≈ 1 (a device's reset state should not depend on its reference)."""
    prm = runs["reference"][name]["params"]
    visible = runs["reference"][name]["reset"]["persistent"][0].astype(np.float64)
    b_max, b_min, s_up, s_down = prm["max_bound"], prm["min_bound"], prm["dwmin_up"], prm["dwmin_down"]
    sp = (s_up - s_down) / (s_up / b_max - s_down / b_min)
    g = visible + prm["reference"]
    fit = stats.linregress(prm["reference"], g)
    residual = visible - np.clip(sp, b_min, b_max)
    report(f"| AIHWKIT | reset | {name}: slope of g_reset on r; std(visible − sp) | "
           f"{fit.slope:.3f} ± {fit.stderr:.3f}; "
           f"{residual.std():.4f} | physical: slope 0 | reset_std {0.01} | {_verdict(fit.slope > 0.9)} |")
    assert fit.slope > 0.9
    assert residual.std() < 0.012  # visible = sp + reset_std·ξ (reset_std = 0.01)


# ---------------------------------------------------------------------------------------------
# 1. Pulse response

@pytest.mark.parametrize("sequence", SEQUENCES)
@pytest.mark.parametrize("name", PRESETS)
def test_pulse_response_mean(runs, name, sequence):
    config = get_preset(name)
    alpha = FAMILY_ALPHA / count_trajectory_comparisons(runs)
    failures = []
    for readout in readouts(runs, name, sequence):
        emu = runs["emulator"][name][sequence][readout]
        ref = runs["reference"][name][sequence][readout]
        assert emu.shape == ref.shape
        worst, bad = None, False
        for i, k in trajectory_points(runs, name, sequence):
            c = compare_samples(emu[i], ref[i], alpha, ks=False)
            e, r = c["emu"], c["ref"]
            diff = abs(e.mean - r.mean)
            tol_issue = max(2.0 * config.dw_min, 0.1 * math.sqrt(0.5 * (e.std ** 2 + r.std ** 2)))
            ok = diff <= tol_issue and c["ok_mean"]
            tight = min(tol_issue, c["tol_mean"]) if c["tol_mean"] > 0 else tol_issue
            score = diff / tight if tight > 0 else (0.0 if diff == 0 else math.inf)
            design = (r.se_mean / (r.std / math.sqrt(CELLS))) ** 2 if r.std > 0 else 1.0
            if worst is None or score > worst[0]:
                worst = (score, k, e.mean, r.mean, tol_issue, c["tol_mean"], design)
            if not ok:
                bad = True
                failures.append(f"{readout} k={k}: emu {e.mean:.6g} ref {r.mean:.6g} |Δ|={diff:.3g} "
                                f"issue tol {tol_issue:.3g}, t·SE={c['tol_mean']:.3g}")
        _, k, me, mr, tol_issue, tol_stat, design = worst
        report(f"| {name} | {sequence} | {readout} mean (worst k={k}) | {me:.5g} | {mr:.5g} | "
               f"issue {tol_issue:.3g}; t·SE {tol_stat:.3g} (ref design effect {design:.1f}) | {_verdict(not bad)} |")
    assert not failures, f"{name} {sequence}: means differ at {len(failures)} checkpoints:\n" + "\n".join(failures[:12])


@pytest.mark.parametrize("sequence", SEQUENCES)
@pytest.mark.parametrize("name", PRESETS)
def test_pulse_response_std(runs, name, sequence):
    alpha = FAMILY_ALPHA / count_trajectory_comparisons(runs)
    failures = []
    for readout in readouts(runs, name, sequence):
        emu = runs["emulator"][name][sequence][readout]
        ref = runs["reference"][name][sequence][readout]
        worst, bad = None, False
        for i, k in trajectory_points(runs, name, sequence):
            c = compare_samples(emu[i], ref[i], alpha, ks=False)
            e, r = c["emu"], c["ref"]
            diff = abs(e.std - r.std)
            score = diff / c["tol_std"] if c["tol_std"] > 0 else (0.0 if diff == 0 else math.inf)
            if worst is None or score > worst[0]:
                worst = (score, k, e.std, r.std, c["tol_std"])
            if not c["ok_std"]:
                bad = True
                failures.append(f"{readout} k={k}: std emu {e.std:.6g} ref {r.std:.6g} |Δ|={diff:.3g} "
                                f"> {c['tol_std']:.3g}")
        _, k, se_, sr, tol = worst
        report(f"| {name} | {sequence} | {readout} std (worst k={k}) | {se_:.5g} | {sr:.5g} | t·SE {tol:.3g} | "
               f"{_verdict(not bad)} |")
    assert not failures, f"{name} {sequence}: stds differ at {len(failures)} checkpoints:\n" + "\n".join(failures[:12])


@pytest.mark.parametrize("sequence", SEQUENCES)
@pytest.mark.parametrize("name", PRESETS)
def test_pulse_response_distribution(runs, name, sequence):
    """Two-sample KS per checkpoint. The reference sample mixes 40 tiles whose c2c lists shift them by
    (list drift)/√40 on average: ≲ 0.02 std here, far below what KS resolves at this alpha."""
    alpha = FAMILY_ALPHA / count_trajectory_comparisons(runs)
    failures = []
    for readout in readouts(runs, name, sequence):
        emu = runs["emulator"][name][sequence][readout]
        ref = runs["reference"][name][sequence][readout]
        worst, bad = (2.0, None, 0.0), False
        for i, k in trajectory_points(runs, name, sequence):
            result = stats.ks_2samp(emu[i], ref[i])
            if result.pvalue < worst[0]:
                worst = (result.pvalue, k, result.statistic)
            if result.pvalue < alpha:
                bad = True
                failures.append(f"{readout} k={k}: KS D={result.statistic:.4f} p={result.pvalue:.2g} < {alpha:.2g}")
        p, k, d = worst
        report(f"| {name} | {sequence} | {readout} KS (min p at k={k}) | D={d:.4f} | p={p:.3g} | p ≥ {alpha:.2g} | "
               f"{_verdict(not bad)} |")
    assert not failures, f"{name} {sequence}: distributions differ:\n" + "\n".join(failures[:12])


@pytest.mark.parametrize("name", [n for n in PRESETS if get_preset(n).write_noise_std > 0])
def test_write_noise(runs, name):
    """apparent − noise-free weight after pulses: std write_noise_std·dw_min on both sides."""
    config = get_preset(name)
    nominal = config.write_noise_std * config.dw_min
    count = len([n for n in PRESETS if get_preset(n).write_noise_std > 0])
    alpha = FAMILY_ALPHA / (3 * count)
    rows = [i for i, _ in trajectory_points(runs, name, "updown")]
    noise = {}
    for side in ("emulator", "reference"):
        data = runs[side][name]["updown"]
        diff = data["apparent"].astype(np.float64)[rows] - data["persistent"][rows]
        # cluster by tile on the reference side: (checkpoints, tiles, cells) → (tiles, checkpoints·cells)
        noise[side] = diff.reshape(len(rows), TILES, -1).transpose(1, 0, 2).reshape(TILES, -1)
    c = compare_samples(noise["emulator"], noise["reference"], alpha, ks=False)
    e, r = c["emu"], c["ref"]
    tol_nominal = float(stats.t.isf(alpha / 2, r.df)) * r.se_std
    report(f"| {name} | write noise | std of apparent − noise-free | {e.std:.5g} | {r.std:.5g} | "
           f"t·SE {c['tol_std']:.3g} "
           f"(nominal {nominal:.4g}) | {_verdict(c['ok_mean'] and c['ok_std'])} |")
    assert c["ok_mean"], f"write-noise mean: emu {e.mean:.4g} ref {r.mean:.4g} > {c['tol_mean']:.3g}"
    assert c["ok_std"], f"write-noise std: emu {e.std:.5g} ref {r.std:.5g} > {c['tol_std']:.3g}"
    assert abs(r.std - nominal) <= tol_nominal, "the reference's write noise is not write_noise_std·dw_min"


# ---------------------------------------------------------------------------------------------
# The start (k = 0) and the state after a reset

def _state_comparison(runs: dict[str, Any], name: str, part: str, row: int, family: int) -> list[str]:
    alpha = FAMILY_ALPHA / (3 * family)
    failures = []
    for readout in readouts(runs, name, part):
        emu = runs["emulator"][name][part][readout][row]
        ref = runs["reference"][name][part][readout][row]
        if np.ptp(ref) == 0.0:  # a deterministic state (no noise): must be equal exactly
            mismatch = int(np.count_nonzero(emu != ref[0]))
            report(f"| {name} | {part} | {readout}: cells ≠ {ref[0]:g} (exact) | {mismatch} (std {emu.std():.3g}) | "
                   f"0 (std 0) | 0 cells | {_verdict(mismatch == 0)} |")
            if mismatch:
                failures.append(f"{readout}: {mismatch} emulator cells differ from the reference's exact {ref[0]:g} "
                                f"(emu mean {emu.mean():.3g}, std {emu.std():.3g})")
            continue
        c = compare_samples(emu, ref, alpha)
        e, r = c["emu"], c["ref"]
        ok = c["ok_mean"] and c["ok_std"] and c["ok_ks"]
        report(f"| {name} | {part} | {readout} mean / std | {e.mean:.4g} / {e.std:.4g} | {r.mean:.4g} / {r.std:.4g} | "
               f"t·SE {c['tol_mean']:.3g} / {c['tol_std']:.3g}; KS p={c['ks_p']:.3g} ≥ {alpha:.2g} | "
               f"{_verdict(ok)} |")
        if not ok:
            failures.append(f"{readout}: emu mean {e.mean:.4g} std {e.std:.4g}, ref mean {r.mean:.4g} std {r.std:.4g} "
                            f"(tol {c['tol_mean']:.3g} / {c['tol_std']:.3g}), KS D={c['ks_d']:.3f} p={c['ks_p']:.2g}")
    return failures


@pytest.mark.parametrize("name", [pytest.param(n, marks=START_ARTIFACT) if n in SP_REFERENCE else n for n in PRESETS])
def test_start_state(runs, name):
    """The common start: visible weight 0 (plus write noise where the preset has it)."""
    family = sum(len(readouts(runs, n, "updown")) for n in PRESETS)
    failures = _state_comparison(runs, name, "updown", 0, family)
    assert not failures, f"{name}: start differs:\n" + "\n".join(failures)


@pytest.mark.parametrize("name", [pytest.param(n, marks=RESET_ARTIFACT) if n in SP_REFERENCE else n for n in PRESETS])
def test_reset_state(runs, name):
    """The state right after a reset: reset bias (d2d) + reset_std draw, clipped to the bounds."""
    family = sum(len(readouts(runs, n, "reset")) for n in PRESETS)
    failures = _state_comparison(runs, name, "reset", 0, family)
    assert not failures, f"{name}: state after reset differs:\n" + "\n".join(failures)


# ---------------------------------------------------------------------------------------------
# 2. Sampled d2d parameters

def d2d_pairs(runs: dict[str, Any], name: str) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(parameter, emulator sample, reference sample), like with like.

    Reset biases: AIHWKIT stores the unclipped draw (and clips after adding reset_std at every
    reset), the emulator stores it clipped; the reference's is clipped here to compare the stored
    value. Presets whose reference carries the symmetric point store it in different coordinates
    (visible on AIHWKIT's side): their reset is covered by test_reset_state."""
    config = get_preset(name)
    emu, ref = runs["emulator"][name]["params"], runs["reference"][name]["params"]
    pairs = []
    for key in ("max_bound", "min_bound", "dwmin_up", "dwmin_down", "slope_up", "slope_down"):
        if key in ref or key in emu:
            assert key in ref and key in emu, f"{name}: parameter {key} only on one side"
            pairs.append((key, emu[key], ref[key]))
    if "reference" in ref:
        pairs.append(("reference", emu["reference"], ref["reference"]))
    else:
        assert not np.any(emu["reference"]), f"{name}: emulator has a reference, AIHWKIT's device none"
    if config.lifetime > 0:
        pairs.append(("decay_scales", emu["decay_scales"], ref["decay_scales"]))
    if not config.subtract_symmetry_point:
        # Both keep the reset bias unclipped (a reset adds reset_std noise, then clips).
        pairs.append(("reset_bias", emu["reset_bias"], ref["reset_bias"]))
    return pairs


@pytest.mark.parametrize("name", PRESETS)
def test_d2d_parameters(runs, name):
    """d2d draws come from AIHWKIT's RealWorldRNG (a true normal generator): i.i.d. on both sides."""
    count = sum(len(d2d_pairs(runs, n)) for n in PRESETS)
    alpha = FAMILY_ALPHA / (3 * count)  # mean, std and KS per parameter
    failures = []
    for key, emu, ref in d2d_pairs(runs, name):
        e, r = iid_summary(emu), iid_summary(ref)
        tol_mean = welch_tolerance(e.se_mean, e.df, r.se_mean, r.df, alpha)
        tol_std = welch_tolerance(e.se_std, e.df, r.se_std, r.df, alpha)
        degenerate = e.std == 0.0 and r.std == 0.0
        p = 1.0 if degenerate and math.isclose(e.mean, r.mean, rel_tol=1e-6) else stats.ks_2samp(emu, ref).pvalue
        checks = {"mean": abs(e.mean - r.mean) <= max(tol_mean, 1e-6 * abs(r.mean)),
                  "std": abs(e.std - r.std) <= max(tol_std, 1e-6 * abs(r.std)), "KS": p >= alpha}
        for what, ok in checks.items():
            if not ok:
                failures.append(f"{key} {what}: emu mean {e.mean:.6g} std {e.std:.6g}, ref mean {r.mean:.6g} "
                                f"std {r.std:.6g} (tol mean {tol_mean:.3g}, std {tol_std:.3g}), KS p={p:.2g}")
        report(f"| {name} | d2d | {key} mean / std | {e.mean:.5g} / {e.std:.5g} | {r.mean:.5g} / {r.std:.5g} | "
               f"t·SE {tol_mean:.3g} / {tol_std:.3g}; KS p={p:.3g} ≥ {alpha:.2g} | "
               f"{_verdict(all(checks.values()))} |")
    assert not failures, f"{name}: d2d parameters differ:\n" + "\n".join(failures)


def test_runtime_budget(runs):
    """Both sides together stay well inside the file's 3-minute budget."""
    seconds = {name: (runs["emulator"][name]["seconds"], runs["reference"][name]["seconds"]) for name in PRESETS}
    report(f"| all | timing | wall of both sides, s (per preset emulator/reference) | {runs['seconds']:.1f} | "
           + ", ".join(f"{n} {e:.1f}/{r:.1f}" for n, (e, r) in seconds.items()) + " | < 180 | "
           + _verdict(runs["seconds"] < 180) + " |")
    assert runs["seconds"] < 180
