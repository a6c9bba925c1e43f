"""Controller programs: experiments, calibration and training algorithms.

Each module registers its programs with `emulator.registry` when imported; the registry names
every built-in program and its module (`BUILTIN_PROGRAMS`) and imports a module only when one of
its programs is asked for.
"""
