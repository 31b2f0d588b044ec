"""`andon okr sync`: read every bound key result of the open periods and record what its binding says."""

from __future__ import annotations

import logging
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from andon.cli._common import console, open_workspace, print_json
from andon.config.schema import parse_duration
from andon.errors import ConfigError
from andon.messages import t
from andon.okr.sync import SyncResult, summary_line, sync

_STYLE = {"recorded": "green", "would_record": "cyan", "skipped": "dim", "failed": "red"}
log = logging.getLogger("andon.okr.sync")


def sync_cmd(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Read the bindings and show the values; record nothing.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Record a check-in for every bound key result of the open periods (once per key result and day).

    A binding that fails records nothing and is listed with its reason; the exit code is then 1.
    """
    with open_workspace() as ws:
        result = sync(ws, dry_run=dry_run)
    if as_json:
        print_json(result.to_json())
    else:
        print_result(result)
    if result.failed:
        raise typer.Exit(1)


def print_result(result: SyncResult) -> None:
    """The table of what was recorded, skipped or failed, and a summary line."""
    if not result.outcomes:
        console.print(t("okr.sync.none"))
        return
    table = Table(show_lines=False)
    for column in ("key_result", "period", "binding", "status", "value", "detail"):
        table.add_column(t(f"okr.sync.col.{column}"), overflow="fold")
    for o in result.outcomes:
        value = "-" if o.value is None else f"{o.value:.6g}"
        status = f"[{_STYLE[o.status]}]{escape(t('okr.sync.status.' + o.status))}[/]"
        detail = o.reason or o.checkin or ""
        table.add_row(escape(f"{o.title} ({o.key_result})"), escape(o.period), escape(o.binding), status, value,
                      escape(detail))  # fmt: skip
    console.print(table)
    console.print(escape(summary_line(result)))
    if result.dry_run:
        console.print(t("okr.sync.dry_run"))


def parse_every(text: str, where: str = "--okr-sync") -> float:
    """``15m``, ``1h``, ``1d`` … as seconds; a ConfigError naming ``where`` otherwise."""
    try:
        return parse_duration(text)
    except ValueError:
        raise ConfigError(t("okr.sync.bad_every", value=text), where=where, hint=t("okr.sync.every_hint")) from None


def log_result(result: SyncResult) -> None:
    """One log line per sync round inside `andon serve`, and one per failure."""
    log.info(summary_line(result))
    for o in result.failed:
        log.warning("%s (%s): %s", o.title, o.key_result, o.reason)


def register(okr_app: typer.Typer) -> None:
    """Add `andon okr sync` to the `andon okr` group."""
    okr_app.command("sync")(sync_cmd)
