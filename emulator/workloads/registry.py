"""The workload kinds: each declares its parameter model, its layers and its builder once.

`build_workload`, `workload_layers` and the `WorkloadParams` type (selected by `kind` when
validated) derive from this table, so adding a workload is one `@workload(...)` declaration. A kind's `layers`
needs only its parameters (no data is generated or loaded), which is what validating a
scenario or generating its hardware section uses; `build` makes the whole `Workload`.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Callable, Generic, TypeVar

from pydantic import BaseModel

from devices.registry import registry_type

from emulator.workloads.base import LayerSpec, Workload

P = TypeVar("P", bound=BaseModel)


@dataclass(frozen=True)
class WorkloadKind(Generic[P]):
    """One workload kind: its parameters, its layers (from the parameters alone) and its data."""

    kind: str
    """The value of the parameter model's `kind` field that selects it."""
    params_model: type[P]
    layers: Callable[[P], list[LayerSpec]]
    """The network's layers, one tile each, without generating or loading any data."""
    build: Callable[[P], Workload]
    """The whole workload (data, loss, scores); its layers are `layers(params)`."""


WORKLOAD_KINDS: dict[str, WorkloadKind[Any]] = {}
_PARAMS_MODELS: dict[str, type[BaseModel]] = {}

WorkloadParams = registry_type(BaseModel, MappingProxyType(_PARAMS_MODELS), "kind")
"""Any registered workload's parameters, selected by `kind` when validated (kinds registered
later validate too)."""


def workload(params_model: type[P], layers: Callable[[P], list[LayerSpec]]
             ) -> Callable[[Callable[[P], Workload]], Callable[[P], Workload]]:
    """Register the decorated builder for `params_model`, whose `kind` field's default names it."""
    kind = params_model.model_fields["kind"].default
    if not isinstance(kind, str):
        raise TypeError(f"{params_model.__name__} needs a `kind` field with a string default")

    def register(build: Callable[[P], Workload]) -> Callable[[P], Workload]:
        WORKLOAD_KINDS[kind] = WorkloadKind(kind, params_model, layers, build)
        _PARAMS_MODELS[kind] = params_model
        return build

    return register


def _entry(params: Any) -> WorkloadKind[Any]:
    try:
        return WORKLOAD_KINDS[params.kind]
    except KeyError:
        raise KeyError(f"unknown workload kind {params.kind!r}; known: {', '.join(WORKLOAD_KINDS)}") from None


def workload_layers(params: BaseModel) -> list[LayerSpec]:
    """The layers (tile names and shapes) the parameters describe, without any data."""
    return _entry(params).layers(params)


def build_workload(params: BaseModel) -> Workload:
    """The workload the parameters describe (its data generated or loaded)."""
    return _entry(params).build(params)
