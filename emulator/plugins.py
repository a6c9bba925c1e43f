"""Naming your own code in a scenario: `module:attribute` references and installed entry points.

A program, a cost model (and what else a scenario names by string) can be your own: `my_module:thing`
imports `my_module` from the working directory or the Python path and takes its `thing`; a package
may also install it under an entry-point group (`aimc.programs`, `aimc.cost_models`).
"""

from __future__ import annotations

import importlib
import os
import sys
from importlib.metadata import entry_points
from types import ModuleType
from typing import Any


class UnknownReference(LookupError):
    """A `module:attribute` that does not resolve (the message says why)."""

    def __str__(self) -> str:
        return str(self.args[0])


def is_reference(name: str) -> bool:
    """Whether `name` has the `module:attribute` form."""
    module, _, attribute = name.partition(":")
    return bool(module) and bool(attribute)


def import_module(name: str) -> ModuleType:
    """Import a module of the user's, from the working directory or sys.path."""
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        return importlib.import_module(name)
    except ImportError as error:
        raise UnknownReference(f"cannot import module {name!r} ({error}); run from the folder that holds it "
                               "or put it on PYTHONPATH") from None


def load_reference(reference: str) -> Any:
    """The object `module:attribute` names, importing `module` from the working directory or sys.path."""
    module_name, _, attribute = reference.partition(":")
    try:
        module = import_module(module_name)
    except UnknownReference as error:
        raise UnknownReference(f"{reference!r}: {error}") from None
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise UnknownReference(f"{reference!r}: module {module_name!r} has no {attribute!r}") from None


def installed(group: str) -> dict[str, Any]:
    """Entry points of `group` by name (not loaded)."""
    return {point.name: point for point in entry_points(group=group)}
