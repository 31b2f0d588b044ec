"""Rollouts in the store (SQLite and PostgreSQL): one active per feature, compare-and-set, events, samples."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from andon.store import Store
from andon.store.records import TraceRecord, new_id
from andon.store.rollouts import NewRolloutEvent

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def values(feature: str = "menu") -> dict[str, Any]:
    return {
        "id": new_id("ro"), "feature": feature, "stable_id": "s" * 64, "stable_name": "v1", "canary_id": "c" * 64,
        "canary_name": "v2", "status": "running", "step": 0, "weight": 500, "step_started_at": T0,
        "settings": {"config": {"steps": [{"weight": 5, "calls": 10}]}}, "actor": "ana", "reason": None,
    }  # fmt: skip


def test_one_active_rollout_per_feature_until_it_ends(store: Store) -> None:
    first = store.create_rollout(values(), NewRolloutEvent("started", 0, "ana"))
    assert first is not None and first.active_key == "menu"
    assert store.create_rollout(values(), NewRolloutEvent("started", 0, "bob")) is None
    assert store.create_rollout(values("other"), NewRolloutEvent("started", 0, "bob")) is not None
    ended = store.change_rollout(
        first.id, first.revision, {"status": "aborted"}, [NewRolloutEvent("aborted", 0, "ana")]
    )
    assert ended is not None and ended.active_key is None and ended.finished_at is not None
    assert store.active_rollout("menu") is None
    assert store.create_rollout(values(), NewRolloutEvent("started", 0, "ana")) is not None


def test_a_change_at_an_old_revision_is_refused_and_writes_nothing(store: Store) -> None:
    record = store.create_rollout(values(), NewRolloutEvent("started", 0, "ana"))
    assert record is not None
    moved = store.change_rollout(record.id, record.revision, {"step": 1}, [NewRolloutEvent("step", 1, "w")])
    assert moved is not None and moved.revision == record.revision + 1
    stale = store.change_rollout(record.id, record.revision, {"status": "paused"}, [NewRolloutEvent("paused", 0, "p")])
    assert stale is None
    assert [e.kind for e in store.rollout_events(record.id)] == ["started", "step"]
    assert store.get_rollout(record.id[:10]).status == "running"


def trace(version_id: str, at: datetime, *, error: str | None = None, route: str = "ai") -> TraceRecord:
    return TraceRecord(
        id=new_id("trc"), feature="menu", route=route, status="error" if error else "ok", input_mode="full",
        input={}, input_hash="0" * 64, created_at=at, version_id=version_id, version_name="v", output_id=None,
        cache=None, output_text=None, output_json={"decision": "approve"}, error=None, error_code=error,
        provider="python", model="f", input_tokens=0, output_tokens=0, cost=None, currency=None, latency_ms=5.0,
        queue_ms=0.0, cache_ms=0.0, provider_ms=5.0, user_id="u1", session_id=None, tenant=None, api_key_id=None,
        tags={}, note=None,
    )  # fmt: skip


def test_samples_are_the_versions_calls_in_the_window_without_probes(store: Store) -> None:
    store.save_traces([
        trace("c" * 64, T0 + timedelta(minutes=1)),
        trace("c" * 64, T0 + timedelta(minutes=2), error="provider_error"),
        trace("c" * 64, T0 + timedelta(minutes=3), route="probe"),
        trace("c" * 64, T0 - timedelta(minutes=1)),
        trace("s" * 64, T0 + timedelta(minutes=1)),
    ])  # fmt: skip
    samples = store.rollout_samples("menu", ["c" * 64], T0, T0 + timedelta(hours=1))
    assert sorted(s.failed for s in samples) == [False, True]
    assert store.rollout_calls("menu", "c" * 64, T0, T0 + timedelta(hours=1)) == 2
