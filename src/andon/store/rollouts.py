"""Canary rollouts in the store: the rollout rows, their audited events, and the traces a step is judged on.

A rollout changes only by compare-and-set on its ``revision``, so a person's pause racing the watcher's
step never loses one of them; its events are written in the same transaction as the change they record.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from andon.messages import t
from andon.store._base import StoreBase, update_at_revision
from andon.store.models import FeedbackRow, RolloutEventRow, RolloutRow, TraceRow, utcnow
from andon.store.refs import get_by_ref
from andon.store.watch import _asked, _served

ACTIVE = ("running", "paused")
_FIELDS = tuple(c.name for c in RolloutRow.__table__.columns)
_SAMPLE_LIMIT = 50_000  # traces read per version and step: plenty for a test, bounded for memory


@dataclass(frozen=True, slots=True)
class RolloutRecord:
    """One rollout as stored (see ``RolloutRow``)."""

    id: str
    feature: str
    stable_id: str
    stable_name: str
    canary_id: str
    canary_name: str
    status: str
    step: int
    weight: int
    step_started_at: datetime
    settings: dict[str, Any]
    actor: str
    reason: str | None
    active_key: str | None
    live_row_id: int | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    revision: int

    @property
    def active(self) -> bool:
        """Running or paused: it still holds the feature."""
        return self.status in ACTIVE


@dataclass(frozen=True, slots=True)
class RolloutEvent:
    """One audited event of a rollout."""

    id: int
    rollout_id: str
    kind: str
    step: int
    actor: str
    text: str | None
    data: dict[str, Any]
    at: datetime


@dataclass(frozen=True, slots=True)
class NewRolloutEvent:
    """An event to write with a change."""

    kind: str
    step: int
    actor: str
    text: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RolloutSample:
    """What one traced call says about its version: failed or not, latency, cost, output JSON and tags."""

    version_id: str
    failed: bool
    latency_ms: float
    cost: float | None
    output_json: Any
    tags: dict[str, Any]


def _record(row: RolloutRow) -> RolloutRecord:
    return RolloutRecord(**{name: getattr(row, name) for name in _FIELDS})


def _event(row: RolloutEventRow) -> RolloutEvent:
    return RolloutEvent(row.id, row.rollout_id, row.kind, row.step, row.actor, row.text, dict(row.data), row.at)


class RolloutsMixin(StoreBase):
    """Rollouts and their events (methods of :class:`andon.store.Store`)."""

    def create_rollout(self, values: dict[str, Any], event: NewRolloutEvent) -> RolloutRecord | None:
        """Store a new active rollout and its ``started`` event; None when the feature has an active one already."""
        now = utcnow()
        row = RolloutRow(
            **{**values, "active_key": values["feature"], "created_at": now, "updated_at": now, "revision": 0}
        )
        try:
            with self._write() as session:
                session.add(row)
                session.flush()
                _add(session, row.id, [event], now)
                return _record(row)
        except IntegrityError:
            return None  # the unique active_key: another rollout of this feature is active

    def active_rollout(self, feature: str) -> RolloutRecord | None:
        """The feature's running or paused rollout, if any."""
        with self._read() as session:
            row = session.scalars(select(RolloutRow).where(RolloutRow.active_key == feature)).first()
            return None if row is None else _record(row)

    def active_rollouts(self) -> list[RolloutRecord]:
        """Every running or paused rollout, oldest first."""
        with self._read() as session:
            rows = session.scalars(
                select(RolloutRow).where(RolloutRow.active_key.is_not(None)).order_by(RolloutRow.created_at)
            )
            return [_record(r) for r in rows]

    def get_rollout(self, ref: str) -> RolloutRecord:
        """The rollout with id ``ref`` (or a unique id prefix)."""
        with self._read() as session:
            row = get_by_ref(session, RolloutRow, ref, t("rollout.store.what"), t("rollout.store.hint"))
            return _record(row)

    def list_rollouts(self, feature: str | None = None) -> list[RolloutRecord]:
        """Rollouts (of ``feature``), newest first."""
        query = select(RolloutRow).order_by(RolloutRow.created_at.desc(), RolloutRow.id)
        if feature is not None:
            query = query.where(RolloutRow.feature == feature)
        with self._read() as session:
            return [_record(r) for r in session.scalars(query)]

    def change_rollout(
        self, rollout_id: str, revision: int, changes: dict[str, Any], events: Sequence[NewRolloutEvent]
    ) -> RolloutRecord | None:
        """Apply ``changes`` and write ``events`` if the rollout is still at ``revision``; None when it moved on."""
        now = utcnow()
        values = {**changes, "updated_at": now, "revision": revision + 1}
        if "status" in changes and changes["status"] not in ACTIVE:
            values.update(active_key=None, finished_at=changes.get("finished_at", now))
        with self._write() as session:
            if not update_at_revision(session, RolloutRow, rollout_id, revision, values):
                return None
            _add(session, rollout_id, events, now)
            row = session.get_one(RolloutRow, rollout_id, populate_existing=True)
            return _record(row)

    def rollout_calls(self, feature: str, version_id: str, start: datetime, end: datetime) -> int:
        """How many calls ``version_id`` served for ``feature`` in [start, end) (shadow probes left out)."""
        query = select(func.count()).where(
            TraceRow.feature == feature,
            TraceRow.version_id == version_id,
            TraceRow.created_at >= start,
            TraceRow.created_at < end,
            _served(),
        )
        with self._read() as session:
            return int(session.execute(query).scalar_one())

    def rollout_events(self, rollout_id: str) -> list[RolloutEvent]:
        """The rollout's events, oldest first."""
        with self._read() as session:
            rows = session.scalars(
                select(RolloutEventRow).where(RolloutEventRow.rollout_id == rollout_id).order_by(RolloutEventRow.id)
            )
            return [_event(r) for r in rows]

    def rollout_samples(
        self, feature: str, version_ids: Sequence[str], start: datetime, end: datetime
    ) -> list[RolloutSample]:
        """The calls the AI was asked in [start, end) served by ``version_ids`` (probes and stopped calls left out)."""
        out: list[RolloutSample] = []
        with self._read() as session:
            for version_id in version_ids:
                query = (
                    select(TraceRow.error_code, TraceRow.latency_ms, TraceRow.cost, TraceRow.output_json, TraceRow.tags)
                    .where(
                        TraceRow.feature == feature,
                        TraceRow.version_id == version_id,
                        TraceRow.created_at >= start,
                        TraceRow.created_at < end,
                        _asked(),
                        _served(),
                    )
                    .order_by(TraceRow.created_at.desc())
                    .limit(_SAMPLE_LIMIT)
                )
                for code, latency, cost, output, tags in session.execute(query):
                    out.append(RolloutSample(version_id, code is not None, float(latency), cost, output, tags or {}))
        return out

    def rollout_feedback(
        self, feature: str, version_ids: Sequence[str], start: datetime, end: datetime
    ) -> list[tuple[str, bool]]:
        """(version id, negative?) of each thumbs feedback on the calls of ``version_ids`` in [start, end)."""
        query = (
            select(TraceRow.version_id, FeedbackRow.thumbs)
            .join(TraceRow, TraceRow.id == FeedbackRow.trace_id)
            .where(
                TraceRow.feature == feature,
                TraceRow.version_id.in_(list(version_ids)),
                TraceRow.created_at >= start,
                TraceRow.created_at < end,
                FeedbackRow.thumbs.is_not(None),
            )
        )
        with self._read() as session:
            return [(str(v), thumbs == -1) for v, thumbs in session.execute(query)]


def _add(session: Any, rollout_id: str, events: Sequence[NewRolloutEvent], at: datetime) -> None:
    for event in events:
        session.add(
            RolloutEventRow(
                rollout_id=rollout_id,
                kind=event.kind,
                step=event.step,
                actor=event.actor,
                text=event.text,
                data=dict(event.data),
                at=at,
            )
        )
