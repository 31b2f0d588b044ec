"""Issue 13: on PostgreSQL, traces and spans partitioned by week (created_at, started_at); feedback loses its
foreign key to traces on both databases (a partitioned table's ids are unique only with their time).

Every row is copied across in this one transaction; the indexes are made again with the same definitions,
after the copy. SQLite keeps its tables (and the traces' rowids, which its text index is keyed by).

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from andon.store.partitions import AHEAD_WEEKS, PARTITIONED, WEEK, default_name, partition_name, weeks_between

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FEEDBACK_FK = "fk_feedback_trace_id_traces"
# The watcher's windows and the home page's hourly totals read these beside (feature, created_at): carried in
# the index (PostgreSQL's INCLUDE), a day of a busy feature is read from the index alone, not from the heap.
FEATURE_INDEX = "ix_traces_feature_created_at"
FEATURE_INDEX_CARRIES = "latency_ms, provider, cache, error_code, route, status, cost"
_OLD = "_0022"
_NEW = "_0023"


def upgrade() -> None:
    """Drop the feedback foreign key; on PostgreSQL rebuild traces and spans as weekly partitioned tables."""
    with op.batch_alter_table("feedback") as batch:
        batch.drop_constraint(FEEDBACK_FK, type_="foreignkey")
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, key in PARTITIONED.items():
        _rebuild(table, partition_by=key, suffix=_OLD, primary_key=f"id, {key}")
    _feature_index(f" INCLUDE ({FEATURE_INDEX_CARRIES})")


def downgrade() -> None:
    """Plain tables again (a duplicate id in two weeks keeps its first row), then the foreign key back."""
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for table in PARTITIONED:
            _rebuild(table, partition_by=None, suffix=_NEW, primary_key="id")
        _feature_index("")
    op.execute("DELETE FROM feedback WHERE trace_id NOT IN (SELECT id FROM traces)")
    with op.batch_alter_table("feedback") as batch:
        batch.create_foreign_key(FEEDBACK_FK, "traces", ["trace_id"], ["id"], ondelete="CASCADE")


def _feature_index(include: str) -> None:
    """The traces' (feature, created_at) index again, carrying ``include`` (the same name: the models' index)."""
    op.execute(f"DROP INDEX {FEATURE_INDEX}")
    op.execute(f"CREATE INDEX {FEATURE_INDEX} ON traces (feature, created_at){include}")


def _rebuild(table: str, *, partition_by: str | None, suffix: str, primary_key: str) -> None:
    """``table`` made again beside the old one (renamed ``table + suffix``), rows copied, indexes remade."""
    bind = op.get_bind()
    old = table + suffix
    op.execute(f"ALTER TABLE {table} RENAME TO {old}")
    indexes = bind.execute(
        sa.text(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = :t "
            "AND indexname <> :pk"
        ),
        {"t": old, "pk": f"pk_{table}"},
    ).all()
    for name, _definition in indexes:
        op.execute(f"DROP INDEX {name}")
    op.execute(f"ALTER TABLE {old} RENAME CONSTRAINT pk_{table} TO pk_{old}")
    partitioned = f" PARTITION BY RANGE ({partition_by})" if partition_by else ""
    op.execute(f"CREATE TABLE {table} (LIKE {old} INCLUDING DEFAULTS){partitioned}")
    op.execute(f"ALTER TABLE {table} ADD CONSTRAINT pk_{table} PRIMARY KEY ({primary_key})")
    if partition_by:
        op.execute(f"CREATE TABLE {default_name(table)} PARTITION OF {table} DEFAULT")
        _make_weeks(table, partition_by, source=old)
        op.execute(f"INSERT INTO {table} SELECT * FROM {old}")
    else:
        op.execute(f"INSERT INTO {table} SELECT * FROM {old} ORDER BY id ON CONFLICT (id) DO NOTHING")
    op.execute(f"DROP TABLE {old}")
    on_old = re.compile(rf" ON (?:ONLY )?(?:\S+\.)?{re.escape(old)} ")  # ONLY: the index of a partitioned table
    for _name, definition in indexes:
        op.execute(on_old.sub(f" ON {table} ", definition, count=1))


def _make_weeks(table: str, key: str, source: str) -> None:
    """A partition for every week ``source`` has rows in, and for this week and AHEAD_WEEKS more."""
    now = datetime.now(UTC)
    starts = set(weeks_between(now, now + AHEAD_WEEKS * WEEK))
    found = op.get_bind().execute(
        sa.text(f"SELECT DISTINCT date_trunc('week', {key} AT TIME ZONE 'UTC') FROM {source}")
    )
    starts |= {row[0].replace(tzinfo=UTC) for row in found}
    for start in sorted(starts):
        op.execute(
            f"CREATE TABLE {partition_name(table, start)} PARTITION OF {table} FOR VALUES "
            f"FROM ('{start.isoformat()}') TO ('{(start + WEEK).isoformat()}')"
        )
