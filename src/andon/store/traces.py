"""Gateway traces and feedback in the store: group-committed writes, lookups, and retention pruning.

Traces go in as :class:`~andon.store.records.TraceRecord` and come out as plain dicts of their columns.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Table, delete, insert, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from andon.errors import ConfigError, NotFoundError
from andon.messages import t
from andon.store._base import StoreBase
from andon.store.models import FeedbackRow, OutputRow, ReviewItemRow, TraceRow, utcnow
from andon.store.outbox import NewNotification, enqueue
from andon.store.partitions import Partition, drop_partition, ensure_partitions, expired, is_partitioned
from andon.store.records import OutputRecord, ReviewItem, TraceRecord
from andon.store.refs import get_by_ref
from andon.store.reviews import review_row
from andon.store.spans import SpanRecord, delete_spans, insert_spans

PRUNE_CHUNK = 1000  # rows per delete transaction: short locks, and a big backlog cannot blow up memory
# A partition drop waits this long for its lock, then gives up until the next prune: a long dashboard query
# holding the table must not make every trace writer queue behind the drop.
DROP_LOCK_TIMEOUT = "2s"
LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's SQLSTATE for a lock_timeout that ran out
log = logging.getLogger(__name__)
TRACE_COLUMNS = tuple(c.name for c in TraceRow.__table__.columns)
_OUTPUT_FIELDS = tuple(f.name for f in dataclasses.fields(OutputRecord))


MAX_COMMENT = 10_000


def check_feedback(*, score: float | None, thumbs: int | None, comment: str | None) -> None:
    """Refuse feedback that says nothing or holds a bad value: every face (HTTP, SDK, CLI) checks it here."""
    if score is not None and (isinstance(score, bool) or not math.isfinite(float(score))):
        raise ConfigError(t("house2.feedback.score", score=score), where="score")
    if thumbs is not None and (isinstance(thumbs, bool) or thumbs not in (1, -1)):
        raise ConfigError(t("house2.feedback.thumbs", thumbs=thumbs), where="thumbs")
    if score is None and thumbs is None and not (comment and comment.strip()):
        raise ConfigError(t("house2.feedback.empty"), hint=t("house2.feedback.empty_hint"))
    if comment is not None and len(comment) > MAX_COMMENT:
        raise ConfigError(
            t("house2.text.too_long", what=t("house2.text.comment"), n=len(comment), limit=MAX_COMMENT), where="comment"
        )


@dataclass(frozen=True, slots=True)
class FeedbackRecord:
    """Feedback on one trace: a score and/or thumbs (+1/-1), and a comment."""

    id: int
    trace_id: str
    score: float | None
    thumbs: int | None
    comment: str | None
    user_id: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class PruneCounts:
    """How many rows a retention prune deleted."""

    traces: int = 0
    outputs: int = 0
    feedback: int = 0

    def __add__(self, other: PruneCounts) -> PruneCounts:
        return PruneCounts(self.traces + other.traces, self.outputs + other.outputs, self.feedback + other.feedback)


class TracesMixin(StoreBase):
    """Gateway traces and feedback (methods of :class:`andon.store.Store`)."""

    def save_traces(
        self,
        traces: Sequence[TraceRecord],
        outputs: Sequence[OutputRecord] = (),
        review_items: Sequence[ReviewItem] = (),
        notifications: Sequence[NewNotification] = (),
        spans: Sequence[SpanRecord] = (),
    ) -> None:
        """Store traces with their outputs (provenance), review items, outbox notifications and spans in ONE
        transaction: all or nothing."""
        output_rows = [{name: getattr(r, name) for name in _OUTPUT_FIELDS} for r in outputs]
        trace_rows = [{name: getattr(t, name) for name in TRACE_COLUMNS} for t in traces]
        review_rows = [review_row(item) for item in review_items]
        with self._write() as session:
            # The gateway's group commit: Core statements on the session's connection, compiled once (cached), each
            # table's rows in one executemany (a prepared statement stepped per row on SQLite; multi-row VALUES on
            # PostgreSQL through SQLAlchemy's insertmanyvalues), skipping the ORM's per-row bulk-insert work.
            _insert_rows(session.connection(), output_rows, trace_rows, review_rows)
            if notifications:
                enqueue(self, session, notifications, utcnow())
            insert_spans(session, spans)

    def get_trace(self, ref: str) -> dict[str, Any]:
        """A trace's columns by id, or by a unique id prefix of at least 6 characters."""
        with self._read() as session:
            row = get_by_ref(session, TraceRow, ref, t("house.ref.what.trace"), t("polish.notfound.trace_hint"))
            return trace_dict(row)

    def list_traces(
        self,
        feature: str | None = None,
        *,
        limit: int = 50,
        status: str | None = None,
        route: str | None = None,
        before: datetime | None = None,
    ) -> list[dict[str, Any]]:
        """Traces' columns, newest first, optionally of one feature, status or route, and created before a time."""
        query = select(TraceRow).order_by(TraceRow.created_at.desc(), TraceRow.id.desc()).limit(limit)
        if feature is not None:
            query = query.where(TraceRow.feature == feature)
        if status is not None:
            query = query.where(TraceRow.status == status)
        if route is not None:
            query = query.where(TraceRow.route == route)
        if before is not None:
            query = query.where(TraceRow.created_at < before)
        with self._read() as session:
            return [trace_dict(row) for row in session.scalars(query)]

    def trace_features(self) -> list[str]:
        """Every feature that has traces (including ones no longer in andon.yaml)."""
        with self._read() as session:
            return sorted(session.scalars(select(TraceRow.feature).distinct()).all())

    def add_feedback(
        self,
        trace_id: str,
        *,
        score: float | None = None,
        thumbs: int | None = None,
        comment: str | None = None,
        user_id: str | None = None,
    ) -> FeedbackRecord:
        """Attach feedback to a stored trace; an unknown trace id is a NotFoundError, bad values a ConfigError."""
        check_feedback(score=score, thumbs=thumbs, comment=comment)
        with self._write() as session:
            if session.get(TraceRow, trace_id) is None:
                raise NotFoundError(
                    t("house.ref.missing", what=t("house.ref.what.trace"), ref=trace_id),
                    hint=t("house2.feedback.trace_hint"),
                )
            row = FeedbackRow(
                trace_id=trace_id, score=score, thumbs=thumbs, comment=comment, user_id=user_id, created_at=utcnow()
            )
            session.add(row)
            session.flush()
            return _feedback_record(row)

    def merge_trace_tags(self, trace_id: str, key: str, values: Mapping[str, Any]) -> bool:
        """Merge ``values`` into the object at ``tags[key]`` of a stored trace; False when the trace is gone."""
        with self._write() as session:
            tags = session.execute(select(TraceRow.tags).where(TraceRow.id == trace_id)).scalar_one_or_none()
            if tags is None and session.execute(select(TraceRow.id).where(TraceRow.id == trace_id)).first() is None:
                return False
            merged = dict(tags or {})
            inner = merged.get(key)
            merged[key] = {**(inner if isinstance(inner, dict) else {}), **values}
            session.execute(update(TraceRow).where(TraceRow.id == trace_id).values(tags=merged))
            return True

    def list_feedback(self, trace_id: str) -> list[FeedbackRecord]:
        """Feedback on one trace, oldest first."""
        with self._read() as session:
            rows = session.scalars(select(FeedbackRow).where(FeedbackRow.trace_id == trace_id).order_by(FeedbackRow.id))
            return [_feedback_record(row) for row in rows]

    def prune_traces(self, cutoffs: Mapping[str, datetime], default: datetime | None = None) -> PruneCounts:
        """Delete traces older than their feature's cutoff, with their outputs and feedback.

        ``default`` applies to features not in ``cutoffs`` (e.g. removed from andon.yaml); None keeps them.
        Review items are the queue's own records and stay (their ``trace_id`` then points nowhere).
        """
        total = PruneCounts()
        if default is not None:
            # Every feature's traces older than the longest retention go by whole weeks (PostgreSQL), the
            # rest row by row below.
            total += self._drop_expired(min([default, *cutoffs.values()]))
        for feature, cutoff in cutoffs.items():
            total += self._prune_where(TraceRow.feature == feature, TraceRow.created_at < cutoff)
        if default is not None:
            others = TraceRow.feature.not_in(list(cutoffs)) if cutoffs else TraceRow.id.is_not(None)
            total += self._prune_where(others, TraceRow.created_at < default)
        return total

    def maintain_partitions(self, ahead: int | None = None) -> list[str]:
        """PostgreSQL: make the coming weeks' partitions of traces and spans (and move rows of those weeks out of
        the default partition); the names made. Nothing to do on SQLite."""
        if self.dialect != "postgresql":
            return []
        with self._write() as session:
            connection = session.connection()
            return ensure_partitions(connection, utcnow(), *(() if ahead is None else (ahead,)))

    def _drop_expired(self, cutoff: datetime) -> PruneCounts:
        """Drop the weeks of traces and spans wholly older than ``cutoff``, with the traces' outputs and feedback.

        Spans go by their own start: a span that began before the cutoff is past retention whatever its trace.
        """
        if self.dialect != "postgresql":
            return PruneCounts()
        self.maintain_partitions()  # the prune loop is the partitions' upkeep too
        total = PruneCounts()
        for table in ("traces", "spans"):
            with self._read() as session:
                connection = session.connection()
                weeks = expired(connection, table, cutoff) if is_partitioned(connection, table) else []
            for week in weeks:
                with self._write() as session:
                    connection = session.connection()
                    try:
                        with connection.begin_nested():
                            total += _drop_week(connection, week)
                    except DBAPIError as exc:
                        if getattr(exc.orig, "sqlstate", None) != LOCK_NOT_AVAILABLE:
                            raise
                        log.warning("retention: %s is in use; it is dropped at a later prune", week.name)
        return total

    def _prune_where(self, *conditions: Any) -> PruneCounts:
        total = PruneCounts()
        while True:
            with self._write() as session:
                chunk = session.execute(
                    select(TraceRow.id, TraceRow.output_id).where(*conditions).limit(PRUNE_CHUNK)
                ).all()
                if not chunk:
                    return total
                total += _delete_chunk(session, [c[0] for c in chunk], [c[1] for c in chunk if c[1]])
            if len(chunk) < PRUNE_CHUNK:
                return total


def _delete_chunk(session: Session, trace_ids: list[str], output_ids: list[str]) -> PruneCounts:
    # Explicit deletes rather than ON DELETE CASCADE: counts are reported, and outputs have no foreign key.
    feedback = session.execute(delete(FeedbackRow).where(FeedbackRow.trace_id.in_(trace_ids)))
    outputs = session.execute(delete(OutputRow).where(OutputRow.id.in_(output_ids))) if output_ids else None
    traces = session.execute(delete(TraceRow).where(TraceRow.id.in_(trace_ids)))
    delete_spans(session, trace_ids)  # retention takes a trace's spans with it
    return PruneCounts(
        traces=traces.rowcount or 0,  # type: ignore[attr-defined]
        outputs=(outputs.rowcount or 0) if outputs is not None else 0,  # type: ignore[attr-defined]
        feedback=feedback.rowcount or 0,  # type: ignore[attr-defined]
    )


def _drop_week(connection: Connection, week: Partition) -> PruneCounts:
    """One week gone in one transaction: for traces, their feedback and outputs first (no foreign keys)."""
    connection.execute(text(f"SET LOCAL lock_timeout = '{DROP_LOCK_TIMEOUT}'"))
    if week.table != "traces":
        drop_partition(connection, week)
        return PruneCounts()
    feedback = connection.execute(text(f"DELETE FROM feedback WHERE trace_id IN (SELECT id FROM {week.name})"))
    outputs = connection.execute(
        text(f"DELETE FROM outputs WHERE id IN (SELECT output_id FROM {week.name} WHERE output_id IS NOT NULL)")
    )
    traces = drop_partition(connection, week)
    return PruneCounts(traces=traces, outputs=outputs.rowcount or 0, feedback=feedback.rowcount or 0)


_OUTPUT_INSERT = insert(cast(Table, OutputRow.__table__))  # Core, not ORM: see save_traces
_TRACE_INSERT = insert(cast(Table, TraceRow.__table__))
_REVIEW_INSERT = insert(cast(Table, ReviewItemRow.__table__))


def _insert_rows(
    connection: Connection,
    output_rows: list[dict[str, Any]],
    trace_rows: list[dict[str, Any]],
    review_rows: list[dict[str, Any]],
) -> None:
    """Outputs first (traces point at them), then traces, then review items: one executemany each."""
    if output_rows:
        connection.execute(_OUTPUT_INSERT, output_rows)
    if trace_rows:
        connection.execute(_TRACE_INSERT, trace_rows)
    if review_rows:
        connection.execute(_REVIEW_INSERT, review_rows)


def trace_dict(row: TraceRow) -> dict[str, Any]:
    """A trace row's columns as a plain dict (the store's edge for traces)."""
    values = {name: getattr(row, name) for name in TRACE_COLUMNS}
    values["tags"] = dict(values["tags"] or {})
    return values


def _feedback_record(row: FeedbackRow) -> FeedbackRecord:
    return FeedbackRecord(
        id=row.id,
        trace_id=row.trace_id,
        score=row.score,
        thumbs=row.thumbs,
        comment=row.comment,
        user_id=row.user_id,
        created_at=row.created_at,
    )
