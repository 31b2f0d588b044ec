"""Commands about production traces: list them, show one with its provenance, prune by retention."""

from __future__ import annotations

import dataclasses
import json
from typing import Annotated, Any

import typer
from rich.console import JustifyMethod
from rich.markup import escape

from andon.agents.spans import span_json
from andon.agents.spans_text import span_tree_lines
from andon.cli._common import Listing, console, open_workspace, print_json
from andon.cli._options import JsonOption
from andon.config.live_judge import LIVE_ERROR_TAG, LIVE_TAG
from andon.gateway.tracing import retention_cutoffs, trace_record
from andon.messages import t
from andon.store.models import utcnow
from andon.store.records import TraceRecord

traces_app = typer.Typer(
    name="traces",
    help="Production calls through the gateway: list them, show one with its provenance, prune old ones.",
    no_args_is_help=True,
)


def _trace_json(trace: TraceRecord) -> dict[str, Any]:
    data = dataclasses.asdict(trace)
    data["created_at"] = trace.created_at.isoformat()
    return data


@traces_app.command("list")
def list_traces(
    feature: Annotated[str | None, typer.Argument(help="Only this feature (plain model calls are @PROVIDER).")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=10_000, help="How many, newest first.")] = 20,
    status: Annotated[str | None, typer.Option("--status", help="Only ok, error or queued.")] = None,
    route: Annotated[str | None, typer.Option("--route", help="Only ai, human, shadow or fallback.")] = None,
    as_json: JsonOption = False,
) -> None:
    """List recent traces, newest first."""
    with open_workspace() as ws:
        rows = [trace_record(r) for r in ws.store.list_traces(feature, limit=limit, status=status, route=route)]
    if as_json:
        print_json([_trace_json(trace) for trace in rows])
        return
    if not rows:
        console.print(t("traces.none") if feature is None else t("traces.none_of", feature=escape(feature)))
        return
    table = Listing(title=t("traces.title") if feature is None else t("traces.title_of", feature=feature))
    for column in ("id", "time", "feature", "version", "route", "status", "cache", "ms", "tokens", "cost"):
        justify: JustifyMethod = "right" if column in ("ms", "tokens", "cost") else "left"
        table.column(t(f"traces.col.{column}"), "id" if column == "id" else "text", justify)
    for trace in rows:
        status_text = trace.status if trace.error_code is None else f"{trace.status} ({trace.error_code})"
        cost = "" if trace.cost is None else f"{trace.cost:.4g} {trace.currency or ''}"
        table.row(
            trace.id,
            trace.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            escape(trace.feature),
            escape(trace.version_name or ""),
            trace.route,
            escape(status_text),
            trace.cache or "",
            f"{trace.latency_ms:.0f}",
            f"{trace.input_tokens}+{trace.output_tokens}",
            cost,
        )
    table.print(console)


def _live_judge_lines(tags: dict[str, Any]) -> list[str]:
    """The live judge's scores (and the graders that could not grade) kept in a trace's tags."""
    scores, errors = tags.get(LIVE_TAG), tags.get(LIVE_ERROR_TAG)
    lines = [
        t("live_judge.show.score", grader=escape(name), score=f"{value:.2f}")
        for name, value in (scores.items() if isinstance(scores, dict) else ())
        if isinstance(value, int | float)
    ]
    lines += [
        t("live_judge.show.error", grader=escape(name), reason=escape(str(reason)))
        for name, reason in (errors.items() if isinstance(errors, dict) else ())
    ]
    return lines


@traces_app.command("show")
def show(
    trace_id: Annotated[str, typer.Argument(help="Trace id (or a unique prefix of at least 6 characters).")],
    as_json: JsonOption = False,
) -> None:
    """Show one trace: input as stored, output, timings, the exact prompt sent (provenance) and feedback."""
    with open_workspace() as ws:
        trace = trace_record(ws.store.get_trace(trace_id))
        output = ws.store.outputs_by_id([trace.output_id]).get(trace.output_id) if trace.output_id else None
        feedback = ws.store.list_feedback(trace.id)
        spans = ws.store.list_spans(trace.id)
    if as_json:
        print_json(
            {
                "trace": _trace_json(trace),
                "spans": [span_json(s) for s in spans],
                "output": None if output is None else {**dataclasses.asdict(output), "raw": None},
                "feedback": [{**dataclasses.asdict(f), "created_at": f.created_at.isoformat()} for f in feedback],
            }
        )
        return
    version = f"{trace.version_name} ({(trace.version_id or '')[:12]})" if trace.version_id else "-"
    lines = [
        f"[bold]{trace.id}[/]  {escape(trace.feature)}  {trace.created_at.isoformat(timespec='seconds')}",
        f"{t('traces.field.version')}: {escape(version)}   {t('traces.field.route')}: {trace.route}   "
        f"{t('traces.field.status')}: {trace.status}"
        + (f" ({trace.error_code})" if trace.error_code else "")
        + (f"   {t('traces.field.cache')}: {trace.cache}" if trace.cache else ""),
        f"{t('traces.field.model')}: {escape(trace.provider or '-')} / {escape(trace.model or '-')}   "
        f"{t('traces.field.tokens')}: {trace.input_tokens}+{trace.output_tokens}"
        + (f"   {t('traces.field.cost')}: {trace.cost:.4g} {trace.currency or ''}" if trace.cost is not None else ""),
        t(
            "traces.latency",
            total=f"{trace.latency_ms:.1f}",
            queue=f"{trace.queue_ms:.1f}",
            cache=f"{trace.cache_ms:.1f}",
            provider=f"{trace.provider_ms:.1f}",
        ),
        f"{t('traces.field.who')}: "
        + ", ".join(
            f"{t(name)} {escape(str(value))}"
            for name, value in (
                ("traces.who.user", trace.user_id),
                ("traces.who.session", trace.session_id),
                ("traces.who.tenant", trace.tenant),
                ("traces.who.key", trace.api_key_id),
            )
            if value
        ),
    ]
    if trace.note:
        lines.append(f"{t('traces.field.note')}: {escape(trace.note)}")
    lines += _live_judge_lines(trace.tags)
    if trace.error:
        lines.append(f"[red]{t('error.prefix')}:[/] {escape(trace.error)}")
    stored = t("traces.input_stored", mode=trace.input_mode, sha=trace.input_hash[:16])
    lines.append(f"\n[bold]{t('traces.input')}[/] {escape(stored)}")
    lines.append(escape(_short(trace.input)) if trace.input is not None else escape(t("traces.input_not_kept")))
    if output is not None:
        lines.append(f"\n[bold]{t('traces.prompt_sent')}[/]")
        for message in output.messages:
            texts = [
                p.get("text", "") if p.get("type") == "text" else t("traces.image", url=p.get("url", "")[:40])
                for p in message["content"]
            ]
            lines.append(f"[cyan]{message['role']}[/]: {escape(' '.join(texts))}")
    lines.append(f"\n[bold]{t('traces.output')}[/]")
    lines.append(
        escape(_short(trace.output_json)) if trace.output_json is not None else escape(trace.output_text or "")
    )
    lines.append(f"\n[bold]{t('agents.spans.title')}[/]")
    lines += [escape(line) for line in span_tree_lines(spans)] or [escape(t("agents.spans.none"))]
    for item in feedback:
        verdict = {1: "👍", -1: "👎"}.get(item.thumbs or 0, "")
        score = t("traces.feedback_score", score=f"{item.score:g}") if item.score is not None else ""
        comment = f" — {escape(item.comment)}" if item.comment else ""
        when = item.created_at.isoformat(timespec="seconds")
        lines.append(t("traces.feedback", when=when, verdict=verdict, score=score, comment=comment))
    console.print("\n".join(lines))


@traces_app.command("prune")
def prune(
    days: Annotated[
        int | None,
        typer.Option(
            "--days",
            min=1,
            help="Keep this many days for every feature (default: each feature's data_use.retention_days).",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Delete traces older than their retention, with their outputs and feedback (review items stay)."""
    with open_workspace() as ws:
        cutoffs, default = retention_cutoffs(ws.config, utcnow(), days=days)
        counts = ws.store.prune_traces(cutoffs, default)
    if as_json:
        print_json(dataclasses.asdict(counts))
        return
    console.print(t("traces.pruned", traces=counts.traces, outputs=counts.outputs, feedback=counts.feedback))


def _short(value: Any, limit: int = 2000) -> str:
    text = json.dumps(value, ensure_ascii=False, indent=2, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def register(app: typer.Typer) -> None:
    """Add ``andon traces`` to the app."""
    app.add_typer(traces_app, name="traces")
