"""Every shipped scenario, budget study and a sweep give byte-identical results (see golden.py)."""

from __future__ import annotations

import json

import pytest
from golden import HASHES, cases, run_case

KNOWN = json.loads(HASHES.read_text())


@pytest.mark.parametrize("name", sorted(cases()))
def test_golden_outputs(name: str) -> None:
    assert name in KNOWN, f"no golden hashes for {name}: run python tests/golden/golden.py --update"
    assert run_case(cases()[name]) == KNOWN[name], (
        f"{name}: results changed; if that is intended, regenerate with python tests/golden/golden.py --update "
        "and say why in the commit")
