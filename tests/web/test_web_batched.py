"""The batched reads of the monitor and OKR pages say what the one-by-one reads say, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from andon.okr.board import build_board, summarize_periods
from andon.okr.objectives import add_key_result, create_objective, ensure_period
from andon.store import Store
from andon.store.okr import CheckIn, KeyResult, Objective, Team
from andon.store.watch import PullClaim, WatchPoint
from andon.web.charts import Scale

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
DECISIONS = (None, "act", "shadow", "cooldown", "resume")

# One monitor: its points' decisions (oldest first), whether a watcher holds its lease, pulls (pending?) it made.
monitor_plans = st.tuples(
    st.lists(st.sampled_from(DECISIONS), max_size=4),
    st.booleans(),
    st.lists(st.booleans(), max_size=3),
)
_FIXTURE = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]


def _fill(store: Store, prefix: str, plans: list[tuple[list[str | None], bool, list[bool]]]) -> list[str]:
    names = [f"{prefix}-{i}" for i in range(len(plans))]
    for name, (decisions, leased, pulls) in zip(names, plans, strict=True):
        token = store.acquire_lease(name, "w1", 3600, T0)
        assert token is not None
        for j, decision in enumerate(decisions):
            claims = [
                PullClaim(dedupe_key=f"{name}-{j}-{k}", action="stop", feature="menu", actor="monitor", reason="up",
                          monitor=name)
                for k in range(len(pulls)) if j == len(decisions) - 1
            ]  # fmt: skip
            point = WatchPoint(monitor=name, ts=T0 + timedelta(minutes=j), value=j * 0.1, state="warn", score=0.3,
                               reason=f"tick {j}", decision=decision)  # fmt: skip
            state = {"last_value": j * 0.1, "last_state": "warn", "last_reason": f"tick {j}"}
            assert store.commit_evaluation(name, owner="w1", token=token, point=point, status="warn", state=state,
                                           claims=claims)  # fmt: skip
        made = store.cord_pulls(monitor=name)
        for pull, pending in zip(made, pulls, strict=False):
            if not pending:
                store.finish_pull(pull.id, incident_id=None, details={})
        if not leased:
            store.release_lease(name, "w1", token)
            store.acquire_lease(name, "w2", 60, T0 + timedelta(hours=2))  # another watcher took it over
    return names


@settings(max_examples=12, suppress_health_check=_FIXTURE)
@given(plans=st.lists(monitor_plans, max_size=5), unknown=st.integers(0, 2))
def test_monitor_overviews_equal_the_one_by_one_reads(store: Store, plans: list, unknown: int) -> None:
    prefix = uuid.uuid4().hex[:8]  # the store is shared by the examples: each writes monitors of its own
    names = _fill(store, prefix, plans) + [f"{prefix}-never-{i}" for i in range(unknown)]
    found = store.monitor_overviews(names + names[:1])  # a name twice is read once
    assert sorted(found) == sorted(names)
    for name in names:
        seen, last = found[name], store.watch_points(name, limit=1)
        assert seen.saved == store.monitor_state(name)
        assert seen.last_decision == (last[0].decision if last else None)
        assert seen.lease == store.lease_holder(name)
        assert seen.pending_pulls == len(store.cord_pulls(monitor=name, status="pending"))


def test_monitor_overviews_read_more_monitors_than_one_chunk(store: Store) -> None:
    filled = _fill(store, "few", [(["act"], True, [True])] * 3)
    names = [f"m{i:03d}" for i in range(450)]
    names[10:10], names[250:250], names[449:449] = filled[:1], filled[1:2], filled[2:]  # one in each chunk
    found = store.monitor_overviews(names)
    assert list(found) == names
    assert [n for n, o in found.items() if o.saved is not None] == filled
    assert [n for n, o in found.items() if o.pending_pulls == 1 and o.last_decision == "act"] == filled


def test_features_stopped_follow_the_newest_stop_or_resume(store: Store) -> None:
    for feature, kinds in {"a": ["stopped"], "b": ["stopped", "resumed"], "c": ["resumed", "stopped"],
                           "d": ["cases_allowed"]}.items():  # fmt: skip
        for kind in kinds:
            store.record_feature_event(feature, kind, {}, "ops", "why")
    found = store.features_stopped(["a", "b", "c", "d", "e"])
    assert found == {f: store.feature_stopped(f)[0] for f in "abcde"}
    assert found == {"a": True, "b": False, "c": True, "d": False, "e": False}
    assert store.features_stopped([]) == {}


QUARTERS = ["2026Q1", "2026Q2", "2026Q3", "2026Q4"]
kr_plans = st.tuples(
    st.integers(0, 2),  # team
    st.integers(0, 3),  # quarter
    st.lists(st.floats(0, 100, allow_nan=False), max_size=3),  # check-in values, oldest first
    st.floats(0.5, 2.0),  # weight
)


@settings(max_examples=10, suppress_health_check=_FIXTURE)
@given(plans=st.lists(st.lists(kr_plans, max_size=3), max_size=4), empty=st.booleans())
def test_the_quarter_summary_is_each_boards_team_roll_up(store: Store, plans: list, empty: bool) -> None:
    prefix = uuid.uuid4().hex[:6]
    teams = [f"{prefix}-t{i}" for i in range(3)]
    for i, team in enumerate(teams):
        store.upsert_team(Team(id=team, name=f"팀 {prefix} {i}", parent=teams[0] if i else None, members=("jiwoo",)))
    now = datetime(2026, 12, 1, tzinfo=UTC)
    for quarter in QUARTERS:
        ensure_period(store, quarter)
    for o, krs in enumerate(plans):
        team, quarter = teams[krs[0][0] if krs else 1], QUARTERS[krs[0][1] if krs else 0]
        obj = create_objective(store, Objective(title=f"O{o}", owner="jiwoo", team=team, period=quarter))
        for k, (_, _, values, weight) in enumerate(krs):
            kr = add_key_result(store, KeyResult(objective=obj.id, title=f"KR{k}", owner="jiwoo", start=10,
                                                 target=90, weight=weight), actor="test")  # fmt: skip
            store.add_checkins([
                CheckIn(key_result=kr.id, value=v, author="jiwoo", created_at=now - timedelta(days=30 - j))
                for j, v in enumerate(values)
            ] + ([CheckIn(key_result=kr.id, value=1.0, author="jiwoo", created_at=now + timedelta(days=1))]
                 if empty else []))  # fmt: skip  # a check-in after ``now`` is not counted yet
    found = summarize_periods(store, QUARTERS, now=now)
    boards = [build_board(store, q, now=now) for q in QUARTERS]
    names = {r.team_id: r.team for b in boards for r in b.rows if r.team_id in teams}
    mine = [(tid, name) for tid, name in found.teams if tid in teams]
    assert mine == list(names.items())
    for tid, _ in mine:
        assert found.progress[tid] == [b.team_progress.get(tid) for b in boards]


def test_latest_checkins_take_the_newest_by_the_time_given(store: Store) -> None:
    store.upsert_team(Team(id="t", name="T", members=("jiwoo",)))
    obj = create_objective(store, Objective(title="O", owner="jiwoo", team="t", period="2026Q4"))
    kr = add_key_result(store, KeyResult(objective=obj.id, title="K", owner="jiwoo", start=0, target=10), actor="x")
    other = add_key_result(store, KeyResult(objective=obj.id, title="L", owner="jiwoo", start=0, target=10), actor="x")
    at = datetime(2026, 11, 1, tzinfo=UTC)
    store.add_checkins([CheckIn(key_result=kr.id, value=v, author="jiwoo", created_at=at + timedelta(days=d))
                        for v, d in ((1, -2), (2, -1), (3, 0), (4, 1))])  # fmt: skip
    found = store.latest_checkins([kr.id, other.id], at)
    assert list(found) == [kr.id] and found[kr.id].value == 3
    later = store.latest_checkins([kr.id], at + timedelta(days=5))
    assert later[kr.id] == store.latest_checkin(kr.id)


@pytest.mark.parametrize("n", [0, 1])
def test_an_empty_or_single_request_reads_nothing_odd(store: Store, n: int) -> None:
    assert list(store.monitor_overviews(["solo"][:n])) == ["solo"][:n]


finite = st.floats(-1e6, 1e6, allow_nan=False)


@given(
    points=st.lists(st.tuples(finite, finite), max_size=40),
    box=st.tuples(finite, finite, finite, finite),
)
def test_placing_many_points_gives_the_pixels_of_one_by_one(points: list[tuple[float, float]], box: tuple) -> None:
    x0, x1, y0, y1 = box
    scale = Scale(x0, x1, y0, y1, 640, 180)
    assert scale.place([x for x, _ in points], [y for _, y in points]) == [scale.at(x, y) for x, y in points]


def test_the_series_times_are_the_points_epoch_seconds(store: Store) -> None:
    _fill(store, "ser", [([None, "act", None], True, [])])
    points = store.watch_points("ser-0")
    series = store.watch_series("ser-0", start=T0 + timedelta(seconds=30))
    assert [(v, s) for _, v, s, _, _ in series] == [(p.value, p.state) for p in points[1:]]
    assert all(abs(ts - p.ts.timestamp()) < 1e-3 for (ts, *_), p in zip(series, points[1:], strict=True))
