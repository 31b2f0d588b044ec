"""Semantic chunking: cut where the meaning moves on. Kiwipiepy's sentences are embedded with the offline
embedder; a cut falls where the similarity of two neighbouring sentences drops by at least the ``percentile``
of the document's own drops, once the chunk holds ``min_size`` characters, and always before ``size``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from pydantic import Field, model_validator

from andon.embeddings import Embedder
from andon.knowledge.chunkers.base import SEPARATORS, Chunker, ChunkerSettings, Spans, cover, recursive
from andon.knowledge.chunkers.korean import sentence_starts


class SemanticSettings(ChunkerSettings):
    """``size`` as every chunker; where similarity drops count as topic changes, and the shortest chunk."""

    percentile: float = Field(
        default=90.0, ge=0.0, le=100.0, description="Cut at drops at or above this percentile of the document's."
    )
    min_size: int = Field(default=100, ge=0, description="Fewest characters before a cut at a similarity drop.")

    @model_validator(mode="after")
    def _smaller(self) -> SemanticSettings:
        if self.min_size >= self.size:
            raise ValueError(f"min_size ({self.min_size}) must be smaller than size ({self.size})")
        return self


class SemanticChunker(Chunker):
    """Sentences grouped by meaning: a new chunk where the next sentence is least like the one before."""

    name = "semantic"
    settings_model = SemanticSettings

    def __init__(self, settings: ChunkerSettings, embedder: Embedder | None = None) -> None:
        super().__init__(settings)
        self._embedder = embedder

    @property
    def embedder(self) -> Embedder:
        """The embedder given, else the process-wide offline one (loaded on first use)."""
        if self._embedder is None:
            from andon.embeddings import default_embedder

            self._embedder = default_embedder()
        return self._embedder

    def units(self, text: str, blocks: Sequence[dict[str, Any]]) -> Spans:
        """Sentences (and block starts) as spans; one longer than ``size`` is cut at clause ends or whitespace."""
        size = self.settings.size
        cuts = [*sentence_starts(text), *(int(b["start"]) for b in blocks)]
        units: Spans = []
        for a, b in cover(text, cuts):
            units += recursive(text, a, b, size, SEPARATORS[3:]) if b - a > size else [(a, b)]
        return units

    def drops(self, text: str, units: Spans) -> list[float]:
        """``1 - cosine`` between each unit and the next (``len(units) - 1`` values)."""
        if len(units) < 2:
            return []
        # A unit of whitespace only (a blank line between blocks) is embedded as is: it then looks like nothing.
        vectors = self.embedder.embed([text[a:b].strip() or text[a:b] for a, b in units])
        similarity = np.einsum("ij,ij->i", vectors[:-1], vectors[1:]).astype(np.float64)
        return [float(1.0 - s) for s in similarity]

    def split(self, text: str, blocks: Sequence[dict[str, Any]]) -> Spans:
        """Units joined in order; a chunk ends at a big enough drop (once ``min_size`` long) or before ``size``."""
        assert isinstance(self.settings, SemanticSettings)
        size, least = self.settings.size, self.settings.min_size
        units = self.units(text, blocks)
        drops = self.drops(text, units)
        threshold = float(np.percentile(drops, self.settings.percentile)) if drops else 0.0
        spans: Spans = []
        for index, (start, end) in enumerate(units):
            if not spans:
                spans.append((start, end))
                continue
            first, last = spans[-1]
            topic_changes = drops[index - 1] >= threshold and drops[index - 1] > 0.0 and last - first >= least
            if topic_changes or end - first > size:
                spans.append((start, end))
            else:
                spans[-1] = (first, end)
        return spans
