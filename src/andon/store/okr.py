"""Objectives and key results in the store: teams, periods, objectives, key results, check-ins, history,
work items and their links to key results, and the importers' cursors.

A closed period freezes its values: every write to an objective, key result, check-in or history event of a
closed period raises :class:`andon.errors.PeriodClosedError` here, so the CLI, the API, CSV uploads and the
sync all meet the same rule.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal, TypeVar

from sqlalchemy import case, func, literal_column, select
from sqlalchemy.orm import Session

from andon.errors import NotFoundError, PeriodClosedError
from andon.messages import t
from andon.store._base import StoreBase
from andon.store.models import (
    Base,
    OkrCheckInRow,
    OkrEventRow,
    OkrImportCursorRow,
    OkrKeyResultRow,
    OkrObjectiveRow,
    OkrPeriodRow,
    OkrTeamRow,
    OkrWorkItemRow,
    OkrWorkLinkRow,
    utcnow,
)
from andon.store.records import new_id
from andon.store.refs import MIN_PREFIX, prefix_matches

Direction = Literal["increase", "decrease", "range"]
KrKind = Literal["metric", "milestone"]
LinkKind = Literal["measures", "contributes"]
DIRECTIONS: tuple[str, ...] = ("increase", "decrease", "range")
KR_KINDS: tuple[str, ...] = ("metric", "milestone")
LINK_KINDS: tuple[str, ...] = ("measures", "contributes")
EVENT_KINDS: tuple[str, ...] = (
    "created",
    "target_changed",
    "owner_changed",
    "definition_changed",
    "major_event",
    "binding_changed",
)


_IN_CHUNK = 500  # keys per IN (...) list: well under SQLite's and PostgreSQL's parameter limits


@dataclass(frozen=True, slots=True, kw_only=True)
class Team:
    """A team (slug id such as ``menu-ai``) under an optional parent team; ``members`` are the known owners."""

    id: str
    name: str
    parent: str | None = None
    members: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Period:
    """A quarter (``2026Q4``) or a year (``2026``), ``ends`` inclusive; closed periods are frozen."""

    id: str
    starts: date
    ends: date
    closed_at: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Objective:
    """An objective of a team in a period; ``key`` is the stable key from a YAML definition."""

    title: str
    owner: str
    team: str
    period: str
    description: str = ""
    parent: str | None = None
    key: str | None = None
    id: str = field(default_factory=lambda: new_id("obj"))
    created_at: datetime = field(default_factory=utcnow)


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyResult:
    """A key result: start → target in ``unit`` (or the band low..high for ``range``), fed by an optional binding."""

    objective: str
    title: str
    owner: str
    start: float
    target: float
    description: str = ""
    unit: str = ""
    direction: Direction = "increase"
    low: float | None = None
    high: float | None = None
    weight: float = 1.0
    kind: KrKind = "metric"
    binding: dict[str, Any] | None = None
    key: str | None = None
    id: str = field(default_factory=lambda: new_id("kr"))
    created_at: datetime = field(default_factory=utcnow)


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckIn:
    """One value of a key result, with who or what recorded it; ``step`` makes a scheduled write idempotent."""

    key_result: str
    value: float
    author: str
    confidence: int | None = None
    comment: str = ""
    source: str = "manual"
    snapshot: dict[str, Any] | None = None
    step: str | None = None
    id: str = field(default_factory=lambda: new_id("chk"))
    created_at: datetime = field(default_factory=utcnow)


@dataclass(frozen=True, slots=True, kw_only=True)
class KrEvent:
    """One entry of a key result's history (created, target/owner/definition/binding changed, major event)."""

    key_result: str
    kind: str
    detail: str
    actor: str
    before: Any = None
    after: Any = None
    id: str = field(default_factory=lambda: new_id("kre"))
    created_at: datetime = field(default_factory=utcnow)


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkItem:
    """A ticket from Jira, GitHub or CSV, known by (source, external_id)."""

    source: str
    external_id: str
    title: str
    status: str = ""
    done: bool = False
    points: float | None = None
    labels: tuple[str, ...] = ()
    url: str | None = None
    assignee: str | None = None
    updated_at: datetime | None = None
    kind: str = "issue"
    id: str = field(default_factory=lambda: new_id("wi"))


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkLink:
    """A typed link of a work item to a key result; ``rule`` names the label/keyword rule that made it."""

    work_item: str
    key_result: str
    kind: LinkKind
    rule: str | None = None


R = TypeVar("R")


def _names(cls: type[Any]) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


def _record(cls: type[R], row: Base) -> R:
    values = {name: getattr(row, name) for name in _names(cls)}
    for name in ("members", "labels"):
        if name in values:
            values[name] = tuple(values[name] or ())
    return cls(**values)


def _columns(record: Any) -> dict[str, Any]:
    values = {name: getattr(record, name) for name in _names(type(record))}
    for name in ("members", "labels"):
        if name in values:
            values[name] = list(values[name])
    return values


def _frozen(period: OkrPeriodRow) -> PeriodClosedError:
    assert period.closed_at is not None
    return PeriodClosedError(
        t("okr.period.closed", period=period.id, since=period.closed_at.isoformat(timespec="minutes")),
        where=t("okr.where.period", period=period.id),
        hint=t("okr.period.closed_hint"),
    )


class OkrMixin(StoreBase):
    """Objectives, key results, check-ins and work items (methods of :class:`andon.store.Store`)."""

    # teams

    def upsert_team(self, team: Team) -> Team:
        """Insert or replace the team with ``team.id``."""
        with self._write() as session:
            session.merge(OkrTeamRow(**_columns(team)))
        return team

    def teams(self) -> list[Team]:
        """Every team, by id."""
        with self._read() as session:
            return [_record(Team, r) for r in session.scalars(select(OkrTeamRow).order_by(OkrTeamRow.id))]

    def team(self, id: str) -> Team | None:
        """The team with ``id``, or None."""
        with self._read() as session:
            row = session.get(OkrTeamRow, id)
            return None if row is None else _record(Team, row)

    # periods

    def upsert_period(self, period: Period) -> Period:
        """Insert a period or change its dates; a closed period stays closed and its dates cannot move."""
        with self._write() as session:
            row = session.get(OkrPeriodRow, period.id)
            if row is None:
                row = OkrPeriodRow(**_columns(period))
                session.add(row)
            else:
                if row.closed_at is not None and (row.starts, row.ends) != (period.starts, period.ends):
                    raise _frozen(row)
                row.starts, row.ends = period.starts, period.ends
                row.closed_at = row.closed_at or period.closed_at
            session.flush()
            return _record(Period, row)

    def period(self, id: str) -> Period | None:
        """The period with ``id``, or None."""
        with self._read() as session:
            row = session.get(OkrPeriodRow, id)
            return None if row is None else _record(Period, row)

    def periods(self) -> list[Period]:
        """Every period, earliest start first (a year before its first quarter)."""
        with self._read() as session:
            rows = session.scalars(select(OkrPeriodRow).order_by(OkrPeriodRow.starts, OkrPeriodRow.ends.desc()))
            return [_record(Period, r) for r in rows]

    def close_period(self, id: str, at: datetime) -> Period:
        """Close (freeze) the period at ``at``; closing a closed period changes nothing."""
        with self._write() as session:
            row = session.get(OkrPeriodRow, id)
            if row is None:
                raise NotFoundError(t("okr.period.missing", period=id), hint=t("okr.period.missing_hint"))
            if row.closed_at is None:
                row.closed_at = at
            session.flush()
            return _record(Period, row)

    # objectives

    def add_objective(self, obj: Objective) -> Objective:
        """Insert a new objective (its period must be open)."""
        with self._write() as session:
            self._open_period(session, obj.period)
            session.add(OkrObjectiveRow(**_columns(obj)))
        return obj

    def update_objective(self, obj: Objective) -> Objective:
        """Replace the stored objective ``obj.id`` (neither its old nor its new period may be closed)."""
        with self._write() as session:
            row = self._objective_row(session, obj.id)
            self._open_period(session, row.period)
            self._open_period(session, obj.period)
            for name, value in _columns(obj).items():
                if name not in ("id", "created_at"):
                    setattr(row, name, value)
            session.flush()
            return _record(Objective, row)

    def objectives(self, period: str | None = None, team: str | None = None) -> list[Objective]:
        """Objectives, oldest first, optionally of one period and/or one team."""
        query = select(OkrObjectiveRow).order_by(OkrObjectiveRow.created_at, OkrObjectiveRow.id)
        if period is not None:
            query = query.where(OkrObjectiveRow.period == period)
        if team is not None:
            query = query.where(OkrObjectiveRow.team == team)
        with self._read() as session:
            return [_record(Objective, r) for r in session.scalars(query)]

    def objective(self, ref: str) -> Objective:
        """The objective whose id or key is ``ref``, or whose id starts with ``ref``; else NotFoundError."""
        with self._read() as session:
            return _record(Objective, self._objective_row(session, ref))

    # key results

    def add_key_result(self, kr: KeyResult, events: Sequence[KrEvent] = ()) -> KeyResult:
        """Insert a new key result of an objective in an open period, with its first history ``events``."""
        with self._write() as session:
            objective = self._objective_row(session, kr.objective)
            self._open_period(session, objective.period)
            session.add(OkrKeyResultRow(**{**_columns(kr), "objective": objective.id}))
            session.flush()
            for ev in events:
                session.add(OkrEventRow(**{**_columns(ev), "key_result": kr.id}))
        return dataclasses.replace(kr, objective=objective.id)

    def update_key_result(self, kr: KeyResult, events: Sequence[KrEvent] = ()) -> KeyResult:
        """Replace the stored key result ``kr.id`` and append ``events`` to its history, in one transaction.

        Its period, old and new, must be open.
        """
        with self._write() as session:
            row = self._kr_row(session, kr.id)
            self._open_period(session, self._objective_row(session, row.objective).period)
            objective = self._objective_row(session, kr.objective)
            self._open_period(session, objective.period)
            for name, value in _columns(kr).items():
                if name not in ("id", "created_at"):
                    setattr(row, name, value)
            row.objective = objective.id
            for ev in events:
                session.add(OkrEventRow(**{**_columns(ev), "key_result": row.id}))
            session.flush()
            return _record(KeyResult, row)

    def key_results(self, objective: str | None = None, period: str | None = None) -> list[KeyResult]:
        """Key results, oldest first, optionally of one objective (id) and/or one period."""
        query = select(OkrKeyResultRow).order_by(OkrKeyResultRow.created_at, OkrKeyResultRow.id)
        if objective is not None:
            query = query.where(OkrKeyResultRow.objective == objective)
        if period is not None:
            query = query.join(OkrObjectiveRow, OkrObjectiveRow.id == OkrKeyResultRow.objective).where(
                OkrObjectiveRow.period == period
            )
        with self._read() as session:
            return [_record(KeyResult, r) for r in session.scalars(query)]

    def key_result(self, ref: str) -> KeyResult:
        """The key result whose id or key is ``ref``, or whose id starts with ``ref``; else NotFoundError."""
        with self._read() as session:
            return _record(KeyResult, self._kr_row(session, ref))

    # check-ins

    def add_checkin(self, chk: CheckIn) -> CheckIn | None:
        """Insert a check-in; None (nothing written) when one with the same (key result, source, step) exists."""
        return self.add_checkins([chk])[0]

    def add_checkins(self, chks: Sequence[CheckIn]) -> list[CheckIn | None]:
        """Insert check-ins in one transaction (all or none); None for each already there by (source, step)."""
        with self._write() as session:
            return [self._add_checkin(session, chk) for chk in chks]

    def _add_checkin(self, session: Session, chk: CheckIn) -> CheckIn | None:
        kr = self._kr_row(session, chk.key_result)
        self._open_period(session, self._objective_row(session, kr.objective).period)
        values = {**_columns(chk), "key_result": kr.id}
        if chk.step is not None:
            stmt = (
                self._insert(OkrCheckInRow)
                .values(**values)
                .on_conflict_do_nothing(index_elements=["key_result", "source", "step"])
                .returning(OkrCheckInRow.id)
            )
            if session.execute(stmt).scalar() is None:
                return None
        else:
            session.add(OkrCheckInRow(**values))
            session.flush()
        return dataclasses.replace(chk, key_result=kr.id)

    def checkins(self, key_result: str, since: datetime | None = None) -> list[CheckIn]:
        """The check-ins of a key result (id), oldest first, optionally from ``since`` on."""
        query = (
            select(OkrCheckInRow)
            .where(OkrCheckInRow.key_result == key_result)
            .order_by(OkrCheckInRow.created_at, OkrCheckInRow.id)
        )
        if since is not None:
            query = query.where(OkrCheckInRow.created_at >= since)
        with self._read() as session:
            return [_record(CheckIn, r) for r in session.scalars(query)]

    def checkins_by_key_result(self, key_results: Sequence[str]) -> dict[str, list[CheckIn]]:
        """The check-ins of many key results (ids), one read per 500: id → its check-ins, oldest first."""
        return self._by_key_result(OkrCheckInRow, CheckIn, key_results)

    def latest_checkin(self, key_result: str) -> CheckIn | None:
        """The newest check-in of a key result (id), or None."""
        query = (
            select(OkrCheckInRow)
            .where(OkrCheckInRow.key_result == key_result)
            .order_by(OkrCheckInRow.created_at.desc(), OkrCheckInRow.id.desc())
            .limit(1)
        )
        with self._read() as session:
            row = session.scalars(query).first()
            return None if row is None else _record(CheckIn, row)

    def latest_checkins(self, key_results: Sequence[str], at: datetime) -> dict[str, CheckIn]:
        """The newest check-in made by ``at`` of each of many key results (ids) that has one, one read per 500."""
        ids = list(dict.fromkeys(key_results))
        found: dict[str, CheckIn] = {}
        with self._read() as session:
            for start in range(0, len(ids), _IN_CHUNK):
                newest = func.row_number().over(
                    partition_by=OkrCheckInRow.key_result,
                    order_by=(OkrCheckInRow.created_at.desc(), OkrCheckInRow.id.desc()),
                )
                ranked = (
                    select(OkrCheckInRow.id, newest.label("rank"))
                    .where(OkrCheckInRow.key_result.in_(ids[start : start + _IN_CHUNK]), OkrCheckInRow.created_at <= at)
                    .subquery()
                )
                query = select(OkrCheckInRow).join(ranked, ranked.c.id == OkrCheckInRow.id).where(ranked.c.rank == 1)
                for row in session.scalars(query):
                    found[row.key_result] = _record(CheckIn, row)
        return found

    def checkins_by_step(
        self, key_results: Sequence[str], ends: Sequence[datetime], at: datetime
    ) -> dict[str, list[CheckIn | None]]:
        """Per key result (id): the newest check-in made by ``at`` in each stretch cut by ``ends`` (ascending):
        ``[.. ends[0])``, ``[ends[0], ends[1])`` … ``[ends[-1] ..)``, None where it has none; one read per 500.

        A board's step shows the newest value before its end, and its current value is the newest of all: the
        newest of each stretch is all it needs, however many check-ins there are.
        """
        ids = list(dict.fromkeys(key_results))
        found: dict[str, list[CheckIn | None]] = {kr: [None] * (len(ends) + 1) for kr in ids}
        created = OkrCheckInRow.created_at
        stretch: Any = (
            case(*((created < end, i) for i, end in enumerate(ends)), else_=len(ends)) if ends else literal_column("0")
        )
        names = _names(CheckIn)
        with self._read() as session:
            for start in range(0, len(ids), _IN_CHUNK):
                newest = func.row_number().over(
                    partition_by=(OkrCheckInRow.key_result, stretch), order_by=(created.desc(), OkrCheckInRow.id.desc())
                )
                ranked = (
                    select(OkrCheckInRow.id, stretch.label("stretch"), newest.label("rank"))
                    .where(OkrCheckInRow.key_result.in_(ids[start : start + _IN_CHUNK]), created <= at)
                    .subquery()
                )  # fmt: skip
                query = (
                    select(ranked.c.stretch, *(getattr(OkrCheckInRow, name) for name in names))
                    .join(ranked, ranked.c.id == OkrCheckInRow.id)
                    .where(ranked.c.rank == 1)
                )
                for where, *values in session.execute(query):
                    record = CheckIn(**dict(zip(names, values, strict=True)))
                    found[record.key_result][int(where)] = record
        return found

    # history

    def add_kr_event(self, ev: KrEvent) -> KrEvent:
        """Append a history event to a key result of an open period."""
        with self._write() as session:
            kr = self._kr_row(session, ev.key_result)
            self._open_period(session, self._objective_row(session, kr.objective).period)
            session.add(OkrEventRow(**{**_columns(ev), "key_result": kr.id}))
        return dataclasses.replace(ev, key_result=kr.id)

    def kr_events(self, key_result: str) -> list[KrEvent]:
        """The history of a key result (id), oldest first."""
        query = (
            select(OkrEventRow)
            .where(OkrEventRow.key_result == key_result)
            .order_by(OkrEventRow.created_at, OkrEventRow.id)
        )
        with self._read() as session:
            return [_record(KrEvent, r) for r in session.scalars(query)]

    def kr_events_by_key_result(self, key_results: Sequence[str]) -> dict[str, list[KrEvent]]:
        """The histories of many key results (ids), one read per 500: id → its events, oldest first."""
        return self._by_key_result(OkrEventRow, KrEvent, key_results)

    def _by_key_result(self, row_type: Any, record_type: type[R], key_results: Sequence[str]) -> dict[str, list[R]]:
        found: dict[str, list[R]] = {kr: [] for kr in key_results}
        ids = list(found)
        with self._read() as session:
            for start in range(0, len(ids), _IN_CHUNK):
                # Plain columns, not ORM rows: a board reads thousands of check-ins, and rows cost 10x as much.
                names = _names(record_type)
                query = (
                    select(*(getattr(row_type, name) for name in names))
                    .where(row_type.key_result.in_(ids[start : start + _IN_CHUNK]))
                    .order_by(row_type.created_at, row_type.id)
                )
                for values in session.execute(query):
                    record = record_type(**dict(zip(names, values, strict=True)))
                    found[record.key_result].append(record)  # type: ignore[attr-defined]
        return found

    # work items

    def upsert_work_items(self, items: Iterable[WorkItem]) -> tuple[int, int]:
        """Insert or update work items by (source, external_id): (inserted, changed); an existing id is kept."""
        batch = list(items)
        inserted = changed = 0
        with self._write() as session:
            # The stored rows of this batch, read once per source and chunk (not one SELECT per item).
            known: dict[tuple[str, str], OkrWorkItemRow] = {}
            wanted: dict[str, list[str]] = {}
            for item in batch:
                wanted.setdefault(item.source, []).append(item.external_id)
            for source, external_ids in wanted.items():
                unique = sorted(set(external_ids))
                for start in range(0, len(unique), _IN_CHUNK):
                    chunk = unique[start : start + _IN_CHUNK]
                    query = select(OkrWorkItemRow).where(
                        OkrWorkItemRow.source == source, OkrWorkItemRow.external_id.in_(chunk)
                    )
                    known.update(((r.source, r.external_id), r) for r in session.scalars(query))
            for item in batch:
                values = _columns(item)
                row = known.get((item.source, item.external_id))
                if row is None:
                    # a repeated (source, external_id) in ``items`` updates this row, never duplicates it
                    known[(item.source, item.external_id)] = row = OkrWorkItemRow(**values)
                    session.add(row)
                    inserted += 1
                    continue
                values.pop("id")
                if any(getattr(row, name) != value for name, value in values.items()):
                    for name, value in values.items():
                        setattr(row, name, value)
                    changed += 1
        return inserted, changed

    def work_items(self, source: str | None = None) -> list[WorkItem]:
        """Work items by source and external id, optionally of one source."""
        query = select(OkrWorkItemRow).order_by(OkrWorkItemRow.source, OkrWorkItemRow.external_id)
        if source is not None:
            query = query.where(OkrWorkItemRow.source == source)
        with self._read() as session:
            return [_record(WorkItem, r) for r in session.scalars(query)]

    def work_item(self, source: str, external_id: str) -> WorkItem | None:
        """The work item (source, external_id), or None."""
        query = select(OkrWorkItemRow).where(OkrWorkItemRow.source == source, OkrWorkItemRow.external_id == external_id)
        with self._read() as session:
            row = session.scalars(query).first()
            return None if row is None else _record(WorkItem, row)

    def link_work(self, work_item_id: str, key_result_id: str, kind: LinkKind, rule: str | None = None) -> bool:
        """Link a work item to a key result; False (nothing changed) when they were linked already."""
        if kind not in LINK_KINDS:
            raise ValueError(f"link kind {kind!r} is not one of {LINK_KINDS}")
        with self._write() as session:
            if session.get(OkrWorkItemRow, work_item_id) is None:
                raise NotFoundError(t("okr.work.missing", ref=work_item_id), hint=t("okr.work.missing_hint"))
            kr = self._kr_row(session, key_result_id)
            if session.get(OkrWorkLinkRow, (work_item_id, kr.id)) is not None:
                return False
            session.add(OkrWorkLinkRow(work_item=work_item_id, key_result=kr.id, kind=kind, rule=rule))
            return True

    def unlink_work(self, work_item_id: str, key_result_id: str) -> bool:
        """Remove the link of a work item to a key result; False when there was none."""
        with self._write() as session:
            row = session.get(OkrWorkLinkRow, (work_item_id, key_result_id))
            if row is None:
                return False
            session.delete(row)
            return True

    def work_links(self, key_result: str | None = None, work_item: str | None = None) -> list[WorkLink]:
        """Links, optionally of one key result and/or one work item (ids)."""
        query = select(OkrWorkLinkRow).order_by(OkrWorkLinkRow.key_result, OkrWorkLinkRow.work_item)
        if key_result is not None:
            query = query.where(OkrWorkLinkRow.key_result == key_result)
        if work_item is not None:
            query = query.where(OkrWorkLinkRow.work_item == work_item)
        with self._read() as session:
            return [_record(WorkLink, r) for r in session.scalars(query)]

    # importer cursors

    def import_cursor(self, name: str) -> dict[str, Any] | None:
        """Where the importer ``name`` stopped last time, or None."""
        with self._read() as session:
            row = session.get(OkrImportCursorRow, name)
            return None if row is None else dict(row.cursor)

    def set_import_cursor(self, name: str, cursor: dict[str, Any]) -> None:
        """Remember where the importer ``name`` stopped."""
        with self._write() as session:
            session.merge(OkrImportCursorRow(name=name, cursor=cursor, updated_at=utcnow()))

    # lookups

    def _open_period(self, session: Session, period_id: str) -> OkrPeriodRow:
        row = session.get(OkrPeriodRow, period_id)
        if row is None:
            raise NotFoundError(t("okr.period.missing", period=period_id), hint=t("okr.period.missing_hint"))
        if row.closed_at is not None:
            raise _frozen(row)
        return row

    def _objective_row(self, session: Session, ref: str) -> OkrObjectiveRow:
        row = _by_ref(session, OkrObjectiveRow, ref)
        if row is None:
            raise NotFoundError(t("okr.objective.missing", ref=ref), hint=t("okr.objective.missing_hint"))
        return row

    def _kr_row(self, session: Session, ref: str) -> OkrKeyResultRow:
        row = _by_ref(session, OkrKeyResultRow, ref)
        if row is None:
            raise NotFoundError(t("okr.kr.missing", ref=ref), hint=t("okr.kr.missing_hint"))
        return row


Keyed = TypeVar("Keyed", OkrObjectiveRow, OkrKeyResultRow)


def _by_ref(session: Session, table: type[Keyed], ref: str) -> Keyed | None:
    """By id, then by key, then by a unique id prefix (an ambiguous prefix is a NotFoundError naming them)."""
    row = session.get(table, ref)
    if row is not None:
        return row
    row = session.scalars(select(table).where(table.key == ref)).first()
    if row is not None or len(ref) < MIN_PREFIX:
        return row
    ids: Sequence[str] = session.scalars(
        select(table.id).where(table.id.startswith(ref, autoescape=True)).order_by(table.id).limit(11)
    ).all()
    matches = prefix_matches(ids, ref)
    if len(matches) > 1:
        raise NotFoundError(t("okr.ref.ambiguous", ref=ref, ids=", ".join(matches[:10])), hint=t("polish.more_chars"))
    return session.get(table, matches[0]) if matches else None
