"""The semantic chunker: cuts where neighbouring sentences stop being alike, never before ``min_size``, never
past ``size``; on the offline embedder a change of topic in Korean help text is found."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from andon.embeddings import Vectors
from andon.errors import ConfigError
from andon.knowledge.chunkers import build_chunker
from andon.knowledge.chunkers.semantic import SemanticChunker, SemanticSettings
from andon.knowledge.chunking import make_chunks
from andon.knowledge.document import ParsedDocument, heading, paragraph

REFUND = "환불은 구매 후 7일 이내에 신청할 수 있습니다. 환불 금액은 결제 수단으로 돌려드립니다. 환불은 앱에서 합니다. "
DELIVERY = "배송은 보통 이틀 걸립니다. 배송 조회는 주문 내역에서 합니다. 제주 배송은 하루 더 걸립니다."


class Topics:
    """Vectors that say which topic words a text holds, so the drops between sentences are known exactly."""

    name = "topics"
    dim = 3

    def embed(self, texts: Sequence[str]) -> Vectors:
        rows = [[t.count("환불") + 0.01, t.count("배송") + 0.01, t.count("회원") + 0.01] for t in texts]
        vectors = np.asarray(rows, dtype=np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def chunker(embedder: Topics | None = None, **settings: float) -> SemanticChunker:
    return SemanticChunker(SemanticSettings.model_validate({"size": 400, "min_size": 20, **settings}), embedder)


def test_the_cut_falls_where_the_topic_changes() -> None:
    text = REFUND + DELIVERY
    spans = chunker(Topics()).split(text, [])
    assert [text[s:e] for s, e in spans] == [REFUND, DELIVERY]


def test_no_cut_before_min_size_and_none_past_size() -> None:
    text = "환불 가능. 배송 안내. 회원 탈퇴. " * 4
    # every neighbour pair changes topic: with min_size 30 a chunk holds at least 30 characters before a cut
    spans = chunker(Topics(), min_size=30, percentile=0).split(text, [])
    assert all(e - s >= 30 for s, e in spans[:-1])
    assert "".join(text[s:e] for s, e in spans) == text
    short = chunker(Topics(), min_size=0, percentile=0).split(text, [])
    assert len(short) > len(spans)
    tight = SemanticChunker(SemanticSettings(size=25, min_size=0, percentile=100), Topics()).split(text, [])
    assert all(e - s <= 25 for s, e in tight)


def test_a_higher_percentile_cuts_less_often() -> None:
    text = REFUND + DELIVERY + "회원 탈퇴 전에 배송을 확인하세요. 회원 정보는 30일 뒤 지웁니다."
    counts = [len(chunker(Topics(), percentile=p, min_size=0).split(text, [])) for p in (0, 50, 100)]
    # drops: refund → delivery (the largest), delivery → "회원 … 배송" (smaller), the rest about nil
    assert counts[0] >= counts[1] >= counts[2] and counts[0] > counts[2] == 2


def test_on_the_offline_embedder_refunds_and_deliveries_part() -> None:
    text = REFUND + DELIVERY
    spans = build_chunker({"name": "semantic", "size": 400, "min_size": 20, "percentile": 95}).split(text, [])
    assert len(spans) == 2 and text[spans[0][0] : spans[0][1]] == REFUND


def test_chunks_keep_section_path() -> None:
    parsed = ParsedDocument("md", "1", [heading("환불", 1), paragraph(REFUND), heading("배송", 1), paragraph(DELIVERY)])
    blocks = parsed.structure()["blocks"]
    chunks = make_chunks("kb", "help.md", "0" * 64, parsed.markdown(), blocks, chunker(Topics()))
    assert [c.section for c in chunks] == [["환불"], ["배송"]]


def test_settings_are_checked() -> None:
    with pytest.raises(ConfigError, match="min_size"):
        build_chunker({"name": "semantic", "size": 100, "min_size": 100})
    with pytest.raises(ConfigError, match="percentile"):
        build_chunker({"name": "semantic", "percentile": 120})
    assert build_chunker({"name": "semantic"}).spec() == {
        "name": "semantic", "size": 800, "percentile": 90.0, "min_size": 100
    }  # fmt: skip
