"""Discrete-event emulator of analog in-memory training hardware."""

__version__ = "0.1.0"
