"""Event-driven hardware: tiles, pulse generation, read path, ADCs, controller and costs."""

from emulator.hardware.aging import TemperatureSchedule, TileAging
from emulator.hardware.commands import (
    Command,
    Digital,
    Parallel,
    ProgramAndVerify,
    PulseCounts,
    PulseTrain,
    Read,
    ReadCells,
    SetPhase,
    SetWeights,
    SignPattern,
    SlowProcessStep,
    Wait,
    WrittenCounts,
)
from emulator.hardware.controller import Controller, Program
from emulator.hardware.costs import COST_MODELS, HardwareCosts, get_cost_model
from emulator.hardware.operations import CellPulses, Operation, OperationStream
from emulator.hardware.pulse_trains import TrainPlan, UpdateParameters, plan_pulse_train
from emulator.hardware.read_path import IOParameters, ReadResult, analog_mvm
from emulator.hardware.resources import ObservedResource
from emulator.hardware.system import Hardware, HardwareSpec, TileSpec
from emulator.hardware.tile import ADCPool, Tile
from emulator.units import ns_to_ps

__all__ = [
    "ADCPool", "CellPulses", "Operation", "OperationStream", "COST_MODELS", "Command", "Controller", "Digital", "Hardware", "HardwareCosts", "HardwareSpec",
    "IOParameters", "ObservedResource", "Parallel", "Program", "ProgramAndVerify", "PulseCounts", "PulseTrain", "Read",
    "ReadCells", "ReadResult", "SetPhase", "SetWeights", "SignPattern", "SlowProcessStep", "TemperatureSchedule", "Tile", "TileAging", "TileSpec", "TrainPlan",
    "UpdateParameters", "Wait", "WrittenCounts", "analog_mvm", "get_cost_model", "ns_to_ps", "plan_pulse_train",
]
