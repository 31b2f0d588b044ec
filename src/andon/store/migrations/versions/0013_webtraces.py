"""The Traces page: indexes for its filters in newest-first order, and a text index over inputs and outputs.

SQLite gets a contentless FTS5 table ``traces_fts`` keyed by the traces' rowid and kept by triggers;
PostgreSQL a GIN index over the same text. A later migration that rebuilds ``traces`` on SQLite (a batch
table copy) changes rowids and drops triggers: it must call :func:`drop_text_index` before and
:func:`create_text_index` after.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from andon.store.models import TRACE_FILTER_INDEXES
from andon.store.webtraces import FTS_TABLE, PG_TEXT_INDEX, pg_text_document, sqlite_text_document

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def create_text_index() -> None:
    """The text index over existing traces, and (SQLite) the triggers that keep it."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"CREATE INDEX {PG_TEXT_INDEX} ON traces USING gin ({pg_text_document()})")
        return
    op.execute(
        f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5(body, content='', tokenize='unicode61 remove_diacritics 2')"
    )
    new, old = sqlite_text_document("new"), sqlite_text_document("old")
    add = f"INSERT INTO {FTS_TABLE}(rowid, body) VALUES (new.rowid, {new});"
    # A contentless table forgets a row only when told the exact text it indexed.
    forget = f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, body) VALUES ('delete', old.rowid, {old});"
    op.execute(f"CREATE TRIGGER {FTS_TABLE}_insert AFTER INSERT ON traces BEGIN {add} END")
    op.execute(f"CREATE TRIGGER {FTS_TABLE}_delete AFTER DELETE ON traces BEGIN {forget} END")
    op.execute(f"CREATE TRIGGER {FTS_TABLE}_update AFTER UPDATE ON traces BEGIN {forget} {add} END")
    op.execute(f"INSERT INTO {FTS_TABLE}(rowid, body) SELECT rowid, {sqlite_text_document('traces')} FROM traces")


def drop_text_index() -> None:
    """Drop the text index (and its triggers)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP INDEX IF EXISTS {PG_TEXT_INDEX}")
        return
    for suffix in ("insert", "delete", "update"):
        op.execute(f"DROP TRIGGER IF EXISTS {FTS_TABLE}_{suffix}")
    op.execute(f"DROP TABLE IF EXISTS {FTS_TABLE}")


def upgrade() -> None:
    """Add the filter indexes and the text index."""
    for name, columns in TRACE_FILTER_INDEXES.items():
        op.create_index(name, "traces", list(columns), unique=False)
    create_text_index()


def downgrade() -> None:
    """Drop them."""
    drop_text_index()
    for name in reversed(TRACE_FILTER_INDEXES):
        op.drop_index(name, table_name="traces")
