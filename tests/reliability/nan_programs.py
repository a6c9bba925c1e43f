"""Controller programs that go non-finite on purpose, for the divergence reports' tests."""

from typing import Any, Generator

import numpy as np

from emulator.hardware import PulseTrain, ReadCells, SetPhase, SetWeights, SignPattern


def poison_cell(ctl: Any, tile: str = "t0", array: str = "W", row: int = 2, col: int = 3,
                pulses_before: int = 5) -> Generator[Any, Any, dict[str, float]]:
    """Pulse a few times, then program one cell to NaN, then pulse on (its reads go NaN)."""
    yield SetPhase("warmup")
    for _ in range(pulses_before):
        yield SignPattern(tile, array, +1)
    weights = yield ReadCells(tile, array)
    values = np.array(weights, dtype=np.float64)
    values[row, col] = np.nan
    yield SetPhase("poison")
    yield SetWeights(tile, array, values)
    yield SignPattern(tile, array, -1)
    final = yield ReadCells(tile, array)
    return {"final_mean_weight": float(np.mean(final))}


def nan_gradient(ctl: Any, tile: str = "t0", array: str = "W") -> Generator[Any, Any, dict[str, float]]:
    """A pulse train whose errors d hold an infinity (a digital back-end that overflowed)."""
    yield SetPhase("train")
    rows, cols = ctl.tile_shape(tile)
    x = np.ones((1, cols))
    d = np.zeros((1, rows))
    d[0, 1] = np.inf
    yield PulseTrain(tile, array, x, d, learning_rate=0.1)
    return {"done": 1.0}


def nan_metric(ctl: Any, tile: str = "t0", array: str = "W") -> Generator[Any, Any, dict[str, float]]:
    """Arrays stay finite; a digital metric goes NaN at step 3."""
    yield SetPhase("train")
    for step in range(5):
        yield SignPattern(tile, array, +1)
        ctl.metric("loss", float("nan") if step >= 3 else 1.0 / (step + 1), step)
    return {"done": 1.0}
