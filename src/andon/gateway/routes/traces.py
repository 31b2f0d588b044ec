"""Trace routes: ``POST /v1/traces/{trace_id}/feedback``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from andon.gateway.api_models import FeedbackRequest, FeedbackResponse, TraceId
from andon.gateway.auth import Identity, require
from andon.gateway.routes.common import request_gateway

router = APIRouter()


@router.post(
    "/v1/traces/{trace_id}/feedback",
    tags=["features"],
    summary="Feedback on a call",
    response_model=FeedbackResponse,
    status_code=201,
)
async def feedback(
    request: Request,
    trace_id: TraceId,
    body: FeedbackRequest,
    identity: Annotated[Identity, Depends(require("invoke"))],
) -> FeedbackResponse:
    """Record a score, thumbs or comment on a trace (unknown traces are 404)."""
    await request_gateway(request).feedback(
        trace_id, score=body.score, thumbs=body.thumbs, comment=body.comment, user_id=body.user_id
    )
    request.state.trace_id = trace_id
    return FeedbackResponse(trace_id=trace_id)
