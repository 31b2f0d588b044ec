"""Korean sentence-aware chunking: sentences from kiwipiepy's splitter (which knows 다/요 endings without a
full stop), joined up to the size limit; a block boundary is always a possible cut."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from functools import cache
from typing import Any

from andon.knowledge.chunkers.base import SEPARATORS, Chunker, Spans, cover, merge, recursive

_lock = threading.Lock()


@cache
def kiwi() -> Any:
    """One Kiwi per process (its model is read from the kiwipiepy-model wheel, ~1 s)."""
    from kiwipiepy import Kiwi

    return Kiwi()


def sentence_starts(text: str) -> list[int]:
    """Offsets where kiwipiepy's sentences begin."""
    if not text.strip():
        return []
    with _lock:  # Kiwi is not documented as thread-safe
        sentences = kiwi().split_into_sents(text)
    return [int(s.start) for s in sentences]


class KoreanSentenceChunker(Chunker):
    """Whole sentences per chunk where they fit; an over-long sentence is cut at whitespace."""

    name = "korean-sentence"

    def split(self, text: str, blocks: Sequence[dict[str, Any]]) -> Spans:
        """Sentence and block starts as cut points, then merged greedily."""
        size = self.settings.size
        cuts = [*sentence_starts(text), *(int(b["start"]) for b in blocks)]
        units: Spans = []
        for a, b in cover(text, cuts):
            units += recursive(text, a, b, size, SEPARATORS[3:]) if b - a > size else [(a, b)]
        return merge(units, size)
