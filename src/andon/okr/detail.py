"""One key result in full: its objective, team and period, check-ins with their progress, history, health,
the binding that feeds it and the work items linked to it — what ``andon okr show`` and the dashboard show."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from andon.errors import AndonError
from andon.okr.bindings import build_binding
from andon.okr.board import NO_DATA
from andon.okr.periods import elapsed_fraction
from andon.okr.progress import health as pace_health
from andon.okr.progress import progress
from andon.okr.work.links import LinkedWork, work
from andon.store import Store
from andon.store.models import utcnow
from andon.store.okr import CheckIn, KeyResult, KrEvent, Objective, Period, Team


@dataclass(frozen=True, slots=True)
class CheckInRow:
    """A check-in with the progress its value stands for."""

    checkin: CheckIn
    progress: float


@dataclass(frozen=True, slots=True)
class KrDetail:
    """A key result with everything around it, as of ``now``; ``checkins`` oldest first."""

    kr: KeyResult
    objective: Objective
    team: Team | None
    period: Period | None
    checkins: list[CheckInRow]
    events: list[KrEvent]
    current: float | None
    achievement: float | None
    health: str
    elapsed: float
    binding: str | None  # one line naming what feeds it (no secrets), None when it is checked in by hand
    work: list[LinkedWork]

    @property
    def closed(self) -> bool:
        """Whether the key result's period is closed (its values are frozen)."""
        return self.period is not None and self.period.closed_at is not None


def key_result_detail(store: Store, ref: str, now: datetime | None = None) -> KrDetail:
    """The key result ``ref`` (id, unique id prefix or key) in full; NotFoundError when there is none."""
    now = now or utcnow()
    kr = store.key_result(ref)
    objective = store.objective(kr.objective)
    period = store.period(objective.period)
    rows = [CheckInRow(c, progress(kr, c.value)) for c in store.checkins(kr.id) if c.created_at <= now]
    achieved = rows[-1].progress if rows else None
    elapsed = elapsed_fraction(period, now) if period is not None else 0.0
    return KrDetail(
        kr=kr,
        objective=objective,
        team=store.team(objective.team),
        period=period,
        checkins=rows,
        events=store.kr_events(kr.id),
        current=rows[-1].checkin.value if rows else None,
        achievement=achieved,
        health=pace_health(achieved, elapsed) if achieved is not None else NO_DATA,
        elapsed=elapsed,
        binding=describe_binding(kr),
        work=work(store, key_result=kr.id),
    )


def describe_binding(kr: KeyResult) -> str | None:
    """The binding's own one-line description, or its type when it cannot be built here; None without one."""
    if not kr.binding:
        return None
    try:
        return build_binding(kr.binding).describe()
    except (AndonError, ValueError):  # a type from a plugin not installed here, or settings of an older version
        return str(kr.binding.get("type", "?"))
