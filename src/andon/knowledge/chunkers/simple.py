"""Fixed-size with overlap, recursive by structure, Markdown-header aware and table-preserving chunkers."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import Any

from pydantic import Field, model_validator

from andon.knowledge.chunkers.base import SEPARATORS, Chunker, ChunkerSettings, Spans, merge, recursive


class FixedSettings(ChunkerSettings):
    """Fixed windows of ``size`` characters, each sharing ``overlap`` characters with the one before."""

    overlap: int = Field(default=0, ge=0, description="Characters shared by neighbouring chunks.")

    @model_validator(mode="after")
    def _smaller(self) -> FixedSettings:
        if self.overlap >= self.size:
            raise ValueError(f"overlap ({self.overlap}) must be smaller than size ({self.size})")
        return self


class FixedChunker(Chunker):
    """Windows of ``size`` characters stepping by ``size - overlap``; blind to structure (the baseline)."""

    name = "fixed"
    settings_model = FixedSettings

    def split(self, text: str, blocks: Sequence[dict[str, Any]]) -> Spans:
        """Windows until the end of the text is reached."""
        assert isinstance(self.settings, FixedSettings)
        size, step = self.settings.size, self.settings.size - self.settings.overlap
        spans: Spans = []
        start = 0
        while start < len(text):
            end = min(start + size, len(text))
            spans.append((start, end))
            if end == len(text):
                break
            start += step
        return spans


class RecursiveChunker(Chunker):
    """Headings, then paragraphs, lines, sentences, words: the coarsest cut that makes pieces fit."""

    name = "recursive"

    def split(self, text: str, blocks: Sequence[dict[str, Any]]) -> Spans:
        """Recursive split of the whole text."""
        return recursive(text, 0, len(text), self.settings.size)


class MarkdownChunker(Chunker):
    """No chunk crosses a heading: each section is split on its own (recursively when too long)."""

    name = "markdown"

    def split(self, text: str, blocks: Sequence[dict[str, Any]]) -> Spans:
        """Sections from the heading blocks, each split recursively."""
        starts = sorted({0, *(int(b["start"]) for b in blocks if b["kind"] == "heading")})
        bounds = [*starts, len(text)]
        spans: Spans = []
        for a, b in pairwise(bounds):
            spans += recursive(text, a, b, self.settings.size, SEPARATORS[1:])
        return spans


class TableChunker(Chunker):
    """Like ``recursive``, but a table that fits is never cut; a longer one is cut between its rows only."""

    name = "table"

    def split(self, text: str, blocks: Sequence[dict[str, Any]]) -> Spans:
        """Tables as units (rows when too long), the text between them split recursively, then merged."""
        size = self.settings.size
        units: Spans = []
        cursor = 0
        for block in sorted((b for b in blocks if b["kind"] == "table"), key=lambda b: int(b["start"])):
            start, end = int(block["start"]), int(block["end"])
            units += recursive(text, cursor, start, size)
            units += recursive(text, start, end, size, SEPARATORS[2:])  # line breaks = rows first
            cursor = end
        units += recursive(text, cursor, len(text), size)
        return merge(units, size)
