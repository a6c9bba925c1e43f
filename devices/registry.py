"""The device registry: each model is declared once, by its config class, and registered by name.

A device model is a `PulsedDeviceConfig` subclass whose `model: Literal["Name"] = "Name"`
field names it and whose class attribute `law` names its `StepLaw`. `register_device(Config)`
(a call or a class decorator) adds it; `DEVICE_MODELS` (a read-only live view), the
`DeviceConfig` validation type and `law_for` all read from here, so a model registered later
(by a user's module, or in a test) validates from a scenario dict like a built-in one.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping
from types import MappingProxyType
from typing import Annotated, Any, TypeVar

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from devices.config import PulsedDeviceConfig
from devices.response import StepLaw

ConfigT = TypeVar("ConfigT", bound=PulsedDeviceConfig)

_MODELS: dict[str, type[PulsedDeviceConfig]] = {}

DEVICE_MODELS: Mapping[str, type[PulsedDeviceConfig]] = MappingProxyType(_MODELS)
"""Registered config classes by model name, in registration order (a live, read-only view)."""


def model_name(config_class: type[PulsedDeviceConfig]) -> str:
    """The name a config class declares in its `model: Literal["Name"] = "Name"` field."""
    field = config_class.model_fields.get("model")
    if field is None or not isinstance(field.default, str) or typing.get_args(field.annotation) != (field.default,):
        raise TypeError(f"{config_class.__name__} needs a field `model: Literal[\"Name\"] = \"Name\"`")
    return field.default


def register_device(config_class: type[ConfigT]) -> type[ConfigT]:
    """Register a device model (usable as a class decorator); returns the class.

    The class must subclass PulsedDeviceConfig, name its model (see `model_name`) and set
    `law` to a StepLaw subclass. Registering a name twice is an error unless it is the same class.
    """
    if not (isinstance(config_class, type) and issubclass(config_class, PulsedDeviceConfig)):
        raise TypeError(f"{config_class!r} is not a PulsedDeviceConfig subclass")
    name = model_name(config_class)
    law = config_class.law
    if not (isinstance(law, type) and issubclass(law, StepLaw)):
        raise TypeError(f"{config_class.__name__}.law must be a StepLaw subclass, not {law!r}")
    known = _MODELS.get(name)
    if known is not None and known is not config_class:
        raise ValueError(f"device model {name!r} is already registered by {known.__name__}")
    _MODELS[name] = config_class
    return config_class


def unregister_device(name: str) -> type[PulsedDeviceConfig]:
    """Remove a registered model (e.g. at the end of a test); returns its config class."""
    try:
        return _MODELS.pop(name)
    except KeyError:
        raise KeyError(f"no device model {name!r} is registered") from None


def law_for(config: PulsedDeviceConfig) -> StepLaw[Any]:
    """The step law of a device configuration: the law its class declares."""
    law = type(config).law
    if law is None:
        raise TypeError(f"no step law for device config {type(config).__name__}")
    return law(config)


def validate_device(data: object) -> PulsedDeviceConfig:
    """A config from a dict naming its `model` (looked up now, in the registry), or a config itself."""
    if isinstance(data, PulsedDeviceConfig):
        return data
    if not isinstance(data, Mapping):
        raise PydanticCustomError("model_attributes_type",
                                  "Input should be a valid dictionary or object to extract fields from")
    if "model" not in data:
        raise PydanticCustomError("union_tag_not_found", "Unable to extract tag using discriminator 'model'")
    config_class = _MODELS.get(data["model"]) if isinstance(data["model"], str) else None
    if config_class is None:
        raise PydanticCustomError(
            "union_tag_invalid",
            "Input tag {tag} found using 'model' does not match any of the expected tags: {expected_tags}",
            {"tag": repr(data["model"]), "expected_tags": ", ".join(repr(name) for name in _MODELS)})
    return config_class.model_validate(data)


class _RegisteredDevice:
    """Pydantic hook of `DeviceConfig`: validation and JSON schema from the registry of the moment."""

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(validate_device)

    @classmethod
    def __get_pydantic_json_schema__(cls, schema: core_schema.CoreSchema,
                                     handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        choices = {name: model.__pydantic_core_schema__ for name, model in _MODELS.items()}
        return handler(core_schema.tagged_union_schema(choices, discriminator="model"))


DeviceConfig = Annotated[PulsedDeviceConfig, _RegisteredDevice]
"""Any registered device configuration, selected by its `model` field when validated."""
