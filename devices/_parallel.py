"""A helper thread that shares large pulse-run updates with the calling thread.

An update is split into equal ranges of cells (chunks). The calling thread takes chunks from
the front, the helper from the back; each chunk draws its own c2c normals (positions of the
counter-based stream fixed by the chunk, devices/_random.py) and applies them, in compiled
code that releases the GIL, so both cores work. Chunks touch disjoint cells and their draws do
not depend on which thread makes them, so the result does not depend on timing.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import numpy as np

#: Pulse-run updates of at least this many pulses are shared with the helper thread, in CHUNKS
#: equal ranges of cells.
PARALLEL_MIN_PULSES = 1 << 16
CHUNKS = 16

_HELPER_POOL: list[ThreadPoolExecutor] = []


class _ChunkClaims:
    """Chunks 0..n−1 handed out once each, from the front (this thread) or the back (helper)."""

    def __init__(self, count: int) -> None:
        self._lock = threading.Lock()
        self._front, self._back = 0, count - 1

    def take(self, from_back: bool) -> int | None:
        """The next unclaimed chunk from that end, or None when all are taken."""
        with self._lock:
            if self._front > self._back:
                return None
            if from_back:
                self._back -= 1
                return self._back + 1
            self._front += 1
            return self._front - 1


def helper_pool() -> ThreadPoolExecutor:
    """One helper thread per process for pulse runs (created on first use)."""
    if not _HELPER_POOL:
        _HELPER_POOL.append(ThreadPoolExecutor(max_workers=1, thread_name_prefix="pulse-runs"))
    return _HELPER_POOL[0]


def apply_chunks(apply: Callable[[int], None], count: int) -> None:
    """Run `apply(i)` once for every chunk i < count on two threads (this one from the front,
    the helper from the back)."""
    claims = _ChunkClaims(count)

    def apply_from_the_back() -> None:
        while (index := claims.take(from_back=True)) is not None:
            apply(index)

    helper = helper_pool().submit(apply_from_the_back)
    while (index := claims.take(from_back=False)) is not None:
        apply(index)
    helper.result()
