"""Commands that change what a feature serves: promote, rollback, live, stop, resume, data-use."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

import typer
from rich.markup import escape

from andon import deploy
from andon.cli._common import SHORT_ID, Listing, console, open_workspace, print_json, run
from andon.cli._options import ActorOption, JsonOption
from andon.deploy.gate import describe_criteria
from andon.messages import t
from andon.store.deploy import FeatureEvent, LiveRecord

# Stored words shown in tables; anything not listed here is shown as stored.
_SOURCES = {
    "promoted": "deploy.source.promoted",
    "serve.live": "deploy.source.serve_live",
}
_ACTIONS = {"promote": "deploy.action.promote", "rollback": "deploy.action.rollback"}
_EVENTS = {
    "stopped": "deploy.event.stopped",
    "resumed": "deploy.event.resumed",
    "cases_allowed": "deploy.event.cases_allowed",
    "cases_denied": "deploy.event.cases_denied",
}

data_use_app = typer.Typer(
    name="data-use",
    help="Whether a feature's production inputs may become test cases (off by default; an admin act, recorded).",
    no_args_is_help=True,
)


def promote(
    feature: Annotated[str, typer.Argument(help="Feature name.")],
    version: Annotated[str, typer.Argument(help="Version name, id or id prefix.")],
    force: Annotated[
        bool, typer.Option("--force", help="Promote even if its latest evaluation failed (needs --reason).")
    ] = False,
    reason: Annotated[str | None, typer.Option("--reason", help="Why; required with --force, recorded.")] = None,
    actor: ActorOption = None,
    as_json: JsonOption = False,
) -> None:
    """Make VERSION live; refused (exit 1) when its latest evaluation failed FEATURE's criteria."""
    with open_workspace() as ws:
        result = deploy.promote(ws, feature, version, force=force, actor=actor, reason=reason)
    verdict = result.verdict
    if as_json:
        print_json(
            {
                "feature": feature,
                "version_id": result.version_id,
                "version_name": result.version_name,
                "changed": result.changed,
                "previous": list(result.previous) if result.previous else None,
                "record": _live_json(result.record) if result.record else None,
                "verdict": asdict(verdict),
            }
        )
        return
    name = f"{escape(result.version_name)} ({result.version_id[:12]})"
    if not result.changed:
        console.print(t("deploy.already_live", feature=escape(feature), version=name))
    else:
        was = t("deploy.was", version=escape(result.previous[1])) if result.previous else ""
        console.print(f"[green]✓[/] {t('deploy.live_now', feature=escape(feature), version=name, was=was)}")
    if verdict.run_id is not None and verdict.passed:
        console.print(f"  {t('deploy.judged_on', run_id=verdict.run_id, n=len(verdict.criteria))}")
    if result.record is not None and result.record.criteria_changed:
        console.print(f"[yellow]  {t('deploy.criteria.forced', run_id=verdict.run_id)}[/]")
    elif result.record is not None and result.record.forced:
        console.print(f"[yellow]  {t('deploy.forced', run=_run_part(verdict.run_id))}[/]")
    if result.record is not None and result.record.forced:
        for line in verdict.failing:
            console.print(f"[yellow]    - {escape(line)}[/]")
        recorded = t(
            "deploy.forced_record", actor=escape(result.record.actor), reason=escape(result.record.reason or "")
        )
        console.print(f"  {recorded}")
    if result.record is not None:
        criteria = describe_criteria(result.record.criteria, result.record.criteria_sha256)
        console.print(f"[dim]  {t('deploy.criteria.recorded', criteria=escape(criteria))}[/]")
    if verdict.note:
        console.print(f"[dim]  {t('deploy.note', note=escape(verdict.note))}[/]")


def rollback(
    feature: Annotated[str, typer.Argument(help="Feature name.")],
    reason: Annotated[str | None, typer.Option("--reason", help="Why (recorded).")] = None,
    actor: ActorOption = None,
    as_json: JsonOption = False,
) -> None:
    """Serve again the version that was live before the current one."""
    with open_workspace() as ws:
        record = deploy.rollback(ws, feature, actor=actor, reason=reason)
    if as_json:
        print_json(_live_json(record))
        return
    name = f"{escape(record.version_name)} ({record.version_id[:12]})"
    console.print(f"[green]✓[/] {t('deploy.rolled_back', feature=escape(feature), version=name)}")


def live(
    feature: Annotated[str | None, typer.Argument(help="Feature name (default: every feature, one line each).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Show which version FEATURE serves, whether it is stopped, and its promotion history."""
    with open_workspace() as ws:
        names = [feature] if feature is not None else list(ws.config.features)
        states = [deploy.live_version(ws, name) for name in names]
        histories = {name: deploy.history(ws, name) for name in names} if feature is not None else {}
        events = deploy.state_events(ws, feature) if feature is not None else []
        allowed = ws.store.cases_allowed(feature) if feature is not None else False
    if as_json:
        out: list[dict[str, Any]] | dict[str, Any] = [_state_json(s) for s in states]
        if feature is not None:
            out = {
                **_state_json(states[0]),
                "cases_allowed": allowed,
                "history": [_live_json(r) for r in histories[feature]],
                "events": [_event_json(e) for e in events],
            }
        print_json(out)
        return
    if feature is None:
        table = Listing(title=t("deploy.live_title"))
        for column in ("feature", "version", "id", "source", "state"):
            table.column(t(f"deploy.col.{column}"), "id" if column == "id" else "text")
        for s in states:
            if s.version_id is None:
                table.row(escape(s.feature), "—", "", t("deploy.source.nothing"), "")
                continue
            running = (
                f"[red]{t('deploy.state.stopped')}[/]: {escape(s.stop_reason or '')}"
                if s.stopped
                else f"[green]{t('deploy.state.running')}[/]"
            )
            table.row(
                escape(s.feature), escape(s.version_name or ""), s.version_id[:SHORT_ID], _shown(_SOURCES, s.source or ""),
                running,
            )  # fmt: skip
        table.print(console)
        return
    state = states[0]
    if state.version_id is None or state.version_name is None:
        why = escape(state.why_not or "")
        console.print(t("deploy.not_live.line", feature=f"[bold]{escape(feature)}[/]", why=why))
        console.print(f"  {t('deploy.not_live.fix', feature=escape(feature))}")
    else:
        name = f"{escape(state.version_name)} ({state.version_id[:12]})"
        source = _shown(_SOURCES, state.source or "")
        console.print(t("deploy.live_line", feature=f"[bold]{escape(feature)}[/]", version=name, source=source))
    if state.stopped:
        stopped = f"[red]  {t('deploy.state.stopped')}[/]: {escape(state.stop_reason or '')}"
        console.print(f"{stopped} {t('deploy.to_review_queue')}")
    console.print(f"  {t('deploy.cases_allowed_line', allowed=t('cli.yes') if allowed else t('cli.no'))}")
    rows = histories[feature]
    if rows:
        table = Listing(title=t("deploy.history_title", feature=feature))
        for column in ("number", "when", "action", "version", "id", "by", "run", "reason"):
            table.column(t(f"deploy.col.{column}"), "id" if column in ("id", "run") else "text")
        for r in reversed(rows):
            action = _shown(_ACTIONS, r.action) + (f" [yellow]{t('deploy.forced_mark')}[/]" if r.forced else "")
            table.row(
                str(r.id), r.created_at.isoformat(timespec="seconds"), action, escape(r.version_name),
                r.version_id[:SHORT_ID], escape(r.actor), r.run_id or "", escape(r.reason or ""),
            )  # fmt: skip
        table.print(console)
        for r in rows:
            if r.criteria_changed:
                criteria = escape(describe_criteria(r.criteria, r.criteria_sha256))
                note = t("deploy.criteria.history_note", number=r.id, run_id=r.run_id, criteria=criteria)
                console.print(f"[yellow]  {note}[/]")
    if events:
        table = Listing(title=t("deploy.events_title", feature=feature))
        for column in ("when", "event", "by", "reason"):
            table.column(t(f"deploy.col.{column}"))
        for e in reversed(events):
            kind = _shown(_EVENTS, e.kind)
            table.row(e.created_at.isoformat(timespec="seconds"), kind, escape(e.actor), escape(e.reason or ""))
        table.print(console)


def stop(
    feature: Annotated[str, typer.Argument(help="Feature name.")],
    reason: Annotated[str, typer.Option("--reason", help="What is wrong (required, recorded).")],
    actor: ActorOption = None,
    incident: Annotated[
        bool, typer.Option("--incident/--no-incident", help="Open an incident (its notifications go out).")
    ] = True,
    as_json: JsonOption = False,
) -> None:
    """Pull the cord: until `andon resume`, FEATURE's calls go to its fallback (review queue, pinned version or off)."""
    opened: str | None = None
    with open_workspace() as ws:
        if incident and not ws.store.feature_stopped(feature)[0]:
            # The cord pulled by hand: stopped, and an incident opened (mitigated at once) whose stages notify.
            pulled = run(deploy.pull_cord(ws, feature, action="stop", actor=actor or "", reason=reason))
            opened = pulled.incident_id
            event = ws.store.latest_feature_event(feature, ("stopped",))
        else:
            event = deploy.stop_feature(ws, feature, reason=reason, actor=actor)
        current = ws.store.latest_feature_event(feature, ("stopped", "resumed"))
    _print_event(event, current, as_json, done=t("deploy.stop.done", feature=feature),
                 same=t("deploy.stop.same", feature=feature), extra={"incident_id": opened})  # fmt: skip
    if opened is not None and not as_json:
        console.print(t("cordroute.stop_incident", id=opened), markup=False, highlight=False)


def resume(
    feature: Annotated[str, typer.Argument(help="Feature name.")],
    reason: Annotated[str | None, typer.Option("--reason", help="Why it is safe again (recorded).")] = None,
    actor: ActorOption = None,
    as_json: JsonOption = False,
) -> None:
    """Serve FEATURE with the AI again after `andon stop`."""
    with open_workspace() as ws:
        event = deploy.resume_feature(ws, feature, reason=reason, actor=actor)
        current = ws.store.latest_feature_event(feature, ("stopped", "resumed"))
    _print_event(event, current, as_json, done=t("deploy.resume.done", feature=feature),
                 same=t("deploy.resume.same", feature=feature))  # fmt: skip


@data_use_app.command("allow-cases")
def allow_cases(
    feature: Annotated[str, typer.Argument(help="Feature name.")],
    reason: Annotated[str, typer.Option("--reason", help="Why this is allowed (required, recorded).")],
    actor: ActorOption = None,
    as_json: JsonOption = False,
) -> None:
    """Allow FEATURE's decided review items (production inputs) to become test cases."""
    _set_cases(feature, True, reason, actor, as_json)


@data_use_app.command("deny-cases")
def deny_cases(
    feature: Annotated[str, typer.Argument(help="Feature name.")],
    reason: Annotated[str | None, typer.Option("--reason", help="Why (recorded).")] = None,
    actor: ActorOption = None,
    as_json: JsonOption = False,
) -> None:
    """Stop FEATURE's production inputs from becoming test cases (the default)."""
    _set_cases(feature, False, reason, actor, as_json)


def _set_cases(feature: str, allowed: bool, reason: str | None, actor: str | None, as_json: bool) -> None:
    """Record the admin's data-use grant and say what changed."""
    word = "allow" if allowed else "deny"
    with open_workspace() as ws:
        event = deploy.set_cases_allowed(ws, feature, allowed, reason=reason, actor=actor)
        current = ws.store.latest_feature_event(feature, ("cases_allowed", "cases_denied"))
    _print_event(event, current, as_json, done=t(f"deploy.{word}.done", feature=feature),
                 same=t(f"deploy.{word}.same", feature=feature))  # fmt: skip


@data_use_app.command("show")
def show_data_use(
    feature: Annotated[str, typer.Argument(help="Feature name.")],
    as_json: JsonOption = False,
) -> None:
    """What FEATURE keeps of production inputs (andon.yaml) and whether they may become test cases."""
    with open_workspace() as ws:
        config = deploy.require_feature(ws, feature).serve.data_use
        grant = ws.store.latest_feature_event(feature, ("cases_allowed", "cases_denied"))
    out = {
        "feature": feature,
        "inputs": config.inputs,
        "redact": list(config.redact),
        "retention_days": config.retention_days,
        "cases_allowed": grant is not None and grant.kind == "cases_allowed",
        "grant": _event_json(grant) if grant else None,
    }
    if as_json:
        print_json(out)
        return
    console.print(t("deploy.data_use.title", feature=f"[bold]{escape(feature)}[/]"))
    redact = ", ".join(config.redact) or t("deploy.data_use.redact_nothing")
    console.print(f"  {t('deploy.data_use.inputs', inputs=config.inputs, redact=redact)}")
    console.print(f"  {t('deploy.data_use.retention', days=config.retention_days)}")
    allowed = t("cli.yes") if out["cases_allowed"] else t("cli.no")
    by = (
        t(
            "deploy.data_use.grant",
            kind=_shown(_EVENTS, grant.kind),
            actor=escape(grant.actor),
            when=grant.created_at.isoformat(timespec="seconds"),
        )
        if grant
        else ""
    )
    console.print(f"  {t('deploy.data_use.cases', allowed=allowed, grant=by)}")
    if grant and grant.reason:
        console.print(f"  {t('deploy.data_use.reason', reason=escape(grant.reason))}")


def register(app: typer.Typer) -> None:
    """Add these commands to the ``andon`` app."""
    app.command()(promote)
    app.command()(rollback)
    app.command()(live)
    app.command()(stop)
    app.command()(resume)
    app.add_typer(data_use_app, name="data-use")


def _print_event(
    event: FeatureEvent | None,
    current: FeatureEvent | None,
    as_json: bool,
    *,
    done: str,
    same: str,
    extra: dict[str, Any] | None = None,
) -> None:
    if as_json:
        shown = event or current
        print_json({"changed": event is not None, "event": _event_json(shown) if shown else None, **(extra or {})})
        return
    if event is not None:
        console.print(f"[green]✓[/] {escape(done)} ({t('deploy.recorded_by', actor=escape(event.actor))})")
        return
    since = ""
    if current is not None:
        when = current.created_at.isoformat(timespec="seconds")
        since = f" ({t('deploy.since', when=when, actor=escape(current.actor))}"
        since += f": {escape(current.reason)})" if current.reason else ")"
    console.print(t("deploy.unchanged", state=escape(same), since=since))


def _run_part(run_id: str | None) -> str:
    return t("deploy.forced_run", run_id=run_id) if run_id else t("deploy.never_evaluated")


def _shown(words: dict[str, str], value: str) -> str:
    """A stored word (source, action, event kind) in the current language; unknown ones as stored."""
    key = words.get(value)
    return t(key) if key else value


def _live_json(record: LiveRecord) -> dict[str, Any]:
    return asdict(record) | {"created_at": record.created_at.isoformat(), "criteria_changed": record.criteria_changed}


def _event_json(event: FeatureEvent) -> dict[str, Any]:
    return asdict(event) | {"created_at": event.created_at.isoformat()}


def _state_json(state: deploy.LiveState) -> dict[str, Any]:
    return {
        "feature": state.feature,
        "version_id": state.version_id,
        "version_name": state.version_name,
        "source": state.source,
        "stopped": state.stopped,
        "stop_reason": state.stop_reason,
        "why_not": state.why_not,
    }
