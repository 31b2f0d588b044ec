"""Objectives and key results: create and change them with their history, record check-ins and events.

Every change of a key result's target, owner, definition or binding leaves a :class:`KrEvent`, so the board's
"history" column tells what moved and who moved it. A closed period refuses all of it (the store enforces it).
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from andon.errors import ConfigError
from andon.messages import t
from andon.okr.periods import parse_period
from andon.store import Store
from andon.store.models import utcnow
from andon.store.okr import DIRECTIONS, KR_KINDS, CheckIn, KeyResult, KrEvent, Objective, Period

# Which history event a changed field of a key result makes.
TARGET_FIELDS = ("target", "low", "high")
OWNER_FIELDS = ("owner",)
BINDING_FIELDS = ("binding",)
DEFINITION_FIELDS = ("title", "description", "unit", "start", "direction", "weight", "kind", "objective", "key")
OBJECTIVE_FIELDS = ("title", "description", "owner", "team", "period", "parent", "key")


def known_owners(store: Store) -> set[str]:
    """Everyone listed as a member of some team (empty when no team lists members: then anyone may own)."""
    return {member for team in store.teams() for member in team.members}


def check_owner(owner: str, owners: set[str], where: str) -> None:
    """Refuse an owner who is not a member of any team, when teams list their members."""
    if not owner.strip():
        raise ConfigError(t("okr.owner.empty"), where=where, hint=t("okr.owner.hint"))
    if owners and owner not in owners:
        raise ConfigError(
            t("okr.owner.unknown", owner=owner, known=", ".join(sorted(owners))), where=where, hint=t("okr.owner.hint")
        )


def check_binding(spec: Any, where: str) -> dict[str, Any]:
    """A binding spec as stored: okr-bind's ``check_binding`` when installed, else any mapping with a ``type``."""
    if importlib.util.find_spec("andon.okr.bindings") is not None:
        bindings = importlib.import_module("andon.okr.bindings")
        checker = getattr(bindings, "check_binding", None)
        if checker is not None:
            checked = checker(spec, where)
            return dict(checked) if isinstance(checked, Mapping) else dict(spec)
    if not isinstance(spec, Mapping) or not isinstance(spec.get("type"), str) or not spec["type"].strip():
        raise ConfigError(t("okr.binding.bad"), where=where, hint=t("okr.binding.hint"))
    return dict(spec)


def check_key_result(kr: KeyResult) -> None:
    """Refuse a key result that cannot be measured; ``where`` of the error names the field."""
    for name in ("start", "target", "weight", "low", "high"):
        value = getattr(kr, name)
        if value is not None and not math.isfinite(value):
            raise ConfigError(t("okr.kr.not_finite", field=name, value=value), where=name)
    if not kr.title.strip():
        raise ConfigError(t("okr.kr.no_title"), where="title")
    if kr.direction not in DIRECTIONS:
        raise ConfigError(
            t("okr.kr.bad_direction", direction=kr.direction), where="direction", hint=t("okr.kr.direction_hint")
        )
    if kr.kind not in KR_KINDS:
        raise ConfigError(t("okr.kr.bad_kind", kind=kr.kind), where="kind", hint=t("okr.kr.kind_hint"))
    if kr.weight <= 0:
        raise ConfigError(t("okr.kr.bad_weight", weight=kr.weight), where="weight")
    if kr.direction == "range":
        if kr.low is None or kr.high is None or kr.low > kr.high:
            raise ConfigError(t("okr.kr.bad_band", low=kr.low, high=kr.high), where="low", hint=t("okr.kr.band_hint"))
        return
    if kr.start == kr.target:
        raise ConfigError(t("okr.kr.start_is_target", value=kr.start), where="target", hint=t("okr.kr.target_hint"))
    if (kr.direction == "increase") != (kr.target > kr.start):
        raise ConfigError(
            t("okr.kr.wrong_way", direction=kr.direction, start=kr.start, target=kr.target),
            where="direction",
            hint=t("okr.kr.wrong_way_hint"),
        )


def ensure_period(store: Store, period_id: str) -> Period:
    """The stored period, or the quarter/year it names, stored now (``2026Q4`` needs no definition)."""
    found = store.period(period_id)
    if found is not None:
        return found
    return store.upsert_period(parse_period(period_id))


def create_objective(store: Store, obj: Objective) -> Objective:
    """Store a new objective after checking its team, owner, period and parent."""
    if store.team(obj.team) is None:
        raise _unknown_team(store, obj.team, "team")
    check_owner(obj.owner, known_owners(store), "owner")
    if not obj.title.strip():
        raise ConfigError(t("okr.objective.no_title"), where="title")
    period = ensure_period(store, obj.period)
    parent = store.objective(obj.parent).id if obj.parent else None
    return store.add_objective(dataclasses.replace(obj, period=period.id, parent=parent))


def update_objective(store: Store, ref: str, **changes: Any) -> Objective:
    """Change fields of an objective (its period, old and new, must be open)."""
    unknown = set(changes) - set(OBJECTIVE_FIELDS)
    if unknown:
        raise ValueError(f"objective fields {sorted(unknown)} cannot be changed")
    current = store.objective(ref)
    new = dataclasses.replace(current, **changes)
    if new.team != current.team and store.team(new.team) is None:
        raise _unknown_team(store, new.team, "team")
    if new.owner != current.owner:
        check_owner(new.owner, known_owners(store), "owner")
    if new.period != current.period:
        new = dataclasses.replace(new, period=ensure_period(store, new.period).id)
    if new.parent and new.parent != current.parent:
        new = dataclasses.replace(new, parent=store.objective(new.parent).id)
    return store.update_objective(new)


def add_key_result(store: Store, kr: KeyResult, *, actor: str) -> KeyResult:
    """Store a new key result after checking it; its history starts with a ``created`` event."""
    check_key_result(kr)
    check_owner(kr.owner, known_owners(store), "owner")
    if kr.binding is not None:
        kr = dataclasses.replace(kr, binding=check_binding(kr.binding, "binding"))
    created = KrEvent(
        key_result=kr.id,
        kind="created",
        detail=t("okr.event.created", start=kr.start, target=kr.target, unit=kr.unit),
        actor=actor,
        after=definition(kr),
        created_at=kr.created_at,
    )
    return store.add_key_result(kr, [created])


def definition(kr: KeyResult) -> dict[str, Any]:
    """The fields that define a key result, as JSON (what history events keep before and after)."""
    fields = (*DEFINITION_FIELDS, *TARGET_FIELDS, *OWNER_FIELDS, *BINDING_FIELDS)
    return {name: getattr(kr, name) for name in fields if name != "objective"}


def change_events(before: KeyResult, after: KeyResult, actor: str, at: datetime | None = None) -> list[KrEvent]:
    """The history events that turn ``before`` into ``after``: one per kind of change (none if equal)."""
    events: list[KrEvent] = []
    for kind, names in (
        ("target_changed", TARGET_FIELDS),
        ("owner_changed", OWNER_FIELDS),
        ("definition_changed", DEFINITION_FIELDS),
        ("binding_changed", BINDING_FIELDS),
    ):
        changed = [n for n in names if getattr(before, n) != getattr(after, n)]
        if not changed:
            continue
        old = {n: getattr(before, n) for n in changed}
        new = {n: getattr(after, n) for n in changed}
        detail = "; ".join(f"{n}: {_shown(old[n])} → {_shown(new[n])}" for n in changed)
        event = KrEvent(key_result=before.id, kind=kind, detail=detail, actor=actor, before=old, after=new)
        events.append(event if at is None else dataclasses.replace(event, created_at=at))
    return events


def _shown(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "—" if value is None else str(value)


def update_key_result(store: Store, ref: str, *, actor: str, **changes: Any) -> tuple[KeyResult, list[KrEvent]]:
    """Change fields of a key result; each kind of change is written to its history with before and after."""
    allowed = {*DEFINITION_FIELDS, *TARGET_FIELDS, *OWNER_FIELDS, *BINDING_FIELDS}
    unknown = set(changes) - allowed
    if unknown:
        raise ValueError(f"key result fields {sorted(unknown)} cannot be changed")
    current = store.key_result(ref)
    new = dataclasses.replace(current, **changes)
    if new.objective != current.objective:
        new = dataclasses.replace(new, objective=store.objective(new.objective).id)
    check_key_result(new)
    if new.owner != current.owner:
        check_owner(new.owner, known_owners(store), "owner")
    if new.binding is not None and new.binding != current.binding:
        new = dataclasses.replace(new, binding=check_binding(new.binding, "binding"))
    events = change_events(current, new, actor)
    if not events:
        return current, []
    return store.update_key_result(new, events), events


def record_event(store: Store, kr_ref: str, detail: str, *, actor: str, at: datetime | None = None) -> KrEvent:
    """Add a major event (a launch, an outage, a changed market) to a key result's history."""
    if not detail.strip():
        raise ConfigError(t("okr.event.empty"), where="detail")
    kr = store.key_result(kr_ref)
    event = KrEvent(key_result=kr.id, kind="major_event", detail=detail, actor=actor, created_at=at or utcnow())
    return store.add_kr_event(event)


def new_checkin(
    store: Store,
    kr_ref: str,
    value: float,
    *,
    confidence: int | None = None,
    comment: str = "",
    author: str,
    source: str = "manual",
    snapshot: dict[str, Any] | None = None,
    step: str | None = None,
    at: datetime | None = None,
) -> CheckIn:
    """A checked check-in for the key result ``kr_ref`` (not stored yet); bad values are ConfigErrors."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(t("okr.checkin.bad_value", value=value), where="value")
    if confidence is not None and not (isinstance(confidence, int) and 1 <= confidence <= 10):
        raise ConfigError(t("okr.checkin.bad_confidence", value=confidence), where="confidence")
    if not author.strip():
        raise ConfigError(t("okr.checkin.no_author"), where="author")
    if at is not None and (at.tzinfo is None or at.utcoffset() is None):
        raise ConfigError(t("okr.checkin.naive_time", at=at.isoformat()), where="at")
    kr = store.key_result(kr_ref)
    return CheckIn(
        key_result=kr.id,
        value=float(value),
        confidence=confidence,
        comment=comment,
        author=author,
        source=source,
        snapshot=snapshot,
        step=step,
        created_at=at or utcnow(),
    )


def record_checkin(
    store: Store,
    kr_ref: str,
    value: float,
    *,
    confidence: int | None = None,
    comment: str = "",
    author: str,
    source: str = "manual",
    snapshot: dict[str, Any] | None = None,
    step: str | None = None,
    at: datetime | None = None,
) -> CheckIn | None:
    """Check and store one check-in; None when (key result, source, step) was recorded already."""
    chk = new_checkin(
        store, kr_ref, value, confidence=confidence, comment=comment, author=author, source=source,
        snapshot=snapshot, step=step, at=at,
    )  # fmt: skip
    return store.add_checkin(chk)


def record_checkins(store: Store, checkins: Sequence[CheckIn]) -> list[CheckIn | None]:
    """Store checked check-ins in one transaction: all of them or none."""
    return store.add_checkins(checkins)


def _unknown_team(store: Store, team: str, where: str) -> ConfigError:
    known = ", ".join(sorted(t_.id for t_ in store.teams())) or t("okr.none_yet")
    return ConfigError(t("okr.team.unknown", team=team, known=known), where=where, hint=t("okr.team.hint"))
