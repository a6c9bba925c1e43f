"""A controller program of your own, run from a scenario that names it `my_programs:staircase`."""

from emulator.hardware import ReadCells, SetPhase, SignPattern


def staircase(ctl, tile: str = "t0", array: str = "W", steps: int = 20, reads: int = 1):
    """Pulse every cell up `steps` times, reading the array after each pulse."""
    yield SetPhase("characterization")
    mean = 0.0
    for step in range(steps):
        yield SignPattern(tile, array, +1)
        weights = yield ReadCells(tile, array, repeats=reads)
        mean = float(weights.mean())
        ctl.metric("mean_weight", mean, step)
    return {"steps": steps, "final_mean_weight": mean}
