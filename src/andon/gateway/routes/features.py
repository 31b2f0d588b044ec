"""Feature routes: ``POST /v1/features/{feature}/invoke``."""

from __future__ import annotations

import dataclasses
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from andon.gateway.api_models import FeatureName, InvokeRequest, InvokeResponse
from andon.gateway.auth import Identity, require
from andon.gateway.disclosure import HEADER, pick_notice
from andon.gateway.http_errors import ApiError
from andon.gateway.reload import workspace_of
from andon.gateway.routes.common import invoke_feature, may_see_names, raise_for_result
from andon.messages import t
from andon.workspace import Workspace

router = APIRouter()


@router.post(
    "/v1/features/{feature}/invoke",
    tags=["features"],
    summary="Call a feature",
    response_model=InvokeResponse,
    responses={202: {"model": InvokeResponse, "description": "Routed to a human: see review_id."}},
)
async def invoke(
    request: Request,
    response: Response,
    feature: FeatureName,
    body: InvokeRequest,
    identity: Annotated[Identity, Depends(require("invoke"))],
) -> InvokeResponse:
    """Run the feature's live version (or ``version``) on ``variables``; the call is traced durably."""
    ws: Workspace = workspace_of(request)
    caller = identity.caller(user_id=body.user_id, session_id=body.session_id, tenant=body.tenant, tags=body.tags)
    if feature not in ws.config.features:
        known = ", ".join(ws.config.features) or "none"
        hint = t("http.known", known=known) if may_see_names(caller) else t("http.ask_admin")
        raise ApiError("not_found", t("http.no_feature", feature=feature), hint=hint)
    result = await invoke_feature(request, feature, body.variables, caller, body.version)
    request.state.trace_id = result.trace_id
    raise_for_result(result)
    if result.status == "queued":
        response.status_code = 202
    fields = dataclasses.asdict(result)
    notice = fields.pop("ai_notice")
    if result.ai_generated:
        response.headers[HEADER] = "true"
    return InvokeResponse(
        **fields, ai_notice=pick_notice(notice, request.headers.get("accept-language")) if notice else None
    )
