"""Searching traces for the Traces page: filters, words in inputs and outputs, and keyset pages newest first.

A page is read by ``(created_at, id)`` from a cursor, never by OFFSET, so the millionth row costs what the
first does. Words are found through a text index (SQLite FTS5, PostgreSQL GIN), not by scanning rows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, column, func, literal_column, or_, select, table
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from andon.store._base import StoreBase
from andon.store.models import TRACE_ROUTE_VERSION_INDEX, TraceRow
from andon.store.partitions import is_partition_name
from andon.store.traces import trace_dict

# Names and the indexed text are part of migration 0013: changing one needs a migration.
FTS_TABLE = "traces_fts"
PG_TEXT_INDEX = "ix_traces_text"
_TEXT_COLUMNS = ("output_text", "output_json", "input", "error")
_WORD = re.compile(r"[^\W_]+")
MAX_WORDS = 8
FULL_ID = 64
# Filters whose values usually pick few rows, most selective first: (field, its common value, its index).
_SELECTIVE = (
    ("user_id", None, "ix_traces_user_created_at"),
    ("tenant", None, "ix_traces_tenant_created_at"),
    ("route", "ai", "ix_traces_route_created_at"),
    ("status", "ok", "ix_traces_status_created_at"),
)
PROBE = 2000  # newest rows of a filter checked against a common word's matches
FEW = 5000  # matches fetched by rowid and sorted, rather than probed


def outside_the_models(name: str | None) -> bool:
    """Whether a table or index is the text index (FTS5 and its shadow tables, or the GIN index) or a partition."""
    if is_partition_name(name):
        return True  # PostgreSQL's weekly partitions of traces and spans (and their indexes): made, not modelled
    return name is not None and (name in (FTS_TABLE, PG_TEXT_INDEX) or name.startswith(FTS_TABLE + "_"))


def sqlite_text_document(row: str) -> str:
    """The text SQLite indexes for a trace (``row`` is ``new``, ``old`` or the table)."""
    return " || ' ' || ".join(f"coalesce({row}.{c}, '')" for c in _TEXT_COLUMNS)


def pg_text_document() -> str:
    """The tsvector PostgreSQL indexes for a trace; a query must spell it the same to use the index."""
    parts = " || ' ' || ".join(f"coalesce({c}::text, '')" for c in _TEXT_COLUMNS)
    return f"to_tsvector('simple'::regconfig, {parts})"


def words_of(query: str) -> list[str]:
    """The words of a search (letters and digits), lower-cased; each must start a word of the trace."""
    return [w.lower() for w in _WORD.findall(query)][:MAX_WORDS]


@dataclass(frozen=True, slots=True)
class TraceFilter:
    """What the Traces page narrows to; None (or empty) means any."""

    feature: str | None = None
    version: str | None = None  # a version id, or a prefix of at least 6 characters
    status: str | None = None
    route: str | None = None
    since: datetime | None = None
    until: datetime | None = None  # exclusive
    user_id: str | None = None
    tenant: str | None = None
    text: str | None = None


@dataclass(frozen=True, slots=True)
class Cursor:
    """A place in newest-first order: the row at ``(created_at, id)``."""

    created_at: datetime
    id: str


@dataclass(frozen=True, slots=True)
class TracePage:
    """One page of traces, newest first, with cursors to the older and newer pages (None at an end)."""

    rows: list[dict[str, Any]]
    older: Cursor | None
    newer: Cursor | None


class WebTracesMixin(StoreBase):
    """Trace search methods of :class:`andon.store.Store`."""

    def search_traces(
        self, where: TraceFilter, *, after: Cursor | None = None, before: Cursor | None = None, limit: int = 50
    ) -> TracePage:
        """Traces matching ``where``, newest first: the ``limit`` older than ``after`` or newer than ``before``."""
        conditions = self._trace_conditions(where)
        created, ident = TraceRow.created_at, TraceRow.id
        if before is not None:
            # The page just newer than ``before``: read upwards, then turn it round.
            conditions.append(_newer_than(before))
            order = (created.asc(), ident.asc())
        else:
            conditions += [_older_than(after)] if after is not None else []
            order = (created.desc(), ident.desc())
        words = words_of(where.text or "")
        with self._read() as session:
            hits = self._sqlite_text_hits(session, conditions, order, words, limit + 1) if words else None
            if hits is None:
                text_match = [self._text_match(words)] if words else []
                query = select(TraceRow).where(*conditions, *text_match).order_by(*order).limit(limit + 1)
                hits = list(session.scalars(self._hinted(query, where)))
            found = [trace_dict(r) for r in hits]
        more, rows = len(found) > limit, found[:limit]
        if before is None:
            newer = _cursor(rows[0]) if after is not None and rows else None
            return TracePage(rows, _cursor(rows[-1]) if more else None, newer)
        if not more:
            return self.search_traces(where, limit=limit)  # reached the newest: the first page, full
        rows.reverse()
        return TracePage(rows, _cursor(rows[-1]), _cursor(rows[0]))

    def _sqlite_text_hits(
        self,
        session: Session,
        conditions: list[ColumnElement[bool]],
        order: tuple[Any, ...],
        words: list[str],
        n: int,
    ) -> list[TraceRow] | None:
        """SQLite: the first ``n`` traces with the words, found from the text index's side (None: ask generally).

        Few matches: fetched by rowid and sorted.
        Many: the newest ``PROBE`` rows of the filter are checked against the index's matches in their
        rowid span, which is narrow because traces are written in time order.
        """
        if self.dialect != "sqlite":
            return None  # PostgreSQL combines the GIN index with the order by itself
        match = _fts_query(words)
        rowid: ColumnElement[int] = literal_column("traces.rowid")
        fts = table(FTS_TABLE, column("rowid"))
        matching = select(fts.c.rowid).where(literal_column(FTS_TABLE).bool_op("MATCH")(match))
        few = list(session.scalars(matching.limit(FEW + 1)))
        if len(few) <= FEW:
            query = select(TraceRow).where(rowid.in_(few), *conditions).order_by(*order).limit(n)
            return list(session.scalars(query))
        window = select(rowid).select_from(TraceRow).where(*conditions).order_by(*order).limit(PROBE)
        recent = list(session.scalars(window))
        if not recent:
            return []
        span = matching.where(fts.c.rowid.between(min(recent), max(recent)))
        found = set(session.scalars(span))
        kept = [r for r in recent if r in found][:n]
        if len(kept) < n and len(recent) == PROBE:
            return None  # common in the table, rare in these rows: the general query
        query = select(TraceRow).where(rowid.in_(kept)).order_by(*order)
        return list(session.scalars(query))

    def _hinted(self, query: Select[Any], where: TraceFilter) -> Select[Any]:
        """SQLite: the index of the most selective filter given (it keeps no statistics to choose by)."""
        if self.dialect != "sqlite":
            return query
        for value, common, index in _SELECTIVE:
            if value == "route" and where.route and where.version and len(where.version) >= FULL_ID:
                # Route and version together: one index holds both, newest first, so an empty intersection
                # of two broad filters costs a lookup, not a walk over every row of the rarer one.
                return query.with_hint(TraceRow, f"INDEXED BY {TRACE_ROUTE_VERSION_INDEX}", "sqlite")
            chosen = getattr(where, value)
            if chosen and chosen != common:
                return query.with_hint(TraceRow, f"INDEXED BY {index}", "sqlite")
        return query

    def _trace_conditions(self, where: TraceFilter) -> list[ColumnElement[bool]]:
        out: list[ColumnElement[bool]] = []
        for field, value in (
            (TraceRow.feature, where.feature),
            (TraceRow.status, where.status),
            (TraceRow.route, where.route),
            (TraceRow.user_id, where.user_id),
            (TraceRow.tenant, where.tenant),
        ):
            if value:
                out.append(field == value)
        if where.version:
            out.append(_version_is(where.version))
        if where.since is not None:
            out.append(TraceRow.created_at >= where.since)
        if where.until is not None:
            out.append(TraceRow.created_at < where.until)
        return out

    def _text_match(self, words: list[str]) -> ColumnElement[bool]:
        if self.dialect == "postgresql":
            query = " & ".join("'" + w.replace("\\", "\\\\").replace("'", "''") + "':*" for w in words)
            config: ColumnElement[str] = literal_column("'simple'::regconfig")
            return literal_column(pg_text_document()).bool_op("@@")(func.to_tsquery(config, query))
        fts = table(FTS_TABLE, column("rowid"))
        found = select(fts.c.rowid).where(
            literal_column(FTS_TABLE).bool_op("MATCH")(" ".join(f'"{w}"*' for w in words))
        )
        return literal_column("traces.rowid").in_(found)


def _fts_query(words: list[str]) -> str:
    """An FTS5 query: every word, each as the start of a word (quoted, so never read as an operator)."""
    return " AND ".join('"' + w.replace('"', '""') + '"*' for w in words)


def _version_is(version: str) -> ColumnElement[bool]:
    if len(version) >= FULL_ID:
        return TraceRow.version_id == version
    # A range, not LIKE: exact about case on both databases, and served by the version index.
    return and_(TraceRow.version_id >= version, TraceRow.version_id < version + "\U0010ffff")


def _older_than(at: Cursor) -> ColumnElement[bool]:
    # Spelt as a range on created_at plus a tie-break, so any index that holds created_at can serve it.
    return and_(
        TraceRow.created_at <= at.created_at,
        or_(TraceRow.created_at < at.created_at, TraceRow.id < at.id),
    )


def _newer_than(at: Cursor) -> ColumnElement[bool]:
    return and_(
        TraceRow.created_at >= at.created_at,
        or_(TraceRow.created_at > at.created_at, TraceRow.id > at.id),
    )


def _cursor(row: dict[str, Any]) -> Cursor:
    return Cursor(row["created_at"], row["id"])
