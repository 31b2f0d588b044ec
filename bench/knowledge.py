"""Knowledge bases: ingestion documents/s per format, chunking + indexing chunks/s, and query latency of
BM25, dense and hybrid search at N chunks (numpy matrix search; dense vectors are random unit vectors so
the index can be large without embedding it all, and the query embedding is timed on its own).

    nice -n 10 .venv/bin/python -m bench.knowledge [--chunks 20000] [--docs 30] [--queries 200]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from tests.knowledge.makers import docx_bytes, hwp_bytes, hwpx_bytes, pdf_bytes

from andon.embeddings import default_embedder
from andon.knowledge.bm25 import BM25
from andon.knowledge.ingest import add_paths
from andon.knowledge.parsers import parse_file
from andon.knowledge.retrieval import Index, fuse
from andon.knowledge.tokenize import tokens, tokens_many
from andon.store import Store

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


def ingestion(docs: int) -> dict[str, Any]:
    """Documents/s of each parser on generated files (the makers of the tests)."""
    samples: dict[str, bytes] = {
        "md": ("# 도움말\n\n" + "\n\n".join(SENTENCES * 3)).encode(),
        "html": ("<main><h1>도움말</h1>" + "".join(f"<p>{s}</p>" for s in SENTENCES * 3) + "</main>").encode(),
        "csv": ("질문,답변\n" + "".join(f"q{i},{s}\n" for i, s in enumerate(SENTENCES * 3))).encode("cp949"),
        "docx": docx_bytes(),
        "hwpx": hwpx_bytes(),
        "pdf": pdf_bytes(["Refund policy page one", "Shipping page two", None]),
        "hwp": hwp_bytes(SENTENCES * 3, [["a", "b"], ["c", "d"]]),
    }
    out: dict[str, Any] = {}
    for suffix, data in samples.items():
        start = time.perf_counter()
        for _ in range(docs):
            parse_file(Path(f"x.{suffix}"), data)
        elapsed = time.perf_counter() - start
        out[suffix] = {"docs_per_s": round(docs / elapsed, 1)}
    return out


def indexing(chunks: int) -> tuple[dict[str, Any], list[str]]:
    """Chunking + storing on SQLite, and building BM25 (Kiwi tokens) for ``chunks`` synthetic chunks."""
    rng = np.random.default_rng(0)
    texts = [" ".join(rng.choice(SENTENCES, size=4)) + f" 문서 {i}번" for i in range(chunks)]
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
    start = time.perf_counter()
    tokenised = tokens_many(texts)
    tok_s = time.perf_counter() - start
    start = time.perf_counter()
    BM25(tokenised)
    bm25_s = time.perf_counter() - start
    return {
        "store_chunks_per_s": round(report.chunks / add_s, 1),
        "stored_chunks": report.chunks,
        "kiwi_tokens_chunks_per_s": round(chunks / tok_s, 1),
        "bm25_build_s": round(bm25_s, 3),
    }, texts


def queries(texts: list[str], n_queries: int) -> dict[str, Any]:
    """p50/p99 of BM25, dense (matrix product; query embedding timed apart) and hybrid over ``texts``."""
    index = Index.__new__(Index)
    index.chunks = []
    index.bm25 = BM25(tokens_many(texts))
    rng = np.random.default_rng(1)
    matrix = rng.standard_normal((len(texts), 512)).astype(np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    embedder = default_embedder()
    asked = [SENTENCES[i % len(SENTENCES)][:12] + " 알려주세요" for i in range(n_queries)]
    embedder.embed(asked[:2])
    bm25_t, dense_t, embed_t, hybrid_t = [], [], [], []
    for query in asked:
        t0 = time.perf_counter()
        scores = index.bm25.scores(tokens(query))
        bm = np.argpartition(-scores, 50)[:50]
        t1 = time.perf_counter()
        vector = embedder.embed([query])[0]
        t2 = time.perf_counter()
        dense = np.argpartition(-(matrix @ vector), 50)[:50]
        t3 = time.perf_counter()
        fuse([bm.tolist(), dense.tolist()])
        t4 = time.perf_counter()
        bm25_t.append(t1 - t0)
        embed_t.append(t2 - t1)
        dense_t.append(t3 - t2)
        hybrid_t.append(t4 - t0)
    return {
        "chunks": len(texts),
        "bm25": _percentiles(bm25_t),
        "query_embedding": _percentiles(embed_t),
        "dense_matrix": _percentiles(dense_t),
        "hybrid_total_with_embedding": _percentiles(hybrid_t),
    }


def main() -> None:
    """Run the three parts and print JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--chunks", type=int, default=20000)
    parser.add_argument("--docs", type=int, default=30)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    result: dict[str, Any] = {"ingestion": ingestion(args.docs)}
    result["indexing"], texts = indexing(args.chunks)
    result["query"] = queries(texts, args.queries)
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
