"""The review queue's priority (issue 15, the guard's route) on real SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from andon.review.queue import list_items
from andon.store import Store
from andon.store.outbox import NewNotification
from andon.store.records import ReviewItem, TraceRecord


def test_pending_items_come_by_priority_then_age(store: Store) -> None:
    start = datetime(2026, 12, 1, tzinfo=UTC)
    old = ReviewItem.new("f", "low_confidence", created_at=start)
    urgent = ReviewItem.new("f", "guard", created_at=start + timedelta(hours=2), priority=100)
    newer = ReviewItem.new("f", "policy", created_at=start + timedelta(hours=1))
    store.add_review_items([old, urgent, newer])
    assert [i.id for i in list_items(store, "f")] == [urgent.id, old.id, newer.id]
    by_time = store.list_review_items("f", newest_first=True)
    assert [r["id"] for r in by_time] == [urgent.id, newer.id, old.id]  # a history reads by time alone
    assert store.get_review_item(old.id)["priority"] == 0


def test_a_trace_its_item_and_its_notification_commit_together(store: Store) -> None:
    trace = TraceRecord(id="trc_guard1", feature="f", route="human", status="queued", input_mode="full", input={},
                        input_hash="h", created_at=datetime.now(UTC))  # fmt: skip
    item = ReviewItem.new("f", "guard", trace_id=trace.id, priority=100)
    note = NewNotification(incident_id=item.id, stage="guard", notifier="oncall", payload={"type": "andon.message"})
    store.save_traces([trace], [], [item], [note])
    (row,) = store.outbox(item.id)
    assert row.status == "pending" and row.dedupe_key == f"{item.id}:guard:oncall"
    assert store.get_review_item(item.id)["priority"] == 100
