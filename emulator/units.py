"""Units of time and energy: simulated time is integer picoseconds, energy is booked in pJ.

Configuration speaks ns, pJ and fJ; these conversions are the only place the factors live.
"""

from __future__ import annotations

import math

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


_SI_PREFIXES = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, ""), (1e-3, "m"), (1e-6, "µ"),
                (1e-9, "n"), (1e-12, "p"), (1e-15, "f"))


def format_number(value: float | int | None, digits: int = 3) -> str:
    """A count or measurement for people: integers with thousands separators, other numbers to
    `digits` significant digits (scientific beyond 10⁶ or below 10⁻³); None as "–"."""
    if value is None:
        return "–"
    if isinstance(value, (bool, int)):
        return f"{value:,}" if not isinstance(value, bool) else str(value)
    if not math.isfinite(value) or value == 0:
        return f"{value:g}"
    if not 1e-3 <= abs(value) < 1e6:
        return f"{value:.{digits - 1}e}"
    rounded = float(f"{value:.{digits}g}")
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(rounded))))
    return f"{rounded:,.{decimals}f}"


def format_quantity(value: float | None, unit: str, digits: int = 3) -> str:
    """A measurement in a base unit (s, J, …) with an SI prefix and `digits` significant digits,
    e.g. format_quantity(2.5e-6, "J") == "2.50 µJ"."""
    if value is None:
        return "–"
    if value == 0 or not math.isfinite(value):
        return f"{value:g} {unit}"
    for scale, prefix in _SI_PREFIXES:
        if abs(value) >= scale * 0.9995:
            break
    return f"{value / scale:#.{digits}g}".rstrip(".") + f" {prefix}{unit}"


def format_time_ns(time_ns: float | None) -> str:
    """A duration given in ns, with the prefix that reads best (e.g. "3.37 ms")."""
    return format_quantity(None if time_ns is None else time_ns * 1e-9, "s")


def format_energy_pj(energy_pj: float | None) -> str:
    """An energy given in pJ, with the prefix that reads best (e.g. "29.2 µJ")."""
    return format_quantity(None if energy_pj is None else energy_pj * 1e-12, "J")
