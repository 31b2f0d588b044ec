"""`andon review`: the human review queue in the terminal — list, show, decide, work through it, export."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.cells import cell_len
from rich.console import Console
from rich.markup import escape
from rich.prompt import Prompt
from rich.table import Table

from andon.cli._common import console, open_workspace, print_json
from andon.config.schema import FeatureConfig
from andon.deploy import default_actor, require_feature
from andon.errors import ConfigError
from andon.messages import t
from andon.review import queue
from andon.review.export import export_decisions
from andon.review.queue import AlreadyDecidedError, ReviewItem
from andon.store import Store

review_app = typer.Typer(
    name="review",
    help="The human review queue: items the gateway routed to people, with the AI's suggestion.",
    no_args_is_help=True,
)
ActorOption = Annotated[
    str | None, typer.Option("--actor", help="Who decides (default: $USER, else git config user.name).")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print as JSON.")]
_PAGE = 50
_WIDE = 120  # columns from which `review list` shows feature, reason and time too


@review_app.command("list")
def list_(
    feature: Annotated[str | None, typer.Argument(help="Only this feature's items.")] = None,
    status: Annotated[str, typer.Option("--status", help="pending, decided or all.")] = "pending",
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="At most this many.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """List review items, oldest first (pending ones by default)."""
    with open_workspace() as ws:
        if feature is not None:
            require_feature(ws, feature)
        items = queue.list_items(ws.store, feature, status=None if status == "all" else status, limit=limit)
        counts = ws.store.review_counts(feature)
    if as_json:
        print_json([item.to_json() for item in items])
        return
    pending, decided = counts.get("pending", 0), counts.get("decided", 0)
    title = (
        t("review.title_of", feature=feature, pending=pending, decided=decided)
        if feature
        else t("review.title", pending=pending, decided=decided)
    )
    table = Table(title=title)
    wide = console.width >= _WIDE  # narrow terminals keep what identifies an item and what to decide
    columns = [
        "id",
        *(["feature"] if feature is None and wide else []),
        "status",
        *(["reason", "created"] if wide else []),
    ]
    rows = [
        {
            "id": item.id,
            "feature": escape(item.feature),
            "status": item.status,
            "reason": item.reason,
            "created": item.created_at.strftime("%Y-%m-%d %H:%M"),
        }
        for item in items
    ]
    used = 1
    for column in columns:
        # ids are what `andon review show/decide` take: these columns are never cut
        header = t(f"review.col.{column}")
        width = max([cell_len(header), *(cell_len(r[column]) for r in rows)])  # cells: Korean is double width
        table.add_column(header, no_wrap=True, width=width)
        used += width + 3  # padding and border
    rest = max(14, (console.width - used) // 2 - 3)  # the two free-text columns share what is left
    table.add_column(t("review.col.suggestion"), no_wrap=True, overflow="ellipsis", width=rest)
    table.add_column(t("review.col.decision"), no_wrap=True, overflow="ellipsis", width=rest)
    for item, row in zip(items, rows, strict=True):
        decided_text = escape(item.label or (_short(item.decision) if item.decision is not None else ""))
        if item.status == "decided":
            decided_text += f" [dim]{t('review.by', actor=escape(item.decided_by or ''))}[/]"
        table.add_row(*(row[c] for c in columns), escape(_short(_suggestion(item))), decided_text)
    console.print(table)
    if not items:
        console.print(f"[dim]{t('review.empty')}[/]")


@review_app.command("show")
def show(
    review_id: Annotated[str, typer.Argument(help="Review id (rev_…) or a unique prefix.")],
    as_json: JsonOption = False,
) -> None:
    """Show one item: its input, the AI's suggestion, and the decision if there is one."""
    with open_workspace() as ws:
        item = queue.get(ws.store, review_id)
        config = ws.config.features.get(item.feature)
    if as_json:
        print_json(item.to_json())
        return
    _print_item(console, item, config)


@review_app.command("decide")
def decide(
    review_id: Annotated[str, typer.Argument(help="Review id (rev_…) or a unique prefix.")],
    label: Annotated[str | None, typer.Option("--label", "-l", help="The human label, e.g. approve.")] = None,
    decision: Annotated[
        str | None,
        typer.Option("--decision", "-d", help='The decision as a JSON object, e.g. \'{"decision": "reject"}\'.'),
    ] = None,
    comment: Annotated[str | None, typer.Option("--comment", "-m", help="Why (becomes the case's reason).")] = None,
    actor: ActorOption = None,
    as_json: JsonOption = False,
) -> None:
    """Decide an item (a label, a JSON decision, or both). Decisions are final: a second one is refused."""
    parsed = _parse_decision(decision) if decision is not None else None
    with open_workspace() as ws:
        item = queue.decide(
            ws.store, review_id, decision=parsed, label=label, comment=comment, actor=actor or default_actor()
        )
    if as_json:
        print_json(item.to_json())
        return
    shown = t("review.decided", id=item.id, decision=escape(_decision_text(item)), actor=escape(item.decided_by or ""))
    console.print(f"[green]✓[/] {shown}")


@review_app.command("next")
def next_(
    feature: Annotated[str, typer.Argument(help="Feature whose pending items to work through.")],
    actor: ActorOption = None,
) -> None:
    """Work through FEATURE's pending items: Enter accepts the AI's suggestion, s skips, q quits."""
    who = actor or default_actor()
    with open_workspace() as ws:
        config = require_feature(ws, feature)
        decided, skipped = _review_loop(ws.store, feature, config, who)
        left = ws.store.review_counts(feature).get("pending", 0)
    console.print(t("review.next_done", decided=decided, skipped=skipped, left=left, feature=escape(feature)))


@review_app.command("export")
def export(
    feature: Annotated[str, typer.Argument(help="Feature whose decisions to export.")],
    to_dataset: Annotated[Path, typer.Option("--to-dataset", help="JSONL dataset to append the cases to.")],
    as_json: JsonOption = False,
) -> None:
    """Append FEATURE's decided, not yet exported items to a dataset as test cases (each exactly once)."""
    with open_workspace() as ws:
        require_feature(ws, feature)
        result = export_decisions(ws.store, ws.root, feature, to_dataset)
    if as_json:
        print_json(
            {
                "path": str(result.path),
                "written": result.written,
                "already_there": result.already_there,
                "refused": [{"id": i, "why": why} for i, why in result.refused],
            }
        )
        return
    console.print(f"[green]✓[/] {t('review.exported', n=len(result.written), path=result.path)}")
    if result.already_there:
        console.print(f"  {t('review.already_there', n=len(result.already_there))}")
    for review_id, why in result.refused:
        console.print(f"[yellow]  {t('review.refused', id=review_id, why=escape(why))}[/]")


def register(app: typer.Typer) -> None:
    """Add ``andon review …`` to the ``andon`` app."""
    app.add_typer(review_app, name="review")


# The interactive loop --------------------------------------------------------------------------------------


def _review_loop(store: Store, feature: str, config: FeatureConfig, actor: str) -> tuple[int, int]:
    """Show each pending item, ask for a decision; returns (decided, skipped)."""
    seen: set[str] = set()
    decided = skipped = 0
    choices = queue.label_choices(config)
    while True:
        batch = [i for i in queue.list_items(store, feature, limit=_PAGE + len(seen)) if i.id not in seen]
        if not batch:
            console.print(f"[dim]{t('review.no_more')}[/]")
            return decided, skipped
        for item in batch:
            seen.add(item.id)
            position = len(seen)
            console.rule(f"[bold]{position}[/] · {item.id}")
            _print_item(console, item, config)
            outcome = _ask(item, config, choices, store, actor)
            if outcome == "quit":
                return decided, skipped
            if outcome == "skip":
                skipped += 1
            elif outcome == "decided":
                decided += 1


def _ask(item: ReviewItem, config: FeatureConfig, choices: list[str], store: Store, actor: str) -> str:
    """One item's prompt; returns decided, skip, quit or gone (someone else decided it)."""
    suggested = queue.suggested_label(item, config)
    accept = t("review.accept_label", label=suggested) if suggested else t("review.accept_answer")
    if item.suggestion_json is None and suggested is None:
        accept = t("review.accept_nothing")
    known = f" [{'/'.join(choices)}]" if choices else ""
    question = t("review.prompt", choices=escape(known), accept=accept)
    while True:
        try:
            answer = Prompt.ask(question, default="", show_default=False)
        except EOFError:
            return "quit"
        answer = answer.strip()
        if answer.lower() == "q":
            return "quit"
        if answer.lower() == "s":
            return "skip"
        try:
            label, decision = _interpret(answer, item, config, choices, suggested)
        except ConfigError as exc:
            console.print(f"[yellow]{escape(exc.message)}[/]" + (f" [dim]{escape(exc.hint)}[/]" if exc.hint else ""))
            continue
        try:
            comment = Prompt.ask(t("review.prompt_comment"), default="", show_default=False).strip() or None
        except EOFError:
            comment = None
        try:
            done = queue.decide(store, item.id, decision=decision, label=label, comment=comment, actor=actor)
        except AlreadyDecidedError as exc:
            console.print(f"[yellow]{escape(exc.message)}[/]")
            return "gone"
        console.print(f"[green]✓[/] {t('review.decided_short', decision=escape(_decision_text(done)))}")
        return "decided"


def _interpret(
    answer: str, item: ReviewItem, config: FeatureConfig, choices: list[str], suggested: str | None
) -> tuple[str | None, dict[str, Any] | None]:
    """(label, decision) from what the reviewer typed: empty accepts the AI, JSON is a decision, else a label."""
    if not answer:
        ai_decision = item.suggestion_json if isinstance(item.suggestion_json, dict) else None
        if suggested is None and ai_decision is None:
            raise ConfigError("there is no AI suggestion to accept", hint="type a label or a JSON decision")
        return suggested, ai_decision
    if answer.startswith("{"):
        decision = _parse_decision(answer)
        probe = ReviewItem(id=item.id, feature=item.feature, reason=item.reason, suggestion_json=decision)
        return queue.suggested_label(probe, config), decision
    if choices and answer.casefold() not in {c.casefold() for c in choices}:
        raise ConfigError(f"{answer!r} is not one of the feature's labels", hint=f"labels: {', '.join(choices)}")
    label = next((c for c in choices if c.casefold() == answer.casefold()), answer)
    return label, queue.decision_for_label(label, config)


# Printing --------------------------------------------------------------------------------------------------


def _print_item(out: Console, item: ReviewItem, config: FeatureConfig | None) -> None:
    head = t(
        "review.item_head",
        id=f"[bold]{item.id}[/]",
        feature=escape(item.feature),
        reason=f"[bold]{item.reason}[/]",
        created=item.created_at.isoformat(timespec="seconds"),
        status=item.status,
    )
    out.print(head)
    if item.version_id or item.trace_id:
        refs = t("review.item_refs", version=(item.version_id or "–")[:12], trace=item.trace_id or "–")
        out.print(f"[dim]{refs}[/]")
    out.print(f"[bold]{t('review.input')}[/]")
    out.print(escape(_pretty(item.input)) if item.input is not None else f"[dim]{t('review.input_not_stored')}[/]")
    out.print(f"[bold]{t('review.suggestion')}[/]")
    suggestion = _suggestion(item)
    out.print(escape(suggestion) if suggestion else f"[dim]{t('review.no_suggestion')}[/]")
    label = queue.suggested_label(item, config)
    if label:
        out.print(f"[bold]{t('review.suggested_label')}[/]: {escape(label)}")
    if item.status == "decided":
        when = item.decided_at.isoformat(timespec="seconds") if item.decided_at else ""
        decision = escape(_decision_text(item))
        decided = t("review.decided_by", decision=decision, actor=escape(item.decided_by or ""), when=when)
        out.print(f"[bold]{t('review.decided_label')}[/]: {decided}")
        if item.comment:
            out.print(f"[bold]{t('review.comment')}[/]: {escape(item.comment)}")
        if item.exported_at:
            exported = t("review.exported_at", when=item.exported_at.isoformat(timespec="seconds"))
            out.print(f"[dim]{exported}[/]")


def _suggestion(item: ReviewItem) -> str:
    if item.suggestion_json is not None:
        return _pretty(item.suggestion_json)
    return item.suggestion_text or ""


def _decision_text(item: ReviewItem) -> str:
    parts = []
    if item.label is not None:
        parts.append(t("review.label", label=item.label))
    if item.decision is not None:
        parts.append(t("review.decision", decision=_short(item.decision, 80)))
    return ", ".join(parts)


def _pretty(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, indent=2)


def _short(value: Any, limit: int = 40) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _parse_decision(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"the decision is not valid JSON: {exc.msg} (column {exc.colno})",
            where="--decision",
            hint='write a JSON object, e.g. {"decision": "reject"}',
        ) from None
    if not isinstance(value, dict):
        raise ConfigError("the decision must be a JSON object", where="--decision", hint='e.g. {"decision": "reject"}')
    return value
