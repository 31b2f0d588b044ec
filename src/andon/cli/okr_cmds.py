"""``andon okr``: objectives and key results — create, list, show, check in (one value or a CSV), the board,
definitions as code (apply), and closing a period. Other OKR command modules add their commands to this group."""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from andon.cli._common import console, open_workspace, print_json
from andon.cli._options import ActorOption, JsonOption
from andon.deploy import default_actor
from andon.errors import ConfigError, NotFoundError
from andon.messages import t
from andon.okr import checkins as okr_checkins
from andon.okr import definitions
from andon.okr import objectives as okr
from andon.okr.board import Board, BoardRow, band, board_json, build_board, default_period, jsonable
from andon.okr.detail import key_result_detail
from andon.okr.progress import objective_progress, progress
from andon.store.okr import KeyResult, Objective

PeriodOption = Annotated[str | None, typer.Option("--period", "-p", help="Period, e.g. 2026Q4 or 2026.")]
TeamOption = Annotated[str | None, typer.Option("--team", "-t", help="Team id (its sub-teams too on the board).")]

okr_app = typer.Typer(
    name="okr",
    help="Objectives and key results: define, check in, and see the board.",
    no_args_is_help=True,
)
period_app = typer.Typer(
    name="period", help="OKR periods: list them, close one (its values freeze).", no_args_is_help=True
)
okr_app.add_typer(period_app)

# Commands of the other OKR areas, added to this group when their module is installed.
OTHER_MODULES = ("okr_sync_cmds", "okr_work_cmds", "okr_report_cmds")
_COLOURS = {"high": "green", "mid": "yellow", "low": "red", "none": "dim"}
_WIDE = 110  # terminal cells from which the board shows the owner column
_HEALTH_COLOURS = {"on_track": "green", "at_risk": "yellow", "off_track": "red", "no_data": "dim"}


@okr_app.command("create")
def create(
    title: Annotated[str, typer.Argument(help="The objective's title.")],
    team: Annotated[str, typer.Option("--team", "-t", help="Team id.")],
    period: Annotated[str, typer.Option("--period", "-p", help="Period, e.g. 2026Q4 or 2026.")],
    owner: Annotated[str, typer.Option("--owner", "-o", help="Who answers for it.")],
    description: Annotated[str, typer.Option("--description", "-d", help="Why it matters.")] = "",
    parent: Annotated[str | None, typer.Option("--parent", help="Objective it aligns to (id, prefix or key).")] = None,
    key: Annotated[str | None, typer.Option("--key", help="A stable key (as in a definitions file).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Create an objective of a team in a period."""
    with open_workspace() as ws:
        obj = okr.create_objective(
            ws.store,
            Objective(title=title, owner=owner, team=team, period=period, description=description, parent=parent,
                      key=key),
        )  # fmt: skip
    if as_json:
        print_json(_json(obj))
        return
    console.print(t("okr.cli.created_objective", id=obj.id, title=obj.title, period=obj.period))


@okr_app.command("add-kr")
def add_kr(
    objective: Annotated[str, typer.Argument(help="Objective id, unique id prefix or key.")],
    title: Annotated[str, typer.Argument(help="The key result's title.")],
    start: Annotated[float, typer.Option("--start", help="Value at the start of the period.")],
    target: Annotated[float, typer.Option("--target", help="Value to reach (for a range: its middle).")],
    unit: Annotated[str, typer.Option("--unit", "-u", help="Unit shown with values, e.g. % or min.")] = "",
    owner: Annotated[
        str | None, typer.Option("--owner", "-o", help="Who records it (default: the objective's owner).")
    ] = None,
    direction: Annotated[
        str | None, typer.Option("--direction", help="increase, decrease or range (default: from start to target).")
    ] = None,
    low: Annotated[float | None, typer.Option("--low", help="range: lowest good value.")] = None,
    high: Annotated[float | None, typer.Option("--high", help="range: highest good value.")] = None,
    weight: Annotated[float, typer.Option("--weight", help="Weight in the objective's progress.")] = 1.0,
    kind: Annotated[str, typer.Option("--kind", help="metric or milestone.")] = "metric",
    description: Annotated[
        str, typer.Option("--description", "-d", help="Why it matters and how it is measured.")
    ] = "",
    key: Annotated[str | None, typer.Option("--key", help="A stable key (as in a definitions file).")] = None,
    actor: ActorOption = None,
    as_json: JsonOption = False,
) -> None:
    """Add a key result to an objective."""
    with open_workspace() as ws:
        obj = ws.store.objective(objective)
        chosen = direction or ("decrease" if target < start else "increase")
        kr = okr.add_key_result(
            ws.store,
            KeyResult(
                objective=obj.id, title=title, owner=owner or obj.owner, start=start, target=target, unit=unit,
                direction=chosen,  # type: ignore[arg-type]  # checked by add_key_result
                low=low, high=high, weight=weight, kind=kind,  # type: ignore[arg-type]  # checked too
                description=description, key=key,
            ),
            actor=actor or default_actor(),
        )  # fmt: skip
    if as_json:
        print_json(_json(kr))
        return
    console.print(t("okr.cli.created_kr", id=kr.id, title=kr.title))


@okr_app.command("list")
def list_(period: PeriodOption = None, team: TeamOption = None, as_json: JsonOption = False) -> None:
    """List objectives with their progress."""
    with open_workspace() as ws:
        found = ws.store.objectives(period=period, team=team)
        rows = []
        for obj in found:
            krs = ws.store.key_results(objective=obj.id)
            pairs = []
            for kr in krs:
                latest = ws.store.latest_checkin(kr.id)
                pairs.append((None if latest is None else progress(kr, latest.value), kr.weight))
            rows.append((obj, len(krs), objective_progress(pairs)))
    if as_json:
        print_json([_json(obj) | {"key_results": n, "progress": p} for obj, n, p in rows])
        return
    if not rows:
        console.print(t("okr.cli.none"))
        return
    table = Table(title=t("okr.cli.objectives_title"))
    for column in ("id", "period", "team", "objective", "owner", "krs", "progress"):
        table.add_column(t(f"okr.col.{column}"), no_wrap=column == "id", overflow="fold")
    for obj, n, p in rows:
        table.add_row(obj.id, obj.period, escape(obj.team), escape(obj.title), escape(obj.owner), str(n), _pct(p))
    console.print(table)


@okr_app.command("show")
def show(
    ref: Annotated[str, typer.Argument(help="Objective or key result: id, unique id prefix or key.")],
    as_json: JsonOption = False,
) -> None:
    """Show an objective with its key results, or a key result with its check-ins and history."""
    with open_workspace() as ws:
        try:
            obj: Objective | None = ws.store.objective(ref)
        except NotFoundError:
            obj = None
        if obj is not None:
            krs = ws.store.key_results(objective=obj.id)
            latest = {kr.id: ws.store.latest_checkin(kr.id) for kr in krs}
            if as_json:
                print_json(_json(obj) | {"key_results": [_kr_json(kr, latest[kr.id]) for kr in krs]})
                return
            _print_objective(obj, krs, latest)
            return
        detail = key_result_detail(ws.store, ref)
        kr, parent, events = detail.kr, detail.objective, detail.events
        checkins = [row.checkin for row in detail.checkins]
    if as_json:
        print_json(
            _kr_json(kr, checkins[-1] if checkins else None)
            | {"checkins": [_json(c) for c in checkins], "history": [_json(e) for e in events]}
        )
        return
    _print_kr(kr, parent, checkins, events)


@okr_app.command("checkin")
def checkin(
    key_result: Annotated[str | None, typer.Argument(help="Key result: id, unique id prefix or key.")] = None,
    value: Annotated[float | None, typer.Argument(help="The current value.")] = None,
    confidence: Annotated[
        int | None, typer.Option("--confidence", "-c", min=1, max=10, help="How sure the target will be met, 1–10.")
    ] = None,
    comment: Annotated[str, typer.Option("--comment", "-m", help="What moved it, or what blocks it.")] = "",
    author: Annotated[
        str | None, typer.Option("--author", help="Who records it (default: $USER, else git config user.name).")
    ] = None,
    csv_file: Annotated[
        Path | None, typer.Option("--csv", help="Upload a CSV: key_result,value[,confidence,comment,author,at,step].")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Record the current value of a key result, or upload many from a CSV (all rows or none)."""
    who = author or default_actor()
    with open_workspace() as ws:
        if csv_file is not None:
            if key_result is not None or value is not None:
                raise ConfigError(t("okr.cli.csv_or_value"), where="--csv")
            result = okr_checkins.upload_csv(ws.store, csv_file, author=who)
            if as_json:
                print_json({"written": [_json(c) for c in result.written], "skipped": result.skipped})
                return
            console.print(t("okr.cli.csv_done", written=len(result.written), skipped=result.skipped, path=csv_file))
            return
        if key_result is None or value is None:
            raise ConfigError(t("okr.cli.need_value"), hint=t("okr.cli.need_value_hint"))
        kr = ws.store.key_result(key_result)
        chk = okr.record_checkin(ws.store, kr.id, value, confidence=confidence, comment=comment, author=who)
    if as_json:
        print_json(_json(chk) if chk else None)
        return
    achieved = progress(kr, value)
    console.print(t("okr.cli.checked_in", title=kr.title, value=_num(value), unit=kr.unit, progress=_pct(achieved)))


@okr_app.command("event")
def event(
    key_result: Annotated[str, typer.Argument(help="Key result: id, unique id prefix or key.")],
    text: Annotated[str, typer.Argument(help="What happened (a launch, an outage, a changed plan).")],
    actor: ActorOption = None,
) -> None:
    """Add a major event to a key result's history."""
    with open_workspace() as ws:
        recorded = okr.record_event(ws.store, key_result, text, actor=actor or default_actor())
    console.print(t("okr.cli.event_added", id=recorded.key_result))


@okr_app.command("board")
def board(
    period: PeriodOption = None,
    team: TeamOption = None,
    details: Annotated[
        bool, typer.Option("--details", help="Also show each key result's description and history.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Draw the period × team / key-result board, coloured by achievement (default: the current quarter)."""
    with open_workspace() as ws:
        chosen = period or default_period(ws.store)
        result = build_board(ws.store, chosen, team=team)
    if as_json:
        print_json(board_json(result))
        return
    print_board(result, details=details)


@okr_app.command("apply")
def apply(
    file: Annotated[Path, typer.Argument(help="YAML with teams:, periods: and objectives: (each with key_results:).")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print what would change; write nothing.")] = False,
    actor: ActorOption = None,
) -> None:
    """Apply objectives written as code: a diff of what changes, then the changes (idempotent by key)."""
    with open_workspace() as ws:
        plan = definitions.plan(ws.store, file)
        if plan.empty:
            console.print(t("okr.apply.nothing", path=file))
            return
        for line in definitions.diff_lines(plan):
            style = "green" if line.startswith("+") else "yellow" if line.startswith("~") else None
            console.print(Text(line, style=style or ""))
        if dry_run:
            console.print(t("okr.apply.dry_run"))
            return
        definitions.apply(ws.store, plan, actor=actor or default_actor())
    console.print(t("okr.apply.applied", path=file))


@period_app.command("list")
def period_list(as_json: JsonOption = False) -> None:
    """List periods and whether they are closed."""
    with open_workspace() as ws:
        found = ws.store.periods()
    if as_json:
        print_json([_json(p) for p in found])
        return
    table = Table(title=t("okr.cli.periods_title"))
    for column in ("period", "starts", "ends", "closed"):
        table.add_column(t(f"okr.col.{column}"))
    for p in found:
        closed = p.closed_at.isoformat(timespec="minutes") if p.closed_at else "—"
        table.add_row(p.id, p.starts.isoformat(), p.ends.isoformat(), closed)
    console.print(table)


@period_app.command("close")
def period_close(
    period: Annotated[str, typer.Argument(help="Period, e.g. 2026Q3.")],
    at: Annotated[datetime | None, typer.Option("--at", help="When it closed (default: now); ISO 8601.")] = None,
) -> None:
    """Close a period: its objectives, key results and check-ins are frozen from then on."""
    when = datetime.now(UTC) if at is None else (at.replace(tzinfo=UTC) if at.tzinfo is None else at)
    with open_workspace() as ws:
        closed = ws.store.close_period(period, when)
    assert closed.closed_at is not None
    console.print(t("okr.cli.closed", period=closed.id, at=closed.closed_at.isoformat(timespec="minutes")))


# rendering


def print_board(result: Board, *, details: bool = False) -> None:
    """The board as a terminal grid: one row per key result, actuals and achievement coloured by band."""
    if not result.rows:
        console.print(t("okr.cli.board_empty", period=result.period))
        return
    title = t("okr.cli.board_title", period=result.period, elapsed=_pct(result.elapsed))
    table = Table(title=title, show_lines=details)
    narrow = console.width < _WIDE  # the owner column goes first when the terminal is narrow
    for column in ("team", "objective", "key_result", "owner", "start", "target"):
        if column == "owner" and narrow:
            continue
        numeric = column in ("start", "target")
        table.add_column(t(f"okr.col.{column}"), overflow="fold", justify="right" if numeric else "left",
                         no_wrap=numeric, min_width=None if numeric else 8, ratio=None if numeric else 1)  # fmt: skip
    for label in result.steps:
        table.add_column(label, justify="right", no_wrap=True)
    table.add_column(t("okr.col.achievement"), justify="right", no_wrap=True)
    table.add_column(t("okr.col.health"), overflow="fold", min_width=6)
    last: tuple[str, str] = ("", "")
    for row in result.rows:
        team = row.team if (row.team, "") != (last[0], "") else ""
        objective = row.objective if (row.team, row.objective) != last else ""
        if (row.team, row.objective) != last and row.objective_id in result.objective_progress:
            objective = f"{row.objective} ({_pct(result.objective_progress[row.objective_id])})"
        last = (row.team, row.objective)
        cells: list[str | Text] = [escape(team), escape(objective), _kr_cell(row, details)]
        cells += [] if narrow else [escape(row.owner)]
        cells += [_num(row.start), _num(row.target)]
        for (_, value), achieved in zip(row.actuals, row.step_achievement, strict=True):
            cells.append(Text("—" if value is None else _num(value), style=_COLOURS[band(achieved)]))
        cells.append(Text(_pct(row.achievement), style=f"bold {_COLOURS[band(row.achievement)]}"))
        cells.append(Text(t(f"okr.health.{row.health}"), style=_HEALTH_COLOURS.get(row.health, "")))
        table.add_row(*cells)
    console.print(table)
    teams = [f"{name} {_pct(result.team_progress.get(tid))}" for tid, name in _team_names(result)]
    console.print(t("okr.cli.board_teams", teams=" · ".join(teams)))


def _kr_cell(row: BoardRow, details: bool) -> str:
    text = escape(row.key_result) + (f" [dim]({escape(row.unit)})[/]" if row.unit else "")
    if details:
        if row.description:
            text += f"\n[dim]{escape(row.description)}[/]"
        for line in row.history:
            text += f"\n[dim]· {escape(line)}[/]"
    return text


def _team_names(result: Board) -> list[tuple[str, str]]:
    seen: dict[str, str] = {}
    for row in result.rows:
        seen.setdefault(row.team_id, row.team)
    return list(seen.items())


def _print_objective(obj: Objective, krs: list[KeyResult], latest: dict[str, Any]) -> None:
    console.print(f"[bold]{escape(obj.title)}[/]  {obj.id}")
    for name in ("team", "period", "owner", "key", "parent", "description"):
        value = getattr(obj, name)
        if value:
            console.print(f"  {t(f'okr.col.{name}')}: {escape(str(value))}")
    table = Table(title=t("okr.cli.krs_title"))
    for column in ("id", "key_result", "owner", "start", "target", "current", "achievement"):
        table.add_column(t(f"okr.col.{column}"), no_wrap=column == "id", overflow="fold")
    for kr in krs:
        chk = latest.get(kr.id)
        achieved = progress(kr, chk.value) if chk else None
        current = _num(chk.value) if chk else "—"
        table.add_row(kr.id, escape(kr.title), escape(kr.owner), _num(kr.start), _num(kr.target), current,
                      Text(_pct(achieved), style=_COLOURS[band(achieved)]))  # fmt: skip
    console.print(table)


def _print_kr(kr: KeyResult, parent: Objective, checkins: list[Any], events: list[Any]) -> None:
    console.print(f"[bold]{escape(kr.title)}[/]  {kr.id}")
    console.print(f"  {t('okr.col.objective')}: {escape(parent.title)} ({parent.id})")
    span = f"{_num(kr.start)} → {_num(kr.target)} {escape(kr.unit)}"
    if kr.direction == "range":
        span += f" [{_num(kr.low)}..{_num(kr.high)}]"
    console.print(f"  {t('okr.col.target')}: {span} ({kr.direction}, {t('okr.col.weight')} {_num(kr.weight)})")
    console.print(f"  {t('okr.col.owner')}: {escape(kr.owner)}")
    if kr.description:
        console.print(f"  {t('okr.col.description')}: {escape(kr.description)}")
    if kr.binding:
        shown = ", ".join(f"{k}: {v}" for k, v in kr.binding.items())
        console.print(f"  {t('okr.col.binding')}: {escape(shown)}")
    table = Table(title=t("okr.cli.checkins_title"))
    for column in ("when", "value", "achievement", "confidence", "author", "source", "comment"):
        table.add_column(t(f"okr.col.{column}"), overflow="fold")
    for c in checkins:
        achieved = progress(kr, c.value)
        table.add_row(_when(c.created_at), _num(c.value),
                      Text(_pct(achieved), style=_COLOURS[band(achieved)]), str(c.confidence or "—"),
                      escape(c.author), escape(c.source), escape(c.comment))  # fmt: skip
    console.print(table if checkins else t("okr.cli.no_checkins"))
    if events:
        history = Table(title=t("okr.cli.history_title"))
        for column in ("when", "event", "author", "detail"):
            history.add_column(t(f"okr.col.{column}"), overflow="fold")
        for e in events:
            history.add_row(_when(e.created_at), t(f"okr.event.kind.{e.kind}"),
                            escape(e.actor), escape(e.detail))  # fmt: skip
        console.print(history)


def _kr_json(kr: KeyResult, latest: Any) -> dict[str, Any]:
    achieved = progress(kr, latest.value) if latest is not None else None
    return _json(kr) | {"current": latest.value if latest else None, "progress": achieved}


def _json(record: Any) -> dict[str, Any]:
    shown: dict[str, Any] = jsonable(asdict(record))
    return shown


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M")


def _num(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.4g}"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def register(app: typer.Typer) -> None:
    """Add ``andon okr`` and, when installed, the sync, work and report commands into it."""
    for name in OTHER_MODULES:
        if importlib.util.find_spec(f"andon.cli.{name}") is not None:
            importlib.import_module(f"andon.cli.{name}").register(okr_app)
    app.add_typer(okr_app)
