"""`python -m emulator` is the same as the `aimc` command."""

from emulator.cli import entry_point

entry_point()
