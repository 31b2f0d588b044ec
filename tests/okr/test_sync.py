"""The OKR sync on SQLite and PostgreSQL: every bound key result of the open periods gets one check-in per step with
its source and snapshot; a second sync in the step writes nothing; a failing binding records nothing and the
others go on; closed and future periods are left alone; the schedule runs in a thread and stops cleanly.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, ClassVar

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.support.gateway_server import GatewayServer

from andon.okr.bindings import Binding, BindingContext, BindingSettings, Reading
from andon.okr.bindings.base import BUILTINS
from andon.okr.bindings.sql import query_hash
from andon.okr.sync import AUTHOR, SyncResult, SyncSchedule, period_step, sync
from andon.store.okr import KeyResult, Objective, Period, Team, WorkItem
from andon.workspace import Workspace, init_workspace

Q4 = Period(id="2026Q4", starts=date(2026, 10, 1), ends=date(2026, 12, 31))
Q3 = Period(id="2026Q3", starts=date(2026, 7, 1), ends=date(2026, 9, 30))
Q1 = Period(id="2027Q1", starts=date(2027, 1, 1), ends=date(2027, 3, 31))
NOW = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)
ORDERS_QUERY = "SELECT count(*) FROM orders"


class Exploding(Binding):
    """A plugin with a bug: it raises something that is not an AndonError."""

    type_name: ClassVar[str] = "exploding"
    Settings: ClassVar[type[BindingSettings]] = BindingSettings

    def read(self, context: BindingContext) -> Reading:
        raise ZeroDivisionError("the plugin divided by zero")


@pytest.fixture
def ws(tmp_path: Path, database_url: str) -> Iterator[Workspace]:
    init_workspace(tmp_path / "ws", name="sync-test")
    with Workspace.open(tmp_path / "ws", database_url=database_url) as opened:
        store = opened.store
        store.upsert_team(Team(id="menu-ai", name="Menu AI"))
        for period in (Q3, Q4, Q1):
            store.upsert_period(period)
        conn = sqlite3.connect(opened.root / "shop.db")
        with conn:
            conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY)")
            conn.executemany("INSERT INTO orders VALUES (?)", [(i,) for i in range(5)])
        conn.close()
        yield opened


def add_kr(ws: Workspace, binding: dict[str, Any] | None, *, period: str = "2026Q4", title: str = "kr") -> KeyResult:
    objective = ws.store.add_objective(Objective(title=f"objective of {title}", owner="ana", team="menu-ai",
                                                 period=period))  # fmt: skip
    return ws.store.add_key_result(
        KeyResult(objective=objective.id, title=title, owner="ana", start=0, target=10, binding=binding)
    )


def add_order(ws: Workspace) -> None:
    conn = sqlite3.connect(ws.root / "shop.db")
    with conn:
        conn.execute("INSERT INTO orders DEFAULT VALUES")
    conn.close()


SQL = {"type": "sql", "url": "sqlite:///shop.db", "query": ORDERS_QUERY}
BROKEN = {"type": "sql", "url": "sqlite:///shop.db", "query": "SELECT count(*) FROM no_such_table"}


def by_title(result: SyncResult) -> dict[str, Any]:
    return {o.title: o for o in result.outcomes}


def test_sync_records_each_bound_key_result_once_per_step(ws: Workspace) -> None:
    orders = add_kr(ws, SQL, title="orders")
    add_kr(ws, None, title="typed by hand")
    result = sync(ws, NOW)
    assert [(o.title, o.status, o.value) for o in result.outcomes] == [("orders", "recorded", 5.0)]
    [checkin] = ws.store.checkins(orders.id)
    assert (checkin.value, checkin.source, checkin.step, checkin.author) == (5.0, "binding:sql", "2026-12-02", AUTHOR)
    assert checkin.created_at == NOW and result.outcomes[0].checkin == checkin.id
    snapshot = checkin.snapshot or {}
    assert snapshot["query_sha256"] == query_hash(ORDERS_QUERY) and snapshot["value"] == 5.0
    assert snapshot["read_at"] == NOW.isoformat() and snapshot["binding"].startswith("sql sqlite")

    add_order(ws)  # the number moves, but this step is recorded already
    again = sync(ws, NOW + timedelta(hours=3))
    assert [(o.status, o.reason, o.value) for o in again.outcomes] == [("skipped", "recorded already for 2026-12-02",
                                                                       5.0)]  # fmt: skip
    assert len(ws.store.checkins(orders.id)) == 1

    tomorrow = sync(ws, NOW + timedelta(days=1))
    assert [(o.status, o.value) for o in tomorrow.outcomes] == [("recorded", 6.0)]
    assert [c.step for c in ws.store.checkins(orders.id)] == ["2026-12-02", "2026-12-03"]


def test_a_failing_binding_records_nothing_and_the_others_go_on(ws: Workspace, monkeypatch: Any) -> None:
    monkeypatch.setitem(BUILTINS, "exploding", f"{__name__}:Exploding")
    broken = add_kr(ws, BROKEN, title="broken")
    exploding = add_kr(ws, {"type": "exploding"}, title="exploding")
    unlinked = add_kr(ws, {"type": "work", "measure": "share_done"}, title="no work")
    orders = add_kr(ws, SQL, title="orders")
    outcomes = by_title(sync(ws, NOW))
    assert outcomes["orders"].status == "recorded"
    assert outcomes["broken"].status == "failed" and "no such table: no_such_table" in outcomes["broken"].reason
    assert outcomes["broken"].reason.startswith("binding.query: the query failed")
    assert outcomes["exploding"].reason == "ZeroDivisionError: the plugin divided by zero"
    assert "no work item measures" in outcomes["no work"].reason
    for kr in (broken, exploding, unlinked):
        assert ws.store.checkins(kr.id) == []
    assert len(ws.store.checkins(orders.id)) == 1
    # A failure is tried again in the same step (nothing was recorded for it).
    assert by_title(sync(ws, NOW))["broken"].status == "failed"


def test_closed_and_future_periods_are_left_alone(ws: Workspace) -> None:
    past = add_kr(ws, SQL, period="2026Q3", title="last quarter")
    future = add_kr(ws, SQL, period="2027Q1", title="next quarter")
    ws.store.close_period("2026Q3", NOW - timedelta(days=30))
    assert sync(ws, NOW).outcomes == []
    assert ws.store.checkins(past.id) == [] and ws.store.checkins(future.id) == []


def test_a_period_that_ended_unclosed_gets_one_last_check_in(ws: Workspace) -> None:
    kr = add_kr(ws, SQL, period="2026Q3", title="ended")
    first = sync(ws, datetime(2026, 10, 3, tzinfo=UTC))
    assert [(o.status, o.step) for o in first.outcomes] == [("recorded", "2026-09-30")]
    later = sync(ws, datetime(2026, 10, 9, tzinfo=UTC))
    assert [o.status for o in later.outcomes] == ["skipped"]
    assert len(ws.store.checkins(kr.id)) == 1


def test_dry_run_reads_but_writes_nothing(ws: Workspace) -> None:
    kr = add_kr(ws, SQL, title="orders")
    result = sync(ws, NOW, dry_run=True)
    assert result.dry_run and [(o.status, o.value) for o in result.outcomes] == [("would_record", 5.0)]
    assert ws.store.checkins(kr.id) == []


def test_a_step_recorded_by_another_sync_meanwhile_is_skipped(ws: Workspace, monkeypatch: Any) -> None:
    kr = add_kr(ws, SQL, title="orders")
    sync(ws, NOW)
    # The other replica wrote between this sync's look and its write: the store's unique step decides.
    monkeypatch.setattr(ws.store, "checkins", lambda key_result, since=None: [])
    [outcome] = sync(ws, NOW).outcomes
    assert outcome.status == "skipped" and outcome.value == 5.0
    monkeypatch.undo()
    assert len(ws.store.checkins(kr.id)) == 1


def test_work_binding_through_the_sync(ws: Workspace) -> None:
    kr = add_kr(ws, {"type": "work", "measure": "share_done"}, title="work")
    ws.store.upsert_work_items(
        [WorkItem(source="csv", external_id=str(i), title=f"t{i}", done=i < 1) for i in range(4)]
    )
    for item in ws.store.work_items():
        ws.store.link_work(item.id, kr.id, "measures")
    [outcome] = sync(ws, NOW).outcomes
    assert (outcome.status, outcome.value, outcome.source) == ("recorded", 25.0, "binding:work")


def test_the_step_is_the_utc_day_within_the_period() -> None:
    assert period_step(Q4, datetime(2026, 12, 2, 23, 59, tzinfo=UTC)) == "2026-12-02"
    seoul = datetime(2026, 12, 3, 2, 0, tzinfo=timezone(timedelta(hours=9)))  # still 2 December in UTC
    assert period_step(Q4, seoul) == "2026-12-02"
    assert period_step(Q4, datetime(2027, 2, 1, tzinfo=UTC)) == "2026-12-31"


@given(
    st.dates(date(2020, 1, 1), date(2030, 12, 31)),
    st.integers(0, 400),
    st.datetimes(
        datetime(2020, 1, 1), datetime(2031, 12, 31), timezones=st.sampled_from([UTC, timezone(timedelta(hours=9))])
    ),
)
def test_a_step_is_one_utc_day_and_never_after_the_period(starts: date, days: int, at: datetime) -> None:
    period = Period(id="p", starts=starts, ends=starts + timedelta(days=days))
    step = date.fromisoformat(period_step(period, at))
    assert step <= period.ends
    utc_day = at.astimezone(UTC).date()
    assert step == utc_day or (utc_day > period.ends and step == period.ends)
    same_day = datetime.combine(utc_day, datetime.min.time(), UTC)
    assert period_step(period, same_day) == period_step(period, at)  # the whole UTC day is one step


def test_the_schedule_syncs_in_its_thread_and_stops_cleanly(ws: Workspace, database_url: str) -> None:
    kr = add_kr(ws, SQL, title="orders")
    seen: list[SyncResult] = []
    synced = threading.Event()

    def on_result(result: SyncResult) -> None:
        seen.append(result)
        synced.set()

    schedule = SyncSchedule(ws.root, 3600.0, on_result=on_result, database_url=database_url, clock=lambda: NOW)
    schedule.start()
    assert synced.wait(timeout=60), "the first sync runs at once"
    schedule.stop()  # wakes the hour-long wait at once
    assert not schedule.alive and schedule.runs == 1
    assert [o.status for o in seen[0].outcomes] == ["recorded"]
    assert len(ws.store.checkins(kr.id)) == 1


# The faces: `andon okr sync` and `andon serve --okr-sync` ------------------------------------------------------


def andon(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("ANDON_LANG", "ANDON_WORKSPACE", "ANDON_DATABASE_URL")}
    return subprocess.run(
        [sys.executable, "-m", "andon", *args],
        cwd=cwd,
        env={**env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def this_quarter() -> str:
    today = datetime.now(UTC).date()
    return f"{today.year}Q{(today.month - 1) // 3 + 1}"


DEFINITIONS = """\
teams:
  - {{id: shop, name: Shop, members: [ana]}}
periods: [{period}]
objectives:
  - key: grow
    title: Grow the shop
    owner: ana
    team: shop
    period: {period}
    key_results:
      - key: orders
        title: Orders
        start: 0
        target: 100
        binding: {{type: sql, url: "sqlite:///shop.db", query: "SELECT count(*) FROM orders"}}
      - key: refunds
        title: Refunds
        start: 10
        target: 0
        binding: {{type: sql, url: "sqlite:///shop.db", query: "SELECT count(*) FROM refunds"}}
"""


@pytest.fixture
def cli_ws(tmp_path: Path) -> Path:
    root = tmp_path / "shop"
    init_workspace(root, name="shop")
    conn = sqlite3.connect(root / "shop.db")
    with conn:
        conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY)")
        conn.executemany("INSERT INTO orders VALUES (?)", [(i,) for i in range(7)])
    conn.close()
    (root / "okr.yaml").write_text(DEFINITIONS.format(period=this_quarter()), encoding="utf-8")
    applied = andon("okr", "apply", "okr.yaml", cwd=root)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    return root


def test_okr_sync_prints_what_it_recorded_and_what_failed(cli_ws: Path) -> None:
    dry = andon("okr", "sync", "--dry-run", cwd=cli_ws)
    assert dry.returncode == 1, dry.stderr  # a binding failed
    assert "would record" in dry.stdout and "nothing was recorded" in dry.stdout
    first = andon("okr", "sync", cwd=cli_ws)
    assert first.returncode == 1 and "Traceback" not in first.stderr
    assert "recorded" in first.stdout and "no such table: refunds" in first.stdout
    assert "1 recorded, 0 skipped, 1 failed" in first.stdout
    again = andon("okr", "sync", "--json", cwd=cli_ws)
    outcomes = {o["title"]: o for o in json.loads(again.stdout)["outcomes"]}
    assert outcomes["Orders"]["status"] == "skipped" and outcomes["Refunds"]["status"] == "failed"
    with Workspace.open(cli_ws) as ws:
        [checkin] = ws.store.checkins(ws.store.key_result("orders").id)
    assert (checkin.value, checkin.source) == (7.0, "binding:sql")
    korean = andon("--lang", "ko", "okr", "sync", cwd=cli_ws)
    assert "건너뜀" in korean.stdout and "실패" in korean.stdout


def test_serve_runs_the_sync_on_its_schedule_and_stops_cleanly(cli_ws: Path) -> None:
    with Workspace.open(cli_ws) as ws:
        kr = ws.store.key_result("orders")
    server = GatewayServer(cli_ws, extra_args=["--okr-sync", "1h"], log_json=False)
    with server:
        deadline = time.monotonic() + 60
        with Workspace.open(cli_ws) as ws:
            while not ws.store.checkins(kr.id) and time.monotonic() < deadline:
                time.sleep(0.1)  # polling for the first round, not racing it
            assert [c.source for c in ws.store.checkins(kr.id)] == ["binding:sql"]
    logs = server.logs()
    # SIGTERM: uvicorn shuts down and exits by the signal it got (-15); a hung sync thread would need SIGKILL (-9).
    assert server.process is not None and server.process.returncode in (0, -15), logs[-2000:]
    assert "Finished server process" in logs and "Traceback" not in logs
    assert "OKR sync every 1h" in logs and "okr sync: 1 recorded, 0 skipped, 1 failed" in logs


def test_serve_refuses_a_bad_schedule(cli_ws: Path) -> None:
    refused = andon("serve", "--okr-sync", "soon", cwd=cli_ws)
    assert refused.returncode == 2 and "--okr-sync" in refused.stderr and "'soon' is not a duration" in refused.stderr
