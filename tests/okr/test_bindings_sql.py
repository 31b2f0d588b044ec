"""The ``sql`` binding on a real PostgreSQL database and a SQLite file: one number read, writes refused (the rows
stay as they were), every other answer shape refused with its reason, a statement timeout, secrets from env.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, create_engine, text
from tests.conftest import create_postgres_database, drop_postgres_database

from andon.errors import ConfigError
from andon.okr.bindings import BindingContext, BindingError, Reading, build_binding, check_binding
from andon.okr.bindings.sql import one_number, query_hash
from andon.store.db import parse_url
from andon.store.okr import KeyResult, Period
from andon.workspace import Workspace, init_workspace

ORDERS = [(1, "paid", 12000), (2, "paid", 8000), (3, "refunded", 5000), (4, "paid", 30000)]
SETUP = [
    "CREATE TABLE orders (id INTEGER PRIMARY KEY, status TEXT NOT NULL, amount INTEGER NOT NULL)",
    *(f"INSERT INTO orders VALUES ({i}, '{s}', {a})" for i, s, a in ORDERS),
]
WRITES = [
    "DELETE FROM orders",
    "UPDATE orders SET amount = 0",
    "INSERT INTO orders VALUES (99, 'paid', 1)",
    "CREATE TABLE sneaky (x INTEGER)",
    "DROP TABLE orders",
]
PG_WRITES = [
    *WRITES,
    "WITH gone AS (DELETE FROM orders RETURNING 1) SELECT count(*) FROM gone",
    "SELECT 1; DELETE FROM orders",
    "COMMIT; SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE; DELETE FROM orders",
    "SELECT nextval('tickets')",
]
SQLITE_WRITES = [
    *WRITES,
    "SELECT 1; DELETE FROM orders",
    "ATTACH DATABASE 'other.db' AS other",
    "PRAGMA query_only = 0",
]


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    init_workspace(tmp_path / "ws", name="sql-test")
    with Workspace.open(tmp_path / "ws") as opened:
        yield opened


@pytest.fixture
def team_pg(postgres_server: Engine) -> Iterator[str]:
    """A scratch PostgreSQL database of 'the team' with an orders table; its URL (no password: trust auth)."""
    url = create_postgres_database(postgres_server)
    engine = create_engine(parse_url(url))
    with engine.begin() as conn:
        for statement in [*SETUP, "CREATE SEQUENCE tickets"]:
            conn.execute(text(statement))
    engine.dispose()
    try:
        yield url
    finally:
        drop_postgres_database(postgres_server, url)


@pytest.fixture
def team_sqlite(ws: Workspace) -> Path:
    path = ws.root / "team.db"
    with sqlite3.connect(path) as conn:
        for statement in SETUP:
            conn.execute(statement)
    conn.close()
    return path


def context(ws: Workspace, binding: dict[str, Any]) -> BindingContext:
    period = Period(id="2026Q4", starts=date(2026, 10, 1), ends=date(2026, 12, 31))
    kr = KeyResult(objective="obj_test", title="revenue", owner="o", start=0, target=1, binding=binding)
    return BindingContext(ws, kr, period, datetime(2026, 12, 2, tzinfo=UTC))


def read(ws: Workspace, url: str, query: str, **extra: Any) -> Reading:
    spec = {"type": "sql", "url": url, "query": query, **extra}
    return build_binding(spec).read(context(ws, spec))


def pg_url(url: str, password_var: str | None = None) -> str:
    parsed = parse_url(url)
    auth = f"{parsed.username}:${{{password_var}}}" if password_var else str(parsed.username)
    return f"postgresql://{auth}@{parsed.host}:{parsed.port}/{parsed.database}"


def count_orders_pg(url: str) -> int:
    engine = create_engine(parse_url(url))
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM orders")).scalar_one())
    finally:
        engine.dispose()


def count_orders_sqlite(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("SELECT count(*) FROM orders").fetchone()[0])
    finally:
        conn.close()


PAID = sum(a for _, s, a in ORDERS if s == "paid")
SHAPES: list[tuple[str, str]] = [
    ("SELECT id, amount FROM orders WHERE id = 1", "returned 2 columns"),
    ("SELECT amount FROM orders WHERE id = 0", "no row"),
    ("SELECT amount FROM orders", "more than one row"),
    ("SELECT max(amount) FROM orders WHERE id = 0", "NULL"),
    ("SELECT status FROM orders WHERE id = 1", "not a number"),
]


# PostgreSQL ------------------------------------------------------------------------------------------------


@pytest.mark.postgres
def test_postgres_reads_one_number_with_its_snapshot(ws: Workspace, team_pg: str, monkeypatch: Any) -> None:
    monkeypatch.setenv("TEAM_DB_PASSWORD", "s3cr:et@pw")  # trust auth ignores it; it must never show
    query = "SELECT sum(amount) FROM orders WHERE status = 'paid'"
    reading = read(ws, pg_url(team_pg, "TEAM_DB_PASSWORD"), query)
    assert reading.value == PAID
    assert reading.snapshot["query_sha256"] == query_hash(query) and reading.snapshot["backend"] == "postgresql"
    assert "s3cr" not in repr(reading.snapshot) and "${TEAM_DB_PASSWORD}" not in repr(reading.snapshot)
    numeric = read(ws, pg_url(team_pg), "SELECT avg(amount)::numeric(10, 2) FROM orders")  # a Decimal
    assert numeric.value == pytest.approx(sum(a for *_, a in ORDERS) / len(ORDERS))


@pytest.mark.postgres
@pytest.mark.parametrize("query", PG_WRITES)
def test_postgres_refuses_a_query_that_writes(ws: Workspace, team_pg: str, query: str) -> None:
    with pytest.raises(BindingError) as refused:
        read(ws, pg_url(team_pg), query)
    assert "tries to write" in str(refused.value) or "more than one statement" in str(refused.value)
    assert count_orders_pg(team_pg) == len(ORDERS)  # nothing changed
    assert read(ws, pg_url(team_pg), "SELECT count(*) FROM orders").value == len(ORDERS)


@pytest.mark.postgres
def test_postgres_url_options_cannot_turn_read_only_off(ws: Workspace, team_pg: str) -> None:
    url = pg_url(team_pg) + "?options=-c%20default_transaction_read_only%3Doff"
    with pytest.raises(BindingError, match="tries to write"):
        read(ws, url, "DELETE FROM orders")
    assert count_orders_pg(team_pg) == len(ORDERS)


@pytest.mark.postgres
@pytest.mark.parametrize(("query", "says"), SHAPES)
def test_postgres_refuses_anything_but_one_row_of_one_number(
    ws: Workspace, team_pg: str, query: str, says: str
) -> None:
    with pytest.raises(BindingError, match=says):
        read(ws, pg_url(team_pg), query)


@pytest.mark.postgres
def test_postgres_statement_timeout_cancels_a_slow_query(ws: Workspace, team_pg: str) -> None:
    with pytest.raises(BindingError, match=r"longer than 0\.2 s"):
        read(ws, pg_url(team_pg), "SELECT count(*) FROM pg_sleep(3)", timeout_s=0.2)


@pytest.mark.postgres
def test_postgres_errors_name_the_cause_and_hide_the_secret(ws: Workspace, team_pg: str, monkeypatch: Any) -> None:
    monkeypatch.setenv("TEAM_DB_PASSWORD", "hunter2-secret")
    missing_db = pg_url(team_pg, "TEAM_DB_PASSWORD").rsplit("/", 1)[0] + "/no_such_database_here"
    with pytest.raises(BindingError, match="cannot connect") as failed:
        read(ws, missing_db, "SELECT 1")
    assert "hunter2" not in str(failed.value)
    with pytest.raises(BindingError, match="no_such_table") as bad:
        read(ws, pg_url(team_pg), "SELECT count(*) FROM no_such_table")
    assert bad.value.where == "binding.query"
    monkeypatch.delenv("TEAM_DB_PASSWORD")
    with pytest.raises(BindingError, match="TEAM_DB_PASSWORD is not set") as unset:
        read(ws, pg_url(team_pg, "TEAM_DB_PASSWORD"), "SELECT 1")
    assert unset.value.where == "binding.url"


# SQLite ----------------------------------------------------------------------------------------------------


def test_sqlite_reads_one_number_relative_to_the_workspace(ws: Workspace, team_sqlite: Path) -> None:
    reading = read(ws, "sqlite:///team.db", "SELECT sum(amount) FROM orders WHERE status = 'paid';")
    assert reading.value == PAID and reading.snapshot["backend"] == "sqlite"
    assert read(ws, f"sqlite:///{team_sqlite}", "SELECT count(*) FROM orders").value == len(ORDERS)


@pytest.mark.parametrize("query", SQLITE_WRITES)
def test_sqlite_refuses_a_query_that_writes(ws: Workspace, team_sqlite: Path, query: str) -> None:
    with pytest.raises(BindingError, match=r"tries to write|more than one statement"):
        read(ws, "sqlite:///team.db", query)
    assert count_orders_sqlite(team_sqlite) == len(ORDERS)
    assert not (ws.root / "other.db").exists()


def test_sqlite_says_why_a_write_is_refused(ws: Workspace, team_sqlite: Path) -> None:
    with pytest.raises(BindingError, match="tries to write") as refused:
        read(ws, "sqlite:///team.db", "DELETE FROM orders")
    assert "read-only" in (refused.value.hint or "")


@pytest.mark.parametrize(("query", "says"), SHAPES)
def test_sqlite_refuses_anything_but_one_row_of_one_number(
    ws: Workspace, team_sqlite: Path, query: str, says: str
) -> None:
    with pytest.raises(BindingError, match=says):
        read(ws, "sqlite:///team.db", query)


def test_sqlite_deadline_interrupts_a_runaway_query(ws: Workspace, team_sqlite: Path) -> None:
    forever = "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) SELECT count(*) FROM n"
    with pytest.raises(BindingError, match=r"longer than 0\.2 s"):
        read(ws, "sqlite:///team.db", forever, timeout_s=0.2)


def test_sqlite_missing_file_is_named(ws: Workspace) -> None:
    with pytest.raises(BindingError, match="no SQLite database at") as missing:
        read(ws, "sqlite:///nope.db", "SELECT 1")
    assert missing.value.where == "binding.url"
    assert not (ws.root / "nope.db").exists()  # mode=ro never creates it


# The spec ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "where", "says"),
    [
        ({"url": "postgresql://u:plain@h/db"}, "kr.binding.url", "password"),
        ({"url": "mysql://u@h/db"}, "kr.binding.url", "not supported"),
        ({"url": "sqlite://"}, "kr.binding.url", "needs a file"),
        ({"query": "  ; "}, "kr.binding.query", "empty"),
        ({"timeout_s": 0}, "kr.binding.timeout_s", "greater than 0"),
        ({"timeout": 3}, "kr.binding.timeout", "unknown field"),
    ],
)
def test_a_bad_spec_names_its_field(spec: dict[str, Any], where: str, says: str) -> None:
    full = {"type": "sql", "url": "sqlite:///team.db", "query": "SELECT 1", **spec}
    with pytest.raises(ConfigError, match=says) as bad:
        check_binding(full, "kr.binding")
    assert bad.value.where == where


def test_the_description_shows_no_url() -> None:
    binding = build_binding({"type": "sql", "url": "postgresql://ana:${PW}@db.internal/sales", "query": "SELECT 1"})
    assert "db.internal" not in binding.describe() and "ana" not in binding.describe()


NUMBERS = st.one_of(st.integers(-(10**12), 10**12), st.floats(allow_nan=False, allow_infinity=False),
                    st.decimals(allow_nan=False, allow_infinity=False, places=3))  # fmt: skip
CELLS = st.one_of(NUMBERS, st.none(), st.text(max_size=5), st.booleans(), st.just(math.nan), st.just(math.inf))


@given(st.integers(0, 3), st.lists(st.lists(CELLS, min_size=0, max_size=3), max_size=3))
def test_one_number_accepts_exactly_one_finite_numeric_cell(width: int, rows: list[list[Any]]) -> None:
    columns = [f"c{i}" for i in range(width)]
    rows = [row[:width] + [0] * (width - len(row[:width])) for row in rows]
    cell = rows[0][0] if len(rows) == 1 and width == 1 else None
    fits = (
        width == 1
        and len(rows) == 1
        and isinstance(cell, int | float | Decimal)
        and not isinstance(cell, bool)
        and math.isfinite(float(cell))
    )
    if fits:
        assert one_number(columns, rows) == float(cell)  # type: ignore[arg-type]
    else:
        with pytest.raises(BindingError):
            one_number(columns, rows)
