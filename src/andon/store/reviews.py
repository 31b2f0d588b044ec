"""The human review queue in the store.

Items go in as :class:`~andon.store.records.ReviewItem` and leave as plain dicts of their columns, which
:mod:`andon.review.queue` turns back into items.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update

from andon.errors import NotFoundError
from andon.messages import t
from andon.store._base import StoreBase
from andon.store.models import ReviewItemRow, TraceRow, utcnow
from andon.store.records import ReviewItem
from andon.store.refs import get_by_ref

REVIEW_COLUMNS = tuple(c.name for c in ReviewItemRow.__table__.columns)
_CHUNK = 500

# Called inside the export transaction with the items and how each one's input was stored (None: no trace);
# returns the ids now safely in the dataset, which are then marked exported in that same transaction.
ExportWriter = Callable[[list[tuple[dict[str, Any], str | None]]], Collection[str]]


class ReviewsMixin(StoreBase):
    """The human review queue (methods of :class:`andon.store.Store`)."""

    def add_review_item(self, item: ReviewItem) -> None:
        """Queue one item."""
        self.add_review_items([item])

    def add_review_items(self, items: Sequence[ReviewItem]) -> None:
        """Queue ``items`` in one transaction: all of them or none."""
        if not items:
            return
        rows = [review_row(item) for item in items]
        with self._write() as session:
            session.add_all(ReviewItemRow(**row) for row in rows)

    def get_review_item(self, ref: str) -> dict[str, Any]:
        """The item with id ``ref``, or the only one whose id starts with ``ref`` (≥ 6 characters)."""
        with self._read() as session:
            what, hint = t("house.ref.what.review_item"), t("polish.notfound.review_hint")
            return _row_dict(get_by_ref(session, ReviewItemRow, ref, what, hint))

    def list_review_items(
        self,
        feature: str | None = None,
        *,
        status: str | None = None,
        limit: int = 100,
        newest_first: bool = False,
    ) -> list[dict[str, Any]]:
        """Items, highest priority then oldest first (the order a reviewer works through them), optionally of one
        feature and status; ``newest_first`` lists by time alone."""
        if newest_first:
            query = select(ReviewItemRow).order_by(ReviewItemRow.created_at.desc(), ReviewItemRow.id)
        else:
            priority = ReviewItemRow.__table__.c.priority
            query = select(ReviewItemRow).order_by(priority.desc(), ReviewItemRow.created_at, ReviewItemRow.id)
        query = query.limit(limit)
        if feature is not None:
            query = query.where(ReviewItemRow.feature == feature)
        if status is not None:
            query = query.where(ReviewItemRow.status == status)
        with self._read() as session:
            return [_row_dict(r) for r in session.scalars(query)]

    def review_counts(self, feature: str | None = None) -> dict[str, int]:
        """How many items there are per status (``pending``, ``decided``), optionally of one feature."""
        query = select(ReviewItemRow.status, func.count()).group_by(ReviewItemRow.status)
        if feature is not None:
            query = query.where(ReviewItemRow.feature == feature)
        with self._read() as session:
            return {str(status): int(n) for status, n in session.execute(query)}

    def decide_review_item(
        self,
        review_id: str,
        *,
        decision: Any,
        label: str | None,
        comment: str | None,
        actor: str,
        decided_at: datetime | None = None,
    ) -> tuple[bool, dict[str, Any]]:
        """Record a decision if the item is still pending; (won?, the item as stored now).

        The conditional UPDATE makes concurrent deciders safe: exactly one of them changes the row.
        """
        with self._write() as session:
            won = (
                session.execute(
                    update(ReviewItemRow)
                    .where(ReviewItemRow.id == review_id, ReviewItemRow.status == "pending")
                    .values(
                        status="decided",
                        decision=decision,
                        label=label,
                        comment=comment,
                        decided_by=actor,
                        decided_at=decided_at or utcnow(),
                    )
                    .returning(ReviewItemRow.id)
                    .execution_options(synchronize_session=False)
                ).first()
                is not None
            )
            row = session.get(ReviewItemRow, review_id, populate_existing=True)
            if row is None:
                raise NotFoundError(
                    t("house.ref.missing", what=t("house.ref.what.review_item"), ref=review_id),
                    hint=t("house2.review.list_hint"),
                )
            return won, _row_dict(row)

    def export_review_items(self, feature: str, write: ExportWriter) -> list[dict[str, Any]]:
        """Hand decided, not yet exported items of ``feature`` to ``write``; mark what it wrote as exported.

        One transaction holds the items (row locks on PostgreSQL, the write lock on SQLite) from reading
        to marking, so two exports at once never write the same item twice.
        """
        with self._write() as session:
            rows = session.scalars(
                select(ReviewItemRow)
                .where(
                    ReviewItemRow.feature == feature,
                    ReviewItemRow.status == "decided",
                    ReviewItemRow.exported_at.is_(None),
                )
                .order_by(ReviewItemRow.decided_at, ReviewItemRow.id)
                .with_for_update()
            ).all()
            if not rows:
                return []
            trace_ids = [r.trace_id for r in rows if r.trace_id]
            modes: dict[str, str] = {}
            for start in range(0, len(trace_ids), _CHUNK):
                chunk = trace_ids[start : start + _CHUNK]
                found = session.execute(select(TraceRow.id, TraceRow.input_mode).where(TraceRow.id.in_(chunk)))
                modes.update({trace_id: mode for trace_id, mode in found})
            items = [(_row_dict(r), modes.get(r.trace_id or "")) for r in rows]
            written = set(write(items))
            now = utcnow()
            exported = []
            for row in rows:
                if row.id in written:
                    row.exported_at = now
                    exported.append(_row_dict(row))
            return exported


def review_row(item: ReviewItem) -> dict[str, Any]:
    """The ``review_items`` row of a queued item — the one mapping, for direct queueing and the gateway's traces.

    Mapped by field name, so a field added to the record without a column is refused, never dropped silently.
    """
    values = {f.name: getattr(item, f.name) for f in dataclasses.fields(item)}
    unknown = set(values) - set(REVIEW_COLUMNS)
    if unknown:
        raise ValueError(f"review item fields without a column: {sorted(unknown)}")
    if values.get("created_at") is None:
        values["created_at"] = utcnow()
    values.setdefault("status", "pending")
    return values


def _row_dict(row: ReviewItemRow) -> dict[str, Any]:
    return {name: getattr(row, name) for name in REVIEW_COLUMNS}
