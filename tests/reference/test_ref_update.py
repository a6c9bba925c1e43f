"""The stochastic coincidence update (SPEC §2.1) against AIHWKIT 1.1.0's CPU pulsed update.

The reference reads out per-cell signed pulse counts (oracle/update_counts.py: ConstantStep,
dw_min a power of two, no d2d/c2c noise, bounds out of reach). The emulator's plan
(`plan_pulse_train`) gives BL and the row/column firing probabilities, hence the exact law of
every cell: |n_ij| ~ Binomial(BL, q_i·p_j), sign −sign(x_j·d_i) for lr > 0.

Both sides are sampled independently with fixed seeds (never paired: the reference draws from
libc rand(), seeded with srand in the oracle). Every tolerance is a sampling error: each test
splits a family-wise false-alarm probability FAMILY_ALPHA over its comparisons (Bonferroni).

Reference semantics read from src/rpucuda (v1.1.0): sparse_bit_line_maker.cpp makeCounts (one
Bernoulli per line and slot: `PP > rng->sampleUniform()`), rpu_pulsed_meta_parameter.cpp
performUpdateManagement (BL = ceil(k) capped at desired_BL; UM balance; d_max scaled by
desired_BL/k when k > desired_BL) and PulsedUpdateMetaParameter::initialize
(`update_management = update_management || update_bl_management`), rpu_weight_updater.cpp
(positive lr: down pulse where x_j·d_i > 0; the reference refuses lr < 0, so only lr > 0 is
compared). test_reference_update_is_the_source_read re-does the reference's draws from libc rand()
and matches its counts bit for bit, which pins down the BL the reference chose.

Findings encoded here: update_bl_management without update_management (the reference forces UM
on; the emulator did not until this suite found it, and now does the same), and glibc rand()'s
lag-31 structure skews one cell's count law when BL = 31 (reference artifact, xfail with a
demonstration).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from scipy import stats

from emulator.hardware.pulse_trains import UpdateParameters, plan_pulse_train

FAMILY_ALPHA = 1e-4
"""False-alarm probability of one test function (split over its comparisons)."""
REPEATS = 4000
"""Independent single-sample updates per case and side."""

X = [1.0, -0.6, 0.3, -0.1, 0.0, 0.8]
D = [0.5, -0.25, 0.1, -0.4, 0.0]
X_SMALL = [0.05 * v for v in X]   # x_max = 0.05
D_LARGE = [40.0 * v for v in D]   # d_max = 20: without UM the rows clip at probability 1


@dataclass(frozen=True)
class Case:
    name: str
    x: list
    d: list
    lr: float
    dw_min: float = 1.0
    desired_bl: int = 31
    bl_management: bool = True
    update_management: bool = True

    @property
    def k(self) -> float:
        return self.lr * max(map(abs, self.x)) * max(map(abs, self.d)) / self.dw_min

    def request(self, seed: int) -> dict:
        return {"x": self.x, "d": self.d, "lr": self.lr, "dw_min": self.dw_min, "desired_bl": self.desired_bl,
                "update_bl_management": self.bl_management, "update_management": self.update_management,
                "repeats": REPEATS, "seed": seed}

    def params(self) -> UpdateParameters:
        return UpdateParameters(desired_bl=self.desired_bl, update_bl_management=self.bl_management,
                                update_management=self.update_management)


CASES = [
    Case("both_on_k2.6", X, D, lr=5.2),                                    # BL = 3
    Case("both_on_k12.3", X, D, lr=24.6),                                  # BL = 13
    Case("both_on_k2.6_dw0.5", X, D, lr=2.6, dw_min=0.5),                  # granularity 0.5, BL = 3
    Case("um_only_k2.6", X, D, lr=5.2, bl_management=False),              # BL = 31, balanced
    Case("both_off_k2.6", X, D, lr=5.2, bl_management=False, update_management=False),
    Case("both_off_clipping", X_SMALL, D_LARGE, lr=1.0, bl_management=False, update_management=False),
    Case("both_on_imbalanced_k2.6", X_SMALL, D_LARGE, lr=2.6),
    Case("bl_only_imbalanced_k2.6", X_SMALL, D_LARGE, lr=2.6, update_management=False),
    Case("saturated_both_on_k80", X, D, lr=160.0),                         # k > desired_bl
    Case("saturated_um_only_k80", X, D, lr=160.0, bl_management=False),
    Case("saturated_bl5_k12.3", X, D, lr=24.6, desired_bl=5),
]
IDS = [case.name for case in CASES]

# "bl_only_imbalanced_k2.6": AIHWKIT turns update_management on because update_bl_management is on
# (rpu_pulsed_meta_parameter.cpp PulsedUpdateMetaParameter::initialize; documented in its
# UpdateParameters.update_management); so does the emulator (emulator/_kernels.py firing_plans).


@dataclass
class Side:
    counts: np.ndarray          # repeats × rows × cols, signed
    bl: int                     # emulator plan (same for every repeat)
    probability: np.ndarray     # rows × cols, q_i·p_j of the emulator plan
    sign: np.ndarray            # rows × cols, sign the emulator plan gives a pulse
    line_max: float             # largest row or column firing probability of the plan


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict:
    import conftest

    if conftest._AVAILABLE is None:  # the module fixture runs before conftest's autouse skip
        conftest._AVAILABLE = conftest._reference_available()
    if not conftest._AVAILABLE[0]:
        pytest.skip(conftest._AVAILABLE[1])
    request = {"cases": [case.request(seed=1000 + i) for i, case in enumerate(CASES)]}
    return conftest.run_oracle("update_counts", request, tmp_path_factory.mktemp("update"))


@pytest.fixture(scope="module")
def emulator() -> dict:
    return sample_emulator()


def sample_emulator() -> dict:
    """REPEATS independent trains per case from the emulator, seeded per case."""
    sides = {}
    for index, case in enumerate(CASES):
        rng = np.random.default_rng([2024, index])
        x, d = np.asarray(case.x), np.asarray(case.d)
        counts = np.empty((REPEATS, d.size, x.size), dtype=np.int32)
        plan = None
        for r in range(REPEATS):
            plan = plan_pulse_train(x, d, case.lr, case.dw_min, case.params(), rng)
            counts[r] = plan.counts
        probability = np.outer(plan.row_probability.astype(np.float32), plan.column_probability.astype(np.float32))
        sign = -np.sign(np.outer(d, x)).astype(np.int32)
        line_max = float(max(plan.row_probability.max(), plan.column_probability.max()))
        sides[case.name] = Side(counts, plan.bl, probability.astype(np.float64), sign, line_max)
    return sides


def reference_counts(reference: dict, case: Case) -> np.ndarray:
    return reference[f"counts_{CASES.index(case)}"]


def bonferroni_z(comparisons: int) -> float:
    return float(stats.norm.isf(FAMILY_ALPHA / (2 * max(comparisons, 1))))


def binomial_gof_pvalue(magnitudes: np.ndarray, bl: int, probability: float) -> float:
    """Chi-square goodness of fit of iid counts to Binomial(bl, probability); bins merged until
    every expected count is at least 5; 0 if any count exceeds bl, 1 when fewer than two bins remain."""
    if magnitudes.max() > bl:
        return 0.0
    n = magnitudes.size
    observed = np.bincount(magnitudes, minlength=bl + 1).astype(float)
    expected = n * stats.binom.pmf(np.arange(bl + 1), bl, probability)
    groups_o, groups_e, acc_o, acc_e = [], [], 0.0, 0.0
    for o, e in zip(observed, expected):
        acc_o += o
        acc_e += e
        if acc_e >= 5.0:
            groups_o.append(acc_o)
            groups_e.append(acc_e)
            acc_o = acc_e = 0.0
    if groups_o:
        groups_o[-1] += acc_o
        groups_e[-1] += acc_e
    if len(groups_o) < 2:
        return 1.0
    return float(stats.chisquare(groups_o, np.asarray(groups_e) * (sum(groups_o) / sum(groups_e))).pvalue)


# ------------------------------------------------------------------------------------------------
def test_reference_counts_are_whole_pulses(reference):
    """Sanity of the read-out: every reference Δw is a whole number of dw_min and no bound was near."""
    for index, _ in enumerate(CASES):
        assert reference[f"off_grid_{index}"] == 0.0
        assert reference[f"final_abs_weight_{index}"] < 1e6 / 4


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_sign_convention(case, reference, emulator):
    """ΔW = −lr·d·xᵀ: down pulses where x_j·d_i > 0, none where x_j = 0 or d_i = 0 (both sides)."""
    expected_sign = -np.sign(np.outer(case.d, case.x)).astype(np.int32)
    for counts in (reference_counts(reference, case), emulator[case.name].counts):
        signs = np.sign(counts)
        assert np.all((signs == 0) | (signs == expected_sign[None])), "a pulse of the wrong sign"
        assert np.all(counts[:, expected_sign == 0] == 0), "pulses on a cell with x_j·d_i = 0"


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_bl_chosen(case, reference, emulator):
    """The reference never exceeds the emulator's BL on any cell, and reaches it at the cell of
    largest firing probability whenever that is (near) certain over REPEATS updates."""
    side = emulator[case.name]
    magnitudes = np.abs(reference_counts(reference, case))
    assert magnitudes.max() <= side.bl, f"reference fired {magnitudes.max()} > BL {side.bl} times on a cell"
    top = side.probability.max()
    p_reach = 1.0 - (1.0 - top ** side.bl) ** REPEATS
    if p_reach > 1.0 - FAMILY_ALPHA:
        i, j = np.unravel_index(np.argmax(side.probability), side.probability.shape)
        assert magnitudes[:, i, j].max() == side.bl, (
            f"reference max count {magnitudes[:, i, j].max()} at the top cell, emulator BL {side.bl} "
            f"(P(reach BL) = {p_reach:.6f})")


LAG31_REASON = (
    "reference artifact: glibc rand() is the additive lagged-Fibonacci r[n] = r[n-3] + r[n-31]; the "
    "reference draws line l, slot k as draw l*BL + k, so with BL = 31 the first row's slot-k uniform is "
    "the sum of the last firing column's slot-k uniform and an earlier draw: coincidences across slots "
    "correlate, Var(n_ij) of cell (0, 5) is ~16% above Binomial(31, q·p) (2.25 vs 1.94 over 20000 "
    "replicated updates), mean unchanged; see test_reference_update_lag31_artifact")


def law_params():
    for case in CASES:
        for side in ("reference", "emulator"):
            marks = []
            if side == "reference" and case.name == "um_only_k2.6":
                marks = [pytest.mark.xfail(strict=True, reason=LAG31_REASON)]
            yield pytest.param(case, side, marks=marks, id=f"{case.name}-{side}")


@pytest.mark.parametrize(("case", "side_name"), list(law_params()))
def test_per_cell_counts_follow_emulator_law(case, side_name, reference, emulator):
    """Each cell's |n_ij| over repeated updates fits Binomial(BL, q_i·p_j) of the emulator's
    plan (chi-square per cell; deterministic cells must match exactly)."""
    side = emulator[case.name]
    counts = reference_counts(reference, case) if side_name == "reference" else side.counts
    random_cells = [(i, j) for i, j in np.ndindex(side.probability.shape) if 0.0 < side.probability[i, j] < 1.0]
    threshold = FAMILY_ALPHA / max(len(random_cells), 1)
    failures = []
    magnitudes = np.abs(counts)
    for i, j in np.ndindex(side.probability.shape):
        p = side.probability[i, j]
        if p <= 0.0 or p >= 1.0:
            want = side.bl if p >= 1.0 else 0
            if not np.all(magnitudes[:, i, j] == want):
                failures.append(f"cell {(i, j)}: deterministic {want}, got mean {magnitudes[:, i, j].mean():.4f}")
            continue
        pvalue = binomial_gof_pvalue(magnitudes[:, i, j], side.bl, p)
        if pvalue < threshold:
            failures.append(f"cell {(i, j)}: mean {magnitudes[:, i, j].mean():.4f} vs {side.bl * p:.4f}, "
                            f"var {magnitudes[:, i, j].var():.4f} vs {side.bl * p * (1 - p):.4f}, "
                            f"chi-square p = {pvalue:.2e}")
    assert not failures, f"{side_name} (BL {side.bl}):\n" + "\n".join(failures)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_per_cell_means_agree(case, reference, emulator):
    """Per-cell mean signed count, reference vs emulator (two-sample z with the binomial variance
    of the emulator's plan on each side)."""
    side = emulator[case.name]
    ref = reference_counts(reference, case).astype(float)
    emu = side.counts.astype(float)
    variance = side.bl * side.probability * (1.0 - side.probability)
    se = np.sqrt(2.0 * variance / REPEATS)
    diff = ref.mean(0) - emu.mean(0)
    random = variance > 0
    z = bonferroni_z(int(random.sum()))
    bad = (random & (np.abs(diff) > z * np.where(random, se, 1.0))) | (~random & (diff != 0))
    assert not bad.any(), (
        f"cells {np.argwhere(bad).tolist()}: reference mean {ref.mean(0)[bad].round(4).tolist()}, "
        f"emulator mean {emu.mean(0)[bad].round(4).tolist()} (tolerance {z:.2f}·se)")


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_mean_weight_change(case, reference, emulator):
    """Mean ΔW per update on both sides against the emulator plan's expectation
    dw_min·BL·q_i·p_j·sign, which is −lr·d·xᵀ exactly when no probability is clipped at 1."""
    side = emulator[case.name]
    expected = case.dw_min * side.bl * side.probability * side.sign
    target = -case.lr * np.outer(case.d, case.x)
    if side.line_max < 1.0 and case.k <= case.desired_bl:  # nothing clipped, not saturated
        np.testing.assert_allclose(expected, target, rtol=1e-6, atol=1e-12)
    variance = case.dw_min ** 2 * side.bl * side.probability * (1.0 - side.probability)
    se = np.sqrt(variance / REPEATS)
    random = variance > 0
    z = bonferroni_z(2 * int(random.sum()))
    for label, counts in (("reference", reference_counts(reference, case)), ("emulator", side.counts)):
        mean = case.dw_min * counts.mean(0)
        diff = mean - expected
        bad = (random & (np.abs(diff) > z * np.where(random, se, 1.0))) | (~random & (np.abs(diff) > 1e-12))
        assert not bad.any(), (
            f"{label}: mean ΔW {mean[bad].round(4).tolist()} vs expected {expected[bad].round(4).tolist()} "
            f"at cells {np.argwhere(bad).tolist()} (target −lr·d·xᵀ {target[bad].round(4).tolist()})")


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_pooled_total_pulses(case, reference, emulator):
    """Distribution of the total pulses per update Σ|n_ij| (iid over updates; sensitive to the
    row/column correlations that per-cell laws miss): two-sample chi-square."""
    ref_total = np.abs(reference_counts(reference, case)).sum(axis=(1, 2))
    emu_total = np.abs(emulator[case.name].counts).sum(axis=(1, 2))
    if ref_total.min() == ref_total.max() == emu_total.min() == emu_total.max():
        return
    top = int(max(ref_total.max(), emu_total.max()))
    table = np.vstack([np.bincount(ref_total, minlength=top + 1), np.bincount(emu_total, minlength=top + 1)])
    merged, acc = [], np.zeros(2)
    for column in table.T:
        acc = acc + column
        if acc.sum() >= 20:
            merged.append(acc)
            acc = np.zeros(2)
    if merged:
        merged[-1] = merged[-1] + acc
    merged = np.array(merged).T
    if merged.shape[1] < 2:
        assert ref_total.mean() == emu_total.mean()
        return
    pvalue = stats.chi2_contingency(merged).pvalue
    assert pvalue >= FAMILY_ALPHA, (
        f"total pulses per update: reference mean {ref_total.mean():.3f} sd {ref_total.std():.3f}, "
        f"emulator mean {emu_total.mean():.3f} sd {emu_total.std():.3f}, chi-square p = {pvalue:.2e}")


# ------------------------------------------------------------------------------------------------
# The reference's update re-done in this process from its source (float32 arithmetic as in
# rpu_pulsed_meta_parameter.cpp and sparse_bit_line_maker.cpp), driven either by the same libc
# rand() stream (then it must reproduce the reference bit for bit) or by another uniform source.

def reference_plan(case: Case) -> tuple[np.ndarray, np.ndarray, int, np.float32, np.float32]:
    """x, d (float32), BL, A (rows), B (columns) as PulsedUpdateMetaParameter computes them."""
    f32 = np.float32
    x, d = np.asarray(case.x, f32), np.asarray(case.d, f32)
    lr, dw = f32(case.lr), f32(case.dw_min)
    um = case.update_management or case.bl_management           # initialize(): UBLM forces UM
    bl = case.desired_bl                                          # fixed_bl (default True)
    a = b = f32(np.sqrt(lr / (dw * f32(bl))))
    x_max, d_max = np.abs(x).max(), np.abs(d).max()
    k = f32(lr * x_max * d_max / dw)
    if case.bl_management:
        bl = min(int(np.ceil(k)), case.desired_bl)
        a = b = f32(np.sqrt(lr / (dw * f32(bl))))
    if um:
        d_val = d_max * (f32(case.desired_bl) / k) if k > f32(case.desired_bl) else d_max
        a, b = f32(a * np.sqrt(x_max / d_val)), f32(b * np.sqrt(d_val / x_max))
    return x, d, bl, a, b


def libc_rand():
    import ctypes

    libc = ctypes.CDLL(None)
    libc.rand.restype = ctypes.c_int
    return libc


def replicate_with_libc_rand(case: Case, seed: int, repeats: int) -> np.ndarray:
    """Signed counts of `repeats` updates drawn as makeCounts does: per line with PP > 0 (x lines
    first, then d lines), BL uniforms rand()/RAND_MAX in float32, fire where PP > u."""
    libc = libc_rand()
    libc.srand(seed)
    x, d, bl, a, b = reference_plan(case)
    rand_max = np.float32(2147483647)
    sign = -np.sign(np.outer(d, x)).astype(np.int32)
    out = np.empty((repeats, d.size, x.size), np.int32)
    for r in range(repeats):
        fired = []
        for values, scale in ((x, b), (d, a)):
            lines = np.zeros((values.size, bl), np.int32)
            for j, v in enumerate(values):
                pp = np.float32(abs(v) * scale)
                if pp == 0.0:
                    continue                       # no draws for a silent line
                for k in range(bl):
                    lines[j, k] = pp > np.float32(np.float32(libc.rand()) / rand_max)
            fired.append(lines)
        out[r] = sign * (fired[1] @ fired[0].T)
    return out


def replicate_with_numpy(case: Case, rng: np.random.Generator, repeats: int) -> np.ndarray:
    x, d, bl, a, b = reference_plan(case)
    column_fire = rng.random((repeats, x.size, bl), dtype=np.float32) < (np.abs(x) * b)[None, :, None]
    row_fire = rng.random((repeats, d.size, bl), dtype=np.float32) < (np.abs(d) * a)[None, :, None]
    n = np.einsum("rik,rjk->rij", row_fire.astype(np.int32), column_fire.astype(np.int32))
    return -np.sign(np.outer(d, x)).astype(np.int32)[None] * n


def test_reference_update_is_the_source_read(reference, emulator):
    """The first 300 updates of every case, re-done from the reference source with the same libc
    rand() stream, equal the reference's counts bit for bit: BL, A, B, the draw order and the
    sign convention are exactly as read. The BL so confirmed equals the emulator's in every case."""
    checked = 300
    for index, case in enumerate(CASES):
        replica = replicate_with_libc_rand(case, seed=1000 + index, repeats=checked)
        assert np.array_equal(replica, reference[f"counts_{index}"][:checked]), case.name
        assert reference_plan(case)[2] == emulator[case.name].bl, case.name


def test_reference_update_lag31_artifact(reference):
    """Why um_only_k2.6-reference fails its binomial law (xfail above): glibc's rand() obeys
    o[n] = o[n-3] + o[n-31] (mod 2^31, +0 or +1), and with BL = 31 cell (0, 5) pairs uniforms
    exactly 31 draws apart. The reference's counts there reject Binomial(31, q·p) with a variance
    excess, while the same algorithm driven by PCG64 uniforms fits it."""
    libc = libc_rand()
    libc.srand(4321)
    o = np.array([libc.rand() for _ in range(2000)], dtype=np.int64)
    lag = (o[34:] - o[31:-3] - o[3:-31]) % (1 << 31)
    assert set(np.unique(lag).tolist()) <= {0, 1}

    case = next(c for c in CASES if c.name == "um_only_k2.6")
    x, d, bl, a, b = reference_plan(case)
    p = float(np.float32(abs(d[0]) * a)) * float(np.float32(abs(x[5]) * b))
    threshold = FAMILY_ALPHA / 2
    observed = np.abs(reference_counts(reference, case)[:, 0, 5])
    assert binomial_gof_pvalue(observed, bl, p) < threshold
    assert observed.var() > bl * p * (1 - p)
    clean = np.abs(replicate_with_numpy(case, np.random.default_rng(99), REPEATS)[:, 0, 5])
    assert binomial_gof_pvalue(clean, bl, p) >= threshold
