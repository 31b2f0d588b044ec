"""The weekly review digest per team: progress and its change since last week, at-risk and stale key results,
the work that moved this week, and an optional summary by a configured model that carries its provenance.

A digest is sent through the outbox once per team, period and ISO week (``--send`` run twice sends it once);
without ``--send`` it is only built, for printing. The summary is a stored output of the feature named in
``okr.digest.summary_feature`` (called through the workspace like any other call), so ``andon cite`` prints
the prompt, model and parameters that wrote it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from andon.deploy import live_version
from andon.errors import ConfigError
from andon.messages import t
from andon.okr.board import BoardRow, build_board
from andon.okr.reminders import find_stale, okr_notifiers, open_periods, queue_messages
from andon.store.models import utcnow
from andon.store.okr import Period, Team, WorkItem
from andon.watch.notify.base import Message
from andon.watch.outbox import SUBJECT_MAX, deliver_due, message_notifications
from andon.workspace import Workspace

TOPIC = "okr.digest"
WEEK = timedelta(days=7)
AT_RISK = ("at_risk", "off_track")  # a key result without data is listed as stale, not at risk


@dataclass(frozen=True, slots=True)
class DigestLine:
    """One key result in the digest: its board row now, its achievement a week ago, days without a check-in."""

    row: BoardRow
    before: float | None  # achievement a week ago (None: no check-in by then)
    stale_days: int | None  # set when the key result counts as stale

    @property
    def progress(self) -> float | None:
        """Achievement now (None: no check-in yet)."""
        return self.row.achievement

    @property
    def health(self) -> str:
        """on_track / at_risk / off_track, or no_data."""
        return self.row.health

    @property
    def change(self) -> float | None:
        """Progress gained since last week (a key result first checked in this week counts from 0)."""
        if self.row.achievement is None:
            return None
        return self.row.achievement - (self.before or 0.0)


@dataclass(frozen=True, slots=True)
class WorkLine:
    """A work item linked to one of the team's key results and updated this week."""

    item: WorkItem
    key_result: str  # its title
    kind: str  # measures | contributes


@dataclass(frozen=True, slots=True)
class Summary:
    """What the configured model wrote, and the stored output (``andon cite OUTPUT``) that proves how."""

    text: str
    output_id: str
    feature: str
    version_id: str
    provider: str
    model: str


@dataclass(frozen=True, slots=True)
class TeamDigest:
    """The week of one team in one period."""

    team: Team
    period: Period
    week: str  # ISO week, e.g. 2026-W49
    since: datetime
    until: datetime
    lines: list[DigestLine]
    progress: float | None
    before: float | None
    work: list[WorkLine]
    summary: Summary | None = None
    summary_error: str | None = None

    @property
    def at_risk(self) -> list[DigestLine]:
        """Key results at risk or off track."""
        return [line for line in self.lines if line.health in AT_RISK]

    @property
    def stale(self) -> list[DigestLine]:
        """Key results nobody checked in for the reminder's number of days."""
        return [line for line in self.lines if line.stale_days is not None]

    @property
    def subject(self) -> str:
        """The outbox subject: the team (hashed when its id is too long for the column)."""
        subject = f"team:{self.team.id}"
        return (
            subject if len(subject) <= SUBJECT_MAX else f"team:{hashlib.sha256(self.team.id.encode()).hexdigest()[:40]}"
        )

    @property
    def step(self) -> str:
        """The outbox step: one digest per period and week."""
        return f"digest:{self.week}:{self.period.id}"


@dataclass(frozen=True, slots=True)
class DigestResult:
    """The digests built; with ``send``, rows newly queued, deliveries made, and this week's digests sent before."""

    digests: list[TeamDigest]
    sent: bool
    notifiers: list[str] = field(default_factory=list)
    queued: int = 0
    delivered: int = 0
    already_sent: list[TeamDigest] = field(default_factory=list)


def iso_week(at: datetime) -> str:
    """``2026-W49``."""
    year, week, _ = at.isocalendar()
    return f"{year}-W{week:02d}"


def build_digests(
    ws: Workspace, *, now: datetime, team: str | None = None, period: str | None = None, stale_days: int | None = None
) -> list[TeamDigest]:
    """One digest per team (or just ``team``) with objectives in each open period (or just ``period``).

    The numbers are the board's (:func:`andon.okr.board.build_board`) now and a week ago, so the digest and
    the board never disagree.
    """
    wait = stale_days if stale_days is not None else ws.config.okr.remind.days
    stale = {s.key_result.id: s.days for s in find_stale(ws, days=wait, now=now, period=period)}
    by_id = {item.id: item for item in ws.store.work_items()}
    teams = {tm.id: tm for tm in ws.store.teams()}
    since = now - WEEK
    digests: list[TeamDigest] = []
    for per in open_periods(ws, now.date(), period):
        board = build_board(ws.store, per.id, team=team, now=now)
        before = build_board(ws.store, per.id, team=team, now=since)
        then = {row.kr_id: row.achievement for row in before.rows}
        for team_id in dict.fromkeys(row.team_id for row in board.rows):
            if team is not None and team_id != team:
                continue  # the board holds the sub-teams too; each gets its own digest when asked for
            rows = [row for row in board.rows if row.team_id == team_id]
            work = [
                WorkLine(item, row.key_result, link.kind)
                for row in rows
                for link in ws.store.work_links(key_result=row.kr_id)
                if (item := by_id.get(link.work_item)) is not None
                and item.updated_at is not None
                and since < item.updated_at <= now
            ]
            digests.append(
                TeamDigest(
                    team=teams.get(team_id) or Team(id=team_id, name=team_id), period=per, week=iso_week(now),
                    since=since, until=now,
                    lines=[DigestLine(row, then.get(row.kr_id), stale.get(row.kr_id)) for row in rows],
                    progress=board.team_progress.get(team_id), before=before.team_progress.get(team_id),
                    work=sorted(work, key=lambda w: (w.item.updated_at or now), reverse=True),
                )
            )  # fmt: skip
    return digests


# The message -------------------------------------------------------------------------------------------------


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


def _points(change: float | None) -> str:
    """Percentage points gained, signed: ``+4 pp``."""
    return "" if change is None else f"{change * 100:+.0f} pp"


def digest_text(d: TeamDigest, language: str | None = None) -> tuple[tuple[tuple[str, str], ...], str]:
    """The digest's fields and its body text, in ``language``."""

    def say(key: str, **values: object) -> str:
        return t(f"okr_report.digest.{key}", language=language, **values)

    change = None if d.progress is None else d.progress - (d.before or 0.0)
    fields = (
        (say("field.period"), d.period.id),
        (say("field.progress"), f"{_pct(d.progress)} ({_points(change)})" if change is not None else _pct(d.progress)),
        (say("field.at_risk"), str(len(d.at_risk))),
        (say("field.stale"), str(len(d.stale))),
    )
    parts: list[str] = []
    if d.summary is not None:
        cite = say("summary_by", provider=d.summary.provider, model=d.summary.model, output=d.summary.output_id)
        parts += [f"{say('summary')} ({cite})", d.summary.text.strip(), ""]
    parts.append(say("key_results"))
    for line in d.lines:
        if line.change is None:
            shown = say("no_value")
        else:
            health_name = t(f"okr_report.health.{line.health}", language=language)
            shown = f"{_pct(line.progress)} ({_points(line.change)}) · {health_name}"
        parts.append(f"• {line.row.key_result} — {shown} · {line.row.owner}")
    if d.at_risk:
        parts += ["", say("at_risk")]
        parts += [f"• {ln.row.key_result} ({_pct(ln.progress)}, {ln.row.owner})" for ln in d.at_risk]
    if d.stale:
        parts += ["", say("stale")]
        parts += [f"• {ln.row.key_result} — {say('days', days=ln.stale_days)} ({ln.row.owner})" for ln in d.stale]
    parts += ["", say("work")]
    if not d.work:
        parts.append(say("no_work"))
    for w in d.work:
        state = say("done") if w.item.done else w.item.status or "-"
        parts.append(f"• {w.item.external_id} {w.item.title} ({state}) → {w.key_result}")
    return fields, "\n".join(parts)


def digest_message(d: TeamDigest, language: str | None = None) -> Message:
    """The digest as a notification message."""
    fields, text = digest_text(d, language)
    title = t("okr_report.digest.title", language=language, team=d.team.name, week=d.week)
    data: dict[str, Any] = {
        "team": d.team.id, "period": d.period.id, "week": d.week, "progress": d.progress, "progress_week_ago": d.before,
        "key_results": [
            {"id": ln.row.kr_id, "title": ln.row.key_result, "owner": ln.row.owner, "value": ln.row.current,
             "progress": ln.progress, "progress_week_ago": ln.before, "health": ln.health, "stale_days": ln.stale_days}
            for ln in d.lines
        ],
        "work": [{"source": w.item.source, "id": w.item.external_id, "title": w.item.title, "done": w.item.done,
                  "key_result": w.key_result, "link": w.kind} for w in d.work],
        "summary": None if d.summary is None else {
            "text": d.summary.text, "output_id": d.summary.output_id, "feature": d.summary.feature,
            "version_id": d.summary.version_id, "provider": d.summary.provider, "model": d.summary.model,
        },
    }  # fmt: skip
    return Message(topic=TOPIC, title=title, text=text, fields=fields, data=data)


# The model's summary ----------------------------------------------------------------------------------------


async def summarise(ws: Workspace, d: TeamDigest) -> TeamDigest:
    """The digest with a summary by ``okr.digest.summary_feature`` (a stored, citable output), if one is set.

    A failed call leaves the digest without a summary and says why in ``summary_error``: the review goes out anyway.
    """
    settings = ws.config.okr.digest
    feature = settings.summary_feature
    if feature is None:
        return d
    if feature not in ws.config.features:
        raise ConfigError(
            t("okr_report.digest.no_feature", feature=feature), where="andon.yaml: okr.digest.summary_feature",
            hint=t("okr_report.digest.known_features", known=", ".join(ws.config.features) or "-"),
        )  # fmt: skip
    version = settings.summary_version
    if version is None:
        version = (await asyncio.to_thread(live_version, ws, feature)).require()[0]
    language = ws.config.language
    fields, text = digest_text(d, language)
    variables = {
        "team": d.team.name, "period": d.period.id, "week": d.week, "language": language,
        "digest": "\n".join([*(f"{k}: {v}" for k, v in fields), "", text]),
        "data": json.dumps(digest_message(d, language).data, ensure_ascii=False, sort_keys=True),
    }  # fmt: skip
    context = {"okr_digest": {"team": d.team.id, "period": d.period.id, "week": d.week}}
    outcome, record = await ws.invoke(feature, variables, version=version, context=context)
    if outcome.status != "ok" or not (outcome.output_text or "").strip():
        return replace(d, summary_error=outcome.error or t("okr_report.digest.empty_summary", output=record.id))
    summary = Summary(outcome.output_text or "", record.id, feature, record.version_id, record.provider, record.model)
    return replace(d, summary=summary)


# Running it -------------------------------------------------------------------------------------------------


def _sent_before(ws: Workspace, d: TeamDigest, notifiers: Sequence[str]) -> bool:
    keys = {r.dedupe_key for r in ws.store.outbox(d.subject)}
    return all(f"{d.subject}:{d.step}:{name}" in keys for name in notifiers)


async def digest(
    ws: Workspace,
    *,
    now: datetime | None = None,
    team: str | None = None,
    period: str | None = None,
    send: bool = False,
    summary: bool = True,
) -> DigestResult:
    """Build each team's digest (with the model's summary when configured); with ``send``, queue and deliver it."""
    at = now or utcnow()
    notifiers = okr_notifiers(ws.config) if send else []
    if send and not notifiers:
        raise ConfigError(
            t("okr_report.digest.no_notifiers"),
            where="andon.yaml: notifiers",
            hint=t("okr_report.digest.no_notifiers_hint"),
        )
    built = await asyncio.to_thread(build_digests, ws, now=at, team=team, period=period)
    done: list[TeamDigest] = []
    already: list[TeamDigest] = []
    for d in built:
        if send and await asyncio.to_thread(_sent_before, ws, d, notifiers):
            already.append(d)  # this week's digest went out: no second model call, no second message
        else:
            done.append(await summarise(ws, d) if summary else d)
    if not send:
        return DigestResult(done, sent=False)
    rows = [
        row
        for d in done
        for row in message_notifications(
            ws.config, digest_message(d, ws.config.language), subject=d.subject, step=d.step, notifiers=notifiers
        )
    ]
    queued = await asyncio.to_thread(queue_messages, ws, rows, at)
    delivered = await deliver_due(ws, now=at)
    return DigestResult(done, sent=True, notifiers=notifiers, queued=queued, delivered=delivered, already_sent=already)
