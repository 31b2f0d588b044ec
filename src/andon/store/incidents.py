"""Incidents in the store: the incident row, its append-only timeline, and the trace counts of its window.

Every change of an incident is written in one transaction with its timeline events and its outbox rows
(``andon.store.outbox``), so a notification is never lost nor sent for a change that did not happen.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, or_, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from andon.errors import NotFoundError
from andon.messages import t
from andon.store._base import StoreBase
from andon.store.models import IncidentEventRow, IncidentRow, TraceRow, utcnow
from andon.store.outbox import NewNotification, enqueue
from andon.store.refs import get_by_ref

_INCIDENT_FIELDS = tuple(c.name for c in IncidentRow.__table__.columns)
_CHANGEABLE = frozenset(_INCIDENT_FIELDS) - {"id", "revision", "opened_at"}


@dataclass(frozen=True, slots=True)
class IncidentRecord:
    """An incident as stored; ``stages`` maps each reached stage to ``{"at": iso time, "actor": name}``."""

    id: str
    feature: str
    title: str
    stage: str
    monitor: str | None
    metric: str | None
    dedupe_key: str | None
    open_key: str | None
    opened_at: datetime
    closed_at: datetime | None
    false_alarm: bool | None
    cause: str | None
    decision: str | None
    runbook: str | None
    owner: str | None
    details: dict[str, Any]
    stages: dict[str, Any]
    revision: int


@dataclass(frozen=True, slots=True)
class IncidentEventRecord:
    """One entry of an incident's timeline."""

    id: int
    incident_id: str
    kind: str  # stage | note | cord | alert_firing | alert_resolved
    stage: str | None
    actor: str
    text: str | None
    data: dict[str, Any]
    at: datetime


@dataclass(frozen=True, slots=True)
class NewEvent:
    """A timeline entry to append."""

    kind: str
    actor: str
    at: datetime
    stage: str | None = None
    text: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TraceCounts:
    """What the traces of one feature in a time window add up to."""

    calls: int
    users: int
    tenants: int
    errors: int
    to_people: int  # routed to a human (review queue) or served by the fallback
    cost: dict[str, float]  # currency -> total; traces without a price are not in it
    unpriced: int


class IncidentsMixin(StoreBase):
    """Incidents and their timelines (methods of :class:`andon.store.Store`)."""

    def create_incident(
        self,
        values: Mapping[str, Any],
        events: Sequence[NewEvent],
        notifications: Sequence[NewNotification],
        *,
        due: datetime | None = None,
    ) -> tuple[IncidentRecord, bool]:
        """Insert an incident with its first events and notifications (due at ``due``); (record, True).

        When ``values["open_key"]`` names a still-open incident, nothing is written: (that one, False).
        """
        key = values.get("open_key")
        try:
            with self._write() as session:
                if key is not None:
                    existing = session.scalars(select(IncidentRow).where(IncidentRow.open_key == key)).first()
                    if existing is not None:
                        return _incident(existing), False
                row = IncidentRow(**{**values, "revision": 0})
                session.add(row)
                session.flush()
                _add_events(session, row.id, events)
                enqueue(self, session, notifications, due or utcnow())
                return _incident(row), True
        except IntegrityError:
            # Another process opened it between our read and our insert (PostgreSQL; SQLite writers queue).
            if key is None:
                raise
            with self._read() as session:
                existing = session.scalars(select(IncidentRow).where(IncidentRow.open_key == key)).first()
                if existing is None:
                    raise
                return _incident(existing), False

    def update_incident(
        self,
        incident_id: str,
        revision: int,
        changes: Mapping[str, Any],
        events: Sequence[NewEvent],
        notifications: Sequence[NewNotification],
        *,
        due: datetime | None = None,
    ) -> IncidentRecord | None:
        """Apply ``changes`` if the incident is still at ``revision``; None when someone changed it first."""
        unknown = set(changes) - _CHANGEABLE
        if unknown:
            raise ValueError(f"incident fields {sorted(unknown)} cannot be changed")
        with self._write() as session:
            query = select(IncidentRow).where(IncidentRow.id == incident_id)
            if self.dialect == "postgresql":
                query = query.with_for_update()
            row = session.scalars(query).first()
            if row is None:
                raise NotFoundError(
                    t("house.ref.missing", what=t("house.ref.what.incident"), ref=incident_id),
                    hint=t("house.ref.hint.incident"),
                )
            if row.revision != revision:
                return None
            for name, value in changes.items():
                setattr(row, name, value)
            row.revision = revision + 1
            _add_events(session, row.id, events)
            enqueue(self, session, notifications, due or utcnow())
            session.flush()
            return _incident(row)

    def add_incident_events(self, incident_id: str, events: Sequence[NewEvent]) -> list[IncidentEventRecord]:
        """Append timeline entries (notes, cord pulls, alerts) without changing the incident."""
        with self._write() as session:
            if session.get(IncidentRow, incident_id) is None:
                raise NotFoundError(
                    t("house.ref.missing", what=t("house.ref.what.incident"), ref=incident_id),
                    hint=t("house.ref.hint.incident"),
                )
            rows = _add_events(session, incident_id, events)
            session.flush()
            return [_event(r) for r in rows]

    def get_incident(self, ref: str) -> IncidentRecord:
        """The incident with id ``ref``, or the only one whose id starts with ``ref`` (at least 6 characters)."""
        with self._read() as session:
            what, hint = t("house.ref.what.incident"), t("house.ref.hint.incident")
            return _incident(get_by_ref(session, IncidentRow, ref, what, hint))

    def open_incident_by_key(self, key: str) -> IncidentRecord | None:
        """The still-open incident opened with dedupe key ``key``, or None."""
        with self._read() as session:
            row = session.scalars(select(IncidentRow).where(IncidentRow.open_key == key)).first()
            return None if row is None else _incident(row)

    def latest_incident_by_key(self, key: str) -> IncidentRecord | None:
        """The newest incident (open or closed) opened with dedupe key ``key``, or None."""
        with self._read() as session:
            row = session.scalars(
                select(IncidentRow)
                .where(IncidentRow.dedupe_key == key)
                .order_by(IncidentRow.opened_at.desc(), IncidentRow.id.desc())
                .limit(1)
            ).first()
            return None if row is None else _incident(row)

    def list_incidents(
        self, *, feature: str | None = None, open_only: bool = False, limit: int = 100
    ) -> list[IncidentRecord]:
        """Incidents, newest first."""
        query = select(IncidentRow).order_by(IncidentRow.opened_at.desc(), IncidentRow.id.desc()).limit(limit)
        if feature is not None:
            query = query.where(IncidentRow.feature == feature)
        if open_only:
            query = query.where(IncidentRow.closed_at.is_(None))
        with self._read() as session:
            return [_incident(r) for r in session.scalars(query)]

    def incident_events(self, incident_id: str) -> list[IncidentEventRecord]:
        """The timeline of one incident, oldest first."""
        with self._read() as session:
            rows = session.scalars(
                select(IncidentEventRow)
                .where(IncidentEventRow.incident_id == incident_id)
                .order_by(IncidentEventRow.at, IncidentEventRow.id)
            )
            return [_event(r) for r in rows]

    def related_incidents(
        self,
        *,
        feature: str,
        monitor: str | None,
        metric: str | None,
        exclude: str,
        before: datetime | None = None,
        limit: int = 500,
    ) -> list[IncidentRecord]:
        """Other incidents of the same feature, monitor or metric (opened by ``before``), newest first."""
        same = [IncidentRow.feature == feature]
        if monitor is not None:
            same.append(IncidentRow.monitor == monitor)
        if metric is not None:
            same.append(IncidentRow.metric == metric)
        query = (
            select(IncidentRow)
            .where(or_(*same), IncidentRow.id != exclude)
            .where(true() if before is None else IncidentRow.opened_at <= before)
            .order_by(IncidentRow.opened_at.desc())
            .limit(limit)
        )
        with self._read() as session:
            return [_incident(r) for r in session.scalars(query)]

    def false_alarm_counts(self) -> dict[str, int]:
        """Monitor -> how many of its incidents were confirmed false alarms."""
        query = (
            select(IncidentRow.monitor, func.count())
            .where(IncidentRow.false_alarm.is_(True), IncidentRow.monitor.is_not(None))
            .group_by(IncidentRow.monitor)
        )
        with self._read() as session:
            return {str(monitor): int(n) for monitor, n in session.execute(query).all()}

    def trace_counts(self, feature: str, start: datetime, end: datetime) -> TraceCounts:
        """Calls, distinct users and tenants, errors, calls answered by people, and cost of ``[start, end)``."""
        window = (TraceRow.feature == feature, TraceRow.created_at >= start, TraceRow.created_at < end)
        calls = (*window, TraceRow.route != "probe")  # a shadow probe is not a call; its cost is spent all the same
        answered = TraceRow.route.in_(("human", "fallback")) & (TraceRow.status != "error")
        people = case((answered, 1), else_=0)
        errors = case((TraceRow.status == "error", 1), else_=0)
        unpriced = case((TraceRow.cost.is_(None), 1), else_=0)
        with self._read() as session:
            calls, users, tenants, n_errors, n_people, n_unpriced = session.execute(
                select(
                    func.count(),
                    func.count(func.distinct(TraceRow.user_id)),
                    func.count(func.distinct(TraceRow.tenant)),
                    func.coalesce(func.sum(errors), 0),
                    func.coalesce(func.sum(people), 0),
                    func.coalesce(func.sum(unpriced), 0),
                ).where(*calls)
            ).one()
            costs = session.execute(
                select(TraceRow.currency, func.sum(TraceRow.cost))
                .where(*window, TraceRow.cost.is_not(None))
                .group_by(TraceRow.currency)
            ).all()
        return TraceCounts(
            calls=int(calls),
            users=int(users),
            tenants=int(tenants),
            errors=int(n_errors),
            to_people=int(n_people),
            cost={str(currency or ""): float(total) for currency, total in costs if total is not None},
            unpriced=int(n_unpriced),
        )


def _add_events(session: Session, incident_id: str, events: Sequence[NewEvent]) -> list[IncidentEventRow]:
    rows = [
        IncidentEventRow(
            incident_id=incident_id, kind=e.kind, stage=e.stage, actor=e.actor, text=e.text, data=dict(e.data), at=e.at
        )
        for e in events
    ]
    session.add_all(rows)
    return rows


def _incident(row: IncidentRow) -> IncidentRecord:
    values = {name: getattr(row, name) for name in _INCIDENT_FIELDS}
    values["details"] = dict(values["details"] or {})
    values["stages"] = dict(values["stages"] or {})
    return IncidentRecord(**values)


def _event(row: IncidentEventRow) -> IncidentEventRecord:
    return IncidentEventRecord(
        id=row.id,
        incident_id=row.incident_id,
        kind=row.kind,
        stage=row.stage,
        actor=row.actor,
        text=row.text,
        data=dict(row.data or {}),
        at=row.at,
    )
