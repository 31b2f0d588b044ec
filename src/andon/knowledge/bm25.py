"""Okapi BM25 over an inverted index in numpy (k1 = 1.5, b = 0.75; idf = ln(1 + (N - df + .5)/(df + .5)))."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

# A term in at least this share of the documents keeps its weights as one dense row: adding a row is a
# contiguous pass, several times faster than scattering as many postings, and costs at most twice the
# memory of the postings it replaces (8 bytes a document against 16 a posting).
DENSE_SHARE = 0.25

Scores = NDArray[np.float64]


class BM25:
    """Scores of every document for a query's tokens; documents are token lists given once."""

    def __init__(self, documents: Sequence[Sequence[str]], k1: float = 1.5, b: float = 0.75) -> None:
        self.n = len(documents)
        self.k1, self.b = k1, b
        lengths = np.array([len(d) for d in documents], dtype=np.float64)
        self.avg = float(lengths.mean()) if self.n else 0.0
        postings: dict[str, tuple[list[int], list[int]]] = {}
        for index, document in enumerate(documents):
            for term, count in Counter(document).items():
                ids, tfs = postings.setdefault(term, ([], []))
                ids.append(index)
                tfs.append(count)
        norm = k1 * (1 - b + b * lengths / self.avg) if self.avg else np.zeros(self.n)
        # Per term, idf × the tf part of the formula, computed once: a query only adds them up. Rare terms as
        # (document ids, weights), frequent ones as a dense row over every document.
        self.sparse: dict[str, tuple[NDArray[np.intp], Scores]] = {}
        self.dense: dict[str, Scores] = {}
        for term, (ids, tfs) in postings.items():
            id_array = np.array(ids, dtype=np.intp)
            tf = np.array(tfs, dtype=np.float64)
            idf = math.log(1 + (self.n - len(ids) + 0.5) / (len(ids) + 0.5))
            weight = idf * (tf * (k1 + 1) / (tf + norm[id_array]))
            if len(ids) >= DENSE_SHARE * self.n:
                row = np.zeros(self.n, dtype=np.float64)
                row[id_array] = weight
                self.dense[term] = row
            else:
                self.sparse[term] = (id_array, weight)

    def scores(self, query: Sequence[str]) -> Scores:
        """One score per document (0 where no query term occurs); a repeated query term counts again."""
        out = np.zeros(self.n, dtype=np.float64)
        for term in query:
            row = self.dense.get(term)
            if row is not None:
                out += row
                continue
            posting = self.sparse.get(term)
            if posting is not None:
                ids, weight = posting
                out[ids] += weight  # ids are distinct within a term: no lost updates
        return out

    def top(self, query: Sequence[str], depth: int) -> list[tuple[int, float]]:
        """``(document, score)`` of the ``depth`` best documents with a score above 0, best first; equal
        scores by position, so a tie at the cut keeps the earliest documents on every run."""
        return top(self.scores(query), depth)


def top(scores: Scores, depth: int) -> list[tuple[int, float]]:
    """The ``depth`` highest positive entries of ``scores`` as ``(position, score)``, by score then position."""
    if scores.size == 0 or depth <= 0:
        return []
    if depth < scores.size:
        # The depth-th highest value: all above it are in, ties at it are taken lowest position first.
        cut = float(np.partition(scores, scores.size - depth)[scores.size - depth])
        above = np.flatnonzero(scores > cut)
        tied = np.flatnonzero(scores == cut)[: depth - above.size]
        chosen = np.concatenate((above, tied))
    else:
        chosen = np.arange(scores.size)
    chosen = chosen[scores[chosen] > 0]
    values = scores[chosen]
    order = np.lexsort((chosen, -values))
    return list(zip(chosen[order].tolist(), values[order].tolist(), strict=True))
