"""The dashboard's store and floor-7 logic on real SQLite and PostgreSQL: users, lock-out, sessions, claims, totals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from andon.errors import ConfigError, NotFoundError
from andon.review import claims
from andon.review.decisions import DecisionRules
from andon.review.queue import ReviewItem
from andon.store import Store
from andon.store.models import utcnow
from andon.store.records import TraceRecord, new_id
from andon.store.web import HourTotals
from andon.web.hours import hourly_totals
from andon.web.users import Lockout, SignInError, add_user, authenticate, may

PASSWORD = "a long enough password"


def _items(store: Store, n: int, feature: str = "menu") -> list[str]:
    start = utcnow() - timedelta(hours=1)
    at = [start + timedelta(seconds=i) for i in range(n)]
    items = [ReviewItem.new(feature, "stopped", input={"n": i}, created_at=at[i]) for i in range(n)]
    store.add_review_items(items)
    return [i.id for i in items]


def test_roles_grant_what_the_key_scopes_do() -> None:
    assert not may("viewer", "review") and not may("viewer", "admin")
    assert may("reviewer", "review") and not may("reviewer", "admin")
    assert may("admin", "review") and may("admin", "admin") and may("admin", "invoke")


def test_a_user_signs_in_with_their_password_only(store: Store) -> None:
    user = add_user(store, "jieun", PASSWORD, "reviewer")
    assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash
    assert authenticate(store, "jieun", PASSWORD, Lockout()).id == user.id
    with pytest.raises(SignInError):
        authenticate(store, "jieun", PASSWORD + "!", Lockout())
    with pytest.raises(ConfigError):
        add_user(store, "jieun", PASSWORD, "viewer")  # the name is taken
    with pytest.raises(ConfigError):
        add_user(store, "minho", "short", "viewer")
    with pytest.raises(ConfigError):
        add_user(store, "minho", PASSWORD, "owner")


def test_the_lock_out_counts_failures_in_a_row(store: Store) -> None:
    add_user(store, "jieun", PASSWORD, "viewer")
    rule = Lockout(limit=3, duration=timedelta(minutes=10))
    for _ in range(2):
        with pytest.raises(SignInError) as wrong:
            authenticate(store, "jieun", "nope", rule)
        assert not wrong.value.locked
    authenticate(store, "jieun", PASSWORD, rule)  # a success starts the count again
    for attempt in range(3):
        with pytest.raises(SignInError) as failed:
            authenticate(store, "jieun", "nope", rule)
        assert failed.value.locked == (attempt == 2)
    with pytest.raises(SignInError) as locked:
        authenticate(store, "jieun", PASSWORD, rule)
    assert locked.value.locked
    stored = store.web_user_by_name("jieun")
    assert stored is not None and stored.locked_until is not None and stored.locked_until > utcnow()


def test_disabling_a_user_ends_their_sessions(store: Store) -> None:
    user = add_user(store, "jieun", PASSWORD, "admin")
    store.add_web_session(id_hash="a" * 64, user_id=user.id, csrf_token="t", expires_at=utcnow() + timedelta(hours=1))
    store.add_web_session(id_hash="b" * 64, user_id=user.id, csrf_token="t", expires_at=utcnow() - timedelta(hours=1))
    assert store.web_session("a" * 64) is not None
    assert store.web_session("b" * 64) is None  # expired
    store.disable_web_user("jieun")
    assert store.web_session("a" * 64) is None
    with pytest.raises(SignInError):
        authenticate(store, "jieun", PASSWORD, Lockout())
    with pytest.raises(NotFoundError):
        store.disable_web_user("nobody")


def test_two_reviewers_claim_different_items(store: Store) -> None:
    first, second, third = _items(store, 3)
    a = claims.claim_next(store, "user:a", "menu")
    b = claims.claim_next(store, "user:b", "menu")
    assert a is not None and b is not None and (a.id, b.id) == (first, second)
    again = claims.claim_next(store, "user:a", "menu")  # a reload shows the item a holds
    assert again is not None and again.id == first
    skipped = claims.claim_next(store, "user:a", "menu", skip=(first,))
    assert skipped is not None and skipped.id == third
    assert claims.claim_next(store, "user:c", "menu") is None  # all three are held


def test_an_expired_claim_returns_the_item_to_the_queue(store: Store) -> None:
    [only] = _items(store, 1)
    assert store.claim_review_item(only, "user:a", until=utcnow() - timedelta(seconds=1))
    taken = claims.claim_next(store, "user:b", "menu")
    assert taken is not None and taken.id == only
    assert store.review_claim(only) is not None and store.review_claim(only)[0] == "user:b"  # type: ignore[index]


def test_a_held_item_is_decided_by_its_holder_only(store: Store) -> None:
    [only] = _items(store, 1)
    assert claims.claim_next(store, "user:a", "menu") is not None
    rules = DecisionRules()
    with pytest.raises(claims.ClaimedError):
        claims.decide_claimed(store, only, actor="user:b", decision=None, label="reject", comment=None,
                              rules=lambda _: rules)  # fmt: skip
    done = claims.decide_claimed(store, only, actor="user:a", decision=None, label="approve", comment=None,
                                 rules=lambda _: rules)  # fmt: skip
    assert done.status == "decided" and done.decided_by == "user:a"
    assert store.review_claim(only) is None
    assert not store.claim_review_item(only, "user:b", until=utcnow() + timedelta(minutes=1))  # decided: no claim


def test_reason_codes_come_from_the_answers_schema() -> None:
    schema = {
        "type": "object",
        "properties": {
            "decision": {"enum": ["approve", "reject"]},
            "violations": {"type": "array", "items": {"enum": ["url", "phone_number"]}},
        },
    }
    codes = claims.reason_codes(DecisionRules(schema=schema))
    assert codes is not None and codes.path == ("violations",) and codes.codes == ("url", "phone_number")
    assert claims.reason_codes(DecisionRules()) is None
    item = ReviewItem.new("menu", "stopped", suggestion_json={"violations": ["url"], "decision": "reject", "x": 1})
    assert claims.suggested_codes(item, codes) == ["url"]
    with pytest.raises(ConfigError):
        claims.decision_with(item, None, DecisionRules(schema=schema), label="reject", codes=["made_up"])


def test_hourly_totals_count_calls_errors_and_cost(store: Store) -> None:
    now = datetime(2026, 12, 2, 10, 30, tzinfo=UTC)
    rows = [
        trace_row(feature="menu", created_at=now - timedelta(minutes=5), status="ok", cost=1.5),
        trace_row(feature="menu", created_at=now - timedelta(minutes=20), status="error", cost=None),
        trace_row(feature="menu", created_at=now - timedelta(hours=2), status="ok", cost=2.0),
        trace_row(feature="other", created_at=now, status="ok", cost=9.0),
        trace_row(feature="menu", created_at=now - timedelta(days=2), status="ok", cost=100.0),
    ]
    store.save_traces(rows)
    totals = store.hourly_trace_totals("menu", now - timedelta(hours=24))
    assert [(t.hour, t.calls, t.errors, t.cost) for t in totals] == [
        (datetime(2026, 12, 2, 8, tzinfo=UTC), 1, 0, 2.0),
        (datetime(2026, 12, 2, 10, tzinfo=UTC), 2, 1, 1.5),
    ]


def trace_row(*, feature: str, created_at: datetime, status: str, cost: float | None) -> TraceRecord:
    return TraceRecord(
        id=new_id("trc"), feature=feature, route="ai", status=status, input_mode="hash", input=None,
        input_hash="0" * 64, created_at=created_at, cost=cost, currency="KRW",
    )  # fmt: skip


def test_the_home_page_reads_finished_hours_once_and_the_open_hour_every_time(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = datetime(2026, 12, 2, 10, 30, tzinfo=UTC)
    start = datetime(2026, 12, 1, 11, tzinfo=UTC)
    store.save_traces([
        trace_row(feature="menu", created_at=now - timedelta(hours=3), status="ok", cost=1.0),
        trace_row(feature="menu", created_at=now - timedelta(minutes=10), status="error", cost=None),
    ])  # fmt: skip
    asked: list[datetime] = []
    real = store.hourly_trace_totals

    def counted(feature: str, since: datetime) -> list[HourTotals]:
        asked.append(since)
        return real(feature, since)

    monkeypatch.setattr(store, "hourly_trace_totals", counted)
    first = hourly_totals(store, "menu", start, now)
    assert [(t.hour.hour, t.calls, t.errors) for t in first] == [(7, 1, 0), (10, 1, 1)]
    # A call in the open hour shows at once; the second visit reads only from the last settled hour on.
    store.save_traces([trace_row(feature="menu", created_at=now, status="ok", cost=2.0)])
    second = hourly_totals(store, "menu", start, now + timedelta(minutes=1))
    assert asked == [start, datetime(2026, 12, 2, 10, tzinfo=UTC)]
    assert [(t.hour.hour, t.calls, t.errors) for t in second] == [(7, 1, 0), (10, 2, 1)]
    # The same answer as the uncached query, an hour later too (the 10:00 hour is settled then).
    later = now + timedelta(hours=1)
    assert hourly_totals(store, "menu", start + timedelta(hours=1), later) == real("menu", start + timedelta(hours=1))
    assert hourly_totals(store, "menu", start + timedelta(hours=1), later) == real("menu", start + timedelta(hours=1))
