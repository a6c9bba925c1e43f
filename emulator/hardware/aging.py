"""Time-dependent physics of a tile's arrays, applied lazily from the elapsed simulated time.

Nothing runs while a tile is idle: at the next access (`Tile.age()`, before every operation) the
arrays are brought up to the present in one step each, in closed form: the slow processes
(decay, diffusion: `DeviceArray.apply_slow_processes`, one step per `slow_process_step_ns`),
then the drift of symmetric points and references (`devices.DriftProcess`, Gaussian increments
over the elapsed time), then the operating point the temperature schedule gives now (it only
acts on pulses, so applying it at the access is exact).
"""

from __future__ import annotations

from typing import Annotated, Any, Mapping

from pydantic import BaseModel, Field, field_validator

from devices import DeviceArray, DriftProcess
from devices.inputs import FROZEN_INPUT_CONFIG
from emulator.units import ns_to_ps, ps_to_s


class TemperatureSchedule(BaseModel):
    """The chip's operating point over simulated time, as a staircase of temperature offsets
    (kelvin from the point the devices were characterized and calibrated at; 0 before the first
    step). It scales the steps of arrays whose drift has `step_up_per_kelvin`/`step_down_per_kelvin`."""

    model_config = FROZEN_INPUT_CONFIG

    steps_ns_kelvin: list[tuple[Annotated[float, Field(ge=0, allow_inf_nan=False)],
                                Annotated[float, Field(ge=-300.0, le=300.0, allow_inf_nan=False)]]] = Field(
        default_factory=list)
    """(time in ns, offset in kelvin, within ±300 K) pairs in increasing time: from that time on, that offset."""

    @field_validator("steps_ns_kelvin", mode="before")
    @classmethod
    def _pairs_as_tuples(cls, steps: Any) -> Any:
        """TOML and --set give the pairs as arrays: read them as tuples (their numbers stay strict)."""
        if isinstance(steps, list):
            return [tuple(step) if isinstance(step, list) else step for step in steps]
        return steps

    @field_validator("steps_ns_kelvin")
    @classmethod
    def _increasing(cls, steps: list[tuple[float, float]]) -> list[tuple[float, float]]:
        times = [time for time, _ in steps]
        if any(later <= earlier for earlier, later in zip(times, times[1:])):
            raise ValueError("times must increase strictly")
        return steps

    def kelvin_at(self, time_ps: int) -> float:
        """The temperature offset at simulated time `time_ps`."""
        kelvin = 0.0
        for time_ns, value in self.steps_ns_kelvin:
            if ns_to_ps(time_ns) > time_ps:
                break
            kelvin = value
        return kelvin


class TileAging:
    """The time-dependent processes of one tile's arrays and the time they were last applied."""

    def __init__(self, arrays: Mapping[str, DeviceArray], slow_process_step_ps: int | None = None,
                 drift: Mapping[str, DriftProcess] | None = None,
                 temperature: TemperatureSchedule | None = None) -> None:
        processes = list((drift or {}).values())
        self.slow_process_step_ps = slow_process_step_ps
        self.slow = [array for array in arrays.values()
                     if array.config.lifetime > 0 or array.config.diffusion > 0] if slow_process_step_ps else []
        """Arrays whose decay and diffusion run on the simulated-time clock."""
        self.drifting = [process for process in processes if process.config.moves_sp or process.config.moves_reference]
        self.temperature = temperature
        self.heated = [process for process in processes if process.config.temperature_sensitive] if temperature else []
        self.active = bool(self.slow or self.drifting or self.heated)
        self.aged_ps = 0
        """Simulated time (ps) the arrays have been brought up to."""
        self._set_temperature(0)

    def advance(self, now_ps: int) -> None:
        """Bring every process up to `now_ps` (a no-op if nothing ages or no time has passed)."""
        if not self.active or now_ps <= self.aged_ps:
            return
        elapsed_ps = now_ps - self.aged_ps
        if self.slow and self.slow_process_step_ps:
            steps = elapsed_ps / self.slow_process_step_ps
            for array in self.slow:
                array.apply_slow_processes(steps)
        for process in self.drifting:
            process.advance(ps_to_s(elapsed_ps))
        self._set_temperature(now_ps)
        self.aged_ps = int(now_ps)

    def _set_temperature(self, now_ps: int) -> None:
        if self.temperature is not None:
            kelvin = self.temperature.kelvin_at(now_ps)
            for process in self.heated:
                process.set_temperature(kelvin)
