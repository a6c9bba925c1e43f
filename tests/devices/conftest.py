"""Fixtures of the device tests (helpers live in device_test_helpers.py)."""

from __future__ import annotations

import pytest
from device_test_helpers import FAMILY_NAMES


@pytest.fixture(params=FAMILY_NAMES)
def family(request: pytest.FixtureRequest) -> str:
    """Name of one step-law family / noise variant (see device_test_helpers.family_configs)."""
    return request.param
