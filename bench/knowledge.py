"""Knowledge bases: ingestion pages/s per format, chunking + indexing chunks/s, query p50/p99 of BM25, dense
and hybrid search at N chunks through ``Index.search`` (dense vectors there are random unit vectors so the
index can be large without embedding it all; the query is embedded for real; from 20,000 chunks the dense
side is andon.vectors' usearch HNSW graph), hybrid split into its parts (query embedding, dense search,
BM25, fusion; BM25 also scored as before 2026-12-07 for a ratio), hybrid with its two sides at once against in
turn on each query, the dense side's p50/p99 and recall@50/@5 against exact search at ef 64/96/128/192, and
both again on clustered vectors (bench/ann.py's 500 centres, as real embeddings cluster; graph cached as
the random one), and recall@5 / MRR@5 of each
chunker and retrieval mode on a help-centre corpus with one labelled answer sentence per question; and a peer
on that corpus and those questions in the same run: LangChain's text splitters with a FAISS flat
inner-product index over the same offline embedder (recall@5, MRR@5 and query p50/p99 beside andon's).

    nice -n 10 .venv/bin/python -m bench.knowledge [--chunks 100000] [--docs 30] [--queries 200] [--out FILE]
        [--parts ingestion,quality,peer,index]

The peer needs ``langchain-text-splitters`` and ``faiss-cpu`` (bench only, not andon dependencies).

The synthetic chunks' Kiwi tokens and the HNSW graph over their vectors are kept in ``bench/out``
(``knowledge-tokens-*.pkl``, ``knowledge-vectors-*``) and reused by later runs with the same chunks; the
first run tokenises each distinct 4-sentence body once and each chunk's numbered suffix apart (checked
equal, as BM25 term counts, to tokenising whole chunks on a sample), so setup takes about a minute plus
the graph build, not the 10 minutes of tokenising 100,000 chunks one by one. What is timed is unchanged.

A page is a PDF page (or an HWP/HWPX/DOCX/HTML/CSV/Markdown file's extracted text per 1,800 characters, a
manuscript page, since those formats carry no page breaks the parsers keep).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import pickle
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from tests.knowledge.makers import hwp_bytes, hwpx_bytes, pdf_bytes

from andon.embeddings import default_embedder
from andon.evals.retrieval import Relevant, figures
from andon.knowledge.bm25 import BM25
from andon.knowledge.ingest import add_paths
from andon.knowledge.parsers import parse_file
from andon.knowledge.retrieval import CANDIDATES, MODES, Hit, Index, fuse, load_index, search
from andon.knowledge.tokenize import tokens_many
from andon.store import Store
from andon.store.knowledge import KnowledgeChunk
from andon.vectors import VectorIndex, exact_search
from bench.ann import dataset as ann_dataset
from bench.knowledge_corpus import documents, questions

PAGE_CHARS = 1800
# Sizes fit the corpus (articles of about 380 characters, sections of about 90): a size near the whole
# article would leave one chunk per article and nothing for the chunkers to differ on.
CHUNKERS: dict[str, dict[str, Any]] = {
    "fixed-100-overlap-20": {"name": "fixed", "size": 100, "overlap": 20},
    "fixed-60-overlap-0": {"name": "fixed", "size": 60, "overlap": 0},
    "recursive-120": {"name": "recursive", "size": 120},
    "markdown-120": {"name": "markdown", "size": 120},
    "korean-sentence-100": {"name": "korean-sentence", "size": 100},
    "semantic-120": {"name": "semantic", "size": 120, "min_size": 40, "percentile": 70},
}
# The peer's splitters, sized as andon's recursive-120 and fixed-100-overlap-20 (characters, as andon's).
PEER_SIZE, PEER_OVERLAP = 120, 20

SENTENCES = [
    "구매 후 7일 이내에 환불을 요청할 수 있습니다.", "반품 배송비는 고객이 부담합니다.",
    "설정 메뉴에서 비밀번호를 바꿀 수 있습니다.", "휴대폰 인증이 필요합니다.", "제주 지역은 배송이 나흘 걸립니다.",
    "동네 인증을 하면 근처 거래를 볼 수 있습니다.", "거래 후기는 삼 일 안에 남길 수 있습니다.",
    "채팅에서 신고 버튼을 누르면 운영팀이 확인합니다.", "포인트는 결제 금액의 1%가 적립됩니다.",
]  # fmt: skip


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 3),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 3),
    }


def _docx(paragraphs: list[str]) -> bytes:
    import docx

    document = docx.Document()
    document.add_heading("도움말", level=1)
    for n, text in enumerate(paragraphs):
        if n % 9 == 0:
            document.add_heading(f"제{n // 9 + 1}절", level=2)
        document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def ingestion(docs: int) -> dict[str, Any]:
    """Documents/s and pages/s of each parser on generated files (the tests' makers, made larger)."""
    body = SENTENCES * 20  # 180 sentences, about 4 manuscript pages of text
    samples: dict[str, bytes] = {
        "md": ("# 도움말\n\n" + "\n\n".join(body)).encode(),
        "html": ("<nav>메뉴</nav><main><h1>도움말</h1>" + "".join(f"<p>{s}</p>" for s in body) + "</main>").encode(),
        "csv": ("질문,답변\n" + "".join(f"q{i},{s}\n" for i, s in enumerate(body))).encode("cp949"),
        "docx": _docx(body),
        "hwpx": hwpx_bytes(),  # the makers' small HWPX (a heading, a paragraph, a table)
        "pdf": pdf_bytes([f"Refund policy page {n}: returns within 7 days of purchase." for n in range(10)]),
        "hwp": hwp_bytes(body, [["항목", "기간"], ["의류", "7일"]]),
    }
    out: dict[str, Any] = {}
    for suffix, data in samples.items():
        parsed = parse_file(Path(f"x.{suffix}"), data)
        markdown, _ = parsed.layout()
        pages = parsed.pages or max(1.0, len(markdown) / PAGE_CHARS)
        start = time.perf_counter()
        for _ in range(docs):
            parse_file(Path(f"x.{suffix}"), data)
        elapsed = time.perf_counter() - start
        out[suffix] = {
            "docs_per_s": round(docs / elapsed, 1),
            "pages_per_doc": round(pages, 2),
            "pages_per_s": round(docs * pages / elapsed, 1),
            "page": "PDF page" if parsed.pages else f"{PAGE_CHARS} characters",
        }
    return out


CACHE = Path("bench/out")
TOKEN_CHECK = 200  # whole chunks tokenised to check the composed tokens


def corpus(chunks: int) -> tuple[list[str], list[str]]:
    """The synthetic chunks as (body, suffix): four help-centre sentences, then " 문서 N번"."""
    rng = np.random.default_rng(0)
    bodies = [" ".join(rng.choice(SENTENCES, size=4)) for _ in range(chunks)]
    return bodies, [f" 문서 {i}번" for i in range(chunks)]


def tokenised_corpus(
    bodies: list[str], suffixes: list[str], cache: Path | None
) -> tuple[list[list[str]], dict[str, Any]]:
    """Kiwi tokens of each chunk (body + suffix): from ``cache`` when a run kept them, else composed from
    each distinct body's tokens and the suffix's, then checked on a sample of whole chunks."""
    texts = [b + s for b, s in zip(bodies, suffixes, strict=True)]
    digest = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:16]
    path = cache / f"knowledge-tokens-{len(texts)}-{digest}.pkl" if cache else None
    start = time.perf_counter()
    if path is not None and path.exists():
        with path.open("rb") as handle:
            return pickle.load(handle), {"tokens": "cached", "setup_s": round(time.perf_counter() - start, 1)}
    distinct = sorted(set(bodies))
    by_body = dict(zip(distinct, tokens_many(distinct), strict=True))
    tokenised = [by_body[b] + t for b, t in zip(bodies, tokens_many(suffixes), strict=True)]
    rng = np.random.default_rng(2)
    sample = rng.choice(len(texts), size=min(TOKEN_CHECK, len(texts)), replace=False).tolist()
    whole = tokens_many([texts[i] for i in sample])
    # BM25 counts terms, so equal multisets give equal postings
    mismatched = sum(Counter(w) != Counter(tokenised[i]) for i, w in zip(sample, whole, strict=True))
    if mismatched:
        raise RuntimeError(
            f"composed Kiwi tokens differ from whole-chunk tokens on {mismatched} of {len(sample)} chunks"
        )
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            pickle.dump(tokenised, handle, protocol=pickle.HIGHEST_PROTOCOL)
    info = {"tokens": f"composed from {len(distinct)} distinct bodies, checked on {len(sample)} whole chunks"}
    return tokenised, {**info, "setup_s": round(time.perf_counter() - start, 1)}


def indexing(chunks: int, cache: Path | None = CACHE) -> tuple[dict[str, Any], list[str], list[list[str]]]:
    """Chunking + storing on SQLite, Kiwi tokens/s (on 1,000 whole chunks) and building BM25 for ``chunks``
    synthetic chunks."""
    bodies, suffixes = corpus(chunks)
    texts = [b + s for b, s in zip(bodies, suffixes, strict=True)]
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        docs = root / "docs"
        docs.mkdir()
        per_file = 200
        for n in range(0, min(chunks, 2000), per_file):
            (docs / f"d{n}.md").write_text(
                "\n\n".join(f"# 제{i}조\n\n{t}" for i, t in enumerate(texts[n : n + per_file]))
            )
        with Store.open(f"sqlite:///{root / 'k.db'}") as store:
            start = time.perf_counter()
            report = add_paths(store, "bench", [docs], chunker={"name": "markdown", "size": 400})
            add_s = time.perf_counter() - start
    tokens_many(texts[:2])  # Kiwi's model loaded before timing
    sample = texts[: min(1000, chunks)]
    start = time.perf_counter()
    tokens_many(sample)
    tok_s = time.perf_counter() - start
    tokenised, setup = tokenised_corpus(bodies, suffixes, cache)
    start = time.perf_counter()
    BM25(tokenised)
    bm25_s = time.perf_counter() - start
    embedder = default_embedder()
    embedded = texts[:2000]
    embedder.embed(embedded[:8])  # weights loaded before timing
    start = time.perf_counter()
    for n in range(0, len(embedded), 64):
        embedder.embed(embedded[n : n + 64])
    embed_s = time.perf_counter() - start
    return (
        {
            "embed_chunks_per_s": round(len(embedded) / embed_s, 1),
            "store_chunks_per_s": round(report.chunks / add_s, 1),
            "stored_chunks": report.chunks,
            "kiwi_tokens_chunks_per_s": round(len(sample) / tok_s, 1),
            "bm25_build_s": round(bm25_s, 3),
            "corpus_tokens": setup,
        },
        texts,
        tokenised,
    )


def _vectors(matrix: np.ndarray[Any, np.dtype[np.float32]], cache: Path | None) -> tuple[VectorIndex, dict[str, Any]]:
    """The vector index over ``matrix`` (ids 0..n-1): loaded from ``cache`` and synced when a run saved it,
    else built (and saved)."""
    digest = hashlib.sha256(matrix[:: max(1, len(matrix) // 64)].tobytes()).hexdigest()[:16]
    path = cache / f"knowledge-vectors-{len(matrix)}-{digest}" if cache else None
    start = time.perf_counter()
    index = VectorIndex.load(path, matrix.shape[1]) if path is not None else None
    how = "loaded and synced" if index is not None else "built"
    index = index if index is not None else VectorIndex(matrix.shape[1])
    added, _ = index.sync(np.arange(len(matrix)), matrix)
    if path is not None and added:
        index.save(path)
    return index, {
        "vector_index": how,
        "vector_index_s": round(time.perf_counter() - start, 1),
        "approximate": index.approximate,
    }


def _split(index: Index, query: str, k: int, before: dict[str, Any]) -> tuple[dict[str, float], list[Hit]]:
    """Hybrid search done part by part, one after the other, each part timed (seconds); and BM25 as it was
    scored before 2026-12-07 (``before``: the old per-query idf product, scatter and full sort of 50)."""
    depth = max(k, CANDIDATES)
    assert index.embedder is not None and index.vectors is not None
    t0 = time.perf_counter()
    vector = index.embedder.embed([query])[0]
    t1 = time.perf_counter()
    ids, sims = index.vectors.search(vector, depth)
    dense = sorted(
        ((index.positions[key], float(sim)) for key, sim in zip(ids.tolist(), sims.tolist(), strict=True)),
        key=lambda pair: (-pair[1], pair[0]),
    )
    t2 = time.perf_counter()
    bm25 = index.ranked(query, "bm25", depth)
    t3 = time.perf_counter()
    fused = fuse([[i for i, _ in bm25], [i for i, _ in dense]])[:k]
    hits = [Hit(index.chunks[i], score, None, None) for i, score in fused]
    t4 = time.perf_counter()
    old = _bm25_before(before, index.bm25.n, query, depth)
    t5 = time.perf_counter()
    if sorted(s for _, s in old) != sorted(s for _, s in bm25):
        raise RuntimeError(f"BM25 scores differ from the old scoring on {query!r}")
    timed = {"embedding": t1 - t0, "dense search": t2 - t1, "bm25": t3 - t2, "fusion": t4 - t3}
    return {**timed, "bm25 as before (reference)": t5 - t4}, hits


def _postings_before(bm25: BM25) -> dict[str, Any]:
    """The postings as the BM25 before 2026-12-07 kept them: per term (ids, tf part, idf)."""
    out: dict[str, Any] = {}
    for term, row in bm25.dense.items():
        ids = np.flatnonzero(row).astype(np.int64)
        out[term] = (ids, row[ids], 1.0)
    for term, (ids, weight) in bm25.sparse.items():
        out[term] = (ids.astype(np.int64), weight, 1.0)
    return out


def _bm25_before(postings: dict[str, Any], n: int, query: str, depth: int) -> list[tuple[int, float]]:
    """BM25's top ``depth`` as scored before 2026-12-07 (the code of then, on these postings)."""
    from andon.knowledge.tokenize import tokens

    scores = np.zeros(n, dtype=np.float64)
    for term in tokens(query):
        posting = postings.get(term)
        if posting is not None:
            ids, weight, idf = posting
            scores[ids] += idf * weight
    depth = min(depth, scores.size)
    candidates = np.argpartition(-scores, depth - 1)[:depth]
    ordered = sorted(candidates.tolist(), key=lambda i: (-scores[i], i))
    return [(int(i), float(scores[i])) for i in ordered if scores[i] > 0]


def _recall(found: list[Any], truth: list[Any], k: int) -> float:
    return round(statistics.fmean(len(set(f[:k]) & set(t[:k])) / k for f, t in zip(found, truth, strict=True)), 4)


def dense_side(
    vectors: VectorIndex, matrix: np.ndarray[Any, Any], asked: np.ndarray[Any, Any], depth: int, k: int
) -> dict[str, Any]:
    """p50/p99 of ``VectorIndex.search`` for the top ``depth`` and its recall@depth and @k against exact search,
    at the graph's ef and a few others (the index's own setting restored after)."""
    ids = np.arange(len(matrix))
    truth = [exact_search(matrix, ids, q, depth)[0].tolist() for q in asked]
    own = vectors.expansion_search
    out: dict[str, Any] = {}
    try:
        for ef in sorted({64, 96, own, 192}):
            vectors.expansion_search = ef
            vectors.search(asked[0], depth)
            found, samples = [], []
            for q in asked:
                t0 = time.perf_counter()
                keys, _ = vectors.search(q, depth)
                samples.append(time.perf_counter() - t0)
                found.append(keys.tolist())
            label = f"ef {ef}" + (" (andon's)" if ef == own else "")
            out[label] = {**_percentiles(samples), f"recall@{depth}": _recall(found, truth, depth),
                          f"recall@{k}": _recall(found, truth, k)}  # fmt: skip
    finally:
        vectors.expansion_search = own
    return out


class _InDistribution:
    """The real embedder's work per query, then the clustered set's vector of that query in place of its
    output: hybrid timed end to end on vectors shaped like real embeddings (a real query vector against
    clustered chunks would be an outlier, as on random vectors)."""

    def __init__(self, real: Any, vectors: dict[str, np.ndarray[Any, Any]]) -> None:
        self.real, self.vectors = real, vectors
        self.name, self.dim = real.name, real.dim

    def embed(self, texts: list[str]) -> np.ndarray[Any, Any]:
        self.real.embed(texts)
        return np.asarray([self.vectors[text] for text in texts], dtype=np.float32)


def _hybrid_both_ways(index: Index, asked: list[str], k: int) -> dict[str, Any]:
    """``Index.search`` hybrid with its two sides at once and in turn, on each query (alternately first)."""
    both: dict[bool, list[float]] = {True: [], False: []}
    same = 0
    for n, query in enumerate(asked):
        found: dict[bool, list[str]] = {}
        for concurrent in (True, False) if n % 2 == 0 else (False, True):
            index.concurrent = concurrent
            t0 = time.perf_counter()
            hits = index.search(query, k, "hybrid")
            both[concurrent].append(time.perf_counter() - t0)
            found[concurrent] = [h.chunk.id for h in hits]
        same += found[True] == found[False]
    index.concurrent = True
    at_once, in_turn = _percentiles(both[True]), _percentiles(both[False])
    return {
        "sides at once (andon's)": at_once,
        "sides in turn": in_turn,
        "ratio in turn / at once": {p: round(in_turn[p] / at_once[p], 2) for p in at_once},
        "same top-k": f"{same}/{len(asked)}",
    }


def queries(
    texts: list[str], tokenised: list[list[str]], n_queries: int, k: int = 5, cache: Path | None = CACHE
) -> dict[str, Any]:
    """p50/p99 of ``Index.search`` in each mode over ``texts`` (query embedding included), of the embedding
    alone, and of each part of a hybrid search.

    BM25 adds each query term's postings into a score per chunk, dense asks the vector index (andon.vectors:
    HNSW from 20,000 chunks), hybrid does both and fuses the top 50 of each.
    """
    index = Index.__new__(Index)
    index.chunks = [KnowledgeChunk(f"c{i}", 0, "bench.md", i, 0, len(t), t, [], {}) for i, t in enumerate(texts)]
    index.bm25 = BM25(tokenised)
    rng = np.random.default_rng(1)
    matrix = rng.standard_normal((len(texts), 512)).astype(np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    index.vectors, built = _vectors(matrix, cache)
    index.positions = {i: i for i in range(len(texts))}
    index.embedder = default_embedder()
    asked = [SENTENCES[i % len(SENTENCES)][:12] + f" 알려주세요 {i}" for i in range(n_queries)]
    index.embedder.embed(asked[:2])  # weights loaded before timing
    out: dict[str, Any] = {"chunks": len(texts), "k": k, **built}
    start = time.perf_counter()
    for query in asked:
        t0 = time.perf_counter()
        index.embedder.embed([query])
        out.setdefault("_embed", []).append(time.perf_counter() - t0)
    for mode in MODES:
        samples = []
        for query in asked:
            t0 = time.perf_counter()
            index.search(query, k, mode)
            samples.append(time.perf_counter() - t0)
        out[mode] = _percentiles(samples)
    out["query_embedding"] = _percentiles(out.pop("_embed"))
    out["hybrid, sides at once vs in turn"] = _hybrid_both_ways(index, asked, k)
    before = _postings_before(index.bm25)
    parts: dict[str, list[float]] = {}
    agree = 0
    for query in asked:
        timed, hits = _split(index, query, k, before)
        for part, seconds in timed.items():
            parts.setdefault(part, []).append(seconds)
        parts.setdefault("sum of parts", []).append(sum(timed.values()))
        agree += [h.chunk.id for h in hits] == [h.chunk.id for h in index.search(query, k, "hybrid")]
    out["hybrid split"] = {part: _percentiles(samples) for part, samples in parts.items()}
    out["hybrid split"]["same top-k as Index.search"] = f"{agree}/{len(asked)}"
    split = out["hybrid split"]
    split["bm25 ratio before / now"] = {
        p: round(split["bm25 as before (reference)"][p] / split["bm25"][p], 2) for p in ("p50_ms", "p99_ms")
    }
    depth = max(k, CANDIDATES)
    embedded = index.embedder.embed(asked)
    out["dense side, random vectors"] = dense_side(index.vectors, matrix, embedded, depth, k)
    out["clustered"] = clustered(index, asked, k, cache)
    out["wall_s"] = round(time.perf_counter() - start, 1)
    try:
        import faiss
    except ImportError:  # the peer is optional: andon's figures stand without it
        return out
    faiss.omp_set_num_threads(1)  # as andon's one BLAS thread: OpenMP workers spin on a shared 2-core box
    flat = faiss.IndexFlatIP(matrix.shape[1])  # the peer's flat index over the same vectors and queries
    flat.add(matrix)
    samples = []
    for query in asked:
        t0 = time.perf_counter()
        flat.search(index.embedder.embed([query]), k)
        samples.append(time.perf_counter() - t0)
    out["peer dense (faiss flat)"] = _percentiles(samples)
    return out


def clustered(index: Index, asked: list[str], k: int, cache: Path | None) -> dict[str, Any]:
    """The dense side and hybrid ``Index.search`` again with the chunks' vectors clustered as real embeddings
    are (bench/ann.py's 500 centres) and query vectors from the same clusters, the query still embedded."""
    matrix, targets, note = ann_dataset("clustered", len(index.chunks), len(asked), 512, Path("."))
    vectors, built = _vectors(matrix, cache)
    depth = max(k, CANDIDATES)
    out: dict[str, Any] = {**note, **built, "dense side": dense_side(vectors, matrix, targets, depth, k)}
    real_vectors, real_embedder = index.vectors, index.embedder
    index.vectors, index.embedder = vectors, _InDistribution(real_embedder, dict(zip(asked, targets, strict=True)))  # type: ignore[assignment]
    try:
        index.search(asked[0], k, "hybrid")
        out["hybrid (Index.search, query embedded)"] = _hybrid_both_ways(index, asked, k)
    finally:
        index.vectors, index.embedder = real_vectors, real_embedder
    return out


def quality(k: int = 5) -> dict[str, Any]:
    """Recall@k and MRR@k of each chunker × mode on the help-centre corpus (relevant: the answer sentence)."""
    asked = questions()
    out: dict[str, Any] = {"questions": len(asked), "k": k}
    embedder = default_embedder()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        docs = root / "help"
        docs.mkdir()
        for name, text in documents().items():
            (docs / name).write_text(text, encoding="utf-8")
        with Store.open(f"sqlite:///{root / 'k.db'}") as store:
            for label, spec in CHUNKERS.items():
                report = add_paths(store, label, [docs], chunker=spec, embedder=embedder)
                lengths = [len(c.text) for c in store.knowledge_chunks(label)]
                row: dict[str, Any] = {"chunks": report.chunks, "mean_chars": round(statistics.fmean(lengths))}
                for mode in MODES:
                    scores = []
                    for question, _file, answer in asked:
                        hits = search(store, label, question, k=k, mode=mode, embedder=embedder)
                        shown = [{"id": h.chunk.id, "source": h.chunk.source_path, "section": h.chunk.section,
                                  "text": h.chunk.text} for h in hits]  # fmt: skip
                        scores.append(figures(shown, [Relevant("quote", answer)], k))
                    row[mode] = {
                        f"recall@{k}": round(statistics.fmean(s["recall"] for s in scores), 3),
                        f"mrr@{k}": round(statistics.fmean(s["mrr"] for s in scores), 3),
                    }
                out[label] = row
    return out


def _timed_recall(search_one: Any, asked: list[tuple[str, str, str]], k: int) -> dict[str, Any]:
    """recall@k, MRR@k and per-query p50/p99 (query embedding included) of ``search_one(question) -> chunks``."""
    scores, samples = [], []
    for question, _file, answer in asked:
        t0 = time.perf_counter()
        shown = search_one(question)
        samples.append(time.perf_counter() - t0)
        scores.append(figures(shown, [Relevant("quote", answer)], k))
    return {
        f"recall@{k}": round(statistics.fmean(s["recall"] for s in scores), 3),
        f"mrr@{k}": round(statistics.fmean(s["mrr"] for s in scores), 3),
        **_percentiles(samples),
    }


def _peer_chunks(docs: dict[str, str]) -> dict[str, list[tuple[str, str]]]:
    """``(source, text)`` chunks of each LangChain splitter set-up over the corpus."""
    from langchain_text_splitters import MarkdownHeaderTextSplitter, RecursiveCharacterTextSplitter

    recursive = RecursiveCharacterTextSplitter(chunk_size=PEER_SIZE, chunk_overlap=PEER_OVERLAP)
    headers = MarkdownHeaderTextSplitter([("#", "title"), ("##", "section")], strip_headers=False)
    out: dict[str, list[tuple[str, str]]] = {
        "langchain-recursive-120-overlap-20": [],
        "langchain-headers+recursive-120": [],
    }
    for name, text in docs.items():
        out["langchain-recursive-120-overlap-20"] += [(name, t) for t in recursive.split_text(text)]
        sections = recursive.split_documents(headers.split_text(text))
        out["langchain-headers+recursive-120"] += [(name, d.page_content) for d in sections]
    return out


def peer(k: int = 5, rounds: int = 5) -> dict[str, Any]:
    """andon (its chunkers, dense and hybrid through ``search``) beside LangChain splitters + a FAISS flat
    index, both on the offline USE embedder, the same corpus and the same 32 questions (asked ``rounds`` times
    for the latencies); every row's query time includes embedding the question."""
    import faiss

    faiss.omp_set_num_threads(1)  # as andon's one BLAS thread: OpenMP workers spin on a shared 2-core box
    asked = questions()
    embedder = default_embedder()
    embedder.embed(["warm up"])
    docs = documents()
    out: dict[str, Any] = {"questions": len(asked), "k": k, "embedder": embedder.name, "andon": {}, "peer": {}}
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "help").mkdir()
        for name, text in docs.items():
            (root / "help" / name).write_text(text, encoding="utf-8")
        with Store.open(f"sqlite:///{root / 'k.db'}") as store:
            for label in ("fixed-100-overlap-20", "recursive-120", "markdown-120", "semantic-120"):
                report = add_paths(store, label, [root / "help"], chunker=CHUNKERS[label], embedder=embedder)
                row: dict[str, Any] = {"chunks": report.chunks}
                for mode in ("dense", "hybrid"):

                    def andon_search(question: str, label: str = label, mode: Any = mode) -> list[dict[str, Any]]:
                        hits = search(store, label, question, k=k, mode=mode, embedder=embedder)
                        return [{"id": h.chunk.id, "source": h.chunk.source_path, "section": h.chunk.section,
                                 "text": h.chunk.text} for h in hits]  # fmt: skip

                    andon_search(asked[0][0])  # the index built and cached before timing, as on a server
                    row[mode] = _timed_recall(andon_search, asked * rounds, k)
                # The same dense search on the cached index itself: what the store lookup per query costs.
                index = load_index(store, label, embedder)

                def index_search(question: str, index: Index = index) -> list[dict[str, Any]]:
                    return [{"id": h.chunk.id, "source": h.chunk.source_path, "section": h.chunk.section,
                             "text": h.chunk.text} for h in index.search(question, k, "dense")]  # fmt: skip

                row["dense, Index.search (no store lookup)"] = _timed_recall(index_search, asked * rounds, k)
                out["andon"][label] = row
    samples = []
    for question, _, _ in asked * rounds:
        t0 = time.perf_counter()
        embedder.embed([question])
        samples.append(time.perf_counter() - t0)
    out["query_embedding_alone"] = _percentiles(samples)
    for label, chunks in _peer_chunks(docs).items():
        matrix = embedder.embed([text for _, text in chunks])
        index = faiss.IndexFlatIP(matrix.shape[1])  # unit vectors: inner product is cosine, as andon's dense
        index.add(np.ascontiguousarray(matrix, dtype=np.float32))

        def faiss_search(
            question: str, chunks: list[tuple[str, str]] = chunks, index: Any = index
        ) -> list[dict[str, Any]]:
            _, found = index.search(embedder.embed([question]), k)
            return [
                {"id": str(i), "source": chunks[i][0], "section": [], "text": chunks[i][1]} for i in found[0] if i >= 0
            ]

        out["peer"][label] = {
            "chunks": len(chunks),
            "dense (faiss flat)": _timed_recall(faiss_search, asked * rounds, k),
        }
    return out


def main() -> None:
    """Run the parts, print JSON and write it to ``--out``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--docs", type=int, default=30)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--out", type=Path, default=Path("bench/out/knowledge.json"))
    parser.add_argument("--parts", default="ingestion,quality,peer,index", help="Comma-separated parts to run.")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    result: dict[str, Any] = {}
    if "ingestion" in parts:
        result["ingestion"] = ingestion(args.docs)
        print(json.dumps(result["ingestion"], ensure_ascii=False), flush=True)
    if "quality" in parts:
        result["quality"] = quality()
        print(json.dumps(result["quality"], ensure_ascii=False), flush=True)
    if "peer" in parts:
        result["peer"] = peer()
        print(json.dumps(result["peer"], ensure_ascii=False), flush=True)
    if "index" in parts:  # indexing and queries share the synthetic chunks
        result["indexing"], texts, tokenised = indexing(args.chunks)
        print(json.dumps(result["indexing"], ensure_ascii=False), flush=True)
        result["query"] = queries(texts, tokenised, args.queries)
    text = json.dumps(result, ensure_ascii=False, indent=2)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
