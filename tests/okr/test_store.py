"""The OKR store on real SQLite and PostgreSQL: round trips, lookups by key and prefix, idempotent check-ins,
frozen periods, work items that update instead of duplicating, links and importer cursors."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta

import pytest

from andon.errors import NotFoundError, PeriodClosedError
from andon.store import Store
from andon.store.okr import CheckIn, KeyResult, KrEvent, Objective, Period, Team, WorkItem

T0 = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)


def _seed(store: Store) -> tuple[Objective, KeyResult]:
    store.upsert_team(Team(id="menu-ai", name="Menu AI", members=("jiwoo", "minsu")))
    store.upsert_period(Period(id="2026Q4", starts=date(2026, 10, 1), ends=date(2026, 12, 31)))
    obj = store.add_objective(
        Objective(title="리뷰 자동화", owner="jiwoo", team="menu-ai", period="2026Q4", key="menu-auto", created_at=T0)
    )
    kr = store.add_key_result(
        KeyResult(
            objective="menu-auto",
            title="auto-approval share",
            owner="minsu",
            unit="%",
            start=40.0,
            target=70.0,
            binding={"type": "andon_metric", "feature": "menu-photo-review", "metric": "label_share"},
            key="menu-auto-1",
            created_at=T0,
        )
    )
    return obj, kr


def test_teams_periods_objectives_and_key_results_round_trip(store: Store) -> None:
    obj, kr = _seed(store)
    store.upsert_team(Team(id="menu-ai-ops", name="Ops", parent="menu-ai"))

    assert store.team("menu-ai") == Team(id="menu-ai", name="Menu AI", members=("jiwoo", "minsu"))
    assert [t.id for t in store.teams()] == ["menu-ai", "menu-ai-ops"]
    assert store.team("nope") is None
    assert store.period("2026Q4") == Period(id="2026Q4", starts=date(2026, 10, 1), ends=date(2026, 12, 31))
    assert store.objective(obj.id) == obj
    assert store.objective("menu-auto") == obj  # by key
    assert store.objective(obj.id[:10]) == obj  # by unique prefix
    assert kr.objective == obj.id  # the key was resolved to the id
    assert store.key_result("menu-auto-1") == kr
    assert store.key_results(objective=obj.id) == [kr]
    assert store.key_results(period="2026Q4") == [kr]
    assert store.key_results(period="2027Q1") == []
    assert store.objectives(period="2026Q4", team="menu-ai") == [obj]
    assert store.objectives(team="menu-ai-ops") == []


def test_updates_replace_fields_but_keep_id_and_creation_time(store: Store) -> None:
    obj, kr = _seed(store)
    moved = store.update_key_result(dataclasses.replace(kr, target=80.0, owner="jiwoo", created_at=T0 + timedelta(1)))
    assert (moved.target, moved.owner, moved.created_at) == (80.0, "jiwoo", T0)
    assert store.update_objective(dataclasses.replace(obj, title="new")).title == "new"


def test_unknown_refs_are_not_found_errors_with_a_hint(store: Store) -> None:
    _seed(store)
    with pytest.raises(NotFoundError) as caught:
        store.key_result("kr_doesnotexist")
    assert caught.value.hint
    with pytest.raises(NotFoundError):
        store.objective("missing")
    with pytest.raises(NotFoundError):
        store.add_objective(Objective(title="x", owner="a", team="menu-ai", period="1999Q1"))


def test_a_stepped_checkin_is_written_once_per_source_and_step(store: Store) -> None:
    _, kr = _seed(store)
    first = CheckIn(key_result=kr.id, value=45.0, author="sync", source="binding:andon_metric", step="2026-10-06")
    assert store.add_checkin(first) == first
    again = dataclasses.replace(first, id="chk_other", value=99.0)
    assert store.add_checkin(again) is None
    other_source = dataclasses.replace(again, id="chk_third", source="binding:sql")
    assert store.add_checkin(other_source) is not None
    # Without a step, every manual check-in counts.
    for value in (46.0, 47.0):
        store.add_checkin(CheckIn(key_result="menu-auto-1", value=value, author="minsu", created_at=T0 + timedelta(1)))
    values = [c.value for c in store.checkins(kr.id)]
    assert sorted(values) == [45.0, 46.0, 47.0, 99.0]
    assert 45.0 in values and values.count(99.0) == 1
    assert [c.value for c in store.checkins(kr.id, since=T0 + timedelta(2))] == [45.0, 99.0]  # stamped now
    latest = store.latest_checkin(kr.id)
    assert latest is not None and latest.value == 99.0  # the newest by time, not by insertion


def test_checkins_keep_their_snapshot_confidence_and_time(store: Store) -> None:
    _, kr = _seed(store)
    at = T0 + timedelta(days=3, hours=1)
    chk = CheckIn(
        key_result=kr.id, value=51.5, author="minsu", confidence=7, comment="좋아요", snapshot={"n": 200}, created_at=at
    )
    store.add_checkin(chk)
    (got,) = store.checkins(kr.id)
    assert got == chk
    assert store.checkins(kr.id, since=at + timedelta(seconds=1)) == []


def test_a_closed_period_freezes_objectives_key_results_checkins_and_history(store: Store) -> None:
    obj, kr = _seed(store)
    closed = store.close_period("2026Q4", T0 + timedelta(days=90))
    assert closed.closed_at == T0 + timedelta(days=90)
    assert store.close_period("2026Q4", T0 + timedelta(days=99)).closed_at == closed.closed_at  # idempotent

    writes = [
        lambda: store.add_checkin(CheckIn(key_result=kr.id, value=60.0, author="minsu")),
        lambda: store.update_key_result(dataclasses.replace(kr, target=90.0)),
        lambda: store.add_key_result(dataclasses.replace(kr, id="kr_new", key=None)),
        lambda: store.update_objective(dataclasses.replace(obj, title="changed")),
        lambda: store.add_objective(Objective(title="late", owner="jiwoo", team="menu-ai", period="2026Q4")),
        lambda: store.add_kr_event(KrEvent(key_result=kr.id, kind="major_event", detail="x", actor="a")),
        lambda: store.upsert_period(Period(id="2026Q4", starts=date(2026, 10, 1), ends=date(2027, 1, 31))),
    ]
    for write in writes:
        with pytest.raises(PeriodClosedError) as caught:
            write()
        assert "2026Q4" in str(caught.value) and caught.value.hint
    assert store.key_result(kr.id) == kr
    assert store.checkins(kr.id) == []
    # Re-declaring the same dates (an idempotent apply) neither fails nor reopens it.
    same = store.upsert_period(Period(id="2026Q4", starts=date(2026, 10, 1), ends=date(2026, 12, 31)))
    assert same.closed_at == closed.closed_at


def test_moving_an_objective_into_a_closed_period_is_refused(store: Store) -> None:
    obj, _ = _seed(store)
    store.upsert_period(Period(id="2026Q3", starts=date(2026, 7, 1), ends=date(2026, 9, 30), closed_at=T0))
    with pytest.raises(PeriodClosedError):
        store.update_objective(dataclasses.replace(obj, period="2026Q3"))


def test_history_events_keep_before_and_after(store: Store) -> None:
    _, kr = _seed(store)
    ev = KrEvent(key_result="menu-auto-1", kind="target_changed", detail="raised", actor="jiwoo", before=70, after=80)
    store.add_kr_event(ev)
    store.add_kr_event(KrEvent(key_result=kr.id, kind="major_event", detail="launch", actor="jiwoo"))
    events = store.kr_events(kr.id)
    assert [(e.kind, e.before, e.after) for e in events] == [("target_changed", 70, 80), ("major_event", None, None)]
    assert events[0].key_result == kr.id


def test_work_items_update_by_source_and_external_id_never_duplicate(store: Store) -> None:
    item = WorkItem(source="jira", external_id="MENU-12", title="Auto approve", status="In Progress", labels=("KR",))
    assert store.upsert_work_items([item, WorkItem(source="github", external_id="o/r#3", title="PR")]) == (2, 0)
    done = dataclasses.replace(item, id="wi_other", status="Done", done=True, points=3.0)
    assert store.upsert_work_items([done, item]) == (0, 2)  # changed, then changed back
    assert store.upsert_work_items([item]) == (0, 0)
    stored = store.work_item("jira", "MENU-12")
    assert stored is not None and stored.id == item.id and stored.labels == ("KR",)
    assert [w.external_id for w in store.work_items()] == ["o/r#3", "MENU-12"]
    assert [w.source for w in store.work_items(source="jira")] == ["jira"]
    assert store.work_item("jira", "MENU-99") is None
    # Repeats inside one batch update the first, too.
    assert store.upsert_work_items([WorkItem(source="csv", external_id="1", title="a")] * 2) == (1, 0)


def test_links_are_typed_and_made_once(store: Store) -> None:
    _, kr = _seed(store)
    store.upsert_work_items([WorkItem(source="jira", external_id="MENU-1", title="t")])
    item = store.work_item("jira", "MENU-1")
    assert item is not None
    assert store.link_work(item.id, kr.id, "measures", rule="label:KR-2026Q4-1") is True
    assert store.link_work(item.id, kr.id, "measures") is False
    (link,) = store.work_links(key_result=kr.id)
    assert (link.kind, link.rule) == ("measures", "label:KR-2026Q4-1")
    assert store.work_links(work_item=item.id) == [link]
    assert store.unlink_work(item.id, kr.id) is True
    assert store.unlink_work(item.id, kr.id) is False
    with pytest.raises(NotFoundError):
        store.link_work("wi_missing", kr.id, "contributes")


def test_import_cursors(store: Store) -> None:
    assert store.import_cursor("github:o/r") is None
    store.set_import_cursor("github:o/r", {"etag": 'W/"abc"'})
    store.set_import_cursor("github:o/r", {"etag": 'W/"def"', "since": "2026-12-01T00:00:00Z"})
    assert store.import_cursor("github:o/r") == {"etag": 'W/"def"', "since": "2026-12-01T00:00:00Z"}
