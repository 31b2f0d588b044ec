"""`andon rollout start|status|pause|resume|abort|promote`: canary rollouts of a feature's new version."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

import typer
from rich.markup import escape

from andon.cli._common import Listing, console, open_workspace, print_json
from andon.cli._options import ActorOption, FeatureArg, JsonOption, ReasonOption
from andon.deploy import rollout as rollouts
from andon.deploy.assignment import BUCKETS
from andon.messages import t
from andon.store.rollouts import RolloutEvent, RolloutRecord

rollout_app = typer.Typer(
    help="Canary rollouts: a new version takes a growing share of traffic, judged at each step.",
    no_args_is_help=True,
)


@rollout_app.command()
def start(
    feature: FeatureArg,
    version: Annotated[str, typer.Argument(help="The canary: version name, id or id prefix.")],
    force: Annotated[
        bool, typer.Option("--force", help="Start even if its latest evaluation failed (needs --reason).")
    ] = False,
    reason: ReasonOption = None,
    actor: ActorOption = None,
    as_json: JsonOption = False,
) -> None:
    """Start a canary of VERSION against FEATURE's live version, at the first of its `rollout:` steps."""
    with open_workspace() as ws:
        record = rollouts.start_rollout(ws, feature, version, force=force, actor=actor, reason=reason)
    _done(record, "rollout.cli.started", as_json)


@rollout_app.command()
def status(feature: FeatureArg, as_json: JsonOption = False) -> None:
    """Show FEATURE's newest rollout: its step, weight, status, and every event with its evidence."""
    with open_workspace() as ws:
        record, events = rollouts.rollout_status(ws, feature)
    if as_json:
        print_json(None if record is None else _json(record) | {"events": [_event_json(e) for e in events]})
        return
    if record is None:
        console.print(t("rollout.cli.none", feature=escape(feature)))
        return
    _line(record)
    table = Listing(title=t("rollout.cli.events_title", id=record.id))
    for column in ("when", "step", "event", "by", "detail"):
        table.column(t(f"rollout.cli.col.{column}"), "clip" if column == "detail" else "text")
    for event in events:
        table.row(event.at.isoformat(timespec="seconds"), str(event.step + 1), escape(event.kind),
                  escape(event.actor), escape(_detail(event)))  # fmt: skip
    table.print(console)


@rollout_app.command()
def pause(
    feature: FeatureArg, reason: ReasonOption = None, actor: ActorOption = None, as_json: JsonOption = False
) -> None:
    """Hold FEATURE's rollout at its step (the canary keeps its share)."""
    with open_workspace() as ws:
        record = rollouts.pause_rollout(ws, feature, actor=actor, reason=reason)
    _done(record, "rollout.cli.paused", as_json)


@rollout_app.command()
def resume(
    feature: FeatureArg, reason: ReasonOption = None, actor: ActorOption = None, as_json: JsonOption = False
) -> None:
    """Go on with a paused rollout; its step is judged on a fresh window."""
    with open_workspace() as ws:
        record = rollouts.resume_rollout(ws, feature, actor=actor, reason=reason)
    _done(record, "rollout.cli.resumed", as_json)


@rollout_app.command()
def abort(
    feature: FeatureArg,
    reason: Annotated[str, typer.Option("--reason", help="Why (required, recorded).")],
    actor: ActorOption = None,
    as_json: JsonOption = False,
) -> None:
    """End FEATURE's rollout: all traffic back to the stable version."""
    with open_workspace() as ws:
        record = rollouts.abort_rollout(ws, feature, actor=actor, reason=reason)
    _done(record, "rollout.cli.aborted", as_json)


@rollout_app.command()
def promote(
    feature: FeatureArg, reason: ReasonOption = None, actor: ActorOption = None, as_json: JsonOption = False
) -> None:
    """Skip the remaining steps and make the canary live now (its history row names the rollout)."""
    with open_workspace() as ws:
        record = rollouts.promote_rollout(ws, feature, actor=actor, reason=reason)
    _done(record, "rollout.cli.promoted", as_json)


def _done(record: RolloutRecord, key: str, as_json: bool) -> None:
    if as_json:
        print_json(_json(record))
        return
    console.print(f"[green]✓[/] {t(key, feature=escape(record.feature), id=record.id)}")
    _line(record)


def _line(record: RolloutRecord) -> None:
    steps = len(record.settings["config"]["steps"])
    console.print(t("rollout.cli.line", id=record.id, feature=escape(record.feature), status=record.status,
                    step=record.step + 1, steps=steps, weight=f"{record.weight * 100 / BUCKETS:g}",
                    canary=escape(record.canary_name), stable=escape(record.stable_name)))  # fmt: skip


def _detail(event: RolloutEvent) -> str:
    if event.kind == "analysis":
        data = event.data
        metrics = ", ".join(f"{m['metric']}={m['classification']}" for m in data.get("metrics", []))
        return t("rollout.cli.analysis", outcome=data.get("outcome"), score=data.get("score"), metrics=metrics)
    return event.text or ""


def _json(record: RolloutRecord) -> dict[str, Any]:
    out = asdict(record)
    for name in ("step_started_at", "created_at", "updated_at", "finished_at"):
        value = getattr(record, name)
        out[name] = value.isoformat() if value is not None else None
    return out


def _event_json(event: RolloutEvent) -> dict[str, Any]:
    return asdict(event) | {"at": event.at.isoformat()}


def register(app: typer.Typer) -> None:
    """Add `andon rollout`."""
    app.add_typer(rollout_app, name="rollout")
