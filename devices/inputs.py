"""What every input model of the project shares (device configs here; scenarios, cost models,
read paths, programs and budgets in emulator/): unknown keys are refused, numbers must be finite,
and types are strict (no `true` for an integer, no `2.5` for a count, no `"8"` for a number).

A validator that checks several fields together raises `FieldError` naming the field to blame,
so the message carries that field's path as the user wrote it.
"""

from __future__ import annotations

from pydantic import ConfigDict

INPUT_CONFIG = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, use_attribute_docstrings=True)
"""Model config of mutable input models."""
FROZEN_INPUT_CONFIG = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, use_attribute_docstrings=True,
                                 frozen=True)
"""Model config of immutable input models (devices, read paths, pulse trains, cost models)."""


class FieldError(ValueError):
    """A problem of one field found by a validator of the whole model; `field` is its name."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
