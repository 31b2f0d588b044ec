"""Reading values out of JSON: dot paths such as ``items.0.name``, and numbers such as ``12,000``.

A leaf: graders, the gateway's routing and the review queue all read outputs through these.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from andon.errors import ConfigError
from andon.messages import t


def split_path(path: str, where: str) -> tuple[str, ...]:
    """``items.0.name`` → its segments; an empty segment is a ConfigError."""
    parts = tuple(path.split("."))
    if any(not p.strip() for p in parts):
        raise ConfigError(t("house2.path.empty_segment", path=path), where=where, hint=t("house2.path.hint"))
    return parts


class MissingPath(LookupError):
    """A dot path leads nowhere; the message names the first segment that is missing.

    ``key`` and ``values`` are the catalogue message (a value ``{"key": …}`` is a message of its own), so a
    grade can keep it and show it in each report's language; ``str()`` is the English.
    """

    def __init__(self, key: str, **values: Any) -> None:
        self.key, self.values = key, values
        super().__init__(self.text("en"))

    def text(self, language: str | None = None) -> str:
        """The message in ``language`` (default: the current one)."""
        shown = {k: t(v["key"], language=language) if isinstance(v, dict) else v for k, v in self.values.items()}
        return t(self.key, language=language, **shown)


_THE_VALUE = {"key": "house2.path.the_value"}


def lookup(data: Any, parts: tuple[str, ...]) -> Any:
    """The value at ``parts`` inside JSON data; list segments are integers (negative counts from the end)."""
    current = data
    for depth, part in enumerate(parts):
        at = ".".join(parts[: depth + 1])
        if isinstance(current, Mapping):
            if part not in current:
                raise MissingPath("house2.path.no_field", at=at)
            current = current[part]
        elif isinstance(current, list):
            try:
                index = int(part)
            except ValueError:
                parent = ".".join(parts[:depth]) or _THE_VALUE
                raise MissingPath("house2.path.not_an_index", at=at, parent=parent, part=part) from None
            if not -len(current) <= index < len(current):
                raise MissingPath("house2.path.no_item", at=at, n=len(current))
            current = current[index]
        else:
            parent = ".".join(parts[:depth]) or _THE_VALUE
            raise MissingPath("house2.path.no_field_in", at=at, parent=parent, kind=_kind(current))
    return current


def _kind(value: Any) -> str | dict[str, str]:
    named = {str: "house2.path.a_string", bool: "house2.path.a_boolean"}.get(type(value))
    if named is not None:
        return {"key": named}
    return "null" if value is None else type(value).__name__


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
