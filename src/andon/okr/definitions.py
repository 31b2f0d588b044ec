"""Objectives as code: a YAML file of teams, periods, objectives and key results, planned as a diff and applied.

Every problem names its ``file:line:col``. Applying is idempotent by ``key``: an objective's ``key`` (required)
and a key result's ``key`` (default ``<objective key>.kr<N>``, its place in the list) find what is stored, so a
second apply of the same file changes nothing. Nothing is deleted: what the file no longer lists stays.

```yaml
teams:
  - {id: menu-ai, name: Menu AI, parent: product, members: [jiwoo, minsu]}
periods: [2026Q4]                       # or {id: 2026Q4, starts: 2026-10-01, ends: 2026-12-31}
objectives:
  - key: menu-auto
    title: Menu photos review themselves
    owner: jiwoo
    team: menu-ai
    period: 2026Q4
    key_results:
      - {title: Automatic approvals, owner: minsu, unit: "%", start: 40, target: 70,
         binding: {type: andon_metric, feature: menu-review, metric: label_share, label: approve, window: 7d}}
```
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from andon.config.loader import schema_problems
from andon.config.problems import InvalidConfig, Problem
from andon.config.yaml_source import Loc, SourceMap, dotted, read_yaml
from andon.errors import AndonError, ConfigError
from andon.messages import t
from andon.okr.objectives import change_events, check_binding, check_key_result, definition
from andon.okr.periods import parse_period
from andon.store import Store
from andon.store.models import utcnow
from andon.store.okr import KeyResult, KrEvent, Objective, Period, Team

Slug = str
Action = Literal["add", "update"]
Kind = Literal["team", "period", "objective", "key_result"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class TeamDef(_Model):
    """A team: a slug id, a display name, an optional parent team and the people who may own key results."""

    id: Slug = Field(min_length=1, max_length=100, pattern=r"^[a-z0-9][a-z0-9._-]*$")
    name: str | None = Field(default=None, description="Display name (default: the id).")
    parent: Slug | None = None
    members: list[str] = Field(default_factory=list)


class PeriodDef(_Model):
    """A period with explicit dates (a bare ``2026Q4`` or ``2026`` needs none)."""

    id: str = Field(min_length=1, max_length=20)
    starts: date | None = None
    ends: date | None = None


class KeyResultDef(_Model):
    """A key result as written; ``direction`` defaults to the way from start to target."""

    key: str | None = Field(default=None, min_length=1, max_length=200)
    title: str = Field(min_length=1)
    description: str = ""
    owner: str | None = None
    unit: str = Field(default="", max_length=50)
    start: float = Field(allow_inf_nan=False)
    target: float | None = Field(default=None, allow_inf_nan=False)
    direction: Literal["increase", "decrease", "range"] | None = None
    low: float | None = Field(default=None, allow_inf_nan=False)
    high: float | None = Field(default=None, allow_inf_nan=False)
    weight: float = Field(default=1.0, gt=0, allow_inf_nan=False)
    kind: Literal["metric", "milestone"] = "metric"
    binding: dict[str, Any] | None = None


class ObjectiveDef(_Model):
    """An objective as written; ``key`` keeps it the same objective from one apply to the next."""

    key: str = Field(min_length=1, max_length=200)
    title: str = Field(min_length=1)
    description: str = ""
    owner: str = Field(min_length=1)
    team: Slug
    period: str
    parent: str | None = Field(default=None, description="The key (or id) of the objective this one aligns to.")
    key_results: list[KeyResultDef] = Field(default_factory=list)


class Definitions(_Model):
    """The whole file."""

    teams: list[TeamDef] = Field(default_factory=list)
    periods: list[str | int | PeriodDef] = Field(default_factory=list)
    objectives: list[ObjectiveDef] = Field(default_factory=list)


@dataclass(frozen=True)
class Change:
    """One thing an apply would add or update: its kind, key, ``file:line`` and the fields (before, after)."""

    action: Action
    kind: Kind
    key: str
    where: str
    fields: dict[str, tuple[Any, Any]]
    record: Team | Period | Objective | KeyResult


@dataclass
class Plan:
    """What applying a definitions file would change; ``unchanged`` counts what is already as written."""

    path: Path
    changes: list[Change] = field(default_factory=list)
    unchanged: int = 0

    @property
    def empty(self) -> bool:
        """Whether applying changes nothing."""
        return not self.changes


def load(path: Path) -> tuple[Definitions, SourceMap]:
    """Read and validate a definitions file; every schema problem at once, each with file:line:col."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(t("okr.apply.missing", path=path), hint=t("okr.apply.missing_hint")) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(t("okr.apply.unreadable", error=exc), where=str(path)) from None
    data, source, _ = read_yaml(text, path, None)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(t("okr.apply.not_mapping"), where=source.where(()), hint=t("okr.apply.shape_hint"))
    try:
        return Definitions.model_validate(data), source
    except ValidationError as exc:
        raise InvalidConfig(
            schema_problems(exc, source, model=Definitions), path=str(path), default_hint=t("okr.apply.shape_hint")
        ) from None


def plan(store: Store, path: Path, *, now: datetime | None = None) -> Plan:
    """The changes applying ``path`` would make to ``store`` (nothing is written); InvalidConfig lists problems."""
    defs, source = load(path)
    return _Planner(store, defs, source, now or utcnow()).run()


def apply(store: Store, planned: Plan, *, actor: str) -> Plan:
    """Write a plan: teams (parents first), periods, objectives (parents first), key results with history."""
    for change in planned.changes:
        record = change.record
        try:
            if isinstance(record, Team):
                store.upsert_team(record)
            elif isinstance(record, Period):
                store.upsert_period(record)
            elif isinstance(record, Objective):
                if change.action == "add":
                    store.add_objective(record)
                else:
                    store.update_objective(record)
            elif change.action == "add":
                store.add_key_result(record, [_created(record, actor)])
            else:
                store.update_key_result(record, change_events(store.key_result(record.id), record, actor))
        except AndonError as exc:
            exc.where = change.where
            raise
    return planned


def _created(kr: KeyResult, actor: str) -> KrEvent:
    return KrEvent(
        key_result=kr.id,
        kind="created",
        detail=t("okr.event.created", start=kr.start, target=kr.target, unit=kr.unit),
        actor=actor,
        after=definition(kr),
        created_at=kr.created_at,
    )


def diff_lines(planned: Plan) -> list[str]:
    """The plan as a diff: ``+ kind key`` for an addition, ``~ kind key`` with ``field: before → after`` lines."""
    lines: list[str] = []
    for change in planned.changes:
        mark = "+" if change.action == "add" else "~"
        lines.append(f"{mark} {t(f'okr.kind.{change.kind}')} {change.key}  ({change.where})")
        for name, (before, after) in change.fields.items():
            if change.action == "add" and after in (None, "", ()):
                continue  # an addition lists what is set
            shown = _shown(after) if change.action == "add" else f"{_shown(before)} → {_shown(after)}"
            lines.append(f"    {name}: {shown}")
    lines.append(t("okr.apply.summary", add=sum(c.action == "add" for c in planned.changes),
                   update=sum(c.action == "update" for c in planned.changes), same=planned.unchanged))  # fmt: skip
    return lines


def _shown(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, tuple | list):
        return "[" + ", ".join(map(str, value)) + "]"
    return "—" if value is None or value == "" else str(value)


def _fields(record: Any, skip: tuple[str, ...] = ("id", "created_at", "closed_at")) -> dict[str, Any]:
    return {f.name: getattr(record, f.name) for f in dataclasses.fields(record) if f.name not in skip}


_Pending = tuple[Objective, Objective | None, Loc]  # (as written, as stored, where)


class _Planner:
    """Checks a parsed file against itself and the store, collecting every problem, and lists the changes."""

    def __init__(self, store: Store, defs: Definitions, source: SourceMap, now: datetime) -> None:
        self.store, self.defs, self.source, self.now = store, defs, source, now
        self.problems: list[Problem] = []
        self.plan = Plan(path=source.path)
        self.added = 0

    def stamp(self) -> datetime:
        """Creation times a microsecond apart, so what the file adds keeps the file's order."""
        self.added += 1
        return self.now + timedelta(microseconds=self.added)

    def problem(self, loc: Loc, message: str, hint: str | None = None) -> None:
        self.problems.append(Problem(where=self.source.where(loc), field=dotted(loc), message=message, hint=hint))

    def run(self) -> Plan:
        teams = self._teams()
        owners = {m for team in teams.values() for m in team.members}
        periods = self._periods()
        self._objectives(teams, owners, periods)
        if self.problems:
            raise InvalidConfig(self.problems, path=str(self.source.path), default_hint=t("okr.apply.fix_hint"))
        return self.plan

    def record(self, action: Action | None, kind: Kind, key: str, loc: Loc, fields: dict[str, Any], rec: Any) -> None:
        if action is None:
            self.plan.unchanged += 1
            return
        where = self.source.where(loc)
        if action == "add":
            fields = {name: (None, value) for name, value in fields.items()}
        self.plan.changes.append(Change(action, kind, key, where, fields, rec))

    # teams

    def _teams(self) -> dict[str, Team]:
        known = {team.id: team for team in self.store.teams()}
        written: dict[str, tuple[Team, Loc]] = {}
        for i, spec in enumerate(self.defs.teams):
            loc: Loc = ("teams", i)
            if spec.id in written:
                self.problem((*loc, "id"), t("okr.apply.duplicate", kind=t("okr.kind.team"), key=spec.id))
                continue
            team = Team(id=spec.id, name=spec.name or spec.id, parent=spec.parent, members=tuple(spec.members))
            written[spec.id] = (team, loc)
        all_teams = {**known, **{k: v[0] for k, v in written.items()}}
        for team_id, (team, loc) in written.items():
            if team.parent is not None and team.parent not in all_teams:
                self.problem((*loc, "parent"), t("okr.team.unknown", team=team.parent, known=_known(all_teams)),
                             t("okr.team.hint"))  # fmt: skip
            elif _has_cycle(team_id, all_teams):
                self.problem((*loc, "parent"), t("okr.apply.team_cycle", team=team_id))
        for team_id in _parents_first(list(written), all_teams):
            team, loc = written[team_id]
            old = known.get(team_id)
            if old is None:
                self.record("add", "team", team_id, loc, _fields(team), team)
            elif old != team:
                self.record("update", "team", team_id, loc, _changed(old, team), team)
            else:
                self.record(None, "team", team_id, loc, {}, team)
        return all_teams

    # periods

    def _periods(self) -> dict[str, Period]:
        periods = {p.id: p for p in self.store.periods()}
        seen: set[str] = set()
        for i, spec in enumerate(self.defs.periods):
            loc: Loc = ("periods", i)
            try:
                named = parse_period(str(spec.id if isinstance(spec, PeriodDef) else spec))
            except ConfigError as exc:
                self.problem(loc if not isinstance(spec, PeriodDef) else (*loc, "id"), exc.message, exc.hint)
                continue
            if isinstance(spec, PeriodDef):
                named = Period(id=named.id, starts=spec.starts or named.starts, ends=spec.ends or named.ends)
                if named.ends < named.starts:
                    self.problem((*loc, "ends"), t("okr.apply.period_order", starts=named.starts, ends=named.ends))
                    continue
            if named.id in seen:
                self.problem(loc, t("okr.apply.duplicate", kind=t("okr.kind.period"), key=named.id))
                continue
            seen.add(named.id)
            old = periods.get(named.id)
            if old is None:
                self.record("add", "period", named.id, loc, _fields(named), named)
                periods[named.id] = named
            elif (old.starts, old.ends) != (named.starts, named.ends):
                if old.closed_at is not None:
                    self.problem(loc, _closed_message(old), t("okr.period.closed_hint"))
                    continue
                self.record("update", "period", named.id, loc, _changed(old, named), named)
                periods[named.id] = named
            else:
                self.record(None, "period", named.id, loc, {}, old)
        return periods

    # objectives and key results

    def _objectives(self, teams: dict[str, Team], owners: set[str], periods: dict[str, Period]) -> None:
        stored = {o.key: o for o in self.store.objectives() if o.key}
        stored_krs = {kr.key: kr for kr in self.store.key_results() if kr.key}
        keys: dict[str, Objective] = {}
        pending: list[_Pending] = []
        kr_keys: set[str] = set()
        for i, spec in enumerate(self.defs.objectives):
            loc: Loc = ("objectives", i)
            if spec.key in keys:
                self.problem((*loc, "key"), t("okr.apply.duplicate", kind=t("okr.kind.objective"), key=spec.key))
                continue
            ok = self._check_objective(spec, loc, teams, owners)
            period = self._period_of(spec.period, (*loc, "period"), periods)
            old = stored.get(spec.key)
            obj = Objective(
                title=spec.title, description=spec.description, owner=spec.owner, team=spec.team,
                period=period.id if period else spec.period, parent=spec.parent, key=spec.key,
                **({"id": old.id, "created_at": old.created_at} if old else {"created_at": self.stamp()}),
            )  # fmt: skip
            keys[spec.key] = obj
            if ok and period is not None:
                pending.append((obj, old, loc))
            for j, kr_spec in enumerate(spec.key_results):
                self._key_result(obj, kr_spec, j, (*loc, "key_results", j), owners, stored_krs, kr_keys, periods)
        by_id = {o.id: o for o in self.store.objectives()}
        resolved: list[_Pending] = []
        for obj, old, loc in pending:
            parent = obj.parent
            if parent is not None:
                target = keys.get(parent) or stored.get(parent) or by_id.get(parent)
                if target is None:
                    self.problem((*loc, "parent"), t("okr.objective.missing", ref=parent), t("okr.apply.parent_hint"))
                    continue
                obj = dataclasses.replace(obj, parent=target.id)
            resolved.append((obj, old, loc))
        self._order_objectives(resolved, periods)

    def _order_objectives(self, items: list[_Pending], periods: dict[str, Period]) -> None:
        # Objective changes go before key result changes of the same file; parents before children.
        kr_changes = [c for c in self.plan.changes if c.kind == "key_result"]
        self.plan.changes = [c for c in self.plan.changes if c.kind != "key_result"]
        ids = {obj.id for obj, old, _ in items if old is None}
        done: set[str] = set()
        queue = list(items)
        while queue:
            progressed = False
            for item in list(queue):
                obj = item[0]
                if obj.parent in ids and obj.parent not in done:
                    continue
                queue.remove(item)
                done.add(obj.id)
                progressed = True
                self._objective_change(*item, periods)
            if not progressed:  # a parent cycle among new objectives
                for obj, _, loc in queue:
                    self.problem((*loc, "parent"), t("okr.apply.objective_cycle", key=obj.key))
                break
        self.plan.changes.extend(kr_changes)

    def _objective_change(self, obj: Objective, old: Objective | None, loc: Loc, periods: dict[str, Period]) -> None:
        key = obj.key or obj.id
        if old is None:
            if self._closed(obj.period, loc, periods):
                return
            self.record("add", "objective", key, loc, _fields(obj, ("id", "created_at", "key")), obj)
        elif old != obj:
            if self._closed(old.period, loc, periods) or self._closed(obj.period, loc, periods):
                return
            self.record("update", "objective", key, loc, _changed(old, obj), obj)
        else:
            self.record(None, "objective", key, loc, {}, obj)

    def _closed(self, period_id: str, loc: Loc, periods: dict[str, Period]) -> bool:
        period = periods.get(period_id)
        if period is not None and period.closed_at is not None:
            self.problem(loc, _closed_message(period), t("okr.period.closed_hint"))
            return True
        return False

    def _check_objective(self, spec: ObjectiveDef, loc: Loc, teams: dict[str, Team], owners: set[str]) -> bool:
        ok = True
        if spec.team not in teams:
            self.problem((*loc, "team"), t("okr.team.unknown", team=spec.team, known=_known(teams)), t("okr.team.hint"))
            ok = False
        if owners and spec.owner not in owners:
            known = ", ".join(sorted(owners))
            self.problem((*loc, "owner"), t("okr.owner.unknown", owner=spec.owner, known=known), t("okr.owner.hint"))
            ok = False
        return ok

    def _period_of(self, text: str, loc: Loc, periods: dict[str, Period]) -> Period | None:
        try:
            named = parse_period(text)
        except ConfigError as exc:
            self.problem(loc, exc.message, exc.hint)
            return None
        if named.id not in periods:
            periods[named.id] = named  # a quarter or year used without a `periods:` entry is made on apply
            self.record("add", "period", named.id, loc, _fields(named), named)
        return periods[named.id]

    def _key_result(
        self,
        obj: Objective,
        spec: KeyResultDef,
        index: int,
        loc: Loc,
        owners: set[str],
        stored: dict[str, KeyResult],
        seen: set[str],
        periods: dict[str, Period],
    ) -> None:
        key = spec.key or f"{obj.key}.kr{index + 1}"
        if key in seen:
            self.problem((*loc, "key"), t("okr.apply.duplicate", kind=t("okr.kind.key_result"), key=key))
            return
        seen.add(key)
        owner = spec.owner or obj.owner
        if owners and owner not in owners:
            known = ", ".join(sorted(owners))
            where = (*loc, "owner") if spec.owner else (*loc[:-2], "owner")
            self.problem(where, t("okr.owner.unknown", owner=owner, known=known), t("okr.owner.hint"))
            return
        direction = spec.direction
        target = spec.target
        if direction == "range" and target is None and spec.low is not None and spec.high is not None:
            target = (spec.low + spec.high) / 2
        if target is None:
            self.problem(loc, t("okr.apply.no_target"), t("okr.apply.no_target_hint"))
            return
        if direction is None:
            direction = "decrease" if target < spec.start else "increase"
        old = stored.get(key)
        binding = spec.binding
        if binding is not None:
            try:
                binding = check_binding(binding, "binding")
            except ConfigError as exc:
                # ``where`` is "binding" or "binding.<field>": point at that field's line.
                inner = tuple(exc.where.split(".")[1:]) if exc.where and exc.where.startswith("binding") else ()
                self.problem((*loc, "binding", *inner), exc.message, exc.hint)
                return
        kr = KeyResult(
            objective=obj.id, title=spec.title, description=spec.description, owner=owner, unit=spec.unit,
            start=spec.start, target=target, direction=direction, low=spec.low, high=spec.high, weight=spec.weight,
            kind=spec.kind, binding=binding, key=key,
            **({"id": old.id, "created_at": old.created_at} if old else {"created_at": self.stamp()}),
        )  # fmt: skip
        try:
            check_key_result(kr)
        except ConfigError as exc:
            named = exc.where if exc.where in KeyResultDef.model_fields else None
            self.problem((*loc, named) if named else loc, exc.message, exc.hint)
            return
        if old is None:
            if not self._closed(obj.period, loc, periods):
                self.record("add", "key_result", key, loc, _fields(kr, ("id", "created_at", "key", "objective")), kr)
        elif old != kr:
            if not self._closed(obj.period, loc, periods):
                self.record("update", "key_result", key, loc, _changed(old, kr), kr)
        else:
            self.record(None, "key_result", key, loc, {}, kr)


def _changed(old: Any, new: Any) -> dict[str, tuple[Any, Any]]:
    before, after = _fields(old), _fields(new)
    return {name: (before[name], after[name]) for name in after if before.get(name) != after[name]}


def _known(teams: dict[str, Team]) -> str:
    return ", ".join(sorted(teams)) or t("okr.none_yet")


def _closed_message(period: Period) -> str:
    assert period.closed_at is not None
    return t("okr.period.closed", period=period.id, since=period.closed_at.isoformat(timespec="minutes"))


def _has_cycle(team_id: str, teams: dict[str, Team]) -> bool:
    seen: set[str] = set()
    current: str | None = team_id
    while current is not None and current in teams:
        if current in seen:
            return True
        seen.add(current)
        current = teams[current].parent
    return False


def _parents_first(ids: list[str], teams: dict[str, Team]) -> list[str]:
    def depth(team_id: str) -> int:
        steps, current = 0, teams[team_id].parent
        while current is not None and current in teams and steps < len(teams):
            steps, current = steps + 1, teams[current].parent
        return steps

    return sorted(ids, key=depth)
