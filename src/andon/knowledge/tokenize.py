"""Korean morphological tokens for BM25: kiwipiepy's morphemes, content words only (nouns, verb and
adjective stems, roots, foreign words, numbers), so 환불은/환불을/환불하다 all match 환불."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from andon.errors import AndonError
from andon.knowledge.chunkers.korean import kiwi

# Kiwi tags kept: general/proper/bound nouns, numerals, verb/adjective stems, roots, Latin, Chinese, numbers.
_KEEP = ("NNG", "NNP", "NNB", "NR", "NP", "VV", "VA", "XR", "SL", "SH", "SN", "MAG")
_lock = threading.Lock()


def tokens(text: str) -> list[str]:
    """The content morphemes of ``text``, lower-cased (Latin words too)."""
    return tokens_many([text])[0]


def tokens_many(texts: Sequence[str]) -> list[list[str]]:
    """:func:`tokens` of each text, in order."""
    try:
        analyser = kiwi()
    except ImportError as exc:
        raise AndonError(
            "kiwipiepy is not installed", where="knowledge", hint="pip install 'andon[knowledge]'"
        ) from exc
    with _lock:
        analysed = [analyser.tokenize(text) for text in texts]
    return [[tok.form.lower() for tok in toks if tok.tag.startswith(_KEEP)] for toks in analysed]
