"""A knowledge base's content hash for version ids: the workspace that owns the store registers the lookup,
so a ``retrieve`` step's id changes whenever its documents or chunker do."""

from __future__ import annotations

from collections.abc import Callable

_resolver: Callable[[str], str | None] | None = None


def set_knowledge_resolver(resolver: Callable[[str], str | None] | None) -> None:
    """Register how a knowledge base name becomes its content hash (the last workspace opened wins)."""
    global _resolver
    _resolver = resolver


def knowledge_hash(name: str) -> str:
    """The content hash of ``name``; "missing" when no such base, "unresolved" with no store registered."""
    if _resolver is None:
        return "unresolved"
    return _resolver(name) or "missing"
