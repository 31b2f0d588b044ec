"""Live-version history and audited feature state (stop/resume, data-use grants) in the store."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from andon.store._base import StoreBase
from andon.store.models import FeatureEventRow, LiveVersionRow, utcnow

STOP_KINDS = ("stopped", "resumed")
CASES_KINDS = ("cases_allowed", "cases_denied")
FEATURE_EVENT_KINDS = STOP_KINDS + CASES_KINDS


@dataclass(frozen=True, slots=True)
class LiveRecord:
    """One row of a feature's live-version history (a promotion or a rollback)."""

    id: int
    feature: str
    version_id: str
    version_name: str
    action: str  # promote | rollback
    forced: bool
    actor: str
    reason: str | None
    run_id: str | None
    created_at: datetime
    criteria: dict[str, Any] | None = None  # andon.yaml's criteria when promoted: {"criteria": [...], "strict": ...}
    criteria_sha256: str | None = None
    run_criteria_sha256: str | None = None  # the hash of the criteria its run was evaluated under

    @property
    def criteria_changed(self) -> bool:
        """True when it was promoted on other criteria than its run's (only ever past ``--force``)."""
        return (
            self.run_id is not None
            and self.criteria_sha256 is not None
            and (self.run_criteria_sha256 != self.criteria_sha256)
        )


@dataclass(frozen=True, slots=True)
class FeatureEvent:
    """One audited change of a feature's runtime state, with who did it and why."""

    id: int
    feature: str
    kind: str  # stopped | resumed | cases_allowed | cases_denied
    value: dict[str, Any]
    actor: str
    reason: str | None
    created_at: datetime


class DeployMixin(StoreBase):
    """Live versions and audited feature state (methods of :class:`andon.store.Store`)."""

    # live versions

    def live_version(self, feature: str) -> tuple[str, str] | None:
        """(version id, name) of the newest history row, or None when nothing was ever promoted."""
        with self._read() as session:
            row = session.execute(
                select(LiveVersionRow.version_id, LiveVersionRow.version_name)
                .where(LiveVersionRow.feature == feature)
                .order_by(LiveVersionRow.id.desc())
                .limit(1)
            ).first()
            return None if row is None else (row[0], row[1])

    def latest_live(self, feature: str) -> LiveRecord | None:
        """The newest history row of ``feature`` (what is live), or None when nothing was ever promoted."""
        with self._read() as session:
            query = select(LiveVersionRow).where(LiveVersionRow.feature == feature)
            row = session.scalars(query.order_by(LiveVersionRow.id.desc()).limit(1)).first()
            return None if row is None else _live_record(row)

    def record_live(
        self,
        feature: str,
        version_id: str,
        version_name: str,
        *,
        action: str,
        actor: str,
        forced: bool = False,
        reason: str | None = None,
        run_id: str | None = None,
        criteria: dict[str, Any] | None = None,
        criteria_sha256: str | None = None,
        run_criteria_sha256: str | None = None,
    ) -> LiveRecord:
        """Append a history row that makes ``version_id`` live; earlier rows are never changed."""
        if action not in ("promote", "rollback"):
            raise ValueError(f"unknown live-version action {action!r}")
        row = LiveVersionRow(
            feature=feature,
            version_id=version_id,
            version_name=version_name,
            action=action,
            forced=forced,
            actor=actor,
            reason=reason,
            run_id=run_id,
            created_at=utcnow(),
            criteria=criteria,
            criteria_sha256=criteria_sha256,
            run_criteria_sha256=run_criteria_sha256,
        )
        with self._write() as session:
            session.add(row)
            session.flush()
            return _live_record(row)

    def live_history(self, feature: str) -> list[LiveRecord]:
        """Every promotion and rollback of ``feature``, oldest first."""
        with self._read() as session:
            rows = session.scalars(
                select(LiveVersionRow).where(LiveVersionRow.feature == feature).order_by(LiveVersionRow.id)
            )
            return [_live_record(r) for r in rows]

    # feature state

    def record_feature_event(
        self, feature: str, kind: str, value: dict[str, Any], actor: str, reason: str | None
    ) -> FeatureEvent:
        """Append an audited state change (stopped, resumed, cases_allowed, cases_denied)."""
        if kind not in FEATURE_EVENT_KINDS:
            raise ValueError(f"unknown feature event {kind!r}; known: {', '.join(FEATURE_EVENT_KINDS)}")
        row = FeatureEventRow(
            feature=feature, kind=kind, value=dict(value), actor=actor, reason=reason, created_at=utcnow()
        )
        with self._write() as session:
            session.add(row)
            session.flush()
            return _event_record(row)

    def latest_feature_event(self, feature: str, kinds: Sequence[str]) -> FeatureEvent | None:
        """The newest event of ``feature`` among ``kinds``, or None."""
        with self._read() as session:
            row = session.scalars(
                select(FeatureEventRow)
                .where(FeatureEventRow.feature == feature, FeatureEventRow.kind.in_(list(kinds)))
                .order_by(FeatureEventRow.id.desc())
                .limit(1)
            ).first()
            return None if row is None else _event_record(row)

    def feature_events(self, feature: str, kinds: Sequence[str] | None = None) -> list[FeatureEvent]:
        """Events of ``feature`` (optionally only ``kinds``), oldest first."""
        query = select(FeatureEventRow).where(FeatureEventRow.feature == feature).order_by(FeatureEventRow.id)
        if kinds is not None:
            query = query.where(FeatureEventRow.kind.in_(list(kinds)))
        with self._read() as session:
            return [_event_record(r) for r in session.scalars(query)]

    def feature_stopped(self, feature: str) -> tuple[bool, str | None]:
        """(stopped?, the reason given when it was stopped); a feature runs until someone stops it."""
        event = self.latest_feature_event(feature, STOP_KINDS)
        if event is None or event.kind != "stopped":
            return False, None
        return True, event.reason

    def cases_allowed(self, feature: str) -> bool:
        """Whether production traces of ``feature`` may become test cases: off until an admin allows it."""
        event = self.latest_feature_event(feature, CASES_KINDS)
        return event is not None and event.kind == "cases_allowed"


def _live_record(row: LiveVersionRow) -> LiveRecord:
    return LiveRecord(
        id=row.id,
        feature=row.feature,
        version_id=row.version_id,
        version_name=row.version_name,
        action=row.action,
        forced=row.forced,
        actor=row.actor,
        reason=row.reason,
        run_id=row.run_id,
        created_at=row.created_at,
        criteria=dict(row.criteria) if row.criteria is not None else None,
        criteria_sha256=row.criteria_sha256,
        run_criteria_sha256=row.run_criteria_sha256,
    )


def _event_record(row: FeatureEventRow) -> FeatureEvent:
    return FeatureEvent(
        id=row.id,
        feature=row.feature,
        kind=row.kind,
        value=dict(row.value),
        actor=row.actor,
        reason=row.reason,
        created_at=row.created_at,
    )
