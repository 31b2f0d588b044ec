"""The board: one row per key result of a period with the ten columns of a company OKR sheet.

Team, objective, key result, its description, its history, the owner, start, target, the actuals per step
(quarters of a year, months of a quarter: the latest value at the step's end), and achievement (progress
against the target), with pace-based health and the objective and team roll-ups.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from andon.errors import NotFoundError
from andon.messages import t
from andon.okr.periods import elapsed_fraction, period_of, steps
from andon.okr.progress import health as pace_health
from andon.okr.progress import objective_progress, progress, rollup
from andon.store import Store
from andon.store.models import utcnow
from andon.store.okr import CheckIn, KeyResult, KrEvent, Objective, Period, Team

NO_DATA = "no_data"  # health of a key result without any check-in yet
# Achievement bands for colours (terminal, spreadsheet): 0.7 is the usual "met" line of an ambitious OKR.
HIGH, MID = 0.7, 0.4


def band(achievement: float | None) -> str:
    """``high`` (≥ 0.7), ``mid`` (≥ 0.4), ``low``, or ``none`` without a value: the colour of a cell."""
    if achievement is None:
        return "none"
    return "high" if achievement >= HIGH else "mid" if achievement >= MID else "low"


@dataclass(frozen=True)
class OkrData:
    """Every period, team, objective and key result, read once: a page that shows a board and the quarter
    summary (and picks the default period) works from these, not from a read per question."""

    periods: list[Period]
    teams: dict[str, Team]
    objectives: list[Objective]
    key_results: list[KeyResult]

    def period(self, id: str) -> Period | None:
        """The period with ``id``, or None."""
        return next((p for p in self.periods if p.id == id), None)

    def key_results_of(self, periods: Collection[str]) -> list[KeyResult]:
        """The key results of the objectives of ``periods``, oldest first."""
        objectives = {o.id for o in self.objectives if o.period in periods}
        return [kr for kr in self.key_results if kr.objective in objectives]


def read_okrs(store: Store) -> OkrData:
    """Four reads: periods, teams, objectives, key results."""
    return OkrData(store.periods(), {x.id: x for x in store.teams()}, store.objectives(), store.key_results())


def default_period(store: Store, now: datetime | None = None, *, data: OkrData | None = None) -> str:
    """The quarter of ``now`` if it has objectives, else the latest period that has any, else that quarter."""
    current = period_of((now or utcnow()).date()).id
    with_objectives = {o.period for o in (data.objectives if data is not None else store.objectives())}
    if current in with_objectives:
        return current
    periods = data.periods if data is not None else store.periods()
    ordered = [p.id for p in periods if p.id in with_objectives]
    return ordered[-1] if ordered else current


def newest(by_step: list[CheckIn | None]) -> CheckIn | None:
    """The newest check-in of :meth:`~andon.store.Store.checkins_by_step`'s stretches (the latest one with any)."""
    return next((c for c in reversed(by_step) if c is not None), None)


@dataclass
class BoardRow:
    """One key result on the board; ``actuals`` has one (label, value or None) per step of the period."""

    team: str
    objective: str
    key_result: str
    description: str
    history: list[str]
    owner: str
    start: float
    target: float
    unit: str
    actuals: list[tuple[str, float | None]]
    current: float | None
    achievement: float | None
    health: str
    kr_id: str
    team_id: str = ""
    objective_id: str = ""
    direction: str = "increase"
    weight: float = 1.0
    confidence: int | None = None
    last_checkin: datetime | None = None
    source: str | None = None
    step_achievement: list[float | None] = field(default_factory=list)  # progress of each actual


@dataclass
class Board:
    """The rows of one period (optionally one team and its sub-teams), with roll-ups by objective and team."""

    period: str
    generated_at: datetime
    rows: list[BoardRow]
    teams: list[str]
    elapsed: float = 0.0
    objective_progress: dict[str, float | None] = field(default_factory=dict)  # objective id → progress
    team_progress: dict[str, float | None] = field(default_factory=dict)  # team id → progress
    steps: list[str] = field(default_factory=list)


def build_board(store: Store, period: str, team: str | None = None, now: datetime | None = None, *,
                data: OkrData | None = None, by_step: dict[str, list[CheckIn | None]] | None = None,
                history: bool = True) -> Board:  # fmt: skip
    """The board of ``period`` at ``now`` (default: now); ``team`` keeps that team and the teams under it.

    ``data`` (:func:`read_okrs`) and ``by_step`` (``checkins_by_step`` of the period's step ends at ``now``, for
    at least its key results) save their reads; ``history=False`` leaves the rows' history out (and its read).
    """
    now = now or utcnow()
    found = data.period(period) if data is not None else store.period(period)
    if found is None:
        raise NotFoundError(t("okr.period.missing", period=period), hint=t("okr.period.missing_hint"))
    teams = data.teams if data is not None else {x.id: x for x in store.teams()}
    if team is not None and team not in teams:
        raise NotFoundError(t("okr.team.unknown", team=team, known=", ".join(sorted(teams))), hint=t("okr.team.hint"))
    wanted = _subtree(team, teams) if team is not None else None
    columns = steps(found)
    elapsed = elapsed_fraction(found, now)
    rows: list[BoardRow] = []
    objective_pairs: dict[str, list[tuple[float | None, float]]] = {}
    objective_team: dict[str, str] = {}
    every = data.objectives if data is not None else store.objectives(period=found.id)
    objectives = [o for o in every if o.period == found.id and (wanted is None or o.team in wanted)]
    objectives.sort(key=lambda o: (_team_order(o.team, teams), o.created_at, o.id))
    # A read per table for the whole board, not two per key result.
    krs_of: dict[str, list[KeyResult]] = {}
    for kr in data.key_results_of({found.id}) if data is not None else store.key_results(period=found.id):
        krs_of.setdefault(kr.objective, []).append(kr)
    ids = [kr.id for krs in krs_of.values() for kr in krs]
    if by_step is None:
        by_step = store.checkins_by_step(ids, [end for _, _, end in columns], now)
    all_events = store.kr_events_by_key_result(ids) if history else {}
    nothing: list[CheckIn | None] = [None] * (len(columns) + 1)
    for obj in objectives:
        objective_team[obj.id] = obj.team
        pairs = objective_pairs.setdefault(obj.id, [])
        for kr in krs_of.get(obj.id, []):
            stretches = by_step.get(kr.id, nothing)
            latest = newest(stretches)
            actuals = _actuals(columns, stretches, now)
            achieved = progress(kr, latest.value) if latest is not None else None
            step_achievement = [None if v is None else progress(kr, v) for _, v in actuals]
            pairs.append((achieved, kr.weight))
            rows.append(
                BoardRow(
                    team=teams[obj.team].name if obj.team in teams else obj.team,
                    objective=obj.title,
                    key_result=kr.title,
                    description=kr.description,
                    history=[_history_line(e) for e in all_events.get(kr.id, []) if e.created_at <= now],
                    owner=kr.owner,
                    start=kr.start,
                    target=kr.target,
                    unit=kr.unit,
                    actuals=actuals,
                    current=latest.value if latest is not None else None,
                    achievement=achieved,
                    health=pace_health(achieved, elapsed) if achieved is not None else NO_DATA,
                    kr_id=kr.id,
                    team_id=obj.team,
                    objective_id=obj.id,
                    direction=kr.direction,
                    weight=kr.weight,
                    confidence=latest.confidence if latest is not None else None,
                    last_checkin=latest.created_at if latest is not None else None,
                    source=latest.source if latest is not None else None,
                    step_achievement=step_achievement,
                )
            )
    by_objective = {oid: objective_progress(pairs) for oid, pairs in objective_pairs.items()}
    team_ids = list(dict.fromkeys(objective_team[o.id] for o in objectives))
    by_team = {tid: rollup(p for oid, p in by_objective.items() if objective_team[oid] == tid) for tid in team_ids}
    return Board(
        period=found.id,
        generated_at=now,
        rows=rows,
        teams=[teams[tid].name if tid in teams else tid for tid in team_ids],
        elapsed=elapsed,
        objective_progress=by_objective,
        team_progress=by_team,
        steps=[label for label, _, _ in columns],
    )


def _actuals(columns: list[tuple[str, datetime, datetime]], stretches: list[CheckIn | None], now: datetime) -> list[
    tuple[str, float | None]
]:  # fmt: skip
    """Each step's value: the newest check-in before its end (carried from earlier steps); None for a step not
    begun at ``now`` or without any value yet."""
    out: list[tuple[str, float | None]] = []
    carried: CheckIn | None = None
    for (label, start, _), found in zip(columns, stretches, strict=False):
        carried = found if found is not None else carried
        out.append((label, None if start > now or carried is None else carried.value))
    return out


@dataclass(frozen=True)
class PeriodsSummary:
    """Each team's progress in each of several periods: what the board's team roll-up says in each one."""

    periods: list[str]
    teams: list[tuple[str, str]]  # (id, name) of the teams with a key result in any of them, in board order
    progress: dict[str, list[float | None]]  # team id → its progress in each period (None: nothing to roll up)


def summarize_periods(store: Store, periods: list[str], now: datetime | None = None, *, data: OkrData | None = None,
                      latest: dict[str, CheckIn] | None = None) -> PeriodsSummary:  # fmt: skip
    """The team roll-ups of :func:`build_board` for every period in ``periods``, in four reads (not six boards);
    none with ``data`` (:func:`read_okrs`) and ``latest`` (each key result's newest check-in made by ``now``)."""
    now = now or utcnow()
    data = data if data is not None else read_okrs(store)
    teams = data.teams
    wanted = set(periods)
    objectives = [o for o in data.objectives if o.period in wanted]
    objectives.sort(key=lambda o: (_team_order(o.team, teams), o.created_at, o.id))
    krs_of: dict[str, list[KeyResult]] = {}
    for kr in data.key_results_of(wanted):
        krs_of.setdefault(kr.objective, []).append(kr)
    if latest is None:
        latest = store.latest_checkins([kr.id for krs in krs_of.values() for kr in krs], now)
    names: dict[str, str] = {}
    by_period: dict[str, dict[str, list[float | None]]] = {p: {} for p in periods}
    for period in periods:  # the board's order: period by period, objectives by team, then age
        for obj in (o for o in objectives if o.period == period):
            krs = krs_of.get(obj.id, [])
            if krs:
                names.setdefault(obj.team, teams[obj.team].name if obj.team in teams else obj.team)
            pairs = [(progress(kr, latest[kr.id].value) if kr.id in latest else None, kr.weight) for kr in krs]
            by_period[period].setdefault(obj.team, []).append(objective_progress(pairs))
    found = {tid: [rollup(by_period[p][tid]) if tid in by_period[p] else None for p in periods] for tid in names}
    return PeriodsSummary(periods=list(periods), teams=list(names.items()), progress=found)


def _history_line(event: KrEvent) -> str:
    """``2026-10-05 target_changed: target: 70 → 80 (jiwoo)`` in the reader's language."""
    kind = t(f"okr.event.kind.{event.kind}")
    return f"{event.created_at.date().isoformat()} {kind}: {event.detail} ({event.actor})"


def _subtree(root: str, teams: dict[str, Team]) -> set[str]:
    """``root`` and every team whose chain of parents reaches it."""
    out = {root}
    for team_id in teams:
        current: str | None = team_id
        seen: set[str] = set()
        while current is not None and current not in seen:
            if current == root:
                out.add(team_id)
                break
            seen.add(current)
            current = teams[current].parent if current in teams else None
    return out


def _team_order(team_id: str, teams: dict[str, Team]) -> tuple[str, ...]:
    """Sorts a team right after its parent: by the path of ids from the top."""
    path: list[str] = []
    current: str | None = team_id
    while current is not None and current not in path:
        path.append(current)
        current = teams[current].parent if current in teams else None
    return tuple(reversed(path))


def board_json(result: Board) -> dict[str, Any]:
    """The board as plain JSON: what ``andon okr board --json`` prints and ``GET /v1/okr/board`` answers."""
    shown: dict[str, Any] = jsonable(asdict(result))
    return shown


def jsonable(value: Any) -> Any:
    """Dates and times as ISO text, tuples as lists, the rest as it is."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value
