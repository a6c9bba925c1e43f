"""Fixtures of the CLI tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def repo() -> Path:
    return REPO


@pytest.fixture
def scenario_path() -> Path:
    """The shipped pulse-response scenario."""
    return REPO / "scenarios" / "pulse_response.toml"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def small_toml() -> str:
    """A small, fast scenario (TOML text) used as the base of the broken-input variants."""
    return """\
name = "small"
seed = 5

[hardware]
cost_model = "neurosim-reram-50ns"

[hardware.tiles.t0]
rows = 8
cols = 8

[hardware.tiles.t0.arrays.W]
preset = "ReRamSB"

[program]
name = "pulse_response"

[program.params]
tile = "t0"
array = "W"
pulses = 10
cycles = 1
read_every = 5
"""
