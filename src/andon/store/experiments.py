"""A/B experiments in the store: their rows (compare-and-set on ``revision``), the events pushed for their
units, and the traced calls and feedback each arm's samples come from."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from andon.messages import t
from andon.store._base import StoreBase, update_at_revision
from andon.store.models import FeedbackRow, TraceRow, utcnow
from andon.store.models_experiments import ExperimentEventRow, ExperimentRow
from andon.store.refs import get_by_ref
from andon.store.watch import _served

EXPERIMENT_TAG = "andon.experiment"  # the trace tag naming the experiment that chose the version
ARM_TAG = "andon.arm"
_FIELDS = tuple(c.name for c in ExperimentRow.__table__.columns)
_CALL_LIMIT = 200_000  # traces read per look: plenty for a test, bounded for memory
_UNIT_COLUMNS = {"user": TraceRow.user_id, "session": TraceRow.session_id, "tenant": TraceRow.tenant}


@dataclass(frozen=True, slots=True)
class ExperimentRecord:
    """One experiment as stored (see ``ExperimentRow``)."""

    id: str
    feature: str
    name: str
    status: str
    settings: dict[str, Any]
    results: dict[str, Any]
    decision: dict[str, Any] | None
    actor: str
    reason: str | None
    active_key: str | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    revision: int

    @property
    def active(self) -> bool:
        """Still running: it holds the feature's traffic."""
        return self.active_key is not None


@dataclass(frozen=True, slots=True)
class ExperimentCall:
    """One traced call an experiment's arm served: its unit, arm label, failure, latency and cost."""

    unit: str | None
    arm: str
    failed: bool
    latency_ms: float
    cost: float | None


@dataclass(frozen=True, slots=True)
class NewExperimentEvent:
    """An outcome to store: the event's name, the unit, its arm's index, the value and (maybe) the trace."""

    name: str
    unit: str
    arm: int
    value: float
    trace_id: str | None
    at: datetime


def _record(row: ExperimentRow) -> ExperimentRecord:
    return ExperimentRecord(**{name: getattr(row, name) for name in _FIELDS})


def _in_experiment(tags: Any, experiment_id: str) -> str | None:
    """The arm label when the trace's tags say ``experiment_id`` chose its version."""
    if isinstance(tags, dict) and tags.get(EXPERIMENT_TAG) == experiment_id:
        return str(tags.get(ARM_TAG, ""))
    return None


class ExperimentsMixin(StoreBase):
    """Experiments and their events (methods of :class:`andon.store.Store`)."""

    def create_experiment(self, values: dict[str, Any]) -> ExperimentRecord | None:
        """Store a new running experiment; None when the feature runs one already."""
        now = utcnow()
        row = ExperimentRow(
            **{**values, "active_key": values["feature"], "created_at": now, "updated_at": now, "revision": 0}
        )
        try:
            with self._write() as session:
                session.add(row)
                session.flush()
                return _record(row)
        except IntegrityError:
            return None  # the unique active_key: the feature runs another experiment

    def active_experiment(self, feature: str) -> ExperimentRecord | None:
        """The feature's running experiment, if any."""
        with self._read() as session:
            row = session.scalars(select(ExperimentRow).where(ExperimentRow.active_key == feature)).first()
            return None if row is None else _record(row)

    def active_experiments(self) -> list[ExperimentRecord]:
        """Every running experiment, oldest first."""
        with self._read() as session:
            query = (
                select(ExperimentRow).where(ExperimentRow.active_key.is_not(None)).order_by(ExperimentRow.created_at)
            )
            return [_record(r) for r in session.scalars(query)]

    def get_experiment(self, ref: str) -> ExperimentRecord:
        """The experiment with id ``ref`` (or a unique id prefix)."""
        with self._read() as session:
            return _record(get_by_ref(session, ExperimentRow, ref, t("experiment.store.what"),
                                      t("experiment.store.hint")))  # fmt: skip

    def list_experiments(self, feature: str | None = None) -> list[ExperimentRecord]:
        """Experiments (of ``feature``), newest first."""
        query = select(ExperimentRow).order_by(ExperimentRow.created_at.desc(), ExperimentRow.id)
        if feature is not None:
            query = query.where(ExperimentRow.feature == feature)
        with self._read() as session:
            return [_record(r) for r in session.scalars(query)]

    def change_experiment(self, experiment_id: str, revision: int, changes: dict[str, Any]) -> ExperimentRecord | None:
        """Apply ``changes`` if the experiment is still at ``revision``; None when someone changed it meanwhile."""
        now = utcnow()
        values = {**changes, "updated_at": now, "revision": revision + 1}
        if changes.get("status", "running") != "running":
            values.update(active_key=None, finished_at=now)
        with self._write() as session:
            if not update_at_revision(session, ExperimentRow, experiment_id, revision, values):
                return None
            return _record(session.get_one(ExperimentRow, experiment_id, populate_existing=True))

    def add_experiment_events(self, experiment_id: str, events: Sequence[NewExperimentEvent]) -> int:
        """Store pushed outcomes of an experiment's units in one transaction; how many were stored."""
        with self._write() as session:
            for e in events:
                session.add(ExperimentEventRow(experiment_id=experiment_id, name=e.name, unit=e.unit, arm=e.arm,
                                               value=e.value, trace_id=e.trace_id, at=e.at))  # fmt: skip
        return len(events)

    def experiment_unit_sums(self, experiment_id: str, name: str) -> list[tuple[str, int, float]]:
        """(unit, arm index, sum of values) of each unit that has ``name`` events in the experiment."""
        query = (
            select(ExperimentEventRow.unit, func.min(ExperimentEventRow.arm), func.sum(ExperimentEventRow.value))
            .where(ExperimentEventRow.experiment_id == experiment_id, ExperimentEventRow.name == name)
            .group_by(ExperimentEventRow.unit)
        )
        with self._read() as session:
            return [(str(u), int(a), float(s)) for u, a, s in session.execute(query)]

    def experiment_calls(self, record: ExperimentRecord, unit: str) -> list[ExperimentCall]:
        """The calls the experiment assigned since it started (the trace tags say so), newest first."""
        column = _UNIT_COLUMNS[unit]
        query = (
            select(column, TraceRow.error_code, TraceRow.latency_ms, TraceRow.cost, TraceRow.tags)
            .where(TraceRow.feature == record.feature, TraceRow.created_at >= record.created_at, _served())
            .order_by(TraceRow.created_at.desc())
            .limit(_CALL_LIMIT)
        )
        out: list[ExperimentCall] = []
        with self._read() as session:
            for key, code, latency, cost, tags in session.execute(query):
                arm = _in_experiment(tags, record.id)
                if arm is not None:
                    out.append(ExperimentCall(key, arm, code is not None, float(latency), cost))
        return out

    def experiment_feedback(self, record: ExperimentRecord) -> list[tuple[str, bool]]:
        """(arm label, negative?) of each thumbs feedback on the experiment's calls."""
        query = (
            select(TraceRow.tags, FeedbackRow.thumbs)
            .join(TraceRow, TraceRow.id == FeedbackRow.trace_id)
            .where(
                TraceRow.feature == record.feature,
                TraceRow.created_at >= record.created_at,
                FeedbackRow.thumbs.is_not(None),
            )
        )
        with self._read() as session:
            out = []
            for tags, thumbs in session.execute(query):
                arm = _in_experiment(tags, record.id)
                if arm is not None:
                    out.append((arm, thumbs == -1))
            return out

    def trace_experiments(self, trace_ids: Sequence[str]) -> dict[str, str | None]:
        """Per stored trace, the experiment that chose its version (None: served outside any); unknown ids absent."""
        found: dict[str, str | None] = {}
        wanted = list(dict.fromkeys(trace_ids))
        with self._read() as session:
            for start in range(0, len(wanted), 500):  # bounded IN lists: PostgreSQL and SQLite both cap parameters
                chunk = wanted[start : start + 500]
                for trace_id, tags in session.execute(select(TraceRow.id, TraceRow.tags).where(TraceRow.id.in_(chunk))):
                    tag = tags.get(EXPERIMENT_TAG) if isinstance(tags, dict) else None
                    found[str(trace_id)] = str(tag) if tag else None
        return found

    def trace_experiment_unit(self, trace_id: str, experiment_id: str, unit: str) -> tuple[str | None, str] | None:
        """(unit key, arm label) of a trace the experiment assigned; None when it did not."""
        with self._read() as session:
            row = session.execute(select(_UNIT_COLUMNS[unit], TraceRow.tags).where(TraceRow.id == trace_id)).first()
        if row is None:
            return None
        arm = _in_experiment(row[1], experiment_id)
        return None if arm is None else (row[0], arm)
