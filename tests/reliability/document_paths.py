"""The dotted key paths of a scenario document, for fuzz tests that mutate one field."""

from __future__ import annotations


def document_paths(document: object, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every key path in a nested mapping, parents before children."""
    found = [prefix] if prefix else []
    if isinstance(document, dict):
        for key, value in document.items():
            found += document_paths(value, prefix + (key,))
    return found
