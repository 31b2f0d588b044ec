"""The OKR board's one read of check-ins (the newest per step) says what walking every check-in says: each step's
value is the newest before its end, its current value the newest of all made by ``now``; on SQLite and PostgreSQL.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from andon.okr.board import build_board, read_okrs
from andon.okr.objectives import add_key_result, create_objective, ensure_period
from andon.okr.periods import steps
from andon.store import Store
from andon.store.okr import CheckIn, KeyResult, Objective, Team

QUARTER = "2026Q4"
ENDS = [datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)]
_FIXTURE = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
# Check-in times around the step ends (exactly on one, a second before or after) and some spread out.
moments = st.one_of(
    st.tuples(st.sampled_from(ENDS), st.sampled_from([-1, 0, 1])).map(lambda p: p[0] + timedelta(seconds=p[1])),
    st.integers(0, 110 * 86400).map(lambda s: datetime(2026, 9, 20, tzinfo=UTC) + timedelta(seconds=s)),
)
plans = st.lists(st.lists(st.tuples(moments, st.floats(0, 100, allow_nan=False)), max_size=6), min_size=1, max_size=4)
nows = st.sampled_from(
    [datetime(2026, 10, 15, tzinfo=UTC), ENDS[1], ENDS[1] + timedelta(seconds=1), datetime(2027, 2, 1, tzinfo=UTC)]
)


def _walked(checkins: list[CheckIn], ends: list[datetime], now: datetime) -> list[CheckIn | None]:
    """The newest of each stretch, by walking every check-in (oldest first, as the store lists them)."""
    out: list[CheckIn | None] = [None] * (len(ends) + 1)
    for c in checkins:
        if c.created_at <= now:
            out[next((i for i, end in enumerate(ends) if c.created_at < end), len(ends))] = c
    return out


@settings(max_examples=12, suppress_health_check=_FIXTURE)
@given(plan=plans, now=nows)
def test_the_newest_per_step_is_what_walking_every_checkin_finds(store: Store, plan: list, now: datetime) -> None:
    prefix = uuid.uuid4().hex[:6]
    store.upsert_team(Team(id=f"{prefix}-t", name="팀", members=("jiwoo",)))
    ensure_period(store, QUARTER)
    obj = create_objective(store, Objective(title="O", owner="jiwoo", team=f"{prefix}-t", period=QUARTER))
    ids = []
    for k, checkins in enumerate(plan):
        kr = add_key_result(store, KeyResult(objective=obj.id, title=f"KR{k}", owner="jiwoo", start=0, target=100),
                            actor="test")  # fmt: skip
        ids.append(kr.id)
        if checkins:
            store.add_checkins(
                [CheckIn(key_result=kr.id, value=v, author="jiwoo", created_at=at) for at, v in checkins]
            )
    every = store.checkins_by_key_result(ids)
    found = store.checkins_by_step(ids, ENDS, now)
    assert found == {kr: _walked(every[kr], ENDS, now) for kr in ids}
    assert store.checkins_by_step(ids, [], now) == {kr: [_walked(every[kr], [], now)[0]] for kr in ids}
    # The board: a step not begun is empty, else the newest value before its end; the current value the newest.
    columns = steps(store.period(QUARTER))  # type: ignore[arg-type]
    assert [end for _, _, end in columns] == ENDS
    board = build_board(store, QUARTER, now=now)
    data = read_okrs(store)
    everyone = store.checkins_by_step([kr.id for kr in data.key_results_of({QUARTER})], ENDS, now)
    assert board == build_board(store, QUARTER, now=now, data=data, by_step=everyone)
    for row in (r for r in board.rows if r.kr_id in ids):
        made = [c for c in every[row.kr_id] if c.created_at <= now]
        assert row.current == (made[-1].value if made else None)
        expected = []
        for label, start, end in columns:
            before = [c.value for c in made if c.created_at < end]
            expected.append((label, before[-1] if before and start <= now else None))
        assert row.actuals == expected
