"""Scenario documents: reading TOML or YAML files, `--set dotted.key=value` overrides, and input
problems as (field path, reason) pairs."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]


class ScenarioError(Exception):
    """Invalid scenario input: a list of (field path, reason)."""

    def __init__(self, problems: list[tuple[str, str]], subject: str = "scenario") -> None:
        self.problems = problems
        self.subject = subject
        """What was invalid, for the message ("scenario", "budget study")."""
        super().__init__("; ".join(f"{path}: {reason}" for path, reason in problems))

    def format(self) -> str:
        return "\n".join(f"  {path or f'<{self.subject}>'}: {reason}" for path, reason in self.problems)


def read_document(path: str | Path) -> dict[str, Any]:
    """Parse a TOML or YAML file into a dict; errors become ScenarioError."""
    path = Path(path)
    if not path.exists():
        raise ScenarioError([("", f"file not found: {path}")])
    if path.is_dir():
        raise ScenarioError([("", f"{path} is a directory, not a scenario file")])
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ScenarioError([("", f"cannot read {path}: {error}")]) from None
    suffix = path.suffix.lower()
    if suffix not in (".toml", ".yaml", ".yml", ""):
        raise ScenarioError([("", f"{path}: scenario files are TOML (.toml) or YAML (.yaml, .yml), "
                                  f"not {suffix}")])
    kind = "YAML" if suffix in (".yaml", ".yml") else "TOML"
    try:
        document = yaml.safe_load(text) if kind == "YAML" else tomllib.loads(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as error:
        raise ScenarioError([("", f"malformed {kind} in {path}: {error}")]) from None
    except RecursionError:
        raise ScenarioError([("", f"{path} is nested too deeply to read ({kind})")]) from None
    if not isinstance(document, dict):
        raise ScenarioError([("", f"{path} must contain a table/mapping at the top level")])
    return document


def parse_assignment(assignment: str) -> tuple[list[str], Any]:
    """'a.b.c=value' → (['a','b','c'], value); the value is read as a TOML literal when it is one."""
    if "=" not in assignment:
        raise ScenarioError([(assignment, "--set needs the form dotted.key=value")])
    key, raw = assignment.split("=", 1)
    keys = key.strip().split(".")
    if not key.strip():
        raise ScenarioError([(assignment, "--set needs a key before '='")])
    if any(not part.strip() for part in keys):
        raise ScenarioError([(assignment, f"--set key {key.strip()!r} has an empty part between dots")])
    try:
        value = tomllib.loads(f"value = {raw.strip()}")["value"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    return keys, value


def apply_overrides(document: dict[str, Any], assignments: list[str]) -> dict[str, Any]:
    """A copy of `document` with every dotted.key=value assignment applied."""
    document = copy.deepcopy(document)
    for assignment in assignments:
        keys, value = parse_assignment(assignment)
        node = document
        for key in keys[:-1]:
            child = node.get(key)
            if child is None:
                child = node[key] = {}
            if not isinstance(child, dict):
                raise ScenarioError([(".".join(keys), f"{key!r} is not a table, cannot set a field inside it")])
            node = child
        node[keys[-1]] = value
    return document


def _error_path(location: tuple[Any, ...]) -> str:
    parts = [str(part) for part in location
             if not (isinstance(part, str) and (part.endswith("Config") or part.startswith("function-")))]
    return ".".join(parts)


def problems_of(error: ValidationError, prefix: str = "") -> list[tuple[str, str]]:
    """(field path, reason) pairs of a pydantic error, paths prefixed with `prefix`."""
    problems = []
    for item in error.errors():
        location = _error_path(tuple(item["loc"]))
        cause = item.get("ctx", {}).get("error")
        field = getattr(cause, "field", None)  # a FieldError of a whole-model validator
        if field:
            location = ".".join(part for part in (location, field) if part)
        path = ".".join(part for part in (prefix, location) if part)
        message = item["msg"]
        if message.startswith("Value error, "):
            message = message[len("Value error, "):]
        if field is None and item["type"] not in ("missing", "extra_forbidden") and _shows_value(item.get("input")):
            message += f" (got {_shown(item['input'])})"
        problems.append((path, message))
    return problems


def _shows_value(value: Any) -> bool:
    return isinstance(value, (bool, int, float, str)) or value is None


def _shown(value: Any) -> str:
    """The offending value as the user wrote it (TOML-like), shortened."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, float) and value != value:
        text = "nan"
    else:
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
