"""The hot path's shortcuts keep the results exact: the per-call redaction memo and the per-config memo."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from andon.config.schema import REDACTIONS, WorkspaceConfig
from andon.gateway import confmemo
from andon.gateway.redact import StoragePolicy

# Text with the shapes the redactors look for mixed into ordinary words (Korean and English).
PIECES = st.sampled_from(
    ["hi ", "010-1234-5678", " kim@example.com ", "900101-1234567", "4111 1111 1111 1111", "sk-abcdefghijklmnop1234",
     "주문번호 12345 ", "공일공 일이삼사 ", "\u200b", "-", "@", " dot ", " at "]
)  # fmt: skip
TEXTS = st.lists(st.one_of(PIECES, st.text(max_size=8)), max_size=12).map("".join)
JSON = st.recursive(
    st.one_of(st.none(), st.integers(), TEXTS),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXTS, inner, max_size=4),
    max_leaves=12,
)


@given(mode=st.sampled_from(["full", "redacted", "hash"]), kinds=st.sets(st.sampled_from(REDACTIONS)),
       texts=st.lists(TEXTS, max_size=6), value=JSON)  # fmt: skip
def test_redacting_each_text_once_gives_what_redacting_every_time_gives(
    mode: str, kinds: set[str], texts: list[str], value: Any
) -> None:
    plain = StoragePolicy.of(mode, sorted(kinds))
    once = plain.once()
    for text in texts + texts:  # the second round is answered from the memo
        assert once.text(text) == plain.text(text)
    assert once.value(value) == plain.value(value)
    assert once.input({"v": value, "t": texts}) == plain.input({"v": value, "t": texts})
    assert once.tags({"k": value}) == plain.tags({"k": value})


def test_a_memo_belongs_to_one_call() -> None:
    plain = StoragePolicy.of("redacted", REDACTIONS)
    first, second = plain.once(), plain.once()
    first.text("call me at 010-1234-5678")
    assert first.redactor is not second.redactor
    assert second.redactor.seen == {}  # type: ignore[attr-defined]
    assert plain.once() is not plain and StoragePolicy.of("full", REDACTIONS).once().mode == "full"


def test_per_config_builds_once_per_config_and_key() -> None:
    built: list[str] = []

    def build(label: str) -> Any:
        built.append(label)
        return [label]

    a, b = WorkspaceConfig.model_validate({"andon": 1}), WorkspaceConfig.model_validate({"andon": 1})
    first = confmemo.per_config(a, "k", lambda: build("a"))
    assert confmemo.per_config(a, "k", lambda: build("again")) is first
    assert confmemo.per_config(b, "k", lambda: build("b")) == ["b"]  # an equal but new config (a reload) rebuilds
    assert confmemo.per_config(a, "other", lambda: build("a2")) == ["a2"]
    assert built == ["a", "b", "a2"]
    for _ in range(confmemo.MAX_CONFIGS + 1):  # old configs are forgotten, not kept for ever
        confmemo.per_config(WorkspaceConfig.model_validate({"andon": 1}), "k", lambda: None)
    assert len(confmemo._memo) <= confmemo.MAX_CONFIGS
