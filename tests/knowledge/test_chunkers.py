"""Chunker properties (Hypothesis): every character in some chunk, in order; overlap as configured; no chunk
over the limit; structure respected (tables kept whole, headings start chunks, Korean sentences kept)."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from andon.errors import ConfigError
from andon.knowledge.chunkers import CHUNKERS, build_chunker
from andon.knowledge.chunking import make_chunks
from andon.knowledge.document import Block, ParsedDocument, heading, paragraph, table

WORDS = st.text(alphabet="가나다라마바사환불배송 .!?abc\n", min_size=1, max_size=120)
BLOCK = st.one_of(
    st.builds(lambda w, n: heading(w.replace("\n", " ") or "제목", n), WORDS, st.integers(1, 3)),
    st.builds(paragraph, WORDS),
    st.builds(
        lambda rows: table(rows),
        st.lists(st.lists(st.sampled_from(["가", "7일", "제주", "x"]), min_size=2, max_size=2), min_size=1, max_size=6),
    ),
)


def document(blocks: list[Block | None]) -> tuple[str, list[dict[str, Any]]]:
    parsed = ParsedDocument("test", "1", [b for b in blocks if b is not None])
    return parsed.markdown(), parsed.structure()["blocks"]


DOCS = st.lists(BLOCK, min_size=1, max_size=12).map(document)
STRUCTURED = ["recursive", "markdown", "table"]


@settings(max_examples=60)
@given(doc=DOCS, size=st.integers(20, 200), name=st.sampled_from(STRUCTURED))
def test_structured_chunkers_cover_every_character_in_order_within_the_limit(doc: Any, size: int, name: str) -> None:
    text, blocks = doc
    spans = build_chunker({"name": name, "size": size}).split(text, blocks)
    assert all(0 < end - start <= size for start, end in spans)
    assert "".join(text[s:e] for s, e in spans) == text  # contiguous, in order, nothing lost or repeated


@settings(max_examples=60)
@given(text=WORDS, size=st.integers(20, 100), data=st.data())
def test_fixed_windows_overlap_exactly_as_configured(text: str, size: int, data: st.DataObject) -> None:
    overlap = data.draw(st.integers(0, size - 1))
    spans = build_chunker({"name": "fixed", "size": size, "overlap": overlap}).split(text, [])
    assert spans[0][0] == 0 and spans[-1][1] == len(text)
    assert all(0 < e - s <= size for s, e in spans)
    for (s1, e1), (s2, _) in pairwise(spans):
        assert e1 - s2 == overlap and s2 > s1  # neighbours share exactly `overlap` characters, moving forward
    covered = set().union(*(range(s, e) for s, e in spans))
    assert covered == set(range(len(text)))


@settings(max_examples=60)
@given(doc=DOCS, size=st.integers(20, 200))
def test_markdown_chunks_never_cross_a_heading(doc: Any, size: int) -> None:
    text, blocks = doc
    starts = {s for s, _ in build_chunker({"name": "markdown", "size": size}).split(text, blocks)}
    assert {int(b["start"]) for b in blocks if b["kind"] == "heading"} <= starts


@settings(max_examples=60)
@given(doc=DOCS, size=st.integers(60, 200))
def test_a_table_that_fits_is_never_cut(doc: Any, size: int) -> None:
    text, blocks = doc
    spans = build_chunker({"name": "table", "size": size}).split(text, blocks)
    for block in blocks:
        if block["kind"] == "table" and block["end"] - block["start"] <= size:
            assert any(s <= block["start"] and block["end"] <= e for s, e in spans)


@settings(max_examples=25)
@given(doc=DOCS, size=st.integers(20, 200))
def test_korean_sentence_chunker_properties(doc: Any, size: int) -> None:
    text, blocks = doc
    spans = build_chunker({"name": "korean-sentence", "size": size}).split(text, blocks)
    assert all(0 < e - s <= size for s, e in spans)
    assert "".join(text[s:e] for s, e in spans) == text


@settings(max_examples=20, deadline=None)  # the offline embedder: a few ms per sentence
@given(doc=DOCS, size=st.integers(20, 200), data=st.data())
def test_semantic_chunker_properties(doc: Any, size: int, data: st.DataObject) -> None:
    text, blocks = doc
    least = data.draw(st.integers(0, size - 1))
    spec = {"name": "semantic", "size": size, "min_size": least, "percentile": data.draw(st.floats(0, 100))}
    spans = build_chunker(spec).split(text, blocks)
    assert all(0 < e - s <= size for s, e in spans)
    assert "".join(text[s:e] for s, e in spans) == text


def test_korean_sentences_without_a_full_stop_are_kept_whole() -> None:
    text = "환불은 구매 후 7일 이내에 가능합니다 배송비는 고객이 부담합니다 불량품은 판매자가 부담합니다"
    # sentences of 22, 15 and 15 characters (with their trailing space): the first two fit in 45 together, not all three
    spans = build_chunker({"name": "korean-sentence", "size": 45}).split(text, [])
    assert [text[s:e].strip() for s, e in spans] == [
        "환불은 구매 후 7일 이내에 가능합니다 배송비는 고객이 부담합니다",
        "불량품은 판매자가 부담합니다",
    ]
    naive = build_chunker({"name": "recursive", "size": 45}).split(text, [])
    assert (
        text[naive[0][0] : naive[0][1]].strip()
        == "환불은 구매 후 7일 이내에 가능합니다 배송비는 고객이 부담합니다 불량품은"
    )  # mid-sentence


def test_chunks_keep_their_section_path_and_anchors() -> None:
    blocks = [
        heading("제3장 배송", 1, page=1),
        heading("제12조 기간", 2, page=1),
        paragraph("배송은 2일 걸립니다.", page=2),
    ]
    parsed = ParsedDocument("pdf", "1", blocks)
    markdown, structure = parsed.markdown(), parsed.structure()
    chunks = make_chunks(
        "kb", "규정집.pdf", "0" * 64, markdown, structure["blocks"], build_chunker({"name": "markdown", "size": 200})
    )
    assert [(c.section, c.anchors) for c in chunks] == [
        (["제3장 배송"], {"pages": [1]}),
        (["제3장 배송", "제12조 기간"], {"pages": [1, 2]}),
    ]
    assert len({c.id for c in chunks}) == 2


def test_registry_and_settings_errors() -> None:
    assert {"fixed", "recursive", "markdown", "table", "korean-sentence", "semantic"} <= set(CHUNKERS.names())
    with pytest.raises(ConfigError, match=r"unknown|no chunker"):
        build_chunker({"name": "semantic-magic"})
    with pytest.raises(ConfigError, match="overlap") as caught:
        build_chunker({"name": "fixed", "size": 50, "overlap": 50})
    assert caught.value.where is not None and caught.value.where.startswith("chunker")
    with pytest.raises(ConfigError, match="size"):
        build_chunker({"name": "recursive", "size": 5})
