"""Controller programs: experiments, calibration and training algorithms.

Importing this package registers every built-in program with `emulator.registry`.
"""

from emulator.algorithms import pulse_response  # noqa: F401

__all__ = ["pulse_response"]
