"""BM25 and reciprocal rank fusion against hand-computed values; Korean morphemes; search end to end on the
store with the offline embedder (no stand-in)."""

from __future__ import annotations

import math
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from andon.embeddings import default_embedder
from andon.errors import ConfigError, NotFoundError
from andon.knowledge import retrieval
from andon.knowledge.bm25 import BM25
from andon.knowledge.ingest import add_paths
from andon.knowledge.retrieval import fuse, search
from andon.knowledge.tokenize import tokens
from andon.store import Store


def test_bm25_matches_the_hand_computed_scores() -> None:
    # N = 3, average length 2. For "a": df = 2, idf = ln(1 + 1.5/2.5) = ln 1.6 = 0.470004.
    # doc 0 (len 2): 1·2.5 / (1 + 1.5·(0.25 + 0.75·1)) = 1.0 → 0.470004
    # doc 1 (len 1): 2.5 / (1 + 1.5·(0.25 + 0.375)) = 1.290323 → 0.606457; doc 2 has no "a" → 0
    scores = BM25([["a", "b"], ["a"], ["c", "c", "d"]]).scores(["a"])
    assert scores.tolist() == pytest.approx([0.470004, 0.606457, 0.0], abs=1e-6)
    # "c" twice in doc 2 (len 3): idf = ln(1 + 2.5/1.5) = 0.980829; 2·2.5/(2 + 1.5·(0.25 + 1.125)) = 5/4.0625 = 1.230769
    assert BM25([["a", "b"], ["a"], ["c", "c", "d"]]).scores(["c"])[2] == pytest.approx(0.980829 * 1.230769, abs=1e-6)
    assert math.isclose(float(BM25([]).scores(["a"]).sum()), 0.0)


def test_reciprocal_rank_fusion_matches_the_hand_computed_order() -> None:
    fused = fuse([[2, 0, 1], [0, 3]])
    # 0: 1/62 + 1/61 = 0.032523; 2: 1/61 = 0.016393; 3: 1/62 = 0.016129; 1: 1/63 = 0.015873
    assert [i for i, _ in fused] == [0, 2, 3, 1]
    assert fused[0][1] == pytest.approx(1 / 62 + 1 / 61)


def test_korean_tokens_are_morphemes() -> None:
    assert "환불" in tokens("환불은 언제 되나요?") and "환불" in tokens("환불을 요청했습니다")
    assert "은" not in tokens("환불은") and "password" in tokens("Password 변경")
    # Kiwi splits 비밀번호 in one sentence and not in another; the joined run of nouns matches both ways
    assert "비밀번호" in tokens("설정 메뉴에서 비밀번호를 바꿀 수 있습니다.")


@pytest.fixture
def help_centre(store: Store, tmp_path: Path) -> Store:
    folder = tmp_path / "help"
    folder.mkdir()
    (folder / "refund.md").write_text(
        "# 환불\n\n구매 후 7일 이내에 환불을 요청할 수 있습니다. 단순 변심도 됩니다.\n", encoding="utf-8"
    )
    (folder / "account.md").write_text(
        "# 계정\n\n설정 메뉴에서 비밀번호를 바꿀 수 있습니다. 휴대폰 인증이 필요합니다.\n", encoding="utf-8"
    )
    (folder / "ship.md").write_text("# 배송\n\n배송은 보통 이틀 걸리고 제주는 나흘 걸립니다.\n", encoding="utf-8")
    add_paths(store, "help", [folder], embedder=default_embedder())
    return store


@pytest.mark.parametrize("mode", ["bm25", "dense", "hybrid"])
def test_search_finds_the_right_article_in_each_mode(help_centre: Store, mode: str) -> None:
    hits = search(help_centre, "help", "비밀번호를 변경하고 싶어요", k=2, mode=mode)  # type: ignore[arg-type]
    assert hits[0].chunk.source_path == "help/account.md"
    assert len(hits) <= 2
    if mode == "hybrid":
        assert hits[0].bm25_rank == 1 and hits[0].dense_rank == 1
        assert hits[0].score == pytest.approx(2 / 61)


def test_an_added_document_is_searched_at_once(help_centre: Store, tmp_path: Path) -> None:
    assert search(help_centre, "help", "포인트 적립", mode="bm25") == []
    extra = tmp_path / "points.md"
    extra.write_text("# 포인트\n\n결제 금액의 1%가 포인트로 적립됩니다.\n", encoding="utf-8")
    add_paths(help_centre, "help", [extra])  # no embedder: vectors are made at the next dense search
    assert search(help_centre, "help", "포인트 적립", mode="bm25")[0].chunk.source_path == "points.md"
    assert (
        search(help_centre, "help", "포인트는 어떻게 쌓이나요", k=1, mode="dense")[0].chunk.source_path == "points.md"
    )


def test_bad_mode_and_missing_base(help_centre: Store) -> None:
    with pytest.raises(ConfigError, match="bm25, dense or hybrid"):
        search(help_centre, "help", "x", mode="fuzzy")  # type: ignore[arg-type]
    with pytest.raises(NotFoundError, match="no knowledge base 'nope'"):
        search(help_centre, "nope", "x", mode="bm25")


def test_concurrent_cold_searches_build_the_index_once(help_centre: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[int] = []
    real = retrieval.Index.__init__

    def counting(self: retrieval.Index, *args: Any, **kwargs: Any) -> None:
        built.append(1)
        time.sleep(0.2)  # a slow build: the other threads arrive while it runs
        real(self, *args, **kwargs)

    monkeypatch.setattr(retrieval.Index, "__init__", counting)
    retrieval._cache.clear()
    with ThreadPoolExecutor(4) as pool:
        found = list(pool.map(lambda _: retrieval.search(help_centre, "help", "환불", k=1, mode="bm25"), range(4)))
    assert len(built) == 1 and all(hits for hits in found)
