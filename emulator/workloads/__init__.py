"""Training workloads: least squares ([W25] toy), teacher–student regression, 8×8 digits FCN.

Layer `l` of a workload lives on tile `layer{l}` (rows = outputs, cols = inputs + bias). Each
kind is declared once (`emulator.workloads.registry`); `workload_layers` gives its layers
without generating or loading data, `build_workload` the whole workload.
"""

from emulator.workloads.base import (
    LayerSpec,
    Workload,
    activate,
    activation_derivative,
    append_bias,
    softmax,
    tile_name,
)
from emulator.workloads.hardware import hardware_toml, layer_tile_problems, training_hardware
from emulator.workloads.problems import (
    DigitsParams,
    LeastSquaresParams,
    TeacherStudentParams,
    WorkloadParams,
    digits,
    least_squares,
    teacher_student,
)
from emulator.workloads.registry import WORKLOAD_KINDS, WorkloadKind, build_workload, workload, workload_layers

__all__ = [
    "WORKLOAD_KINDS", "DigitsParams", "LayerSpec", "LeastSquaresParams", "TeacherStudentParams", "Workload",
    "WorkloadKind", "WorkloadParams", "activate", "activation_derivative", "append_bias", "build_workload",
    "digits", "hardware_toml", "layer_tile_problems", "least_squares", "softmax", "teacher_student", "tile_name", "training_hardware",
    "workload", "workload_layers",
]
