"""`python -m emulator` is the same as the `aimc` command."""

from emulator.cli import main

main()
