"""Incident commands: `andon incidents`, `andon incident show|advance|note|open|deliver` over andon.watch.incidents."""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from andon.cli._common import console, open_workspace, print_json, run
from andon.cli._options import ActorOption, JsonOption
from andon.deploy import default_actor
from andon.errors import ConfigError
from andon.messages import t
from andon.store.outbox import OutboxRecord
from andon.watch import incidents as inc

IdArgument = Annotated[str, typer.Argument(help="Incident id (or a unique prefix of at least 6 characters).")]

incident_app = typer.Typer(
    name="incident",
    help="One incident: show it, move it to its next stage, add a note, open one by hand, deliver notifications.",
    no_args_is_help=True,
)


def incidents(
    feature: Annotated[str | None, typer.Option("--feature", "-f", help="Only this feature.")] = None,
    open_only: Annotated[bool, typer.Option("--open", help="Only incidents not closed yet.")] = False,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=10_000, help="How many, newest first.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """List incidents, newest first (ids in full)."""
    with open_workspace() as ws:
        found = inc.list_incidents(ws, feature=feature, open_only=open_only, limit=limit)
    if as_json:
        print_json([incident_json(i) for i in found])
        return
    if not found:
        console.print(t("incidents.none"))
        return
    # Two lines a row (id over its time, feature and monitor over the title): the full id stays copyable and the
    # title keeps room to read at 80 columns, where six side-by-side columns folded every word.
    table = Table(title=t("incidents.title"), show_lines=True)
    table.add_column(f"{t('incidents.col.id')}\n{t('incidents.col.opened')}", no_wrap=True)
    table.add_column(t("incidents.col.stage"), no_wrap=True)
    table.add_column(f"{t('incidents.col.feature')} · {t('incidents.col.monitor')}\n{t('incidents.col.title')}",
                     overflow="fold", ratio=1)  # fmt: skip
    for i in found:
        stage = _stage(i.stage) + (f"\n{t('incidents.false_alarm')}" if i.false_alarm else "")
        where = escape(i.feature) + (f" · {escape(i.monitor)}" if i.monitor else "")
        table.add_row(f"{i.id}\n{_when(i.stages.get('detected') or i.opened_at)}", stage, f"{where}\n{escape(i.title)}")
    console.print(table)


@incident_app.command("show")
def show(incident_id: IdArgument, as_json: JsonOption = False) -> None:
    """Show an incident: stages with time and actor, impact, timeline, notifications and similar past incidents."""
    with open_workspace() as ws:
        incident = inc.get_incident(ws, incident_id)
        events = inc.timeline(ws, incident.id)
        similar = inc.similar_incidents(ws, incident)
        outbox = ws.store.outbox(incident.id)
    if as_json:
        print_json(
            incident_json(incident)
            | {
                "timeline": [_event_json(e) for e in events],
                "notifications": [_outbox_json(o) for o in outbox],
                "similar": [{"incident": incident_json(s), "score": score} for s, score in similar],
                "similarity": inc.SIMILARITY,
            }
        )
        return
    console.print(f"[bold]{escape(incident.title)}[/]  {incident.id}")
    for key, value in (
        ("feature", incident.feature), ("stage", _stage(incident.stage)), ("monitor", incident.monitor),
        ("metric", incident.metric), ("owner", incident.owner), ("runbook", incident.runbook),
    ):  # fmt: skip
        if value:
            console.print(f"  {t(f'incidents.field.{key}')}: {escape(str(value))}")
    if incident.false_alarm is not None:
        verdict = t("incidents.false_alarm") if incident.false_alarm else t("incidents.real")
        console.print(f"  {t('incidents.field.confirmed')}: {verdict}: {escape(incident.cause or '')}")
    if incident.decision:
        console.print(f"  {t('incidents.field.decision')}: {t(f'incidents.decision.{incident.decision}')}")
    ttd, ttm = incident.time_to_detect, incident.time_to_mitigate
    console.print(f"  {t('incidents.field.ttd')}: {_duration(ttd)} · {t('incidents.field.ttm')}: {_duration(ttm)}")
    stages = Table(title=t("incidents.stages_title"))
    for column in ("stage", "when", "by"):
        stages.add_column(t(f"incidents.col.{column}"))
    for stage in inc.STAGES:
        when = incident.stages.get(stage)
        stages.add_row(_stage(stage), _when(when) if when else "—", escape(incident.actors.get(stage, "")))
    console.print(stages)
    impact = incident.impact
    if impact is not None:
        cost = ", ".join(f"{v:.4g} {k}" for k, v in sorted(impact.cost.items())) or "0"
        console.print(t("incidents.impact_line", calls=impact.calls, users=impact.users, tenants=impact.tenants,
                        errors=impact.errors, people=impact.to_people, cost=cost,
                        start=_when(impact.start), end=_when(impact.end)))  # fmt: skip
    if events:
        table = Table(title=t("incidents.timeline_title"))
        for column in ("when", "event", "by", "text"):
            table.add_column(t(f"incidents.col.{column}"), overflow="fold")
        for e in events:
            kind = _stage(e.stage) if e.kind == "stage" and e.stage else t(f"incidents.event.{e.kind}")
            table.add_row(_when(e.at), kind, escape(e.actor), escape(e.text or ""))
        console.print(table)
    if outbox:
        table = Table(title=t("incidents.notifications_title"))
        for column in ("stage", "notifier", "status", "attempts", "error"):
            table.add_column(t(f"incidents.col.{column}"), overflow="fold")
        for o in outbox:
            table.add_row(_stage(o.stage), escape(o.notifier), t(f"incidents.status.{o.status}"), str(o.attempts),
                          escape(o.last_error or ""))  # fmt: skip
        console.print(table)
    if similar:
        console.print(t("incidents.similar_title", method=inc.SIMILARITY))
        for other, score in similar:
            cause = escape(other.cause or other.title)
            console.print(f"  {other.id}  {score:.2f}  {_when(other.opened_at)}  {cause}")


@incident_app.command("advance")
def advance(
    incident_id: IdArgument,
    stage: Annotated[str, typer.Argument(help="mitigated, announced, confirmed, impact_assessed, decided or closed.")],
    false_alarm: Annotated[
        bool | None, typer.Option("--false-alarm/--real", help="confirmed: a false alarm, or a real incident.")
    ] = None,
    cause: Annotated[
        str | None, typer.Option("--cause", help="confirmed: what caused it (or why it was a false alarm).")
    ] = None,
    decision: Annotated[
        str | None, typer.Option("--decision", help="decided: resume, rollback or stay_stopped.")
    ] = None,
    note: Annotated[
        str | None, typer.Option("--note", help="A note kept on the timeline and sent with the notification.")
    ] = None,
    actor: ActorOption = None,
    as_json: JsonOption = False,
) -> None:
    """Move INCIDENT to STAGE (never backwards); impact_assessed counts the traces of the incident's window."""
    name = stage.strip().lower().replace("-", "_")
    fields: dict[str, Any] = {}
    if false_alarm is not None:
        fields["false_alarm"] = false_alarm
    if cause is not None:
        fields["cause"] = cause
    if decision is not None:
        fields["decision"] = decision.strip().lower().replace("-", "_")
    with open_workspace() as ws:
        reached = name in inc.get_incident(ws, incident_id).stages
        incident = inc.advance(ws, incident_id, name, actor=_actor(actor), note=note, **fields)
    if as_json:
        print_json(incident_json(incident))
        return
    if reached:
        when = _when(incident.stages.get(name))
        console.print(t("incidents.already", id=incident.id, stage=_stage(name), when=when))
        return
    console.print(f"[green]✓[/] {t('incidents.advanced', id=incident.id, stage=_stage(incident.stage))}")


@incident_app.command("note")
def note(
    incident_id: IdArgument,
    text: Annotated[str, typer.Argument(help="The note.")],
    actor: ActorOption = None,
    as_json: JsonOption = False,
) -> None:
    """Add a note to INCIDENT's timeline."""
    with open_workspace() as ws:
        event = inc.add_note(ws, incident_id, text, actor=_actor(actor))
    if as_json:
        print_json(_event_json(event))
        return
    console.print(f"[green]✓[/] {t('incidents.noted', id=event.incident_id)}")


@incident_app.command("open")
def open_(
    feature: Annotated[str, typer.Argument(help="Feature name.")],
    title: Annotated[str, typer.Option("--title", help="What is wrong (required).")],
    runbook: Annotated[str | None, typer.Option("--runbook", help="Link to the runbook.")] = None,
    owner: Annotated[str | None, typer.Option("--owner", help="Who owns it.")] = None,
    actor: ActorOption = None,
    as_json: JsonOption = False,
) -> None:
    """Open an incident by hand (stage detected, now); the cord opens them by itself."""
    from andon.store.models import utcnow

    with open_workspace() as ws:
        who = _actor(actor)
        incident = inc.open_incident(ws, feature=feature, title=title, actor=who, detected_at=utcnow(),
                                     runbook=runbook, owner=owner)  # fmt: skip
    if as_json:
        print_json(incident_json(incident))
        return
    console.print(f"[green]✓[/] {t('incidents.opened', id=incident.id, feature=escape(feature))}")


@incident_app.command("deliver")
def deliver(as_json: JsonOption = False) -> None:
    """Deliver the notifications that are due now (the watcher does this by itself)."""
    with open_workspace() as ws:
        delivered = run(inc.deliver(ws))
        pending = len(ws.store.outbox(status="pending"))
    if as_json:
        print_json({"delivered": delivered, "pending": pending})
        return
    console.print(t("incidents.delivered", delivered=delivered, pending=pending))


def register(app: typer.Typer) -> None:
    """Add these commands to the ``andon`` app."""
    app.command()(incidents)
    app.add_typer(incident_app, name="incident")


def incident_json(incident: inc.Incident) -> dict[str, Any]:
    """An incident as plain JSON (times ISO 8601, durations in seconds)."""
    data = asdict(incident)
    data["opened_at"] = incident.opened_at.isoformat()
    data["closed_at"] = incident.closed_at.isoformat() if incident.closed_at else None
    data["stages"] = {stage: when.isoformat() for stage, when in incident.stages.items()}
    ttd, ttm = incident.time_to_detect, incident.time_to_mitigate
    data["time_to_detect_s"] = ttd.total_seconds() if ttd is not None else None
    data["time_to_mitigate_s"] = ttm.total_seconds() if ttm is not None else None
    return data


def _event_json(event: inc.IncidentEvent) -> dict[str, Any]:
    return asdict(event) | {"at": event.at.isoformat()}


def _outbox_json(row: OutboxRecord) -> dict[str, Any]:
    data = asdict(row)
    data.pop("lease_token", None)
    data.pop("payload", None)
    for name in ("next_attempt_at", "created_at", "delivered_at"):
        value = getattr(row, name)
        data[name] = value.isoformat() if value is not None else None
    return data


def _actor(actor: str | None) -> str:
    value = (actor or "").strip() or default_actor()
    if len(value) > 200:
        raise ConfigError(t("incidents.error.actor"), where="--actor")
    return value


def _stage(stage: str) -> str:
    return t(f"incidents.stage.{stage}")


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value is not None else ""


def _duration(value: timedelta | None) -> str:
    if value is None:
        return "—"
    seconds = round(value.total_seconds())
    minutes, secs = divmod(abs(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    sign = "-" if seconds < 0 else ""
    return f"{sign}{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{sign}{minutes}m{secs:02d}s"
