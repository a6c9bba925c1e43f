"""The README's example, verbatim: a user property-tests their own calibration routine with the
kit. `test_readme_shows_this_example` keeps README and this file identical, so neither drifts."""

from __future__ import annotations

import re
from pathlib import Path

# --- README example: begin ---
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.hardware import Digital, ReadCells, SetPhase, SignPattern
from emulator.testing import check_all, check_calibration_bound, monotone_device_configs, run_program, tile_specs


def my_calibration(ctl, tile, array, max_steps, block=8, tolerance=0.02):
    """Cyclic zero-shifting in blocks of up/down pulses; stop early once two reads agree."""
    yield SetPhase("calibration")
    previous = yield ReadCells(tile, array)
    steps = 0
    while steps < max_steps:
        for _ in range(block // 2):
            yield SignPattern(tile, array, +1)  # every cell one pulse up ...
            yield SignPattern(tile, array, -1)  # ... and one down
        steps += block
        estimate = yield ReadCells(tile, array, repeats=2)
        yield Digital(estimate.size, "compare")
        if np.max(np.abs(estimate - previous)) < tolerance:
            break
        previous = estimate
    yield Digital(estimate.size, "store_reference")
    return {"estimate": estimate, "steps": steps}


@settings(max_examples=20, deadline=None, derandomize=True)
@given(
    tile=tile_specs(rows=(2, 4), cols=(2, 4), device=monotone_device_configs()),
    max_steps=st.integers(8, 300),
    seed=st.integers(0, 2**32 - 1),
)
def test_my_calibration(tile, max_steps, seed):
    result = run_program(my_calibration, {"t0": tile}, seed=seed, max_pulses_per_cell=max_steps + 8,
                         tile="t0", array="W", max_steps=max_steps)
    # Bounds, counters, time, energy, resource order, the pulse budget, and a rerun with the seed:
    check_all(result)
    # The routine's own promises:
    assert result.result["estimate"].shape == (tile.rows, tile.cols)
    pulses_per_cell = result.result["steps"]
    assert result.recorder.summary()["pulses_by_phase"] == {"calibration": pulses_per_cell * tile.rows * tile.cols}
    # And the physics: the cells ended as close to their symmetric points as SPEC §5 allows.
    check_calibration_bound(result, "t0", "W", method="cyclic")
# --- README example: end ---


def _example_in(text: str) -> str | None:
    match = re.search(r"<!-- readme-example -->\s*```python\n(.*?)```", text, re.DOTALL)
    return match.group(1) if match else None


def _readmes() -> list[str]:
    """Texts of the READMEs that show the example (the kit's own, and the main one once merged)."""
    root = Path(__file__).resolve().parents[2]
    texts = [p.read_text(encoding="utf-8") for p in (root / "emulator" / "testing" / "README.md", root / "README.md")
             if p.exists()]
    return [text for text in texts if _example_in(text) is not None]


def test_readme_shows_this_example():
    here = Path(__file__).read_text(encoding="utf-8")
    code = here.split("# --- README example: begin ---\n", 1)[1].split("# --- README example: end ---", 1)[0]
    readmes = _readmes()
    assert readmes, "no '<!-- readme-example -->' python block in emulator/testing/README.md or README.md"
    for text in readmes:
        assert _example_in(text) == code, "the README example and tests/testing_kit/test_kit_readme_example.py differ"


def test_readme_state_machine_snippet_runs():
    from hypothesis import HealthCheck

    blocks = re.findall(r"```python\n(.*?)```", _readmes()[0], re.DOTALL)
    snippets = [block for block in blocks if "ControllerStateMachine" in block]
    assert snippets, "the README lost its state-machine snippet"
    namespace: dict[str, object] = {"my_calibration": my_calibration}
    for snippet in snippets:
        exec(compile(snippet, "README.md", "exec"), namespace)  # noqa: S102  (our own README)
    case = namespace["TestMyRoutineUnderTraffic"]
    case.settings = settings(  # type: ignore[attr-defined]
        max_examples=5, stateful_step_count=6, deadline=None, derandomize=True,
        suppress_health_check=[HealthCheck.too_slow])
    case("runTest").runTest()  # type: ignore[operator]
