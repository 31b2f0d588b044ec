"""The cache key: which variables identify a request, hashed exactly, and the free text that is embedded."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, TemplateSyntaxError, meta

from andon.config.schema import Step
from andon.versions.canonical import canonical_json

_IMAGE_PREFIXES = ("data:", "http://", "https://")


@dataclass(frozen=True, slots=True)
class RequestKey:
    """A request as the cache sees it: exact hash, stored text, the free text to embed, and its scope."""

    key_hash: str  # sha256 of the canonical cache-key variables
    text: str  # canonical JSON of those variables, images replaced by their sha256 (kept in the store)
    free_text: str  # the text variables, embedded for the semantic match ("" = exact only)
    scope: str  # sha256 of everything else (images, numbers, flags): must be equal for a semantic hit


def request_key(
    variables: Mapping[str, Any],
    fields: Sequence[str] | None = None,
    image_names: frozenset[str] = frozenset(),
    reads: frozenset[str] | None = None,
) -> RequestKey:
    """The cache key of ``variables`` (images by content hash).

    Without ``fields`` every variable is in the key and the text ones are embedded. With ``fields`` only
    those are embedded; every other variable the versions read (``reads``; None = any, as for a Python
    step) must match exactly: a rating outside ``fields`` still separates two reviews' replies.
    """
    if fields:
        extra = set(variables) if reads is None else set(variables) & reads
        names = list(dict.fromkeys([*fields, *sorted(extra - set(fields))]))
    else:
        names = sorted(variables)
    kept = {name: _keyable(variables.get(name), name in image_names) for name in names}
    return key_from_text(canonical_json(kept), image_names, fields)


def scoped_key_hash(feature: str, version_id: str, tenant: str, key: RequestKey, api_key_id: str = "") -> str:
    """The stored exact key: sha256 of the scope and the variables, so one indexed column finds an entry."""
    return _sha256(canonical_json([feature, version_id, tenant, api_key_id, key.key_hash]))


def key_from_text(
    text: str, image_names: frozenset[str] = frozenset(), fields: Sequence[str] | None = None
) -> RequestKey:
    """Rebuild a :class:`RequestKey` from its stored text (how the index reads rows back)."""
    kept: dict[str, Any] = json.loads(text)
    free = {
        name: value
        for name, value in kept.items()
        if isinstance(value, str)
        and name not in image_names
        and not value.startswith(_IMAGE_PREFIXES)
        and (not fields or name in fields)
    }
    rest = {name: value for name, value in kept.items() if name not in free}
    if len(free) == 1:
        free_text = next(iter(free.values()))
    else:  # several text fields: each keeps its name, so swapping two fields' values changes the text
        free_text = "\n".join(f"{name}: {value}" for name, value in sorted(free.items()))
    return RequestKey(
        key_hash=_sha256(text), text=text, free_text=free_text.strip(), scope=_sha256(canonical_json(rest))
    )


def _keyable(value: Any, is_image: bool) -> Any:
    if isinstance(value, bytes | bytearray):
        return {"sha256": hashlib.sha256(bytes(value)).hexdigest()}
    if is_image and isinstance(value, str):
        return {"sha256": _sha256(value)}
    try:
        canonical_json(value)
    except (TypeError, ValueError):
        return {"repr_sha256": _sha256(repr(value))}
    return value


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def variables_read(steps: Sequence[Step]) -> frozenset[str] | None:
    """Every variable the steps' templates and images name; None when a step may read any (Python)."""
    names: set[str] = set()
    environment = Environment()
    for step in steps:
        if step.python is not None:
            return None
        names.update(step.images)
        for source in (step.system, step.prompt):
            if source is None:
                continue
            try:
                names.update(meta.find_undeclared_variables(environment.parse(source)))
            except TemplateSyntaxError:  # rendering will report it; here, assume it may read anything
                return None
    return frozenset(names)
