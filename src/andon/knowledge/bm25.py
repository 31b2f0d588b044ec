"""Okapi BM25 over an inverted index in numpy (k1 = 1.5, b = 0.75; idf = ln(1 + (N - df + .5)/(df + .5)))."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray


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
        # Per term: document ids and the precomputed tf part of the formula.
        norm = k1 * (1 - b + b * lengths / self.avg) if self.avg else np.zeros(self.n)
        self.postings: dict[str, tuple[NDArray[np.int64], NDArray[np.float64], float]] = {}
        for term, (ids, tfs) in postings.items():
            id_array = np.array(ids, dtype=np.int64)
            tf = np.array(tfs, dtype=np.float64)
            idf = math.log(1 + (self.n - len(ids) + 0.5) / (len(ids) + 0.5))
            self.postings[term] = (id_array, tf * (k1 + 1) / (tf + norm[id_array]), idf)

    def scores(self, query: Sequence[str]) -> NDArray[np.float64]:
        """One score per document (0 where no query term occurs); a repeated query term counts again."""
        out = np.zeros(self.n, dtype=np.float64)
        for term in query:
            posting = self.postings.get(term)
            if posting is not None:
                ids, weight, idf = posting
                out[ids] += idf * weight
        return out
