"""The notification outbox in the store: rows written with the incident change, claimed under a lease, retried.

A row is claimed by one deliverer at a time (a lease with a token, so several watcher processes never
send the same row at once), then marked delivered, or put back with its next attempt time. A process that
dies mid-delivery leaves a lease that expires, so a restarted one resumes; the receiver sees the row's
``dedupe_key`` as the delivery id and can drop the rare repeat of a send that crashed before its commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from andon.store._base import StoreBase
from andon.store.models import OutboxRow, utcnow

OUTBOX_STATUSES = ("pending", "delivered", "failed")


@dataclass(frozen=True, slots=True)
class NewNotification:
    """A notification to write into the outbox: one stage of one incident for one notifier."""

    incident_id: str
    stage: str
    notifier: str
    payload: dict[str, Any]

    @property
    def dedupe_key(self) -> str:
        """One row per (incident, stage, notifier), however often the change is recorded."""
        return f"{self.incident_id}:{self.stage}:{self.notifier}"


@dataclass(frozen=True, slots=True)
class OutboxRecord:
    """One row of the outbox as it stands."""

    id: int
    dedupe_key: str
    incident_id: str
    stage: str
    notifier: str
    payload: dict[str, Any]
    status: str  # pending | delivered | failed
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    lease_token: str | None = None


def enqueue(store: StoreBase, session: Session, notifications: Sequence[NewNotification], due: datetime) -> None:
    """Insert ``notifications``, due at ``due``, inside the caller's transaction; a row already there is kept."""
    now = utcnow()
    for note in notifications:
        session.execute(
            store._insert(OutboxRow)
            .values(
                dedupe_key=note.dedupe_key,
                incident_id=note.incident_id,
                stage=note.stage,
                notifier=note.notifier,
                payload=dict(note.payload),
                status="pending",
                attempts=0,
                next_attempt_at=min(due, now),
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
        )


class OutboxMixin(StoreBase):
    """The notification outbox (methods of :class:`andon.store.Store`)."""

    def enqueue_notifications(self, notifications: Sequence[NewNotification], due: datetime) -> None:
        """Write notifications on their own (the incident store writes them with its changes)."""
        with self._write() as session:
            enqueue(self, session, notifications, due)

    def claim_notifications(
        self, *, now: datetime, token: str, lease: timedelta, limit: int = 50
    ) -> list[OutboxRecord]:
        """Take up to ``limit`` due rows under a lease of ``lease``; rows another process holds are skipped."""
        free = or_(OutboxRow.lease_until.is_(None), OutboxRow.lease_until < now)
        claimed: list[OutboxRecord] = []
        with self._write() as session:
            ids = session.scalars(
                select(OutboxRow.id)
                .where(OutboxRow.status == "pending", OutboxRow.next_attempt_at <= now, free)
                .order_by(OutboxRow.next_attempt_at, OutboxRow.id)
                .limit(limit)
            ).all()
            for row_id in ids:
                # Conditional update: of two processes racing for a row, exactly one sees rowcount 1.
                result = session.execute(
                    update(OutboxRow)
                    .where(OutboxRow.id == row_id, OutboxRow.status == "pending", free)
                    .values(lease_token=token, lease_until=now + lease)
                )
                if result.rowcount == 1:  # type: ignore[attr-defined]
                    claimed.append(_record(session.get_one(OutboxRow, row_id)))
        return claimed

    def mark_delivered(self, row_id: int, *, at: datetime) -> None:
        """The receiver took it: never sent again."""
        with self._write() as session:
            session.execute(
                update(OutboxRow)
                .where(OutboxRow.id == row_id, OutboxRow.status == "pending")
                .values(status="delivered", delivered_at=at, attempts=OutboxRow.attempts + 1,
                        lease_token=None, lease_until=None, last_error=None)
            )  # fmt: skip

    def mark_retry(self, row_id: int, token: str, *, error: str, next_attempt_at: datetime | None) -> None:
        """A failed attempt: due again at ``next_attempt_at``, or given up (``failed``) when it is None."""
        values: dict[str, Any] = {
            "attempts": OutboxRow.attempts + 1,
            "last_error": error[:2000],
            "lease_token": None,
            "lease_until": None,
        }
        if next_attempt_at is None:
            values["status"] = "failed"
        else:
            values["next_attempt_at"] = next_attempt_at
        with self._write() as session:
            session.execute(
                update(OutboxRow)
                .where(OutboxRow.id == row_id, OutboxRow.status == "pending", OutboxRow.lease_token == token)
                .values(**values)
            )

    def outbox(self, incident_id: str | None = None, *, status: str | None = None) -> list[OutboxRecord]:
        """Outbox rows, oldest first, optionally of one incident or status."""
        query = select(OutboxRow).order_by(OutboxRow.id)
        if incident_id is not None:
            query = query.where(OutboxRow.incident_id == incident_id)
        if status is not None:
            query = query.where(OutboxRow.status == status)
        with self._read() as session:
            return [_record(row) for row in session.scalars(query)]


def _record(row: OutboxRow) -> OutboxRecord:
    return OutboxRecord(
        id=row.id,
        dedupe_key=row.dedupe_key,
        incident_id=row.incident_id,
        stage=row.stage,
        notifier=row.notifier,
        payload=dict(row.payload),
        status=row.status,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_error=row.last_error,
        created_at=row.created_at,
        delivered_at=row.delivered_at,
        lease_token=row.lease_token,
    )
