"""``ai_human_agreement``: decided review items whose decision matches the AI's answer, per window (SQLite and PG)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from andon.config.schema import MonitorConfig
from andon.store import Store
from andon.store.records import ReviewItem
from andon.watch.sources import trace_metric

DAY = datetime(2026, 12, 1, tzinfo=UTC)


def _decided(store: Store, ai: object, human: object, at: datetime, *, label: str | None = None) -> None:
    item = ReviewItem.new(
        "menu", "shadow", suggestion_json=ai, suggestion_text=None, created_at=at - timedelta(hours=1)
    )
    store.add_review_item(item)
    store.decide_review_item(item.id, decision=human, label=label, comment=None, actor="jieun", decided_at=at)


def test_agreement_per_day_at_the_label_field(store: Store) -> None:
    noon = DAY + timedelta(hours=12)
    _decided(store, {"decision": "approve"}, {"decision": "approve"}, noon)
    _decided(store, {"decision": "reject"}, {"decision": "Reject "}, noon)  # spelling aside, the same label
    _decided(store, {"decision": "approve"}, {"decision": "reject"}, noon)
    _decided(store, {"decision": "approve"}, None, noon, label="approve")  # decided by label only
    _decided(store, {"other": 1}, {"decision": "approve"}, noon)  # the AI named no decision: not compared
    _decided(store, {"decision": "approve"}, {"decision": "reject"}, noon + timedelta(days=1))  # the next day
    pending = ReviewItem.new("menu", "shadow", suggestion_json={"decision": "approve"})
    store.add_review_item(pending)  # not decided: not compared
    assert store.review_agreement("menu", DAY, DAY + timedelta(days=1), ("decision",)) == (3, 4)
    measured = trace_metric(store, "menu", "ai_human_agreement", DAY, DAY + timedelta(days=1), path="decision")
    assert measured.value == pytest.approx(0.75) and measured.counts is not None
    assert (measured.counts.successes, measured.counts.trials) == (3, 4)
    nothing = trace_metric(store, "menu", "ai_human_agreement", DAY - timedelta(days=1), DAY, path="decision")
    assert nothing.value is None and nothing.calls == 0


def test_whole_answers_compare_when_no_path_is_given(store: Store) -> None:
    noon = DAY + timedelta(hours=12)
    _decided(store, {"decision": "approve", "violations": []}, {"decision": "approve", "violations": []}, noon)
    _decided(store, {"decision": "reject", "violations": ["url"]}, {"decision": "reject", "violations": []}, noon)
    assert store.review_agreement("menu", DAY, DAY + timedelta(days=1)) == (1, 2)


def test_a_monitor_can_watch_it() -> None:
    config = MonitorConfig.model_validate(
        {"feature": "menu", "source": {"type": "traces", "path": "decision"}, "metric": "ai_human_agreement",
         "window": "1d", "detector": {"type": "proportion"}}
    )  # fmt: skip
    assert config.metric == "ai_human_agreement"
