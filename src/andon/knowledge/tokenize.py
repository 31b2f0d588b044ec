"""Korean morphological tokens for BM25: kiwipiepy's morphemes, content words only (nouns, verb and
adjective stems, roots, foreign words, numbers), so 환불은/환불을/환불하다 all match 환불."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from andon.errors import AndonError
from andon.knowledge.chunkers.korean import kiwi
from andon.messages import t

# Kiwi tags kept: general/proper/bound nouns, numerals, verb/adjective stems, roots, Latin, Chinese, numbers.
_KEEP = ("NNG", "NNP", "NNB", "NR", "NP", "VV", "VA", "XR", "SL", "SH", "SN", "MAG")
_NOUNS = frozenset({"NNG", "NNP"})
_lock = threading.Lock()


def tokens(text: str) -> list[str]:
    """The content morphemes of ``text``, lower-cased (Latin words too)."""
    return tokens_many([text])[0]


def tokens_many(texts: Sequence[str]) -> list[list[str]]:
    """:func:`tokens` of each text, in order."""
    try:
        analyser = kiwi()
    except ImportError as exc:
        raise AndonError(t("knowledge.kiwi.missing"), where="knowledge", hint=t("knowledge.kiwi.missing_hint")) from exc
    with _lock:
        analysed = [analyser.tokenize(text) for text in texts]
    return [_terms(toks) for toks in analysed]


def _terms(toks: Sequence[Any]) -> list[str]:
    """Content morphemes, plus each run of touching nouns joined: Kiwi splits 비밀번호 into 비밀 + 번호 in
    one sentence and not in another, and the joined form lets either side match."""
    terms: list[str] = []
    run: list[Any] = []
    for tok in [*toks, None]:
        if tok is not None and tok.tag in _NOUNS and (not run or run[-1].start + run[-1].len == tok.start):
            run.append(tok)
            continue
        if len(run) > 1:
            terms.append("".join(t.form for t in run).lower())
        run = [tok] if tok is not None and tok.tag in _NOUNS else []
    terms[:0] = [tok.form.lower() for tok in toks if tok.tag.startswith(_KEEP)]
    return terms
