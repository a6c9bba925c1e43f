"""The two realizations of E-RIDER's (and AGAD's) γ term — what each reads, when, and what it
costs — and the settings the authors' runs need: the chopper path and one column per mini-batch.

"paper" ([DSPT] Alg. 3 as written): P is read live, differentially against an analog Q̃ (`Qt`)
programmed at every chopper flip. "artifact" (the authors' CUDA code): Q̃ digital, the γ term a
digital per-column snapshot refreshed at the column's transfer read. The step-by-step comparison
with the authors' code is test_training_authors_timing.py.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from training_helpers import least_squares_document, run_document

from emulator.algorithms.rider import ERIDERParams
from emulator.algorithms.tiki_taka import AGADParams
from emulator.algorithms.transfer_components import ColumnSchedule
from emulator.algorithms.transfer_rules import Choppers
from emulator.registry import get_program

ROWS, INPUTS, SAMPLES, BATCH = 3, 4, 20, 2
WORKLOAD = {"inputs": INPUTS, "rows": ROWS, "samples": SAMPLES}
TEST_SAMPLES = 5      # least squares: a quarter of the training samples
PARAMS = {"epochs": 1, "batch_size": BATCH, "fast_lr": 0.3, "in_chop_prob": 0.5, "in_chop_random": False,
          "auto_granularity": 20.0, "gamma": 0.5, "eval_every": 1}


def run(program: str, realization: str, qt: bool = True, **extra: Any) -> dict[str, Any]:
    document = least_squares_document(program, {**PARAMS, "realization": realization, **extra},
                                      fast_sp=0.2, workload=WORKLOAD)
    if not qt:
        for tile in document["hardware"]["tiles"].values():
            tile["arrays"].pop("Qt", None)
    return run_document(document).summary


def test_paper_realization_reads_p_live_against_an_analog_qtilde_programmed_at_flips() -> None:
    summary = run("train_erider", "paper")
    reads, ops, pulses = (summary["hardware"][key] for key in ("reads", "digital_ops", "pulses"))
    evaluations = 2                                            # before training and after the epoch
    # What is read, when: P in every forward pass (training and evaluation) and at each transfer.
    assert reads["layer0/P|training"]["mvms"] == SAMPLES
    assert reads["layer0/P|evaluation"]["mvms"] == evaluations * TEST_SAMPLES
    assert reads["layer0/P|transfer"]["mvms"] == SAMPLES       # one column per sample
    assert set(key for key in reads if key.startswith("layer0/Qt")) == {"layer0/Qt|programming"}
    # What it costs: Q̃ is programmed (pulses and verify reads) at every flip, never digitally added.
    syncs = summary["result"]["qtilde_syncs"]
    assert syncs == INPUTS * 2                                  # 5 sweeps, N = 2: flips in sweeps 1 and 3
    assert ops["qtilde_sync"] == ROWS * syncs
    assert set(pulses["layer0/Qt"]["by_phase"]) == {"programming"} and pulses["layer0/Qt"]["total"] > 0
    assert "snapshot_matvec" not in ops and "snapshot_store" not in ops
    assert summary["hardware"]["energy_pj"]["by_phase"]["programming"] > 0


def test_artifact_realization_reads_p_only_at_transfers_and_adds_a_digital_snapshot() -> None:
    summary = run("train_erider", "artifact", qt=False)        # no Qt array: Q̃ is digital
    reads, ops, pulses = (summary["hardware"][key] for key in ("reads", "digital_ops", "pulses"))
    evaluations = 2
    # What is read, when: P only by the transfer reads (one column per sample here), W as usual.
    assert {key for key in reads if key.startswith("layer0/P")} == {"layer0/P|transfer"}
    assert reads["layer0/P|transfer"]["mvms"] == SAMPLES
    assert reads["layer0/W|training"]["mvms"] == SAMPLES
    # What it costs: a digital matvec of the whole snapshot per sample of every pass, a copy of the
    # read column at every transfer, no programming and no Q̃ array.
    passes = SAMPLES + evaluations * TEST_SAMPLES
    assert ops["snapshot_matvec"] == passes * ROWS * INPUTS
    assert ops["snapshot_store"] == SAMPLES * ROWS
    assert ops["qtilde_sync"] == ROWS * summary["result"]["qtilde_syncs"]
    assert "layer0/Qt" not in pulses
    assert set(pulses["layer0/P"]["by_phase"]) == {"training"}


def test_artifact_is_cheaper_in_reads_and_programming_than_paper() -> None:
    paper, artifact = run("train_erider", "paper"), run("train_erider", "artifact", qt=False)
    mvms = [sum(v["mvms"] for v in s["hardware"]["reads"].values()) for s in (paper, artifact)]
    assert mvms[1] < mvms[0]
    assert paper["hardware"]["pulses_by_phase"]["programming"] > artifact["hardware"]["pulses_by_phase"]["programming"]


def test_agad_gamma_term_in_both_realizations_and_none_by_default() -> None:
    default = run("train_agad", "paper", gamma=0.0)
    assert "layer0/P|training" not in default["hardware"]["reads"]    # the reference's AGAD: W only
    live = run("train_agad", "paper")
    assert live["hardware"]["reads"]["layer0/P|training"]["mvms"] == SAMPLES
    assert live["hardware"]["digital_ops"]["reference_matvec"] == SAMPLES * ROWS * INPUTS + 2 * TEST_SAMPLES * ROWS * INPUTS
    snapshot = run("train_agad", "artifact")
    assert "layer0/P|training" not in snapshot["hardware"]["reads"]
    assert snapshot["hardware"]["digital_ops"]["snapshot_store"] == SAMPLES * ROWS


def test_artifact_keeps_qtilde_digital_and_needs_no_qt_array() -> None:
    with pytest.raises(ValidationError, match="qtilde must be"):
        ERIDERParams(realization="artifact", qtilde="analog")
    assert ERIDERParams(realization="artifact").analog_qtilde() is False
    assert ERIDERParams().analog_qtilde() is True                           # paper: analog by default
    assert ERIDERParams(qtilde="digital").analog_qtilde() is False
    entry = get_program("train_erider")
    params = entry.params_model(realization="artifact", workload={"kind": "least_squares", **WORKLOAD})
    assert entry.hardware_problems(params, {"layer0": (ROWS, INPUTS, frozenset({"W", "P"}))}) == []


@pytest.mark.parametrize("path, flips", [("cpu", [2, 5, 8]), ("cuda", [0, 3, 6, 9])])
def test_regular_choppers_flip_in_the_sweeps_of_each_path(path: str, flips: list[int]) -> None:
    """N = 3: the CPU path flips in sweeps N−1, 2N−1, …; the CUDA path (the authors') in 0, N, 2N."""
    choppers = Choppers(2, 1 / 3, random=False, path=path)  # type: ignore[arg-type]
    rng = np.random.default_rng(0)
    seen = [sweep for sweep in range(10) if choppers.flips(np.arange(2), sweep, rng).all()]
    assert seen == flips


def test_agad_gate_follows_the_chopper_path() -> None:
    """AGAD writes W once more than N sweeps are done on the CPU path, once N are on the CUDA path."""
    for path, gate in (("cpu", "after_more_than_period"), ("cuda", "after_period")):
        document = least_squares_document("train_agad", {**PARAMS, "chopper_path": path, "max_steps": 1},
                                          fast_sp=0.2, workload=WORKLOAD)
        block = run_document(document).program_result["_trainer"].filters[0]
        assert block.gate == gate and block.choppers.path == path
        assert [block.writes_allowed(s) for s in range(4)].index(True) == (3 if path == "cpu" else 2)


def test_units_in_mbatch_transfers_one_column_per_mini_batch_with_the_raw_threshold() -> None:
    per_batch = run("train_erider", "artifact", qt=False, units_in_mbatch=True)
    per_sample = run("train_erider", "artifact", qt=False)
    assert per_batch["hardware"]["reads"]["layer0/P|transfer"]["mvms"] == SAMPLES // BATCH
    assert per_sample["hardware"]["reads"]["layer0/P|transfer"]["mvms"] == SAMPLES
    schedule = ColumnSchedule([INPUTS], 1.0)
    chunks = [list(chunk) for fraction in [0.5, 0.5, 0.5, 0.5] for chunk in schedule.due(0, fraction)]
    assert chunks == [[0], [1]]                              # per-sample timing: after a batch's last sample


def test_units_in_mbatch_threshold_keeps_the_raw_transfer_every() -> None:
    """The reference simulator's buffer granularity uses cols · transfer_every as given, whatever its unit."""
    runs = [run_document(least_squares_document("train_erider", {**PARAMS, "units_in_mbatch": flag,
                                                                 "realization": "artifact"},
                                                fast_sp=0.2, workload=WORKLOAD)) for flag in (False, True)]
    thresholds = [r.program_result["_trainer"].buffer.thresholds[0] for r in runs]
    assert thresholds[0] == thresholds[1] == pytest.approx(0.01 * 20.0 / INPUTS)
