"""Units of time and energy: simulated time is integer picoseconds, energy is booked in pJ.

Configuration speaks ns, pJ and fJ; these conversions are the only place the factors live.
"""

from __future__ import annotations

PS_PER_NS = 1000
FJ_PER_PJ = 1000.0


def ns_to_ps(duration_ns: float) -> int:
    """A configured duration in ns as integer simulation time (ps)."""
    return int(round(duration_ns * PS_PER_NS))


def ps_to_ns(time_ps: float) -> float:
    """Simulation time (ps) in ns, for results."""
    return time_ps / float(PS_PER_NS)


def ps_to_s(time_ps: float) -> float:
    """Simulation time (ps) in seconds, for device physics given per second (drift rates)."""
    return time_ps * 1e-12


def ps_to_us(time_ps: float) -> float:
    """Simulation time (ps) in µs, for messages."""
    return time_ps / 1e6


def ns_to_us(time_ns: float) -> float:
    """A duration in ns as µs, for messages and plots."""
    return time_ns / 1000.0


def pj_to_uj(energy_pj: float) -> float:
    """An energy in pJ as µJ, for messages."""
    return energy_pj / 1e6


def fj_to_pj(energy_fj: float) -> float:
    """An energy in fJ as pJ."""
    return energy_fj / FJ_PER_PJ
