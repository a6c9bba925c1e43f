"""Training against the reference presets: digits 64-32-10, final test accuracy, the two cells the
fidelity issue turned on (TT-v2 at (Ref Mean 0, Ref Std 1.0), where the emulator trailed by 19
points, and AGAD at (0.4, 1.0)). Eight runs per side, as the grid of docs/fidelity.md (five gave a
false alarm about 5 % of the time per cell, and raised one when the firing draws' stream
changed). The issue's criterion: within 3 points, or within two standard errors of the
difference where the runs spread more. The whole 3×3 grid with
8 runs a side is `python tests/reference/digits_grid.py` (docs/fidelity.md has its table).
Takes about 3–4 minutes on 2 cores."""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor

import pytest
from digits_grid import emulator_run, reference_run, verdict

RUNS = 8
CELLS = [("ttv2", 0.0, 1.0), ("agad", 0.4, 1.0)]


@pytest.mark.slow
@pytest.mark.parametrize("algorithm, ref_mean, ref_std", CELLS)
def test_final_accuracy_matches_the_reference_preset(algorithm: str, ref_mean: float, ref_std: float) -> None:
    with ProcessPoolExecutor(2) as pool:
        reference = [pool.submit(reference_run, algorithm, ref_mean, ref_std, 100 + k, 40) for k in range(RUNS)]
        emulator = [pool.submit(emulator_run, algorithm, ref_mean, ref_std, k, 40, []) for k in range(RUNS)]
        ours = [future.result()["final_test_accuracy"] for future in emulator]
        theirs = [future.result()["final_test_accuracy"] for future in reference]
    found = verdict(ours, theirs)
    assert found["ok"], (f"{algorithm} at ({ref_mean}, {ref_std}): emulator {ours}, reference {theirs}: "
                         f"difference {found['difference']:+.1f} points, standard error {found['standard_error']:.1f}")
