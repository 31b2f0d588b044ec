"""OKR reports: `andon okr export` (XLSX/CSV of the board), `andon okr remind` (stale check-ins), `andon okr digest`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from andon.cli._common import Listing, console, open_workspace, print_json, run
from andon.cli._options import JsonOption
from andon.errors import ConfigError
from andon.messages import current_language, t
from andon.okr import digest as digests
from andon.okr import export, reminders
from andon.watch.notify.base import Message
from andon.workspace import Workspace

PeriodOption = Annotated[
    str | None, typer.Option("--period", "-p", help="Only this period (default: every period under way today).")
]


def _language(ws: Workspace) -> str:
    """``--lang`` / ``ANDON_LANG`` when given, else the workspace's ``language:``."""
    return current_language() if os.environ.get("ANDON_LANG") else ws.config.language


def export_board(
    xlsx: Annotated[Path | None, typer.Option("--xlsx", help="Write the board as a spreadsheet to FILE.")] = None,
    csv: Annotated[Path | None, typer.Option("--csv", help="Write the board as CSV (UTF-8 with BOM) to FILE.")] = None,
    period: Annotated[
        list[str] | None,
        typer.Option("--period", "-p", help="A period to export, one sheet each (repeatable; default: all)."),
    ] = None,
    team: Annotated[str | None, typer.Option("--team", help="Only this team and the teams under it.")] = None,
) -> None:
    """Write the board (the ten columns, colour scales on achievement, one sheet per period) as XLSX and/or CSV."""
    if xlsx is None and csv is None:
        raise ConfigError(
            t("okr_report.export.no_file"), where="--xlsx / --csv", hint=t("okr_report.export.no_file_hint")
        )
    with open_workspace() as ws:
        language = _language(ws)
        boards = export.boards(ws.store, period or (), team=team)
    rows = sum(len(b.rows) for b in boards)
    for path, write in ((xlsx, export.write_xlsx), (csv, export.write_csv)):
        if path is not None:
            write(boards, path, language=language)
            console.print(
                f"[green]✓[/] {escape(t('okr_report.export.written', path=path, rows=rows, sheets=len(boards)))}"
            )


def remind(
    days: Annotated[
        int | None, typer.Option("--days", min=1, help="Days without a check-in (default: okr.remind.days, 7).")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only list who would be reminded; send nothing.")] = False,
    period: PeriodOption = None,
    as_json: JsonOption = False,
) -> None:
    """Remind the owner of every key result with no check-in for N days (once a day, through `notifiers:`)."""
    with open_workspace() as ws:
        result = run(reminders.remind(ws, days=days, period=period, dry_run=dry_run))
        language = _language(ws)
    if as_json:
        print_json(_remind_json(result))
        return
    if not result.stale:
        console.print(t("okr_report.remind.none"))
        return
    listing = Listing(title=t("okr_report.remind.listing", count=len(result.stale)))
    for key in ("key_result", "owner", "team", "days", "last"):
        listing.column(t(f"okr_report.remind.col.{key}"), "id" if key == "key_result" else "text")
    for item in result.stale:
        last = item.last_at.date().isoformat() if item.last_at else t("okr_report.remind.never")
        listing.row(escape(item.key_result.key or item.key_result.id), escape(item.key_result.owner),
                    escape(item.objective.team), str(item.days), last)  # fmt: skip
    listing.print(console)
    if dry_run:
        console.print(t("okr_report.remind.dry_run"))
    elif not result.notifiers:
        for item in result.stale:
            _print_message(reminders.reminder(item, language))
        console.print(t("okr_report.remind.printed"))
    else:
        console.print(t("okr_report.remind.sent", queued=result.queued, delivered=result.delivered,
                        notifiers=", ".join(result.notifiers)))  # fmt: skip


def _remind_json(result: reminders.RemindResult) -> dict[str, Any]:
    return {
        "day": result.day.isoformat(), "dry_run": result.dry_run, "notifiers": result.notifiers,
        "queued": result.queued, "delivered": result.delivered,
        "stale": [
            {"key_result": s.key_result.id, "key": s.key_result.key, "title": s.key_result.title,
             "owner": s.key_result.owner, "team": s.objective.team, "period": s.period.id, "days": s.days,
             "last_checkin_at": s.last_at.isoformat() if s.last_at else None, "last_value": s.last_value}
            for s in result.stale
        ],
    }  # fmt: skip


def digest(
    team: Annotated[str | None, typer.Option("--team", help="Only this team's digest.")] = None,
    period: PeriodOption = None,
    send: Annotated[
        bool, typer.Option("--send", help="Send it through `notifiers:` (once per team and week).")
    ] = False,
    summary: Annotated[
        bool, typer.Option("--summary/--no-summary", help="Add the summary of okr.digest.summary_feature, if set.")
    ] = True,
    as_json: JsonOption = False,
) -> None:
    """The weekly review per team: progress and its change, at-risk and stale key results, this week's work."""
    with open_workspace() as ws:
        result = run(_digest(ws, team, period, send, summary))
        language = _language(ws)
    if as_json:
        print_json(
            {"sent": result.sent, "queued": result.queued, "delivered": result.delivered,
             "already_sent": [f"{d.team.id}:{d.period.id}:{d.week}" for d in result.already_sent],
             "digests": [digests.digest_message(d, language).payload() for d in result.digests]}
        )  # fmt: skip
        return
    if not result.digests and not result.already_sent:
        console.print(t("okr_report.digest.none"))
    for d in result.digests:
        _print_message(digests.digest_message(d, language))
        if d.summary_error:
            console.print(f"[yellow]{escape(t('okr_report.digest.summary_failed', error=d.summary_error))}[/]")
    for d in result.already_sent:
        console.print(t("okr_report.digest.already_sent", team=d.team.name, week=d.week))
    if result.sent:
        console.print(t("okr_report.digest.sent", queued=result.queued, delivered=result.delivered,
                        notifiers=", ".join(result.notifiers)))  # fmt: skip


async def _digest(ws: Workspace, team: str | None, period: str | None, send: bool, summary: bool) -> Any:
    try:
        return await digests.digest(ws, team=team, period=period, send=send, summary=summary)
    finally:
        await ws.aclose_providers()


def _print_message(message: Message) -> None:
    console.print(f"[bold]{escape(message.title)}[/]")
    for name, value in message.fields:
        console.print(f"  {escape(name)}: {escape(value)}")
    console.print(escape(message.text))
    console.print()


def register(okr_app: typer.Typer) -> None:
    """Add export, remind and digest to ``andon okr``."""
    okr_app.command("export")(export_board)
    okr_app.command("remind")(remind)
    okr_app.command("digest")(digest)
