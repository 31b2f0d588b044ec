"""Trace search on both databases: filters against a reference in Python, keyset pages, the text index."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from andon.store import Store, webtraces
from andon.store.records import TraceRecord, new_id
from andon.store.webtraces import Cursor, TraceFilter, words_of

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
_FEATURES = itertools.count()


def _trace(feature: str, second: int, **changes: Any) -> TraceRecord:
    values: dict[str, Any] = {
        "id": new_id("trc"),
        "feature": feature,
        "route": "ai",
        "status": "ok",
        "input_mode": "full",
        "input": None,
        "input_hash": "0" * 64,
        "created_at": T0 + timedelta(seconds=second),
    }
    return TraceRecord(**(values | changes))


def _order(traces: list[TraceRecord]) -> list[str]:
    return [t.id for t in sorted(traces, key=lambda t: (t.created_at, t.id), reverse=True)]


trace_specs = st.lists(
    st.tuples(
        st.integers(0, 5),  # few distinct seconds: many ties on created_at
        st.sampled_from(["ok", "error", "queued"]),
        st.sampled_from(["ai", "fallback"]),
        st.sampled_from([None, "t1", "t2"]),
    ),
    max_size=25,
)


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs=trace_specs, limit=st.integers(1, 6))
def test_pages_walk_every_row_once_in_order_both_ways(store: Store, specs: list[Any], limit: int) -> None:
    feature = f"paging-{next(_FEATURES)}"
    traces = [_trace(feature, s, status=st_, route=r, tenant=tn) for s, st_, r, tn in specs]
    store.save_traces(traces)
    where = TraceFilter(feature=feature)
    pages, after = [], None
    while True:
        found = store.search_traces(where, after=after, limit=limit)
        pages.append([r["id"] for r in found.rows])
        if found.older is None:
            break
        after = found.older
    assert [i for p in pages for i in p] == _order(traces)
    # And back: from the oldest page, Newer links give the same pages in reverse.
    back, newer = [], found.newer
    while newer is not None:
        page = store.search_traces(where, before=newer, limit=limit)
        back.append([r["id"] for r in page.rows])
        newer = page.newer
    if len(pages) > 1:
        assert back[-1] == pages[0]  # the newest page comes back full
        assert [i for p in back for i in p][-len(pages[0]) :] == pages[0]


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    specs=trace_specs,
    status=st.sampled_from([None, "ok", "error", "queued"]),
    route=st.sampled_from([None, "ai", "fallback"]),
    tenant=st.sampled_from([None, "t1", "t2"]),
    since=st.sampled_from([None, 2]),
)
def test_filters_match_a_reference_in_python(
    store: Store, specs: list[Any], status: str | None, route: str | None, tenant: str | None, since: int | None
) -> None:
    feature = f"filters-{next(_FEATURES)}"
    traces = [_trace(feature, s, status=st_, route=r, tenant=tn) for s, st_, r, tn in specs]
    store.save_traces(traces)
    start = None if since is None else T0 + timedelta(seconds=since)
    expected = [
        t
        for t in traces
        if (status is None or t.status == status)
        and (route is None or t.route == route)
        and (tenant is None or t.tenant == tenant)
        and (start is None or t.created_at >= start)
    ]
    where = TraceFilter(feature=feature, status=status, route=route, tenant=tenant, since=start)
    found = store.search_traces(where, limit=100)
    assert [r["id"] for r in found.rows] == _order(expected)


def test_words_are_found_by_the_start_of_a_word_in_input_output_or_error(store: Store) -> None:
    a = _trace("words", 1, input={"text": "떡볶이맛집 메뉴"}, output_text="Approve: Bibimbap bowl")
    b = _trace("words", 2, output_json={"decision": "reject", "note": "phone number"})
    c = _trace("words", 3, status="error", error="Provider timed out")
    store.save_traces([a, b, c])
    search = lambda q: [r["id"] for r in store.search_traces(TraceFilter(text=q)).rows]  # noqa: E731
    assert search("bibim") == [a.id]
    assert search("떡볶이") == [a.id]
    assert search("phone reject") == [b.id]
    assert search("phone approve") == []
    assert search("TIMED") == [c.id]
    assert search("imbap") == []  # the start of a word, not any substring
    assert set(search("")) >= {a.id, b.id, c.id}  # no words: no text condition


def test_pruned_traces_leave_the_text_index(store: Store) -> None:
    old = _trace("prune", 0, output_text="forgotten lasagna")
    store.save_traces([old])
    store.prune_traces({"prune": T0 + timedelta(days=1)})
    store.save_traces([_trace("prune", 5, output_text="kept lasagna")])
    found = store.search_traces(TraceFilter(text="lasagna")).rows
    assert [r["output_text"] for r in found] == ["kept lasagna"]


def test_version_prefix_user_and_until(store: Store) -> None:
    v1, v2 = "ab12cd" + "1" * 58, "ab12ce" + "2" * 58
    x = _trace("ver", 1, version_id=v1, user_id="kim")
    y = _trace("ver", 2, version_id=v2, user_id="lee")
    store.save_traces([x, y])
    ids = lambda w: [r["id"] for r in store.search_traces(w).rows]  # noqa: E731
    assert ids(TraceFilter(version="ab12cd")) == [x.id]
    assert ids(TraceFilter(version="AB12CD")) == []  # ids are exact about case
    assert ids(TraceFilter(version=v2)) == [y.id]
    assert ids(TraceFilter(feature="ver", user_id="lee")) == [y.id]
    assert ids(TraceFilter(feature="ver", until=T0 + timedelta(seconds=2))) == [x.id]
    assert ids(TraceFilter(feature="ver")) == [y.id, x.id]


def test_a_cursor_between_rows_still_pages_from_there(store: Store) -> None:
    rows = [_trace("cursor", s) for s in (1, 2, 3)]
    store.save_traces(rows)
    middle = Cursor(T0 + timedelta(seconds=2, milliseconds=500), "zzz")
    found = store.search_traces(TraceFilter(feature="cursor"), after=middle)
    assert [r["id"] for r in found.rows] == [rows[1].id, rows[0].id]


def test_words_of_keeps_letters_and_digits() -> None:
    assert words_of('Menu-Photo "review" 010_1234 떡볶이!') == ["menu", "photo", "review", "010", "1234", "떡볶이"]


@pytest.mark.parametrize(("probe", "few"), [(1, 0), (4, 0), (2000, 0), (2000, 5000)])
def test_common_words_give_the_same_pages_whether_probed_row_by_row_or_collected(
    store: Store, monkeypatch: pytest.MonkeyPatch, probe: int, few: int
) -> None:
    monkeypatch.setattr(webtraces, "PROBE", probe)
    monkeypatch.setattr(webtraces, "FEW", few)
    traces = [
        _trace("probe", i // 2, output_text="approve" if i % 3 else "reject", tenant=f"t{i % 2}") for i in range(30)
    ]
    store.save_traces(traces)
    expected = _order([t for t in traces if t.output_text == "approve" and t.tenant == "t1"])
    where = TraceFilter(feature="probe", text="appro", tenant="t1")
    walked, after = [], None
    while True:
        found = store.search_traces(where, after=after, limit=3)
        walked += [r["id"] for r in found.rows]
        if found.older is None:
            break
        after = found.older
    assert walked == expected
