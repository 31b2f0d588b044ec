"""Review routes: ``GET /v1/reviews``, ``GET /v1/reviews/{id}`` and ``POST /v1/reviews/{id}/decision``."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request

from andon.gateway.api_models import MAX_ID, DecisionRequest, ReviewId, ReviewItemOut, ReviewList
from andon.gateway.auth import Identity, require
from andon.gateway.http_errors import NO_NUL
from andon.gateway.reload import workspace_of
from andon.gateway.routes.common import request_store
from andon.review import queue
from andon.review.decisions import rules_of

router = APIRouter()


def _review_out(item: Any) -> ReviewItemOut:
    return ReviewItemOut(**item.to_json())


@router.get("/v1/reviews", tags=["reviews"], summary="Review items", response_model=ReviewList)
async def list_reviews(
    request: Request,
    identity: Annotated[Identity, Depends(require("review"))],
    feature: Annotated[str | None, Query(max_length=MAX_ID, pattern=NO_NUL)] = None,
    status: Annotated[Literal["pending", "decided", "all"], Query()] = "pending",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> ReviewList:
    """Items oldest first (pending by default)."""
    items = await asyncio.to_thread(
        queue.list_items, request_store(request), feature, status=None if status == "all" else status, limit=limit
    )
    return ReviewList(items=[_review_out(i) for i in items])


@router.get("/v1/reviews/{review_id}", tags=["reviews"], summary="One review item", response_model=ReviewItemOut)
async def get_review(
    request: Request, review_id: ReviewId, identity: Annotated[Identity, Depends(require("review"))]
) -> ReviewItemOut:
    """The item with this id (or a unique prefix of at least 6 characters)."""
    return _review_out(await asyncio.to_thread(queue.get, request_store(request), review_id))


@router.post(
    "/v1/reviews/{review_id}/decision",
    tags=["reviews"],
    summary="Decide a review item",
    response_model=ReviewItemOut,
    responses={409: {"description": "Already decided: decisions are final."}},
)
async def decide(
    request: Request,
    review_id: ReviewId,
    body: DecisionRequest,
    identity: Annotated[Identity, Depends(require("review"))],
) -> ReviewItemOut:
    """Record a human decision (a JSON object, a label, or both), once; the item may become a test case."""
    item = await asyncio.to_thread(
        queue.decide,
        request_store(request),
        review_id,
        decision=body.decision,
        label=body.label,
        comment=body.comment,
        actor=identity.actor,
        rules=rules_of(workspace_of(request)),  # labels and output schema: refused as a 400
    )
    if item.trace_id:
        request.state.trace_id = item.trace_id
    return _review_out(item)
