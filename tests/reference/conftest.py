"""The differential suite against the reference simulator (IBM AIHWKIT), marker `reference`.

AIHWKIT is the oracle, never a dependency: it lives in its own Python environment (its CPU
wheel 1.1.0 needs exactly torch 2.10.0) and is driven through the scripts in `oracle/`, which
run there and hand back arrays in an .npz file. The suite is skipped when that environment is
missing. Set it up once (about 7 GB, torch's CUDA wheels included):

    python -m venv .venv-reference && .venv-reference/bin/pip install torch==2.10.0 aihwkit==1.1.0

or point AIMC_REFERENCE_PYTHON at an interpreter that has aihwkit 1.1.0. Run the suite with
`python -m pytest -m reference` (it is outside the default selection).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
ORACLE_DIR = Path(__file__).resolve().parent / "oracle"
REFERENCE_VERSION = "1.1.0"


def reference_python() -> Path | None:
    """The interpreter of the reference environment, or None if there is none."""
    configured = os.environ.get("AIMC_REFERENCE_PYTHON")
    candidates = [Path(configured)] if configured else []
    candidates.append(REPO / ".venv-reference" / "bin" / "python")
    for candidate in candidates:
        if candidate.exists():
            return candidate
    return None


def _reference_available() -> tuple[bool, str]:
    python = reference_python()
    if python is None:
        return False, ("no reference environment (.venv-reference or AIMC_REFERENCE_PYTHON); "
                       "see tests/reference/conftest.py for the one-line setup")
    probe = subprocess.run([str(python), "-c", "import aihwkit; print(aihwkit.__version__)"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        return False, f"{python} cannot import aihwkit: {probe.stderr.strip().splitlines()[-1:]}"
    version = probe.stdout.strip()
    if version != REFERENCE_VERSION:
        return False, f"the reference environment has aihwkit {version}, the suite is written for {REFERENCE_VERSION}"
    return True, ""


_AVAILABLE: tuple[bool, str] | None = None


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test here is a `reference` test (outside the default selection)."""
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.reference)


@pytest.fixture(autouse=True)
def _needs_reference() -> None:
    """Skip, saying why, when the reference environment is missing or the wrong version."""
    global _AVAILABLE
    if _AVAILABLE is None:
        _AVAILABLE = _reference_available()
    if not _AVAILABLE[0]:
        pytest.skip(_AVAILABLE[1])


def run_oracle(script: str, request: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    """Run `oracle/<script>.py` in the reference environment on a JSON request; returns the
    arrays and scalars it saved (scalars as Python numbers)."""
    python = reference_python()
    assert python is not None, "reference environment missing"
    request_file = tmp_path / f"{script}_request.json"
    result_file = tmp_path / f"{script}_result.npz"
    request_file.write_text(json.dumps(request))
    done = subprocess.run([str(python), str(ORACLE_DIR / f"{script}.py"), str(request_file), str(result_file)],
                          capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"})
    if done.returncode != 0:
        raise RuntimeError(f"oracle {script} failed:\n{done.stderr[-4000:]}")
    with np.load(result_file) as data:
        return {key: (data[key].item() if data[key].ndim == 0 else data[key]) for key in data.files}


@pytest.fixture
def oracle(tmp_path: Path):
    """`oracle(script, **request)` runs a reference-side script and returns its results."""
    def call(script: str, **request: Any) -> dict[str, Any]:
        return run_oracle(script, request, tmp_path)
    return call


sys.path.insert(0, str(Path(__file__).resolve().parent))
