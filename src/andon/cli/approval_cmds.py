"""`andon review approve|reject|resume`: decide a parked tool call (issue 14) and resume its run."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.markup import escape

from andon.cli._common import console, json_object, open_workspace, print_json, run
from andon.cli._options import JsonOption
from andon.cli.review_cmds import review_app
from andon.deploy import default_actor
from andon.engine.approval import ApprovalStatus
from andon.gateway.tracing import storable_output
from andon.messages import t
from andon.review import queue
from andon.review.tool_approval import Resumed, decide_tool_call, resume
from andon.workspace import Workspace

ReviewIdArgument = Annotated[str, typer.Argument(help="Review id (rev_…) or a unique prefix.")]
ActorOption = Annotated[
    str | None, typer.Option("--actor", help="Who is acting (default: $USER, else git config user.name).")
]


def approve(
    review_id: ReviewIdArgument,
    arguments: Annotated[
        str | None,
        typer.Option("--arguments", "-a", help="Run the tool with these arguments instead (a JSON object)."),
    ] = None,
    reason: Annotated[str | None, typer.Option("--reason", "-m", help="Why (recorded).")] = None,
    actor: ActorOption = None,
    as_json: JsonOption = False,
) -> None:
    """Approve a parked tool call (as asked, or with edited arguments); the run goes on to its answer."""
    edited = _parse_arguments(arguments) if arguments is not None else None
    status: ApprovalStatus = "edited" if edited is not None else "approved"
    _decide(review_id, status, actor, edited, reason, as_json)


def reject(
    review_id: ReviewIdArgument,
    reason: Annotated[str, typer.Option("--reason", "-m", help="Why (the model is told).")],
    actor: ActorOption = None,
    as_json: JsonOption = False,
) -> None:
    """Reject a parked tool call: the model gets the reason as the tool's error and answers without it."""
    _decide(review_id, "rejected", actor, None, reason, as_json)


def resume_(review_id: ReviewIdArgument, as_json: JsonOption = False) -> None:
    """Resume the run of a decided tool call whose answer never landed (the resuming process stopped)."""
    with open_workspace() as ws:
        item = queue.get(ws.store, review_id)
        result = run(resume(ws, item, store_output=_store_output(ws)))
    _show(result, as_json)


def _decide(
    review_id: str, status: ApprovalStatus, actor: str | None, arguments: Any, reason: str | None, as_json: bool
) -> None:
    with open_workspace() as ws:
        result = run(
            decide_tool_call(
                ws, review_id, status=status, actor=actor or default_actor(), arguments=arguments, reason=reason,
                store_output=_store_output(ws),
            )
        )  # fmt: skip
    _show(result, as_json)


def _store_output(ws: Workspace) -> Any:
    return lambda feature, record: storable_output(ws.config, feature, record)


def _show(result: Resumed, as_json: bool) -> None:
    if as_json:
        print_json(
            {
                "review": result.item.to_json(),
                "trace_id": result.trace_id,
                "status": result.status,
                "output_text": result.output_text,
                "output_json": result.output_json,
                "error": result.error,
                "next_review_id": result.next_review_id,
            }
        )
        return
    console.print(f"[green]✓[/] {t('approve14.cli.decided', id=result.item.id, status=result.item.label or '-')}")
    if result.next_review_id is not None:
        console.print(t("approve14.cli.parked_again", id=result.next_review_id))
    elif result.status == "ok":
        answer = result.output_text if result.output_text is not None else json.dumps(result.output_json)
        console.print(t("approve14.cli.answer", trace=result.trace_id, answer=escape(answer or "")))
    else:
        console.print(f"[red]{t('approve14.cli.failed', trace=result.trace_id, error=escape(result.error or '-'))}[/]")


def _parse_arguments(text: str) -> dict[str, Any]:
    keys = ("approve14.cli.arguments_json", "approve14.cli.arguments_hint", "approve14.cli.arguments_object")
    return json_object(text, "--arguments", (*keys, "approve14.cli.arguments_hint"))


def register(app: typer.Typer) -> None:
    """Add ``andon review approve|reject|resume`` to the review group (``app`` is the ``andon`` app)."""
    review_app.command("approve")(approve)
    review_app.command("reject")(reject)
    review_app.command("resume")(resume_)
