"""Training workloads: least squares ([W25] toy), teacher–student regression, 8×8 digits FCN.

Layer `l` of a workload lives on tile `layer{l}` (rows = outputs, cols = inputs + bias).
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
from emulator.workloads.hardware import hardware_toml, training_hardware
from emulator.workloads.problems import (
    DigitsParams,
    LeastSquaresParams,
    TeacherStudentParams,
    WorkloadParams,
    build_workload,
    digits,
    least_squares,
    teacher_student,
)

__all__ = [
    "DigitsParams", "LayerSpec", "LeastSquaresParams", "TeacherStudentParams", "Workload",
    "WorkloadParams", "activate", "activation_derivative", "append_bias", "build_workload", "digits",
    "hardware_toml", "least_squares", "softmax", "teacher_student", "tile_name", "training_hardware",
]
