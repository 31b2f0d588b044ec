"""The chunker interface and the span helpers its implementations share."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from itertools import pairwise
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

Spans = list[tuple[int, int]]


class ChunkerSettings(BaseModel):
    """Every chunker's settings: the most characters a chunk may hold."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    size: int = Field(default=800, ge=20, le=100_000, description="Most characters per chunk.")


class Chunker(ABC):
    """Cuts ``text`` (a document's Markdown) into spans, given its blocks (kind, start, end, section)."""

    name: ClassVar[str]
    settings_model: ClassVar[type[ChunkerSettings]] = ChunkerSettings

    def __init__(self, settings: ChunkerSettings) -> None:
        self.settings = settings

    def spec(self) -> dict[str, Any]:
        """Name and settings (part of a knowledge base's content hash)."""
        return {"name": self.name, **self.settings.model_dump()}

    @abstractmethod
    def split(self, text: str, blocks: Sequence[dict[str, Any]]) -> Spans:
        """Spans ``(start, end)`` in order, covering ``text``; none longer than ``settings.size``."""


def cover(text: str, cuts: Sequence[int]) -> Spans:
    """Contiguous spans of ``text`` between ``cuts`` (sorted, deduplicated, inside the text)."""
    points = sorted({0, len(text), *(c for c in cuts if 0 < c < len(text))})
    return [(a, b) for a, b in pairwise(points)]


def hard(a: int, b: int, size: int) -> Spans:
    """``[a, b)`` cut every ``size`` characters: the last resort."""
    return [(s, min(s + size, b)) for s in range(a, b, size)]


def merge(units: Spans, size: int) -> Spans:
    """Greedily join neighbouring contiguous units while the result stays within ``size``."""
    out: Spans = []
    for start, end in units:
        if out and end - out[-1][0] <= size:
            out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


# Coarse to fine: a heading line, a blank line, a line break, a sentence end, any whitespace.
SEPARATORS: tuple[re.Pattern[str], ...] = (
    re.compile(r"\n(?=#{1,6} )"),
    re.compile(r"\n{2,}"),
    re.compile(r"\n"),
    re.compile(r"(?<=[.!?。？！])\s+"),
    re.compile(r"\s+"),
)


def recursive(text: str, a: int, b: int, size: int, separators: Sequence[re.Pattern[str]] = SEPARATORS) -> Spans:
    """Split ``[a, b)`` at the coarsest separator that occurs, recursing into pieces still too long, then merge."""
    if b - a <= size:
        return [(a, b)] if b > a else []
    for index, pattern in enumerate(separators):
        cuts = [m.end() for m in pattern.finditer(text, a, b) if a < m.end() < b]
        if cuts:
            points = [a, *cuts, b]
            units: Spans = []
            for s, e in pairwise(points):
                units += recursive(text, s, e, size, separators[index + 1 :]) if e - s > size else [(s, e)]
            return merge(units, size)
    return hard(a, b, size)
