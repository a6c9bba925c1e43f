"""Fixtures of the hardware-layer tests (plain helpers live in hardware_test_helpers.py)."""

from __future__ import annotations

import pytest

from emulator.hardware import HardwareCosts


@pytest.fixture
def odd_costs() -> HardwareCosts:
    """A cost model whose numbers are all different from the defaults and from each other,
    so a hand computation cannot match by coincidence."""
    return HardwareCosts(
        name="test-odd",
        pulse_width_ns=7.0,
        write_pulse_energy_pj=1.5,
        mvm_integration_ns=33.0,
        mvm_energy_per_cell_fj=0.25,
        dac_energy_fj=11.0,
        adc_bits=6,
        adc_bit_time_ns=1.0,
        adc_energy_fj=130.0,
        columns_per_adc=8,
        digital_op_ns=3.0,
        digital_lanes=16,
        digital_op_energy_fj=4.0,
    )
