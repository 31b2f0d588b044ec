"""One rule for "a row by id or unique id prefix": outputs, runs, traces, review items, keys and incidents."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from andon.errors import NotFoundError
from andon.store import Store
from andon.store.models import OutputRow
from andon.store.records import OutputRecord, ReviewItem, TraceRecord
from andon.store.refs import MIN_PREFIX, get_by_ref, prefix_matches

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def _add_output(store: Store, id_: str) -> None:
    store.save_output(
        OutputRecord(
            id=id_, feature="menu", version_id="v" * 64, provider="p", model="m", params={}, messages=[],
            status="ok", started_at=NOW, finished_at=NOW + timedelta(milliseconds=5),
        )
    )  # fmt: skip


def _add_run(store: Store, id_: str) -> None:
    store.create_run(
        run_id=id_, feature="menu", dataset="cases.yaml", dataset_sha256="0" * 64, repeats=1, currency="USD",
        versions=[("v1", "v" * 64)], cases=[], config={},
    )  # fmt: skip


def _add_trace(store: Store, id_: str) -> None:
    store.save_traces(
        [TraceRecord(id=id_, feature="menu", route="ai", status="ok", input_mode="none", input=None,
                     input_hash="0" * 64, created_at=NOW)]
    )  # fmt: skip


def _add_review_item(store: Store, id_: str) -> None:
    store.add_review_item(ReviewItem(id=id_, feature="menu", reason="shadow"))


def _add_key(store: Store, id_: str) -> None:
    store.add_api_key(
        key_id=id_, name=id_, prefix="andon_sk_x", secret_hash=id_ * 2, scopes=["invoke"], rate_limit_per_min=None
    )


def _add_incident(store: Store, id_: str) -> None:
    store.create_incident(
        {"id": id_, "feature": "menu", "title": "reject rate up", "stage": "detected", "opened_at": NOW,
         "details": {}, "stages": {}},
        [], [],
    )  # fmt: skip


# kind: (id prefix, how to add a row with an id, how to look one up by ref and return its id, "no …" text)
KINDS: dict[str, tuple[str, Callable[[Store, str], None], Callable[[Store, str], str], str]] = {
    "output": ("out", _add_output, lambda s, r: s.get_output(r).id, "no output"),
    "run": ("run", _add_run, lambda s, r: s.get_run(r).id, "no run"),
    "trace": ("trc", _add_trace, lambda s, r: str(s.get_trace(r)["id"]), "no trace"),
    "review item": ("rev", _add_review_item, lambda s, r: str(s.get_review_item(r)["id"]), "no review item"),
    "API key": ("key", _add_key, lambda s, r: s.revoke_api_key(r).id, "no API key"),
    "incident": ("inc", _add_incident, lambda s, r: s.get_incident(r).id, "no incident"),
}


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_lookup_by_ref_follows_the_same_rule(store: Store, kind: str) -> None:
    prefix, add, get, missing = KINDS[kind]
    one, two, other = f"{prefix}_abcd01x", f"{prefix}_abcd02y", f"{prefix}_zzzz99q"
    for id_ in (one, two, other):
        add(store, id_)
    assert get(store, one) == one  # the full id
    assert get(store, f"{prefix}_zzzz") == other  # a unique prefix
    with pytest.raises(NotFoundError, match="ambiguous") as ambiguous:
        get(store, f"{prefix}_abcd0")
    assert one in str(ambiguous.value) and two in str(ambiguous.value)
    with pytest.raises(NotFoundError, match=missing):
        get(store, f"{prefix}_zz"[: MIN_PREFIX - 1])  # too short to stand for an id
    with pytest.raises(NotFoundError, match=missing):
        get(store, f"{prefix}_ABCD01")  # case matters, on SQLite too (its LIKE ignores case)
    with pytest.raises(NotFoundError, match=missing):
        get(store, f"{prefix}_%%%%")  # LIKE wildcards are plain characters
    with pytest.raises(NotFoundError, match=missing) as unknown:
        get(store, f"{prefix}_nothing")
    assert unknown.value.hint


def test_the_hint_is_made_only_on_a_miss(store: Store) -> None:
    _add_output(store, "out_hint01")
    calls: list[int] = []

    def hint() -> str:
        calls.append(1)
        return "look elsewhere"

    with Session(store.engine) as session:
        assert get_by_ref(session, OutputRow, "out_hint", "output", hint).id == "out_hint01"
        assert calls == []
        with pytest.raises(NotFoundError) as missing:
            get_by_ref(session, OutputRow, "out_none", "output", hint)
    assert calls == [1] and missing.value.hint == "look elsewhere"


def test_a_long_ambiguity_lists_a_few_ids_and_says_there_are_more(store: Store) -> None:
    ids = [f"out_many{i:02d}" for i in range(15)]
    for id_ in ids:
        _add_output(store, id_)
    with pytest.raises(NotFoundError, match="ambiguous") as ambiguous:
        store.get_output("out_many")
    text = str(ambiguous.value)
    assert ids[0] in text and ids[9] in text and ids[14] not in text and "…" in text


def test_messages_follow_the_language(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANDON_LANG", "ko")
    with pytest.raises(NotFoundError, match="트레이스가 없습니다"):
        store.get_trace("trc_nothing")


@pytest.mark.parametrize(
    ("ids", "ref", "expected"),
    [
        (["abcdef1", "abcdef2", "abcxyz"], "abcdef", ["abcdef1", "abcdef2"]),
        (["abcdef1"], "abcde", []),  # shorter than MIN_PREFIX
        (["ABCDEF1", "abcdef2"], "abcdef", ["abcdef2"]),
    ],
)
def test_prefix_matches(ids: list[str], ref: str, expected: list[Any]) -> None:
    assert prefix_matches(ids, ref) == expected
