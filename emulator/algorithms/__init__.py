"""Controller programs: experiments, calibration and training algorithms.

Importing this package registers every built-in program with `emulator.registry`.
"""

from emulator.algorithms import calibration, pulse_response  # noqa: F401
from emulator.algorithms import residual, rider, sgd, tiki_taka  # noqa: F401

__all__ = ["calibration", "pulse_response", "residual", "rider", "sgd", "tiki_taka"]
