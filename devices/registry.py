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
from typing import Annotated, Any, Callable, TypeVar

from pydantic import BaseModel, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from devices.config import PulsedDeviceConfig
from devices.response import StepLaw

ConfigT = TypeVar("ConfigT", bound=PulsedDeviceConfig)
BaseModelT = TypeVar("BaseModelT", bound=BaseModel)

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


def registry_validator(models: Mapping[str, type[BaseModelT]], tag: str) -> Callable[[object], BaseModelT]:
    """A validation function for "any model of `models`, chosen by the value of its `tag` field",
    looked up when called, so models registered later validate too; instances pass through."""
    def validate(data: object) -> BaseModelT:
        if any(isinstance(data, model) for model in models.values()):
            return data  # type: ignore[return-value]
        if not isinstance(data, Mapping):
            raise PydanticCustomError("model_attributes_type",
                                      "Input should be a valid dictionary or object to extract fields from")
        if tag not in data:
            raise PydanticCustomError("union_tag_not_found", "Unable to extract tag using discriminator {tag}",
                                      {"tag": repr(tag)})
        model = models.get(data[tag]) if isinstance(data[tag], str) else None
        if model is None:
            raise PydanticCustomError(
                "union_tag_invalid",
                "Input tag {found} found using {tag} does not match any of the expected tags: {expected_tags}",
                {"found": repr(data[tag]), "tag": repr(tag), "expected_tags": ", ".join(repr(name) for name in models)})
        return model.model_validate(data)

    return validate


def registry_type(base: type[BaseModelT], models: Mapping[str, type[BaseModelT]], tag: str) -> Any:
    """`Annotated[base, …]` validated by `registry_validator` and described (JSON schema) as the
    tagged union of the registry of the moment."""
    class _Registered:
        registry = models
        """The models this type accepts (read by documentation generators)."""

        @classmethod
        def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
            return core_schema.no_info_plain_validator_function(registry_validator(models, tag))

        @classmethod
        def __get_pydantic_json_schema__(cls, schema: core_schema.CoreSchema,
                                         handler: GetJsonSchemaHandler) -> JsonSchemaValue:
            choices = {name: model.__pydantic_core_schema__ for name, model in models.items()}
            return handler(core_schema.tagged_union_schema(choices, discriminator=tag))

    return Annotated[base, _Registered]


validate_device = registry_validator(DEVICE_MODELS, "model")
"""A config from a dict naming its `model` (looked up now, in the registry), or a config itself."""

DeviceConfig = registry_type(PulsedDeviceConfig, DEVICE_MODELS, "model")
"""Any registered device configuration, selected by its `model` field when validated."""
