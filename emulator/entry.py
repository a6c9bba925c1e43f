"""The process entry point of `aimc` and `python -m emulator`."""

from __future__ import annotations

import gc

from emulator.cli import main


def entry_point() -> None:
    """`main`, then exit without the interpreter's final garbage collection. That collection walks
    every object numba and the run created, ≈0.2 s of each command, and frees nothing a finished
    command needs: `gc.freeze()` moves them all out of its reach. Only for a process that ends
    here; tests call `main` itself."""
    try:
        main()
    finally:
        gc.freeze()
