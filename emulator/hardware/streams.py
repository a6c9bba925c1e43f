"""Every random stream of a run, as named children of its seed, derived in one place.

The seed's `SeedSequence` spawns one child per tile (in tile order; each tile then spawns one per
array and one for its pulse trains and reads, then one per drifting array), then one for the controller (the program's own
stream), then one for ground truth (what a harness may draw that the hardware must not see, e.g.
the read a budget scan estimates). Runs are reproducible bit for bit and independent of how many
runs execute in parallel.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np

SeedLike = int | np.random.SeedSequence | None


@dataclass(frozen=True)
class RunStreams:
    """The named children of a run's seed."""

    root: np.random.SeedSequence
    tiles: dict[str, np.random.SeedSequence]
    controller: np.random.SeedSequence
    truth: np.random.SeedSequence

    @classmethod
    def of(cls, seed: SeedLike, tile_names: Iterable[str]) -> "RunStreams":
        root = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        names = list(tile_names)
        children = root.spawn(len(names) + 2)
        return cls(root, dict(zip(names, children)), children[len(names)], children[len(names) + 1])
