"""Reading values out of JSON: dot paths such as ``items.0.name``, and numbers such as ``12,000``.

A leaf: graders, the gateway's routing and the review queue all read outputs through these.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from andon.errors import ConfigError


def split_path(path: str, where: str) -> tuple[str, ...]:
    """``items.0.name`` → its segments; an empty segment is a ConfigError."""
    parts = tuple(path.split("."))
    if any(not p.strip() for p in parts):
        raise ConfigError(
            f"path {path!r} has an empty segment",
            where=where,
            hint="write a dot path such as decision or items.0.name",
        )
    return parts


class MissingPath(LookupError):
    """A dot path leads nowhere; the message names the first segment that is missing."""


def lookup(data: Any, parts: tuple[str, ...]) -> Any:
    """The value at ``parts`` inside JSON data; list segments are integers (negative counts from the end)."""
    current = data
    for depth, part in enumerate(parts):
        at = ".".join(parts[: depth + 1])
        if isinstance(current, Mapping):
            if part not in current:
                raise MissingPath(f"no field {at!r}")
            current = current[part]
        elif isinstance(current, list):
            try:
                index = int(part)
            except ValueError:
                parent = ".".join(parts[:depth]) or "the value"
                raise MissingPath(f"no field {at!r} ({parent} is a list; {part!r} is not an index)") from None
            if not -len(current) <= index < len(current):
                raise MissingPath(f"no item {at!r} (the list has {len(current)})")
            current = current[index]
        else:
            raise MissingPath(f"no field {at!r} ({'.'.join(parts[:depth]) or 'the value'} is {_kind(current)})")
    return current


def _kind(value: Any) -> str:
    return "null" if value is None else {str: "a string", bool: "a boolean"}.get(type(value), type(value).__name__)


def parse_number(value: Any) -> float | None:
    """A JSON number, or a string holding one (thousands commas allowed: ``12,000``); None otherwise.

    Deliberately strict: ``12,000원`` or ``about 12`` are not numbers, so a model that adds words fails.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip().replace(",", ""))
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None
