"""`python -m emulator` is the same as the `aimc` command."""

from emulator.entry import entry_point

entry_point()
