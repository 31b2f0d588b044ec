"""The AI's answer as fields a reviewer can see and change one by one, keeping all the others.

>>> answer = {"sentiment": "negative", "reply": "죄송합니다", "meta": {"lang": "ko"}}
>>> [dotted(path) for path, _ in fields(answer)]
['sentiment', 'reply', 'meta.lang']
>>> with_value(answer, ("sentiment",), "neutral")["reply"]
'죄송합니다'
"""

from __future__ import annotations

import copy
import json
from typing import Any

from andon.config.json_values import MissingPath, lookup

FieldPath = tuple[str, ...]  # a field of a JSON answer, segment by segment


def parse_answer(json_value: Any, text: str | None) -> dict[str, Any] | None:
    """The answer as a JSON object: the parsed output, else the text if it holds one; None for other answers."""
    value = json_value
    if value is None and text is not None:
        try:
            value = json.loads(text)
        except ValueError:
            return None
    return value if isinstance(value, dict) else None


def fields(answer: dict[str, Any]) -> list[tuple[FieldPath, Any]]:
    """Every leaf of ``answer`` as (path, value), in the answer's order; empty objects and lists are leaves."""
    out: list[tuple[FieldPath, Any]] = []

    def walk(value: Any, path: FieldPath) -> None:
        if isinstance(value, dict) and (value or not path):
            for key, child in value.items():
                walk(child, (*path, str(key)))
        elif isinstance(value, list) and value:
            for index, child in enumerate(value):
                walk(child, (*path, str(index)))
        else:
            out.append((path, value))

    walk(answer, ())
    return out


def dotted(path: FieldPath) -> str:
    """A path as the dot path graders and reviewers write (``verdict.decision``)."""
    return ".".join(path)


def value_at(answer: Any, path: FieldPath) -> Any:
    """The value at ``path``; raises :class:`MissingPath` when there is none."""
    return lookup(answer, path)


def has_value(answer: Any, path: FieldPath) -> bool:
    """Whether ``answer`` has a value at ``path``."""
    try:
        lookup(answer, path)
    except MissingPath:
        return False
    return True


def with_value(answer: dict[str, Any] | None, path: FieldPath, value: Any) -> dict[str, Any]:
    """A copy of ``answer`` with ``value`` at ``path`` (objects made on the way); every other field is kept."""
    out: dict[str, Any] = copy.deepcopy(answer) if answer is not None else {}
    current: Any = out
    for depth, part in enumerate(path):
        last = depth == len(path) - 1
        if isinstance(current, list):
            index = int(part)  # only paths that exist (as fields() gives them) lead through lists
            if last:
                current[index] = value
            else:
                current = current[index]
            continue
        if last:
            current[part] = value
        else:
            if not isinstance(current.get(part), dict | list):
                current[part] = {}
            current = current[part]
    return out


def parse_field(text: str, current: Any) -> Any:
    """What a reviewer typed for a field: text stays text for a text field (``"…"`` for JSON escapes), else JSON."""
    if isinstance(current, str) and not text.startswith('"'):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text
