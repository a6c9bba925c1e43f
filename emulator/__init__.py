"""Discrete-event emulator of analog in-memory training hardware."""

__version__ = "0.1.0"

DEFAULT_COST_MODEL = "neurosim-reram-50ns"
"""The cost model a scenario, budget or CLI command uses unless it names another."""
