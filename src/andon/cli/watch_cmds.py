"""`andon watch`: run the watcher (monitors judged, the cord pulled), `andon watch status`, `andon watch backtest`."""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from andon.cli._common import console, open_workspace, print_json, run
from andon.config.schema import parse_duration
from andon.errors import ConfigError
from andon.messages import t

if TYPE_CHECKING:
    from andon.watch.watcher import Evaluated, Watcher

watch_app = typer.Typer(
    help="Watch monitors and pull the cord: run the watcher, show its status, backtest a monitor.",
    invoke_without_command=True,
    no_args_is_help=False,
)

_AGO = re.compile(r"^\s*(\d+(?:\.\d+)?\s*(?:ms|s|m|h|d|w))\s*(?:ago)?\s*$")


def parse_when(text: str, *, now: datetime, where: str) -> datetime:
    """An ISO 8601 date or time (naive is UTC), ``now``, or a duration meaning that long ago (``7d``, ``90m``)."""
    value = text.strip()
    if value.lower() == "now":
        return now
    match = _AGO.match(value)
    if match:
        return now - timedelta(seconds=parse_duration(match.group(1).replace(" ", "")))
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ConfigError(t("watch.cli.bad_time", value=text), where=where, hint=t("watch.cli.time_hint")) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


@watch_app.callback()
def watch(
    ctx: typer.Context,
    monitor: Annotated[
        list[str] | None, typer.Option("--monitor", "-m", help="Only this monitor (repeatable).")
    ] = None,
    once: Annotated[bool, typer.Option("--once", help="Evaluate every due monitor once and exit (for cron).")] = False,
    lease_ttl: Annotated[
        float, typer.Option("--lease-ttl", min=1.0, help="Seconds a watcher's hold on a monitor lasts without renewal.")
    ] = 60.0,
) -> None:
    """Run the watcher: measure each monitor at its interval, judge it, and pull the cord when it fails."""
    if ctx.invoked_subcommand is not None:
        return
    from andon.watch.watcher import Watcher

    with open_workspace() as ws:
        watcher = Watcher(ws, only=monitor, lease_ttl_s=lease_ttl)
        console.print(t("watch.cli.started", count=len(watcher.monitors), owner=watcher.owner))
        if once:
            results = run(_once(watcher))
            _print_results(results)
            return
        run(_forever(watcher))


async def _once(watcher: Watcher) -> list[Evaluated]:
    async with watcher:
        return list(await watcher.tick())


async def _forever(watcher: Watcher) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    await watcher.run(stop, on_tick=_print_results)
    console.print(t("watch.cli.stopped"))


def _print_results(results: list[Evaluated]) -> None:
    for result in results:
        point = result.step.point
        value = "-" if point.value is None else f"{point.value:.6g}"
        line = t("watch.cli.point", at=point.ts.strftime("%Y-%m-%d %H:%M:%S"), monitor=result.monitor,
                 status=result.step.status, value=value, reason=point.reason)  # fmt: skip
        if point.decision:
            line += f" → {t('watch.decision.' + point.decision)}"
        console.print(escape(line))
        for pull in result.pulls:
            console.print(escape("  " + t("watch.cli.pulled", action=pull.action, feature=pull.feature,
                                          incident=pull.incident_id or "-", summary=pull.details.get("summary", ""))))  # fmt: skip
        for error in result.errors:
            console.print(f"  [red]{escape(error)}[/]")


@watch_app.command("status")
def status(as_json: Annotated[bool, typer.Option("--json", help="Print the status as JSON.")] = False) -> None:
    """Each monitor's state, last value and last verdict (ids in full)."""
    from andon.watch.watcher import monitor_status

    with open_workspace() as ws:
        rows = monitor_status(ws)
    if as_json:
        print_json({"monitors": [r.to_json() for r in rows]})
        return
    if not rows:
        console.print(t("watch.no_monitors"))
        return
    table = Table(show_lines=False)
    for header in ("monitor", "feature", "state", "last value", "last verdict", "at", "lease"):
        table.add_column(t(f"watch.cli.col.{header.replace(' ', '_')}"), overflow="fold")
    for r in rows:
        value = "-" if r.last_value is None else f"{r.last_value:.6g}"
        state = r.status + (f" ({r.mode})" if r.mode != "active" else "")
        if r.feature_stopped:
            state += f", {t('watch.cli.feature_stopped')}"
        verdict = r.last_reason or "-"
        if r.last_decision:
            verdict += f" → {t('watch.decision.' + r.last_decision)}"
        if r.pending_pulls:
            verdict += f" ({t('watch.cli.pending', count=r.pending_pulls)})"
        table.add_row(
            escape(r.name),
            escape(r.feature or "-"),
            escape(state),
            value,
            escape(verdict),
            r.last_ts.strftime("%Y-%m-%d %H:%M:%S") if r.last_ts else "-",
            escape(r.lease_owner or "-"),
        )
    console.print(table)
    for r in rows:
        if r.breach:
            console.print(escape(t("watch.cli.breach", monitor=r.name, key=r.breach)))


@watch_app.command("backtest")
def backtest_cmd(
    monitor: Annotated[str, typer.Argument(help="A monitor in andon.yaml.")],
    since: Annotated[
        str, typer.Option("--from", help="Start: ISO date/time (UTC if no zone) or a duration ago, e.g. 7d.")
    ] = "7d",
    until: Annotated[str, typer.Option("--to", help="End: ISO date/time, a duration ago, or now.")] = "now",
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Replay stored history through MONITOR's detector and print when it would have fired."""
    from andon.watch.backtest import backtest
    from andon.watch.monitors import build_monitors

    now = datetime.now(UTC)
    start = parse_when(since, now=now, where="--from")
    end = parse_when(until, now=now, where="--to")
    with open_workspace() as ws:
        monitors = build_monitors(ws.config, path=ws.loaded.path)
        if monitor not in monitors:
            raise ConfigError(
                t("watch.unknown_monitor", names=monitor),
                where="MONITOR",
                hint=t("watch.hint.known", names=", ".join(monitors) or "-"),
            )
        result = run(backtest(ws, monitors[monitor], start, end))
    if as_json:
        print_json(result.to_json())
        return
    states = ", ".join(f"{k} {v}" for k, v in sorted(result.counts.items())) or "-"
    console.print(escape(t("watch.backtest.header", monitor=monitor, points=len(result.points),
                           start=start.isoformat(), end=end.isoformat(), replayed=result.replayed, states=states)))  # fmt: skip
    if not result.firings:
        console.print(t("watch.backtest.none"))
    for firing in result.firings:
        value = "-" if firing.value is None else f"{firing.value:.6g}"
        console.print(escape("  " + t("watch.backtest.firing", at=firing.at.isoformat(), since=firing.since.isoformat(),
                                      value=value, reason=firing.reason, decision=t("watch.decision." + firing.decision))))  # fmt: skip
    if result.false_alarms is not None:
        console.print(t("watch.backtest.false_alarms", count=result.false_alarms, monitor=monitor))


def register(app: typer.Typer) -> None:
    """Add `andon watch`."""
    app.add_typer(watch_app, name="watch")
