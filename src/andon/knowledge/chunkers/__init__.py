"""Chunkers behind one interface and one registry: each cuts a document's Markdown into character spans."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from andon.errors import ConfigError
from andon.knowledge.chunkers.base import Chunker, ChunkerSettings, cover
from andon.messages import t
from andon.plugins import Registry

CHUNKERS = Registry(
    group="andon.chunkers",
    kind="chunker",
    builtins={
        "fixed": "andon.knowledge.chunkers.simple:FixedChunker",
        "recursive": "andon.knowledge.chunkers.simple:RecursiveChunker",
        "markdown": "andon.knowledge.chunkers.simple:MarkdownChunker",
        "table": "andon.knowledge.chunkers.simple:TableChunker",
        "korean-sentence": "andon.knowledge.chunkers.korean:KoreanSentenceChunker",
        "semantic": "andon.knowledge.chunkers.semantic:SemanticChunker",
    },
)
DEFAULT_CHUNKER: dict[str, Any] = {"name": "recursive", "size": 800}


def build_chunker(spec: dict[str, Any], where: str = "chunker") -> Chunker:
    """The chunker ``spec`` names (``{"name": "fixed", "size": 500, "overlap": 50}``), its settings checked."""
    settings = dict(spec)
    name = str(settings.pop("name", ""))
    cls = CHUNKERS.load_class(name, Chunker, where=where)  # type: ignore[type-abstract]  # subclasses are concrete
    try:
        return cls(cls.settings_model.model_validate(settings))
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or name
        raise ConfigError(
            t("knowledge.chunker.bad", name=name, field=field, error=first["msg"]), where=f"{where}.{field}"
        ) from exc


__all__ = ["CHUNKERS", "DEFAULT_CHUNKER", "Chunker", "ChunkerSettings", "build_chunker", "cover"]
