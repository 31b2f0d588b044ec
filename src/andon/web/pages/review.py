"""The review queue: one claimed item at a time, decided from the keyboard, with the AI's suggestion beside it."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from andon.engine.approval import ApprovalStatus
from andon.errors import AndonError, ConfigError
from andon.gateway.tracing import storable_output
from andon.review import claims, queue
from andon.review.answer import dotted, fields
from andon.review.decisions import rules_of
from andon.review.queue import AlreadyDecidedError, ReviewItem
from andon.review.tool_approval import TOOL_APPROVAL, asked_arguments, decide_tool_call, edited_arguments
from andon.web.forms import Form, page, posted
from andon.web.render import Ctx, redirect

router = APIRouter()


def _feature_filter(value: str | None) -> str | None:
    return value.strip() if value and value.strip() else None


def _shown(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, indent=2)


def _render(ctx: Ctx, item: ReviewItem | None, feature: str | None, *, status: int = 200,
            error: str | None = None, done: bool = False) -> Response:  # fmt: skip
    backlog = ctx.store.pending_review_counts()
    if item is None:
        return ctx.render("review.html", status=status, item=None, feature=feature, backlog=backlog, error=error,
                          done=done)  # fmt: skip
    config = ctx.ws.config.features.get(item.feature)
    rules = rules_of(ctx.ws)(item)
    codes = claims.reason_codes(rules)
    answer = queue.ai_answer(item)
    suggested = queue.suggested_label(item, config)
    inputs = [(str(k), _shown(v)) for k, v in item.input.items()] if isinstance(item.input, dict) else []
    return ctx.render(
        "review.html",
        status=status,
        item=item,
        feature=feature,
        backlog=backlog,
        error=error,
        done=done,
        inputs=inputs,
        raw_input=None if inputs or item.input is None else _shown(item.input),
        answer_fields=[(dotted(p), _shown(v)) for p, v in fields(answer)] if answer else [],
        suggestion_text=None if answer else item.suggestion_text,
        suggested_label=suggested,
        suggested_codes=claims.suggested_codes(item, codes),
        labels=list(rules.labels)
        or ([queue.suggested_label(item, config)] if queue.suggested_label(item, config) else []),
        codes=list(codes.codes) if codes else [],
        undo_ms=ctx.settings.undo_ms,
        tool_call=_tool_call(item),
    )


def _tool_call(item: ReviewItem) -> dict[str, str] | None:
    """A parked tool call's name and asked arguments (pretty JSON), for its approve/edit/reject form."""
    if item.reason != TOOL_APPROVAL:
        return None
    tool, arguments = asked_arguments(item)
    return {"tool": tool, "arguments": json.dumps(arguments, ensure_ascii=False, indent=2)}


def _next(ctx: Ctx, feature: str | None, skip: tuple[str, ...], **extra: Any) -> Response:
    assert ctx.principal is not None
    item = claims.claim_next(ctx.store, ctx.principal.actor, feature, lease=ctx.settings.claim_lease, skip=skip)
    return _render(ctx, item, feature, **extra)


@router.get("/review")
async def review_page(request: Request) -> Response:
    """The next pending item (of ``?feature=``), claimed for the signed-in reviewer."""
    ctx = await page(request, scope="review")
    if isinstance(ctx, Response):
        return ctx
    feature = _feature_filter(request.query_params.get("feature"))
    skip = tuple(s for s in [request.query_params.get("skip", "")] if s)
    done = request.query_params.get("done") == "1"
    return await asyncio.to_thread(_next, ctx, feature, skip, done=done)


def _decide(ctx: Ctx, review_id: str, form: Form) -> Response:
    assert ctx.principal is not None
    feature = _feature_filter(form.get("feature"))
    back = "/review?" + urlencode({"done": "1", **({"feature": feature} if feature else {})})
    try:
        item = queue.get(ctx.store, review_id)
    except AndonError as exc:
        return ctx.refuse(404, exc.message)
    rules = rules_of(ctx.ws)
    label = form.get("label")
    try:
        if not label:
            raise ConfigError(ctx.fmt.t("web.review.label_needed"), where="label")
        decision = claims.decision_with(
            item, ctx.ws.config.features.get(item.feature), rules(item), label=label, codes=form.all("codes")
        )
        claims.decide_claimed(
            ctx.store, item.id, actor=ctx.principal.actor, decision=decision, label=label,
            comment=form.get("comment") or None, rules=rules,
        )  # fmt: skip
    except (claims.ClaimedError, AlreadyDecidedError) as exc:
        return _next(ctx, feature, (), status=409, error=exc.message)
    except ConfigError as exc:
        where = f"{exc.where}: " if exc.where else ""
        return _render(ctx, item, feature, status=400, error=where + exc.message)
    return redirect(back)


@router.post("/review/{review_id}/decide")
async def decide(request: Request, review_id: str) -> Response:
    """Record the reviewer's label, reason codes and comment on an item they hold (or nobody holds)."""
    found = await posted(request, scope="review")
    if isinstance(found, Response):
        return found
    ctx, form = found
    return await asyncio.to_thread(_decide, ctx, review_id, form)


@router.post("/review/{review_id}/skip")
async def skip(request: Request, review_id: str) -> Response:
    """Leave an item for someone else: the claim is dropped and the next one shown."""
    found = await posted(request, scope="review")
    if isinstance(found, Response):
        return found
    ctx, form = found
    assert ctx.principal is not None
    await asyncio.to_thread(ctx.store.release_review_claim, review_id, ctx.principal.actor)
    feature = _feature_filter(form.get("feature"))
    target = "/review?" + urlencode({"skip": review_id, **({"feature": feature} if feature else {})})
    return redirect(target)


@router.post("/review/{review_id}/tool")
async def decide_tool(request: Request, review_id: str) -> Response:
    """Approve (as asked or with edited arguments) or reject a parked tool call; the run resumes (issue 14)."""
    found = await posted(request, scope="review")
    if isinstance(found, Response):
        return found
    ctx, form = found
    assert ctx.principal is not None
    feature = _feature_filter(form.get("feature"))
    try:
        item = await asyncio.to_thread(queue.get, ctx.store, review_id)
    except AndonError as exc:
        return ctx.refuse(404, exc.message)
    try:
        status: ApprovalStatus
        if form.get("action") == "reject":
            status, arguments = "rejected", None
        else:
            status, arguments = edited_arguments(item, form.get("arguments") or "")
        await decide_tool_call(
            ctx.ws, item.id, status=status, actor=ctx.principal.actor, arguments=arguments,
            reason=form.get("reason") or None, close_providers=False,  # the server's loop keeps its connections
            store_output=lambda name, record: storable_output(ctx.ws.config, name, record),
        )  # fmt: skip
    except AlreadyDecidedError as exc:
        return await asyncio.to_thread(_next, ctx, feature, (), status=409, error=exc.message)
    except ConfigError as exc:
        where = f"{exc.where}: " if exc.where else ""
        return await asyncio.to_thread(_render, ctx, item, feature, status=400, error=where + exc.message)
    await asyncio.to_thread(ctx.store.release_review_claim, item.id, ctx.principal.actor)
    return redirect("/review?" + urlencode({"done": "1", **({"feature": feature} if feature else {})}))
