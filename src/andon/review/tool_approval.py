"""Review items of kind ``tool_approval`` (issue 14): a parked tool call, decided by a person, then resumed.

A person approves the call as asked, edits its arguments (checked against the tool's schema before the
decision is recorded), or rejects it with a reason. The decision is claimed by the queue's conditional
update (exactly one decider wins); the winner resumes the run from what the store keeps, and the final
answer lands on the trace (route ``human``) and in the decision. A run that parks again gets a new item.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from andon.agents.spans import trace_spans
from andon.engine.approval import (
    MAX_REASON,
    ApprovalDecision,
    ApprovalStatus,
    PendingCall,
    check_arguments,
    parked_step,
    pending_call,
    resume_run,
    step_tool,
)
from andon.engine.pipeline import Outcome
from andon.errors import ConfigError
from andon.messages import t
from andon.review import queue
from andon.review.queue import ReviewItem
from andon.store import Store
from andon.store.records import OutputRecord, TraceRecord
from andon.workspace import Workspace

TOOL_APPROVAL = "tool_approval"  # the review reason of a parked tool call: the item's kind
# How a feature's data-use setting stores an output record (the gateway's, passed in: it lives a floor above).
StoreOutput = Callable[[str, OutputRecord], OutputRecord]


@dataclass(frozen=True, slots=True)
class Resumed:
    """What a decided tool call led to: the decided item, and the run's end (or the next item it waits on)."""

    item: ReviewItem
    trace_id: str
    status: str  # ok | error | queued (parked again, at ``next_review_id``)
    output_text: str | None
    output_json: Any
    error: str | None
    next_review_id: str | None = None


def parked_call_of(outcome: Outcome) -> PendingCall | None:
    """The call a parked run waits on (None when the run is not parked)."""
    for step in outcome.steps:
        if step.parked is not None:
            return pending_call(step.parked)
    return None


def pending_of(store: Store, item: ReviewItem) -> tuple[TraceRecord, OutputRecord, int, dict[str, Any]]:
    """The trace, its parked output record, and the index and JSON of the step that waits, from the store."""
    if item.reason != TOOL_APPROVAL or item.trace_id is None:
        raise ConfigError(t("approve14.not_tool_item", id=item.id, reason=item.reason), hint=t("approve14.decide_hint"))
    row = store.get_trace(item.trace_id)
    trace = TraceRecord(**{**row, "tags": dict(row.get("tags") or {})})
    if trace.output_id is None:
        raise ConfigError(t("approve14.nothing_parked", id=item.id), hint=t("approve14.nothing_parked_hint"))
    output = store.get_output(trace.output_id)
    found = parked_step(output.steps)
    if found is None:
        raise ConfigError(t("approve14.nothing_parked", id=item.id), hint=t("approve14.nothing_parked_hint"))
    return trace, output, found[0], found[1]


def check_decision(
    ws: Workspace, item: ReviewItem, status: ApprovalStatus, arguments: Any, reason: str | None
) -> ApprovalDecision:
    """The decision, checked before it is recorded: edited arguments fit the tool's schema, a rejection says why."""
    if status not in ("approved", "edited", "rejected"):
        raise ConfigError(t("approve14.status", status=status), where="status", hint=t("approve14.status_hint"))
    reason = (reason or "").strip() or None
    if reason is not None and (len(reason) > MAX_REASON or "\x00" in reason):
        raise ConfigError(t("approve14.reason_long", limit=MAX_REASON), where="reason")
    if status == "rejected" and reason is None:
        raise ConfigError(t("approve14.reason_needed"), where="reason", hint=t("approve14.reason_hint"))
    if status != "edited" and arguments is not None:
        status = "edited"  # arguments given are an edit, whatever the button said
    _trace, output, _index, step = pending_of(ws.store, item)
    call = pending_call(step["parked"])
    if status == "edited":
        tool = step_tool(ws.version(item.feature, output.version_id), call.step, call.tool)
        arguments = check_arguments(tool, arguments)
    return ApprovalDecision(status, "", arguments if status == "edited" else None, reason)


async def decide_tool_call(
    ws: Workspace,
    review_ref: str,
    *,
    status: ApprovalStatus,
    actor: str,
    arguments: Any = None,
    reason: str | None = None,
    store_output: StoreOutput | None = None,
    close_providers: bool = True,
) -> Resumed:
    """Record a person's decision on a parked tool call, then resume the run to its final answer.

    Raises ConfigError (nothing recorded) for a bad decision, AlreadyDecidedError when someone decided first.
    ``close_providers``: release the workspace's provider connections after (a one-shot event loop's, the CLI's).
    """
    item = queue.get(ws.store, review_ref)
    if item.status == "decided":  # refused with who decided what and when (decisions are final)
        queue.decide(ws.store, item.id, decision=None, label=status, comment=None, actor=actor, tool_approval=True)
    decision = check_decision(ws, item, status, arguments, reason)
    asked = pending_call(pending_of(ws.store, item)[3]["parked"])
    recorded: dict[str, Any] = {"approval": decision.status, "tool": asked.tool, "arguments_asked": asked.arguments}
    if decision.arguments is not None:
        recorded["arguments"] = decision.arguments
    decided = await asyncio.to_thread(
        queue.decide,
        ws.store,
        item.id,
        decision=recorded,
        label=decision.status,
        comment=decision.reason,
        actor=actor,
        tool_approval=True,
    )
    return await resume(ws, decided, store_output=store_output, close_providers=close_providers)


async def resume(
    ws: Workspace, item: ReviewItem, *, store_output: StoreOutput | None = None, close_providers: bool = True
) -> Resumed:
    """Resume the run of a decided tool-approval item (again after a crash: it lands once, on the parked output)."""
    if item.status != "decided" or not isinstance(item.decision, dict):
        raise ConfigError(t("approve14.not_decided", id=item.id), hint=t("approve14.decide_hint"))
    trace, output, index, step = pending_of(ws.store, item)
    parked = step["parked"]
    version = ws.version(item.feature, output.version_id)
    chosen = item.decision
    decision = ApprovalDecision(chosen["approval"], item.decided_by or "", chosen.get("arguments"), item.comment)
    try:
        outcome = await resume_run(version, parked, decision, ws)
    finally:
        if close_providers:
            await ws.aclose_providers()  # on this loop, where their connections live
    return await asyncio.to_thread(_land, ws, item, trace, output, index, outcome, store_output)


def _land(
    ws: Workspace,
    item: ReviewItem,
    trace: TraceRecord,
    parked: OutputRecord,
    index: int,
    outcome: Outcome,
    store_output: StoreOutput | None,
) -> Resumed:
    """Store the resumed run: a new output record (earlier steps kept), the trace's answer, the decision's too."""
    context = {**parked.context, "resumed_from": parked.id, "review_id": item.id}
    record = outcome.to_record(context=context)
    record.steps = [*parked.steps[:index], *record.steps]
    record.started_at = parked.started_at
    record.input_tokens = sum(int(s.get("input_tokens") or 0) for s in record.steps)
    record.output_tokens = sum(int(s.get("output_tokens") or 0) for s in record.steps)
    record.cost, record.currency = _cost(record.steps)
    record.latency_ms = (record.finished_at - record.started_at).total_seconds() * 1000
    if store_output is not None:
        record = store_output(item.feature, record)
    again = parked_call_of(outcome)
    next_items: list[ReviewItem] = []
    if again is not None:
        next_item = ReviewItem.new(
            item.feature, TOOL_APPROVAL, trace_id=trace.id, version_id=item.version_id, input=item.input,
            suggestion_json=again.to_json(), priority=item.priority,
        )  # fmt: skip
        next_items.append(next_item)
    status = "queued" if again is not None else ("ok" if outcome.status == "ok" else "error")
    by = item.decided_by or "-"
    note = t("approve14.note", status=item.label or "-", by=by, tool=item.decision.get("tool", "-"))
    last = record.steps[-1] if record.steps else {}
    updated = replace(
        trace,
        status=status,
        output_id=record.id,
        output_text=record.output_text if again is None else None,
        output_json=record.output_json if again is None else again.to_json(),
        error=record.error if status == "error" else None,
        error_code="tool_run_failed" if status == "error" else None,
        provider=last.get("provider"),
        model=last.get("model"),
        input_tokens=record.input_tokens,
        output_tokens=record.output_tokens,
        cost=record.cost,
        currency=record.currency,
        note="; ".join(x for x in (trace.note, note) if x),
    )
    decision = {**item.decision, "answer": {"status": status, "text": updated.output_text, "json": updated.output_json}}
    if again is not None:
        decision["answer"]["next_review_id"] = next_items[0].id
    won = ws.store.finish_parked_trace(
        updated, parked_output_id=parked.id, output=record, review_id=item.id, decision=decision,
        review_items=next_items, spans_of=trace_spans,
    )  # fmt: skip
    if not won:
        raise ConfigError(t("approve14.resumed_before", id=item.id, trace=trace.id), hint=t("approve14.resumed_hint"))
    return Resumed(
        queue.get(ws.store, item.id), trace.id, status, updated.output_text, updated.output_json, updated.error,
        next_items[0].id if next_items else None,
    )  # fmt: skip


def _cost(steps: Sequence[dict[str, Any]]) -> tuple[float | None, str | None]:
    """Total cost of the model steps of a stored run (None when one has no price or currencies differ)."""
    model_steps = [s for s in steps if s.get("attempts") or s.get("input_tokens") or s.get("output_tokens")]
    if not model_steps:
        return 0.0, None
    currencies = {s.get("currency") for s in model_steps}
    if any(s.get("cost") is None for s in model_steps) or len(currencies) != 1:
        return None, None
    return sum(float(s["cost"]) for s in model_steps), currencies.pop()


def asked_arguments(item: ReviewItem) -> tuple[str, Any]:
    """The tool a parked item's call names and the arguments the model asked for (from its suggestion)."""
    suggestion = item.suggestion_json if isinstance(item.suggestion_json, dict) else {}
    return str(suggestion.get("tool") or "-"), suggestion.get("arguments")


def edited_arguments(item: ReviewItem, text: str) -> tuple[ApprovalStatus, Any]:
    """A form's arguments text as a decision: ``approved`` when it is what the model asked, else ``edited``."""
    text = text.strip()
    if not text:
        return "approved", None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            t("approve14.web.arguments_json", error=exc.msg, column=exc.colno),
            where="arguments",
            hint=t("approve14.cli.arguments_hint"),
        ) from None
    return ("approved", None) if value == asked_arguments(item)[1] else ("edited", value)
