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

from andon.cli._common import Listing, console, json_object, open_workspace, print_json
from andon.cli._options import JsonOption
from andon.config.schema import FeatureConfig
from andon.deploy import default_actor, require_feature
from andon.errors import ConfigError
from andon.messages import t
from andon.review import queue
from andon.review.answer import FieldPath, dotted, fields, has_value, parse_field, value_at, with_value
from andon.review.decisions import DecisionRules, RulesFor, rules_of
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
    table = Listing(title=title)
    wide = console.width >= _WIDE  # narrow terminals keep what identifies an item and what to decide
    columns = [
        "id",
        *(["feature"] if feature is None and wide else []),
        "status",
        *(["reason", "created"] if wide else []),
    ]
    for column in columns:
        table.column(t(f"review.col.{column}"), "id" if column == "id" else "text")
    table.column(t("review.col.suggestion"), "clip")  # one line each: `review show` has the whole of it
    table.column(t("review.col.decision"), "clip")
    for item in items:
        cells = {
            "id": item.id,
            "feature": escape(item.feature),
            "status": item.status,
            "reason": item.reason,
            "created": item.created_at.strftime("%Y-%m-%d %H:%M"),
        }
        decided_text = escape(item.label or (_short(item.decision) if item.decision is not None else ""))
        if item.status == "decided":
            decided_text += f" [dim]{t('review.by', actor=escape(item.decided_by or ''))}[/]"
        table.row(*(cells[c] for c in columns), escape(_short(_suggestion(item))), decided_text)
    table.print(console)
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
            ws.store,
            review_id,
            decision=parsed,
            label=label,
            comment=comment,
            actor=actor or default_actor(),
            rules=rules_of(ws),
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
    """Work through FEATURE's pending items: Enter accepts the AI's answer, a label sets it, e edits a field."""
    who = actor or default_actor()
    with open_workspace() as ws:
        config = require_feature(ws, feature)
        decided, skipped = _review_loop(ws.store, feature, config, who, rules_of(ws))
        left = ws.store.review_counts(feature).get("pending", 0)
    console.print(t("review.next_done", decided=decided, skipped=skipped, left=left, feature=escape(feature)))


@review_app.command("export")
def export(
    feature: Annotated[str, typer.Argument(help="Feature whose decisions to export.")],
    to_dataset: Annotated[
        Path, typer.Option("--to-dataset", help="Dataset to append the cases to: .yaml, .jsonl or .csv.")
    ],
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


def _review_loop(store: Store, feature: str, config: FeatureConfig, actor: str, rules: RulesFor) -> tuple[int, int]:
    """Show each pending item, ask for a decision; returns (decided, skipped)."""
    seen: set[str] = set()
    decided = skipped = 0
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
            outcome = _ask(item, config, store, actor, rules)
            if outcome == "quit":
                return decided, skipped
            if outcome == "skip":
                skipped += 1
            elif outcome == "decided":
                decided += 1


def _ask(item: ReviewItem, config: FeatureConfig, store: Store, actor: str, rules: RulesFor) -> str:
    """One item's prompt; returns decided, skip, quit or gone (someone else decided it).

    The reviewer works on a draft of the AI's answer: a label replaces its label field, ``e`` edits any
    field, Enter accepts the draft; every other field stays as the AI wrote it.
    """
    checks = rules(item)
    draft = queue.ai_answer(item)
    edited: set[FieldPath] = set()
    while True:
        try:
            typed = Prompt.ask(_question(item, config, checks, draft, edited), default="", show_default=False)
        except EOFError:
            return "quit"
        typed = typed.strip()
        if typed.lower() == "q":
            return "quit"
        if typed.lower() == "s":
            return "skip"
        if typed.lower() == "e" or typed.lower().startswith("e "):
            draft = _edit(draft, typed[1:].strip(), checks, edited)
            continue
        try:
            label, decision = _interpret(typed, item, config, checks, draft, edited)
            label, decision = checks.check(decision, label)  # refused before the reviewer writes a comment
        except ConfigError as exc:
            _warn(exc)
            continue
        try:
            comment = Prompt.ask(t("review.prompt_comment"), default="", show_default=False).strip() or None
        except EOFError:
            comment = None
        try:
            done = queue.decide(
                store, item.id, decision=decision, label=label, comment=comment, actor=actor, rules=rules
            )
        except AlreadyDecidedError as exc:
            console.print(f"[yellow]{escape(exc.message)}[/]")
            return "gone"
        except ConfigError as exc:
            _warn(exc)
            continue
        console.print(f"[green]✓[/] {t('review.decided_short', decision=escape(_decision_text(done)))}")
        return "decided"


def _question(
    item: ReviewItem,
    config: FeatureConfig,
    checks: DecisionRules,
    draft: dict[str, Any] | None,
    edited: set[FieldPath],
) -> str:
    known = f" [{'/'.join(checks.labels)}]" if checks.labels else ""
    if edited:
        accept = t("review.accept_edited")
    else:
        suggested = queue.suggested_label(item, config)
        accept = t("review.accept_label", label=suggested) if suggested else t("review.accept_answer")
        if draft is None and suggested is None:
            accept = t("review.accept_nothing")
    key = "review.prompt_fields" if draft else "review.prompt"
    return t(key, choices=escape(known), accept=escape(accept))


def _interpret(
    typed: str,
    item: ReviewItem,
    config: FeatureConfig,
    checks: DecisionRules,
    draft: dict[str, Any] | None,
    edited: set[FieldPath],
) -> tuple[str | None, dict[str, Any] | None]:
    """(label, decision) from what the reviewer typed: empty accepts the draft, JSON is a decision, else a label."""
    path = checks.label_path
    if not typed:
        if draft is None:
            suggested = queue.suggested_label(item, config)
            if suggested is None:
                raise ConfigError(t("review.nothing_to_accept"), hint=t("review.nothing_to_accept_hint"))
            return suggested, None
        return _label_in(draft, path), draft
    if typed.startswith("{"):
        decision = _parse_decision(typed)
        return _label_in(decision, path), decision
    label = checks.fields[0].known(typed, "label") if checks.fields else typed
    return label, queue.decision_for_label(label, config, base=draft) or (draft if edited else None)


def _label_in(answer: dict[str, Any], path: FieldPath | None) -> str | None:
    if path is None or not has_value(answer, path):
        return None
    value = value_at(answer, path)
    return None if isinstance(value, dict | list) else (_text(value).strip() or None)


def _edit(
    draft: dict[str, Any] | None, target: str, checks: DecisionRules, edited: set[FieldPath]
) -> dict[str, Any] | None:
    """Ask for a field (unless named in ``target``) and its new value; the draft with it changed."""
    leaves = fields(draft) if draft else []
    if draft is None or not leaves:
        console.print(f"[yellow]{t('review.no_fields')}[/]")
        return draft
    while True:
        if not target:
            try:
                target = Prompt.ask(t("review.ask_field", n=len(leaves)), default="", show_default=False).strip()
            except EOFError:
                return draft
            if not target:
                return draft
        chosen = _field_named(leaves, target)
        if chosen is not None:
            break
        console.print(f"[yellow]{escape(t('review.no_field', field=target, n=len(leaves)))}[/]")
        target = ""
    path, current = chosen
    question = t("review.ask_value", field=dotted(path), current=_short(_text(current), 40))
    try:
        typed = Prompt.ask(escape(question), default="", show_default=False)
    except EOFError:
        return draft
    if typed.strip():
        draft = with_value(draft, path, parse_field(typed.strip(), current))
        edited.add(path)
    _print_fields(console, draft, checks.label_path, edited)
    return draft


def _field_named(leaves: list[tuple[FieldPath, Any]], target: str) -> tuple[FieldPath, Any] | None:
    if target.isdigit() and 1 <= int(target) <= len(leaves):
        return leaves[int(target) - 1]
    return next(((p, v) for p, v in leaves if dotted(p) == target), None)


def _warn(exc: ConfigError) -> None:
    where = f"{exc.where}: " if exc.where else ""
    console.print(f"[yellow]{escape(where + exc.message)}[/]" + (f" [dim]{escape(exc.hint)}[/]" if exc.hint else ""))


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
    answer = queue.ai_answer(item)
    if answer:
        _print_fields(out, answer, queue.label_path(config), set())
    else:
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


def _print_fields(out: Console, answer: dict[str, Any], label_path: FieldPath | None, edited: set[FieldPath]) -> None:
    """The answer one field a line, numbered for ``e N``; the label's field and edited ones marked."""
    leaves = fields(answer)
    out.print(f"[bold]{t('review.fields_edited' if edited else 'review.fields')}[/]")
    number_width = len(str(len(leaves)))
    name_width = max((cell_len(dotted(p)) for p, _ in leaves), default=0)
    for number, (path, value) in enumerate(leaves, start=1):
        mark = "*" if path in edited else " "
        name = dotted(path)
        lines = _text(value).split("\n")
        pad = " " * (name_width - cell_len(name))
        tag = f"  [dim]({t('review.field_label')})[/]" if path == label_path else ""
        out.print(f" {mark}{number:>{number_width}}  {escape(name)}{pad}  {escape(lines[0])}{tag}")
        indent = " " * (number_width + name_width + 6)
        for more in lines[1:]:
            out.print(f"{indent}{escape(more)}")


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


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
    keys = ("house3.cli.decision_json", "house3.cli.decision_json_hint", "house3.cli.decision_object")
    return json_object(text, "--decision", (*keys, "house3.cli.decision_object_hint"))
