"""The board: actuals per step, achievement, health at a moment, roll-ups, team filter, history lines."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from tests.okr.okr_support import DEFINITIONS

from andon.okr import definitions
from andon.okr import objectives as okr
from andon.okr.board import band, build_board, default_period
from andon.store import Store
from andon.store.okr import Objective, Team

MID_NOV = datetime(2026, 11, 16, tzinfo=UTC)  # half the quarter gone


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """SQLite: the board reads through the store API, tested on both backends in test_store.py."""
    path = tmp_path / "okr.yaml"
    path.write_text(DEFINITIONS, encoding="utf-8")
    with Store.open(f"sqlite:///{tmp_path / 'andon.db'}") as opened:
        definitions.apply(opened, definitions.plan(opened, path, now=datetime(2026, 10, 1, tzinfo=UTC)), actor="jiwoo")
        yield opened


def test_actuals_are_the_latest_value_by_each_step_end(store: Store) -> None:
    for value, day in ((45, date(2026, 10, 10)), (50, date(2026, 10, 30)), (58, date(2026, 11, 12))):
        okr.record_checkin(store, "menu-auto.kr1", value, author="minsu", at=datetime(day.year, day.month, day.day,
                           tzinfo=UTC))  # fmt: skip
    okr.record_checkin(store, "menu-wait", 20, author="jiwoo", at=datetime(2026, 11, 1, tzinfo=UTC))
    board = build_board(store, "2026Q4", now=MID_NOV)
    auto, wait, band_row = board.rows
    assert auto.actuals == [("Oct", 50.0), ("Nov", 58.0), ("Dec", None)]  # December has not begun
    assert auto.current == 58.0 and auto.achievement == pytest.approx(0.6)
    assert auto.health == "on_track"  # 0.6 ahead of 0.5 elapsed
    assert wait.achievement == pytest.approx(0.4) and wait.health == "on_track"  # 0.1 behind: the edge
    assert band_row.achievement is None and band_row.health == "no_data"
    assert board.elapsed == pytest.approx(0.5)
    assert board.objective_progress[auto.objective_id] == pytest.approx((0.6 + 0.4 + 0) / 3)
    assert board.team_progress["menu-ai"] == pytest.approx((0.6 + 0.4) / 3)
    assert (auto.team, auto.objective, auto.owner, auto.unit) == ("Menu AI", "메뉴 사진 검수를 자동으로", "minsu", "%")
    # Looking back: at the end of October only October's value existed.
    early = build_board(store, "2026Q4", now=datetime(2026, 10, 31, tzinfo=UTC))
    assert early.rows[0].actuals == [("Oct", 50.0), ("Nov", None), ("Dec", None)]
    assert [band(a) for a in (0.75, 0.5, 0.1, None)] == ["high", "mid", "low", "none"]


def test_history_lines_and_team_filter(store: Store) -> None:
    okr.update_key_result(store, "menu-auto.kr1", actor="hana", target=80.0)
    okr.record_event(store, "menu-auto.kr1", "v3 rules went live", actor="minsu")
    row = build_board(store, "2026Q4").rows[0]
    assert row.history[1].endswith("target changed: target: 70 → 80 (hana)")
    assert row.history[2].endswith("event: v3 rules went live (minsu)")
    store.upsert_team(Team(id="ops", name="Ops", members=("jiwoo",)))
    okr.create_objective(store, Objective(title="Ops goal", owner="jiwoo", team="ops", period="2026Q4"))
    assert build_board(store, "2026Q4").teams == ["Ops", "Menu AI"]  # by the path of team ids: ops < product/…
    assert build_board(store, "2026Q4", team="product").teams == ["Menu AI"]  # menu-ai is under product
    assert build_board(store, "2026Q4", team="ops").rows == []


def test_a_yearly_period_shows_quarters_and_the_default_period(store: Store) -> None:
    store.upsert_team(Team(id="company", name="Company"))
    obj = okr.create_objective(store, Objective(title="Year", owner="jiwoo", team="company", period="2026"))
    kr = okr.add_key_result(
        store, dataclasses.replace(store.key_result("menu-wait"), id="kr_year", objective=obj.id, key=None),
        actor="jiwoo",
    )  # fmt: skip
    okr.record_checkin(store, kr.id, 25, author="jiwoo", at=datetime(2026, 5, 1, tzinfo=UTC))
    board = build_board(store, "2026", now=MID_NOV)
    assert board.steps == ["Q1", "Q2", "Q3", "Q4"]
    assert board.rows[0].actuals == [("Q1", None), ("Q2", 25.0), ("Q3", 25.0), ("Q4", 25.0)]
    assert default_period(store, MID_NOV) == "2026Q4"
    assert default_period(store, datetime(2027, 2, 1, tzinfo=UTC)) in ("2026Q4", "2026")
