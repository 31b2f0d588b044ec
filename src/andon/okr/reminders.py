"""Check-in reminders: the owner of every key result with no check-in for N days hears of it, once a day.

A reminder is written to the notification outbox before anything is sent (so it is never lost: a failed
send is retried by the next run, ``andon watch`` or ``andon incident deliver``), keyed by key result and
day (so it is never sent twice, however often ``andon okr remind`` runs). With no notifier configured,
the reminders are only printed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from andon.config.schema import WorkspaceConfig
from andon.errors import ConfigError, NotFoundError
from andon.messages import t
from andon.store.models import utcnow
from andon.store.okr import KeyResult, Objective, Period
from andon.store.outbox import NewNotification
from andon.watch.notify.base import Message
from andon.watch.outbox import deliver_due, message_notifications
from andon.workspace import Workspace

TOPIC = "okr.reminder"


@dataclass(frozen=True, slots=True)
class Stale:
    """A key result nobody checked in for ``days`` days (counted from its creation when it has no check-in)."""

    key_result: KeyResult
    objective: Objective
    period: Period
    last_at: datetime | None
    last_value: float | None
    days: int


@dataclass(frozen=True, slots=True)
class RemindResult:
    """What a run found and did: the stale key results, rows newly queued, and deliveries made now."""

    stale: list[Stale]
    day: date
    notifiers: list[str]
    queued: int
    delivered: int
    dry_run: bool


def okr_notifiers(config: WorkspaceConfig) -> list[str]:
    """The notifiers that get OKR messages: ``okr.notifiers`` (checked), else every one under ``notifiers:``."""
    names = config.okr.notifiers
    if names is None:
        return list(config.notifiers)
    unknown = [name for name in names if name not in config.notifiers]
    if unknown:
        raise ConfigError(
            t("okr_report.notifiers.unknown", names=", ".join(unknown)),
            where="andon.yaml: okr.notifiers",
            hint=t("okr_report.notifiers.known", known=", ".join(config.notifiers) or "-"),
        )
    return list(names)


def open_periods(ws: Workspace, today: date, period: str | None = None) -> list[Period]:
    """The periods under way today and not closed (or just ``period``, which must exist)."""
    if period is not None:
        found = ws.store.period(period)
        if found is None:
            raise NotFoundError(t("okr.period.missing", period=period), hint=t("okr.period.missing_hint"))
        return [found]
    return [p for p in ws.store.periods() if p.closed_at is None and p.starts <= today <= p.ends]


def find_stale(ws: Workspace, *, days: int, now: datetime, period: str | None = None) -> list[Stale]:
    """Key results of the open periods whose newest check-in (or creation) is ``days`` or more days old."""
    stale: list[Stale] = []
    for per in open_periods(ws, now.date(), period):
        objectives = {o.id: o for o in ws.store.objectives(period=per.id)}
        for kr in ws.store.key_results(period=per.id):
            latest = ws.store.latest_checkin(kr.id)
            since = latest.created_at if latest is not None else kr.created_at
            age = (now - since).days
            if age >= days and kr.objective in objectives:
                last_value = latest.value if latest is not None else None
                last_at = latest.created_at if latest is not None else None
                stale.append(Stale(kr, objectives[kr.objective], per, last_at, last_value, age))
    return sorted(stale, key=lambda s: (-s.days, s.objective.team, s.key_result.title))


def with_unit(value: float, unit: str) -> str:
    """``52%``, ``30 min``, ``3``: a value as a reader writes it."""
    return f"{value:g}{unit}" if unit in ("%", "") else f"{value:g} {unit}"


def reminder(item: Stale, language: str) -> Message:
    """The reminder to the key result's owner, in the workspace's language."""
    kr, obj = item.key_result, item.objective

    def say(key: str, **values: object) -> str:
        return t(f"okr_report.remind.{key}", language=language, **values)

    last = item.last_at.date().isoformat() if item.last_at else say("never")
    value = "-" if item.last_value is None else with_unit(item.last_value, kr.unit)
    fields = (
        (say("field.owner"), kr.owner),
        (say("field.team"), obj.team),
        (say("field.objective"), obj.title),
        (say("field.period"), item.period.id),
        (say("field.last"), f"{last} ({value})"),
        (say("field.target"), with_unit(kr.target, kr.unit)),
    )
    return Message(
        topic=TOPIC,
        title=say("title", kr=kr.title),
        text=say("text", owner=kr.owner, days=item.days, kr=kr.title, ref=kr.key or kr.id),
        fields=fields,
        to=(kr.owner,),
        data={
            "key_result": kr.id, "key": kr.key, "objective": obj.id, "team": obj.team, "period": item.period.id,
            "owner": kr.owner, "days_without_checkin": item.days, "last_checkin_at": item.last_at.isoformat()
            if item.last_at else None, "last_value": item.last_value, "target": kr.target, "unit": kr.unit,
        },
    )  # fmt: skip


def step(day: date) -> str:
    """The outbox step of a reminder: one per key result and day."""
    return f"remind:{day.isoformat()}"


def queue_messages(ws: Workspace, rows: Sequence[NewNotification], due: datetime) -> int:
    """Write outbox rows (a row already there is kept as it is); returns how many are new."""
    before = {r.dedupe_key for subject in {row.incident_id for row in rows} for r in ws.store.outbox(subject)}
    ws.store.enqueue_notifications(rows, due)
    return len({row.dedupe_key for row in rows} - before)


def queue_reminders(ws: Workspace, stale: Sequence[Stale], notifiers: Sequence[str], at: datetime) -> int:
    """Write one outbox row per stale key result and notifier for the day of ``at``; returns how many are new."""
    rows: list[NewNotification] = []
    for item in stale:
        message = reminder(item, ws.config.language)
        rows += message_notifications(
            ws.config, message, subject=item.key_result.id, step=step(at.date()), notifiers=notifiers
        )
    return queue_messages(ws, rows, at)


async def remind(
    ws: Workspace,
    *,
    days: int | None = None,
    now: datetime | None = None,
    period: str | None = None,
    dry_run: bool = False,
) -> RemindResult:
    """Find stale key results and, unless ``dry_run``, queue and deliver their reminders (once per day)."""
    at = now or utcnow()
    wait = days if days is not None else ws.config.okr.remind.days
    if wait < 1:
        raise ConfigError(
            t("okr_report.remind.bad_days", days=wait), where="--days", hint=t("okr_report.remind.days_hint")
        )
    notifiers = okr_notifiers(ws.config)
    stale = await asyncio.to_thread(find_stale, ws, days=wait, now=at, period=period)
    if dry_run or not notifiers:
        return RemindResult(stale, at.date(), notifiers, 0, 0, dry_run)
    queued = await asyncio.to_thread(queue_reminders, ws, stale, notifiers, at)
    delivered = await deliver_due(ws, now=at)
    return RemindResult(stale, at.date(), notifiers, queued, delivered, dry_run)
