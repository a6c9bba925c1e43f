"""A run that goes non-finite stops with exit 1, names where it happened, and writes nothing."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from emulator.cli import main

HERE = Path(__file__).parent


def _scenario(tmp_path: Path, program: str) -> Path:
    path = tmp_path / "scenario.toml"
    path.write_text(f'name = "nan_run"\nimports = ["nan_programs"]\n'
                    '[hardware.tiles.t0]\nrows = 6\ncols = 5\narrays.W = { preset = "ReRamSB" }\n'
                    f'[program]\nname = "nan_programs:{program}"\n')
    return path


@pytest.fixture(autouse=True)
def _programs_importable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(HERE))
    monkeypatch.delitem(sys.modules, "nan_programs", raising=False)


@pytest.mark.parametrize(("program", "expected"), [
    ("poison_cell", ["array t0/W, cell (row 2, col 3)", "conductance", "set (set_weights)", "phase 'poison'"]),
    ("nan_gradient", ["pulse train on t0/W", "errors d", "sample 0, element 1", "phase 'train'"]),
    ("nan_metric", ["arrays stayed finite", "metric 'loss' at step 3", "phase 'train'"]),
])
def test_divergence_names_array_cell_and_operation(tmp_path: Path, program: str, expected: list[str]) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["run", str(_scenario(tmp_path, program)), "--out", str(out)])
    assert result.exit_code == 1, result.output
    assert "diverged" in result.output and "Traceback" not in result.output
    for needle in expected:
        assert needle in result.output, result.output
    assert not out.exists()
