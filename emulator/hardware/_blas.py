"""BLAS on one thread while the emulator runs.

The emulator's matrix products are small (a tile's reads: batch × ≤ 1024 inputs against its
weights), and its pulse runs already share large updates with a helper thread of their own
(devices/_parallel.py). OpenBLAS's default pool (one thread per core) gains little on such
products on a quiet machine and stalls badly on a loaded one: a 16×512 by 512×512 product took
7–18 ms with 2 threads against 0.46 ms with one, at load 8 on the 2-core machine
(benchmarks/RESULTS.md). `Controller.run` therefore limits the BLAS pool to one thread for the
run and restores it after. The pools are found by a `ThreadpoolController` (≈ 1.5 ms) at the start
of the first run and again at its end (a library loaded lazily during it, such as scipy's OpenBLAS,
is then known); later runs reuse it, and setting and restoring the limit costs ≈ 7 µs per run
instead of ≈ 0.5 ms. A BLAS library first loaded after the first run is not limited.
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator

_CONTROLLER: list[Any] = []
_SCANS = [0]


@contextlib.contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Limit the BLAS thread pools to one thread inside the block."""
    if not _CONTROLLER:
        from threadpoolctl import ThreadpoolController
        _CONTROLLER.append(ThreadpoolController())
        _SCANS[0] = 1
    limits: Any = _CONTROLLER[0].limit(limits=1, user_api="blas")
    try:
        yield
    finally:
        limits.restore_original_limits()
        if _SCANS[0] == 1:  # once more after the first run: libraries it loaded
            _SCANS[0] = 2
            _CONTROLLER[0] = type(_CONTROLLER[0])()
