"""The concrete workloads: least squares ([W25] toy), teacher–student regression, 8×8 digits.

Each declares, once (`@workload`), its pydantic parameter model (`kind` selects it), its layers
(from the parameters alone) and a builder that returns a `Workload`. All data are generated or
loaded locally (scikit-learn's bundled digits; no downloads) and seeded, so the same parameters
give the same data on every run.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, BeforeValidator, Field

from devices.inputs import INPUT_CONFIG
from emulator.workloads.base import Activation, BiasPlacement, LayerSpec, Workload, activate, append_bias, tile_name
from emulator.workloads.registry import WorkloadParams, workload


def _bias_placement(value: Any) -> Any:
    """true/false of older scenario files mean an analog bias column / no bias."""
    if isinstance(value, bool):
        return "analog" if value else "none"
    return value


Bias = Annotated[BiasPlacement, BeforeValidator(_bias_placement)]
"""Bias placement: "analog" (constant-1 input column; `true`), "digital" (a controller vector
trained by floating-point SGD, the reference simulator's default), "none" (`false`)."""


class _Strict(BaseModel):
    model_config = INPUT_CONFIG


class LeastSquaresParams(_Strict):
    """Linear least squares min_W ½‖W·x − W*·x‖² over a fixed data set (SPEC §7.4, [W25] toy).

    One tile of `rows` × `inputs` (default 100 × 50, D = 50). Targets come from a random
    teacher matrix W* ~ U(±target_scale) plus optional noise, so the optimum loss is known.
    """

    kind: Literal["least_squares"] = "least_squares"
    inputs: Annotated[int, Field(gt=0, le=4096)] = 50
    """Input dimension D (tile columns)."""
    rows: Annotated[int, Field(gt=0, le=4096)] = 100
    """Output dimension (tile rows)."""
    samples: Annotated[int, Field(gt=0, le=1_000_000)] = 1000
    """Training samples (the test set has samples // 4 more from the same distribution)."""
    target_scale: Annotated[float, Field(gt=0)] = 0.3
    """Entries of the teacher W* are uniform in ±target_scale."""
    input_distribution: Literal["gaussian", "uniform"] = "gaussian"
    """x ~ N(0, 1) or U(−1, 1) per component."""
    noise_std: Annotated[float, Field(ge=0)] = 0.0
    """Gaussian label noise."""
    data_seed: Annotated[int, Field(ge=0)] = 0


class TeacherStudentParams(_Strict):
    """Regression onto the outputs of a fixed random teacher network of the student's shape."""

    kind: Literal["teacher_student"] = "teacher_student"
    inputs: Annotated[int, Field(gt=0, le=4096)] = 16
    hidden: list[Annotated[int, Field(gt=0, le=4096)]] = Field(default_factory=lambda: [16])
    outputs: Annotated[int, Field(gt=0, le=4096)] = 4
    activation: Activation = "tanh"
    bias: Bias = "analog"
    train_samples: Annotated[int, Field(gt=0, le=1_000_000)] = 1000
    test_samples: Annotated[int, Field(gt=0, le=1_000_000)] = 250
    teacher_scale: Annotated[float, Field(gt=0)] = 1.5
    """Teacher weights are U(±teacher_scale/√fan_in)."""
    noise_std: Annotated[float, Field(ge=0)] = 0.0
    data_seed: Annotated[int, Field(ge=0)] = 0


class DigitsParams(_Strict):
    """Classification of scikit-learn's bundled 8×8 digits (1797 images) with an FCN."""

    kind: Literal["digits"] = "digits"
    hidden: list[Annotated[int, Field(gt=0, le=4096)]] = Field(default_factory=lambda: [32])
    """Hidden layer widths (default 64-32-10)."""
    activation: Activation = "sigmoid"
    bias: Bias = "analog"
    """Bias of every layer: "analog" (an extra constant-1 input column, `true`), "digital"
    (floating-point in the controller, as the reference simulator's `digital_bias`), "none"."""
    test_fraction: Annotated[float, Field(gt=0, lt=1)] = 0.3
    split_seed: Annotated[int, Field(ge=0)] = 0
    """Seed of the stratified train/test split."""
    train_subset: Annotated[int, Field(gt=0)] | None = None
    """Use only this many training images (fast tests)."""


def _layers(sizes: list[int], activation: Activation, bias: BiasPlacement) -> list[LayerSpec]:
    """Dense layers for widths [in, h1, …, out]; the last layer is linear."""
    count = len(sizes) - 1
    return [
        LayerSpec(tile_name(i), sizes[i], sizes[i + 1], bias, activation if i < count - 1 else "identity")
        for i in range(count)
    ]


DIGITS_INPUTS = 64
"""Pixels of scikit-learn's 8×8 digits."""
DIGITS_CLASSES = 10


def least_squares_layers(params: LeastSquaresParams) -> list[LayerSpec]:
    """One linear layer without bias: rows × inputs."""
    return [LayerSpec(tile_name(0), params.inputs, params.rows, "none", "identity")]


def teacher_student_layers(params: TeacherStudentParams) -> list[LayerSpec]:
    return _layers([params.inputs, *params.hidden, params.outputs], params.activation, params.bias)


def digits_layers(params: DigitsParams) -> list[LayerSpec]:
    """64-`hidden`-10 (the images' pixels and classes are fixed, so no data is loaded)."""
    return _layers([DIGITS_INPUTS, *params.hidden, DIGITS_CLASSES], params.activation, params.bias)


@workload(LeastSquaresParams, least_squares_layers)
def least_squares(params: LeastSquaresParams) -> Workload:
    """The [W25] least-squares toy (SPEC §7.4)."""
    rng = np.random.default_rng(params.data_seed)
    teacher = rng.uniform(-params.target_scale, params.target_scale, size=(params.rows, params.inputs))
    test_samples = max(1, params.samples // 4)

    def draw(n: int) -> np.ndarray:
        if params.input_distribution == "gaussian":
            return rng.standard_normal((n, params.inputs))
        return rng.uniform(-1.0, 1.0, size=(n, params.inputs))

    x_train, x_test = draw(params.samples), draw(test_samples)
    y_train = x_train @ teacher.T + params.noise_std * rng.standard_normal((params.samples, params.rows))
    y_test = x_test @ teacher.T + params.noise_std * rng.standard_normal((test_samples, params.rows))
    # Optimum of the empirical loss (with noise the teacher is not exactly optimal).
    gram = x_train.T @ x_train
    solution = np.linalg.solve(gram + 1e-12 * np.trace(gram) * np.eye(params.inputs), x_train.T @ y_train)
    residual = x_train @ solution - y_train
    optimum = float(0.5 * np.mean(np.sum(residual * residual, axis=1)))
    workload = Workload(
        name="least_squares", task="regression",
        layers=least_squares_layers(params),
        x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test, optimum_loss=optimum,
        reference_weights=[solution.T],
    )
    workload.info["teacher_norm"] = float(np.linalg.norm(teacher))
    return workload


@workload(TeacherStudentParams, teacher_student_layers)
def teacher_student(params: TeacherStudentParams) -> Workload:
    """Student FCN regressing a random teacher FCN of the same shape."""
    rng = np.random.default_rng(params.data_seed)
    layers = teacher_student_layers(params)
    # The teacher has a bias column wherever the student has a bias (analog or digital).
    teacher = [rng.uniform(-1.0, 1.0, size=(layer.outputs, layer.inputs + int(layer.bias != "none")))
               * params.teacher_scale / np.sqrt(layer.inputs) for layer in layers]

    def labels(x: np.ndarray) -> np.ndarray:
        a = x
        for layer, w in zip(layers, teacher):
            a = activate((append_bias(a) if layer.bias != "none" else a) @ w.T, layer.activation)
        return a + params.noise_std * rng.standard_normal(a.shape)

    x_train = rng.uniform(-1.0, 1.0, size=(params.train_samples, params.inputs))
    x_test = rng.uniform(-1.0, 1.0, size=(params.test_samples, params.inputs))
    return Workload(
        name="teacher_student", task="regression", layers=layers,
        x_train=x_train, y_train=labels(x_train), x_test=x_test, y_test=labels(x_test),
        optimum_loss=0.0 if params.noise_std == 0 else None, reference_weights=teacher,
    )


@workload(DigitsParams, digits_layers)
def digits(params: DigitsParams) -> Workload:
    """8×8 digits (pixels scaled to [0, 1]) with a stratified, seeded train/test split."""
    from emulator.workloads.digits_data import load_digits, stratified_split

    images, labels = load_digits()
    x = images.astype(np.float64) / 16.0
    y = labels.astype(np.int64)
    train, test = stratified_split(y, params.test_fraction, params.split_seed)
    x_train, x_test, y_train, y_test = x[train], x[test], y[train], y[test]
    if params.train_subset is not None:
        x_train, y_train = x_train[:params.train_subset], y_train[:params.train_subset]
    assert x.shape[1] == DIGITS_INPUTS and int(y.max()) + 1 == DIGITS_CLASSES
    return Workload(
        name="digits", task="classification", layers=digits_layers(params),
        x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test, classes=DIGITS_CLASSES,
    )


"""Any workload's parameters, selected by `kind` (derived from the registered kinds)."""

