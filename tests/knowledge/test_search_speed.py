"""What the faster search must keep: BM25's dense rows and top-k against the formula and a plain sort, and a
hybrid search with its two sides at once ranking exactly as one done in turn (also when every helper thread is
busy, and when the dense side fails)."""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Sequence

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from andon.knowledge import retrieval
from andon.knowledge.bm25 import BM25, top
from andon.knowledge.retrieval import Index
from andon.store.knowledge import KnowledgeChunk

VOCABULARY = ["환불", "배송", "반품", "포인트", "인증", "비밀번호", "제주", "거래"]
corpora = st.lists(st.lists(st.sampled_from(VOCABULARY), min_size=1, max_size=6), min_size=1, max_size=40)


def formula(documents: Sequence[Sequence[str]], query: Sequence[str], k1: float = 1.5, b: float = 0.75) -> list[float]:
    """BM25 written out per document and term, with nothing precomputed."""
    n, avg = len(documents), sum(map(len, documents)) / len(documents)
    out = []
    for document in documents:
        counts, total = Counter(document), 0.0
        for term in query:
            df = sum(term in d for d in documents)
            if counts[term]:
                idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
                tf = counts[term]
                total += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len(document) / avg))
        out.append(total)
    return out


@settings(max_examples=60, deadline=None)
@given(corpora, st.lists(st.sampled_from([*VOCABULARY, "없음"]), min_size=1, max_size=4))
def test_bm25_dense_rows_and_postings_score_as_the_formula(documents: list[list[str]], query: list[str]) -> None:
    index = BM25(documents)
    assert index.scores(query).tolist() == pytest.approx(formula(documents, query), abs=1e-9)
    # Eight terms over up to 40 documents: most are frequent enough for a dense row, some are not
    assert set(index.dense) | set(index.sparse) == {t for d in documents for t in d}


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([0.0, 0.5, 1.0, 1.5, 2.0]), max_size=60), st.integers(0, 70))
def test_top_is_the_plain_sort_by_score_then_position(values: list[float], depth: int) -> None:
    # Few distinct values: ties at the cut are the rule here, and the earliest positions must win them
    scores = np.array(values, dtype=np.float64)
    expected = sorted(((i, s) for i, s in enumerate(values) if s > 0), key=lambda pair: (-pair[1], pair[0]))
    assert top(scores, depth) == expected[:depth]


class HashEmbedder:
    """A deterministic stand-in: a unit vector per text from its hash (the search path, not the embedding, is
    under test; the real embedder is tested in test_retrieval)."""

    name, dim = "hash-16", 16

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        rows = [np.frombuffer(hashlib.sha256(t.encode()).digest()[:16], dtype=np.uint8) for t in texts]
        matrix = np.array(rows, dtype=np.float32).reshape(-1, self.dim) - 127.5
        return (matrix / np.linalg.norm(matrix, axis=1, keepdims=True)).astype(np.float32)


SENTENCES = [
    "구매 후 7일 이내에 환불을 요청할 수 있습니다.",
    "반품 배송비는 고객이 부담합니다.",
    "휴대폰 인증이 필요합니다.",
    "제주 지역은 배송이 나흘 걸립니다.",
    "포인트는 결제 금액의 1%가 적립됩니다.",
    "거래 후기를 남길 수 있습니다.",
]


def make_index(texts: list[str]) -> Index:
    embedder = HashEmbedder()
    vectors = embedder.embed(texts)
    chunks = [
        KnowledgeChunk(f"c{i}", 0, "kb.md", i, 0, len(text), text, [], {}, vectors[i].tobytes())
        for i, text in enumerate(texts)
    ]
    return Index(chunks, embedder)


def ranking(index: Index, query: str, k: int) -> list[tuple[str, float, int | None, int | None]]:
    return [(h.chunk.id, h.score, h.bm25_rank, h.dense_rank) for h in index.search(query, k, "hybrid")]


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.lists(st.sampled_from(SENTENCES), min_size=1, max_size=3), min_size=1, max_size=30),
    st.sampled_from(["환불 요청", "배송 나흘", "포인트 적립 금액", "인증", "아무것도"]),
    st.integers(1, 8),
)
def test_hybrid_with_both_sides_at_once_ranks_as_in_turn(bodies: list[list[str]], query: str, k: int) -> None:
    index = make_index([" ".join(body) for body in bodies])
    index.concurrent = False
    in_turn = ranking(index, query, k)
    index.concurrent = True
    assert ranking(index, query, k) == in_turn


def test_busy_helpers_run_both_sides_in_turn_and_give_the_same_hits() -> None:
    index = make_index([f"{s} 문서 {i}번" for i, s in enumerate(SENTENCES * 3)])
    at_once = ranking(index, "배송비 부담", 5)
    taken = 0
    while retrieval._side_slots.acquire(blocking=False):  # every helper busy
        taken += 1
    try:
        assert retrieval._side_future(index, "배송비", 5) is None
        assert ranking(index, "배송비 부담", 5) == at_once
    finally:
        for _ in range(taken):
            retrieval._side_slots.release()
    assert taken == retrieval.SIDE_THREADS


def test_a_failing_dense_side_raises_and_frees_its_helper() -> None:
    index = make_index(SENTENCES)

    class Broken(HashEmbedder):
        def embed(self, texts: Sequence[str]) -> np.ndarray:
            raise RuntimeError("embedder down")

    index.embedder = Broken()
    with pytest.raises(RuntimeError, match="embedder down"):
        index.search("환불", 3, "hybrid")
    index.embedder = HashEmbedder()
    free = 0
    while retrieval._side_slots.acquire(blocking=False):
        free += 1
    for _ in range(free):
        retrieval._side_slots.release()
    assert free == retrieval.SIDE_THREADS  # the helper's slot came back
    assert ranking(index, "환불", 3)[0][0] == "c0"
