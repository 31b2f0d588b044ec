"""Chat routes: OpenAI-compatible ``POST /v1/chat/completions`` and ``GET /v1/models`` (see ``openai_compat``)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from andon.config.schema import WorkspaceConfig
from andon.errors import AndonError, ConfigError
from andon.gateway.auth import Identity, require
from andon.gateway.conversation import fill_history
from andon.gateway.disclosure import HEADER
from andon.gateway.http_errors import ApiError, json_problem
from andon.gateway.openai_compat import (
    FEATURE_PREFIX,
    SSE_EVENT,
    ChatCompletion,
    ChatCompletionRequest,
    FeatureTarget,
    callable_models,
    check_client_tools,
    completion_body,
    feature_variables,
    provider_messages,
    provider_params,
    resolve_model,
    stream_events,
)
from andon.gateway.reload import gateway_of, workspace_of
from andon.gateway.routes.common import invoke_feature, may_see_names, raise_for_result
from andon.gateway.types import Caller, InvokeResult
from andon.messages import t
from andon.versions.render import step_variables

router = APIRouter(tags=["openai"])


async def _plain_text_refused(request: Request, target: FeatureTarget, variables: Mapping[str, Any]) -> ApiError | None:
    """The error for plain text that cannot fill a feature's prompt: its variables, and the JSON form to send."""
    ws = workspace_of(request)
    try:
        if target.version is None:
            version = await gateway_of(request).live_version(target.feature)
        else:
            version = await asyncio.to_thread(ws.version, target.feature, target.version)
    except AndonError:
        return None
    needed = sorted(set().union(*(step_variables(step) for step in version.steps)))
    if not needed or set(needed) <= set(variables):
        return None  # something else is wrong; the original error says what
    example = json.dumps(dict.fromkeys(needed, "…"), ensure_ascii=False)
    return ApiError(
        "invalid_request",
        t("http.chat.plain_text", feature=target.feature, variables=", ".join(needed), given=", ".join(variables)),
        hint=t("http.chat.plain_text_hint", example=example, feature=target.feature),
    )


async def _call(request: Request, body: ChatCompletionRequest, caller: Caller) -> InvokeResult:
    problem = json_problem(body.model_dump(exclude_none=True))
    if problem:
        raise ApiError("invalid_request", t("house3.http.unprocessable", problem=problem))
    gateway = gateway_of(request)
    target = resolve_model(body.model, workspace_of(request).config, reveal=may_see_names(caller))
    check_client_tools(body, target, workspace_of(request).config)
    if isinstance(target, FeatureTarget):
        chat_input = workspace_of(request).config.features[target.feature].chat_input
        variables, from_text = feature_variables(body.messages, chat_input)
        await fill_history(request, target, variables, body.messages)
        try:
            result: InvokeResult = await invoke_feature(request, target.feature, variables, caller, target.version)
        except ConfigError:
            refused = await _plain_text_refused(request, target, variables) if from_text else None
            if refused is None:
                raise
            raise refused from None
    else:
        messages = provider_messages(body.messages)
        params = provider_params(body)
        result = await gateway.call_model(
            target.provider, target.model, messages, params, caller, received_at=request.state.received_at
        )
    request.state.trace_id = result.trace_id
    return result


@router.post(
    "/v1/chat/completions",
    summary="OpenAI-compatible chat completion (streaming with stream: true)",
    responses={
        200: {
            "description": "A chat.completion, or text/event-stream chunks when streaming.",
            "model": ChatCompletion,
            "content": {"text/event-stream": {"schema": SSE_EVENT}},
        },
        202: {"model": ChatCompletion, "description": "Routed to a human (feature stopped, or review): content null."},
    },
)
async def chat_completions(
    request: Request,
    body: ChatCompletionRequest,
    identity: Annotated[Identity, Depends(require("invoke"))],
    x_andon_user_id: Annotated[str | None, Header(max_length=200)] = None,
    x_andon_session_id: Annotated[str | None, Header(max_length=200)] = None,
    x_andon_tenant: Annotated[str | None, Header(max_length=200)] = None,
) -> Response:
    """Answer a chat completion with a feature (``feature:NAME``) or a provider model (``PROVIDER/MODEL``)."""
    caller = identity.caller(
        user_id=body.user or x_andon_user_id,
        session_id=x_andon_session_id,
        tenant=x_andon_tenant,
        tags=dict(body.metadata or {}),
    )
    result = await _call(request, body, caller)
    raise_for_result(result)
    created = int(time.time())
    status = 202 if result.status == "queued" else 200
    language = request.headers.get("accept-language")
    marker = {HEADER: "true"} if result.ai_generated else {}
    offered = bool(body.tools)
    if not body.stream:
        body_json = completion_body(result, body.model, created, language, tools_offered=offered)
        return JSONResponse(body_json, status_code=status, headers=marker)
    include_usage = bool(body.stream_options and body.stream_options.include_usage)

    async def events() -> AsyncIterator[str]:
        for item in stream_events(result, body.model, created, include_usage, language, tools_offered=offered):
            yield item

    return StreamingResponse(
        events(),
        status_code=status,
        media_type="text/event-stream",
        headers={"cache-control": "no-cache", "x-accel-buffering": "no", **marker},
    )


@router.get("/v1/models", summary="Models this gateway answers (features and configured providers)")
async def list_models(request: Request, identity: Annotated[Identity, Depends(require("invoke"))]) -> dict[str, Any]:
    """OpenAI's model list: ``feature:NAME`` for each feature, ``PROVIDER/MODEL`` for each model callers may name."""
    config: WorkspaceConfig = workspace_of(request).config
    ids = [f"{FEATURE_PREFIX}{name}" for name in config.features]
    ids += [f"{provider}/{model}" for provider, models in callable_models(config).items() for model in models]
    return {"object": "list", "data": [{"id": i, "object": "model", "created": 0, "owned_by": "andon"} for i in ids]}
