"""PostgreSQL's weekly partitions of traces and spans (migration 0023): made ahead, written into, dropped by
retention, and the same rows out of every query as from SQLite's plain tables."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, create_engine, insert, select, text
from tests.conftest import create_postgres_database, drop_postgres_database

from andon.store import Store
from andon.store.db import WRITE_OPTION, alembic_config
from andon.store.models import FeedbackRow, OutputRow, TraceRow
from andon.store.models_agents import SpanRow
from andon.store.partitions import AHEAD_WEEKS, WEEK, default_name, partition_name, partitions, week_start
from andon.store.records import OutputRecord, TraceRecord
from andon.store.spans import SpanRecord
from andon.store.webtraces import TraceFilter

pytestmark = pytest.mark.postgres
NOW = datetime.now(UTC)


@pytest.fixture
def pg_url(postgres_server: Engine) -> Iterator[str]:
    url = create_postgres_database(postgres_server)
    try:
        yield url
    finally:
        drop_postgres_database(postgres_server, url)


@pytest.fixture
def pg(pg_url: str) -> Iterator[Store]:
    with Store.open(pg_url) as store:
        yield store


def _trace(n: int, at: datetime, *, feature: str = "menu", output_id: str | None = None) -> TraceRecord:
    return TraceRecord(
        id=f"t{n:05d}",
        feature=feature,
        route="ai" if n % 4 else "human",
        status="error" if n % 5 == 0 else "ok",
        input_mode="full",
        input={"q": f"question {n}"},
        input_hash=hashlib.sha256(str(n).encode()).hexdigest(),
        created_at=at,
        output_id=output_id,
        output_text=f"answer number {n}",
        provider="stub",
        model="m",
        latency_ms=float(10 + n % 37),
        cost=0.001 * n,
        user_id=f"u{n % 3}",
    )


def _output(n: int, at: datetime) -> OutputRecord:
    return OutputRecord(
        id=f"o{n:05d}", feature="menu", version_id="v" * 64, provider="stub", model="m", params={},
        messages=[], status="ok", started_at=at, finished_at=at, output_text="x", output_json=None, error=None,
        input_tokens=1, output_tokens=1, cost=None, currency=None, latency_ms=1.0, cached=False, raw=None,
        steps=[], context={},
    )  # fmt: skip


def _span(n: int, trace_id: str, at: datetime) -> SpanRecord:
    return SpanRecord(
        id=f"s{n:05d}", trace_id=trace_id, parent_id=None, kind="model", name="call", status="ok",
        started_at=at, finished_at=at + timedelta(milliseconds=5),
    )  # fmt: skip


def _where(store: Store, table: str, key: str, value: str) -> list[str]:
    """The partitions holding the rows of ``table`` with ``key = value``."""
    with store.engine.connect() as conn:
        found = conn.execute(text(f"SELECT tableoid::regclass::text FROM {table} WHERE {key} = :v"), {"v": value})
        return [row[0] for row in found]


def test_the_coming_weeks_are_made_ahead_and_only_once(pg: Store) -> None:
    with pg.engine.connect() as conn:
        starts = [p.start for p in partitions(conn, "traces")]
        span_starts = [p.start for p in partitions(conn, "spans")]
    this_week = week_start(NOW)
    assert starts == span_starts == [this_week + i * WEEK for i in range(AHEAD_WEEKS + 1)]
    made = pg.maintain_partitions(ahead=AHEAD_WEEKS + 2)
    later = [this_week + (AHEAD_WEEKS + i) * WEEK for i in (1, 2)]
    assert made == [partition_name(t, s) for t in ("traces", "spans") for s in later]
    assert pg.maintain_partitions(ahead=AHEAD_WEEKS + 2) == []


def test_a_write_weeks_ahead_lands_in_its_week_and_a_far_one_is_moved_there_later(pg: Store) -> None:
    soon, far = NOW + 3 * WEEK, NOW + 20 * WEEK
    pg.save_traces([_trace(1, soon), _trace(2, far)], spans=[_span(1, "t00001", soon), _span(2, "t00002", far)])
    assert _where(pg, "traces", "id", "t00001") == [partition_name("traces", week_start(soon))]
    assert _where(pg, "spans", "id", "s00001") == [partition_name("spans", week_start(soon))]
    # No week made that far yet: the default partition holds it, and nothing was refused.
    assert _where(pg, "traces", "id", "t00002") == [default_name("traces")]
    pg.maintain_partitions(ahead=21)
    assert _where(pg, "traces", "id", "t00002") == [partition_name("traces", week_start(far))]
    assert _where(pg, "spans", "id", "s00002") == [partition_name("spans", week_start(far))]
    assert pg.get_trace("t00002")["created_at"] == far
    assert [s.id for s in pg.list_spans("t00002")] == ["s00002"]


def test_prune_drops_only_the_expired_weeks_with_their_outputs_feedback_and_spans(pg_url: str) -> None:
    # Old weeks made by the migration's own rule: a store opened on rows that are already old.
    ages = {1: 100, 2: 65, 3: 40, 4: 10, 5: 0}  # days
    with Store.open(pg_url) as store:
        for n, days in ages.items():
            at = NOW - timedelta(days=days)
            store.maintain_partitions()  # harmless when nothing is due
            with store.engine.begin() as conn:
                _add_week(conn, "traces", at)
                _add_week(conn, "spans", at)
            store.save_traces(
                [_trace(n, at, output_id=f"o{n:05d}")], outputs=[_output(n, at)], spans=[_span(n, f"t{n:05d}", at)]
            )
            store.add_feedback(f"t{n:05d}", thumbs=1)
        cutoff = NOW - timedelta(days=30)
        counts = store.prune_traces({}, default=cutoff)
        assert (counts.traces, counts.outputs, counts.feedback) == (3, 3, 3)
        with store.engine.connect() as conn:
            kept_weeks = [p.start for p in partitions(conn, "traces")]
            assert all(start + WEEK > cutoff for start in kept_weeks)
            assert week_start(NOW - timedelta(days=10)) in kept_weeks
            assert sorted(conn.execute(select(TraceRow.id)).scalars()) == ["t00004", "t00005"]
            assert sorted(conn.execute(select(OutputRow.id)).scalars()) == ["o00004", "o00005"]
            assert sorted(conn.execute(select(FeedbackRow.trace_id)).scalars()) == ["t00004", "t00005"]
            assert sorted(conn.execute(select(SpanRow.id)).scalars()) == ["s00004", "s00005"]
        assert store.prune_traces({}, default=cutoff).traces == 0


def test_a_week_straddling_the_cutoff_keeps_its_newer_rows(pg: Store) -> None:
    cutoff = week_start(NOW) + timedelta(days=3, hours=12)  # the middle of this week
    pg.save_traces([_trace(1, cutoff - timedelta(hours=1)), _trace(2, cutoff + timedelta(hours=1))])
    counts = pg.prune_traces({"menu": cutoff}, default=cutoff)
    assert counts.traces == 1
    assert [r["id"] for r in pg.list_traces()] == ["t00002"]
    with pg.engine.connect() as conn:
        assert week_start(NOW) in [p.start for p in partitions(conn, "traces")]  # not dropped: not wholly old


def test_per_feature_retention_drops_weeks_only_past_the_longest(pg: Store) -> None:
    at = NOW - timedelta(days=20)
    with pg.engine.begin() as conn:
        _add_week(conn, "traces", at)
    pg.save_traces([_trace(1, at, feature="short"), _trace(2, at, feature="long")])
    counts = pg.prune_traces({"short": NOW - timedelta(days=7), "long": NOW - timedelta(days=60)}, default=None)
    assert counts.traces == 1  # row by row: the week still holds a trace the long retention keeps
    assert [r["id"] for r in pg.list_traces()] == ["t00002"]


def test_otlp_style_ingest_skips_a_retry_on_partitioned_tables(pg: Store) -> None:
    traces, spans = [_trace(1, NOW)], [_span(1, "t00001", NOW), _span(2, "t00001", NOW)]
    pg.ingest_spans(traces, spans)
    pg.ingest_spans(traces, spans)
    assert [r["id"] for r in pg.list_traces()] == ["t00001"]
    assert [s.id for s in pg.list_spans("t00001")] == ["s00001", "s00002"]


def test_the_queries_return_the_same_rows_as_sqlite(pg: Store, tmp_path: Path) -> None:
    traces = [_trace(n, NOW - timedelta(hours=n * 7), feature=("menu", "help")[n % 2]) for n in range(60)]
    with pg.engine.begin() as conn:
        for week in {week_start(t.created_at) for t in traces}:
            _add_week(conn, "traces", week)
    with Store.open(f"sqlite:///{tmp_path / 'andon.db'}") as lite:
        for store in (pg, lite):
            store.save_traces(traces)

        def answers(store: Store) -> list[object]:
            start, end = NOW - timedelta(days=10), NOW + timedelta(hours=1)
            page = store.search_traces(TraceFilter(feature="menu", status="ok", since=start), limit=7)
            older = store.search_traces(TraceFilter(feature="menu", status="ok", since=start), after=page.older)
            return [
                [r["id"] for r in store.list_traces(limit=100)],
                [r["id"] for r in store.list_traces("help", route="ai", limit=100)],
                [r["id"] for r in page.rows],
                [r["id"] for r in older.rows],
                [r["id"] for r in store.search_traces(TraceFilter(text="number 13")).rows],
                store.trace_calls("menu", start, end),
                store.trace_latency_percentile("menu", start, end, 0.95),
                store.get_trace("t00031")["output_text"],
            ]

        assert answers(pg) == answers(lite)


def test_migration_0023_keeps_the_rows_of_a_populated_database(pg_url: str) -> None:
    old = NOW - timedelta(days=45)
    engine = create_engine(pg_url)
    try:
        with engine.connect() as conn, conn.begin():
            command.upgrade(alembic_config(conn.execution_options(**{WRITE_OPTION: True})), "0022")
            rows = [vars_of(_trace(n, old + timedelta(days=n * 9))) for n in range(6)]
            conn.execute(insert(TraceRow), rows)
            conn.execute(
                insert(SpanRow), [vars_of(_span(n, f"t{n:05d}", old + timedelta(days=n * 9))) for n in range(6)]
            )
            conn.execute(insert(FeedbackRow), [{"trace_id": "t00002", "thumbs": -1, "created_at": NOW}])
            assert conn.execute(text("SELECT relkind FROM pg_class WHERE relname = 'traces'")).scalar() == "r"
    finally:
        engine.dispose()
    with Store.open(pg_url) as store:
        with store.engine.connect() as conn:
            assert conn.execute(text("SELECT relkind FROM pg_class WHERE relname = 'traces'")).scalar() == "p"
            weeks = [p.start for p in partitions(conn, "traces")]
        assert {week_start(old + timedelta(days=n * 9)) for n in range(6)} <= set(weeks)
        assert sorted(r["id"] for r in store.list_traces(limit=100)) == [f"t{n:05d}" for n in range(6)]
        assert store.get_trace("t00003")["created_at"] == old + timedelta(days=27)
        assert [s.id for s in store.list_spans("t00004")] == ["s00004"]
        assert [f.thumbs for f in store.list_feedback("t00002")] == [-1]
        assert _where(store, "traces", "id", "t00000") == [partition_name("traces", week_start(old))]
        # And back: plain tables with the same rows.
        with store.engine.connect() as conn, conn.begin():
            command.downgrade(alembic_config(conn.execution_options(**{WRITE_OPTION: True})), "0022")
            assert conn.execute(text("SELECT relkind FROM pg_class WHERE relname = 'traces'")).scalar() == "r"
            assert conn.execute(text("SELECT count(*) FROM traces")).scalar() == 6
            assert conn.execute(text("SELECT count(*) FROM spans")).scalar() == 6


def vars_of(record: TraceRecord | SpanRecord) -> dict[str, object]:
    """A record's fields as a row."""
    return {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}


def _add_week(conn: object, table: str, at: datetime) -> None:
    """Make the week of ``at`` if it is not there (weeks in the past are made by the migration, not ahead)."""
    from andon.store.partitions import add_partition

    start = week_start(at)
    if start not in [p.start for p in partitions(conn, table)]:  # type: ignore[arg-type]
        add_partition(conn, table, start)  # type: ignore[arg-type]


def test_andon_store_maintain_makes_the_weeks_asked_for(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from andon.cli import app

    (tmp_path / "andon.yaml").write_text("name: upkeep\nfeatures: {}\n", encoding="utf-8")
    monkeypatch.setenv("ANDON_DATABASE_URL", pg_url)
    runner = CliRunner()
    args = ["--workspace", str(tmp_path), "store", "maintain", "--json"]
    first = runner.invoke(app, [*args, "--ahead", str(AHEAD_WEEKS + 1)])
    assert first.exit_code == 0, first.output
    later = week_start(NOW) + (AHEAD_WEEKS + 1) * WEEK
    assert json.loads(first.stdout) == {
        "dialect": "postgresql", "made": [partition_name("traces", later), partition_name("spans", later)]
    }  # fmt: skip
    again = runner.invoke(app, ["--workspace", str(tmp_path), "store", "maintain", "--ahead", str(AHEAD_WEEKS + 1)])
    assert again.exit_code == 0 and "already has its partitions" in again.stdout
