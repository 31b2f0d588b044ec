"""Group-committed traces on real SQLite and PostgreSQL: acknowledged means stored, failures fail their calls."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text

from andon.config.schema import DataUseConfig, FeatureConfig, WorkspaceConfig
from andon.errors import NotFoundError
from andon.gateway.tracing import TraceWriteError, TraceWriter, retention_cutoffs, trace_record
from andon.store import Store
from andon.store.models import FeedbackRow, OutputRow, ReviewItemRow, TraceRow
from andon.store.records import OutputRecord, ReviewItem, TraceRecord, new_id


def make_trace(feature: str = "menu", *, created_at: datetime | None = None, **changes: Any) -> TraceRecord:
    values: dict[str, Any] = {
        "id": new_id("trc"),
        "feature": feature,
        "route": "ai",
        "status": "ok",
        "input_mode": "redacted",
        "input": {"description": "김치찌개 [PHONE]"},
        "input_hash": "0" * 64,
        "created_at": created_at or datetime.now(UTC),
        "version_id": "v" * 64,
        "version_name": "v1",
        "output_text": "ok",
        "tags": {"team": "menu"},
    }
    values.update(changes)
    return TraceRecord(**values)


def make_output(feature: str = "menu") -> OutputRecord:
    now = datetime.now(UTC)
    return OutputRecord(
        id=new_id("out"),
        feature=feature,
        version_id="v" * 64,
        provider="stub",
        model="m",
        params={},
        messages=[{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
        status="ok",
        started_at=now,
        finished_at=now,
        output_text="ok",
    )


def count(store: Store, model: type[Any]) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(model)).scalar_one())


async def test_acknowledged_traces_are_stored_in_full_batches(store: Store) -> None:
    # A window far longer than the test: only full batches can trigger these commits.
    writer = TraceWriter(store, group_commit_ms=600_000, max_batch=10)
    await writer.start()
    traces = [make_trace() for _ in range(50)]
    try:
        await asyncio.gather(*(writer.write(t) for t in traces))
    finally:
        await writer.stop()
    assert writer.stats.commits == 5
    assert writer.stats.largest_batch == 10
    stored = {row["id"] for row in store.list_traces("menu", limit=100)}
    assert stored == {t.id for t in traces}


async def test_a_lone_trace_commits_when_its_window_ends(store: Store) -> None:
    writer = TraceWriter(store, group_commit_ms=20, max_batch=100)
    await writer.start()
    trace = make_trace()
    output = make_output()
    trace.output_id = output.id
    try:
        await writer.write(trace, [output])
        # Acknowledged: another connection reads it back at once, with its provenance.
        stored = trace_record(store.get_trace(trace.id))
    finally:
        await writer.stop()
    assert stored.input == {"description": "김치찌개 [PHONE]"}
    assert stored.tags == {"team": "menu"}
    assert stored.created_at == trace.created_at
    assert store.outputs_by_id([output.id])[output.id].messages == output.messages


async def test_one_bad_row_fails_only_its_own_call(store: Store) -> None:
    writer = TraceWriter(store, group_commit_ms=600_000, max_batch=3)
    await writer.start()
    first = make_trace()
    await asyncio.gather(writer.write(first), writer.write(make_trace()), writer.write(make_trace()))
    # Same primary key: the database refuses it (on PostgreSQL the key is (id, created_at): partitions, 0023).
    clash = make_trace(id=first.id, created_at=first.created_at)
    good = [make_trace(), make_trace()]
    try:
        results = await asyncio.gather(
            writer.write(clash), writer.write(good[0]), writer.write(good[1]), return_exceptions=True
        )
    finally:
        await writer.stop()
    assert isinstance(results[0], TraceWriteError)
    assert first.id in str(results[0])
    assert results[1] is None and results[2] is None
    assert {t.id for t in good} <= {row["id"] for row in store.list_traces(limit=10)}
    assert writer.stats.failed == 1


async def test_when_the_store_fails_every_call_of_the_batch_fails(store: Store) -> None:
    writer = TraceWriter(store, group_commit_ms=600_000, max_batch=4)
    await writer.start()
    with store.engine.begin() as conn:
        conn.execute(text("DROP TABLE feedback"))
        conn.execute(text("DROP TABLE traces"))
    try:
        results = await asyncio.gather(*(writer.write(make_trace()) for _ in range(4)), return_exceptions=True)
    finally:
        await writer.stop()
    assert all(isinstance(r, TraceWriteError) for r in results)
    assert writer.stats.failed == 4
    assert writer.stats.commits == 0


async def test_trace_output_and_review_item_commit_together_or_not_at_all(store: Store) -> None:
    writer = TraceWriter(store, group_commit_ms=0)
    await writer.start()
    try:
        queued = ReviewItem.new("menu", "fallback", input={"a": 1})
        trace, output = make_trace(status="queued", route="fallback"), make_output()
        await writer.write(trace, [output], [queued])
        assert store.get_review_item(queued.id)["trace_id"] is None  # stored as given
        again = ReviewItem.new("menu", "fallback")
        again.id = queued.id  # clashes: the whole transaction must roll back
        trace2, output2 = make_trace(status="queued"), make_output()
        with pytest.raises(TraceWriteError):
            await writer.write(trace2, [output2], [again])
    finally:
        await writer.stop()
    with pytest.raises(NotFoundError):
        store.get_trace(trace2.id)
    assert output2.id not in store.outputs_by_id([output2.id])
    assert count(store, ReviewItemRow) == 1


async def test_stop_commits_what_is_waiting_and_then_refuses(store: Store) -> None:
    writer = TraceWriter(store, group_commit_ms=600_000, max_batch=1000)
    await writer.start()
    tasks = [asyncio.create_task(writer.write(make_trace())) for _ in range(7)]
    await asyncio.sleep(0)  # let them queue
    await writer.stop()
    await asyncio.gather(*tasks)
    assert count(store, TraceRow) == 7
    with pytest.raises(TraceWriteError, match="not running"):
        await writer.write(make_trace())


async def test_a_cancelled_caller_still_gets_its_trace_stored(store: Store) -> None:
    writer = TraceWriter(store, group_commit_ms=600_000, max_batch=1000)
    await writer.start()
    trace = make_trace()
    task = asyncio.create_task(writer.write(trace))
    await asyncio.sleep(0)
    task.cancel()
    await writer.stop()
    assert store.get_trace(trace.id)["id"] == trace.id


def test_lookups_feedback_and_prefixes(store: Store) -> None:
    older = make_trace(created_at=datetime.now(UTC) - timedelta(minutes=5), status="error", route="fallback")
    newer = make_trace("other")
    store.save_traces([older, newer])
    assert [t["id"] for t in store.list_traces()] == [newer.id, older.id]
    assert [t["id"] for t in store.list_traces(status="error")] == [older.id]
    assert [t["id"] for t in store.list_traces(route="ai")] == [newer.id]
    assert store.trace_features() == ["menu", "other"]
    assert store.get_trace(newer.id[:20])["id"] == newer.id
    with pytest.raises(NotFoundError, match="no trace"):
        store.get_trace("trc_nothing_here")
    feedback = store.add_feedback(newer.id, thumbs=-1, comment="틀렸어요", user_id="u1")
    assert (feedback.trace_id, feedback.thumbs, feedback.comment) == (newer.id, -1, "틀렸어요")
    assert [f.id for f in store.list_feedback(newer.id)] == [feedback.id]
    with pytest.raises(NotFoundError):
        store.add_feedback("trc_unknown", score=1.0)


def test_prune_deletes_old_traces_with_outputs_and_feedback(store: Store) -> None:
    now = datetime.now(UTC)
    old_output, kept_output = make_output(), make_output()
    old = make_trace(created_at=now - timedelta(days=8), output_id=old_output.id)
    kept = make_trace(created_at=now - timedelta(days=6), output_id=kept_output.id)
    gone_feature = make_trace("removed", created_at=now - timedelta(days=31))
    young_gone_feature = make_trace("removed", created_at=now - timedelta(days=29))
    store.save_traces([old, kept, gone_feature, young_gone_feature], [old_output, kept_output])
    store.add_feedback(old.id, score=0.5)
    store.add_feedback(kept.id, score=1.0)
    config = WorkspaceConfig(
        features={"menu": FeatureConfig(serve={"data_use": DataUseConfig(retention_days=7)})}  # type: ignore[arg-type]
    )
    cutoffs, default = retention_cutoffs(config, now)
    counts = store.prune_traces(cutoffs, default)
    assert (counts.traces, counts.outputs, counts.feedback) == (2, 1, 1)
    assert {t["id"] for t in store.list_traces()} == {kept.id, young_gone_feature.id}
    assert set(store.outputs_by_id([old_output.id, kept_output.id])) == {kept_output.id}
    assert count(store, FeedbackRow) == 1
    assert count(store, OutputRow) == 1
    # --days overrides every feature's retention.
    cutoffs, default = retention_cutoffs(config, now, days=1)
    assert store.prune_traces(cutoffs, default).traces == 2
