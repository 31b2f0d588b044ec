"""The HTTP face of the gateway: ``create_app(workspace)`` builds the FastAPI app that ``andon serve`` runs.

Routes: ``POST /v1/features/{feature}/invoke``, ``POST /v1/chat/completions`` (OpenAI-compatible),
``GET /v1/models``, ``POST /v1/traces/{id}/feedback``, ``GET /v1/reviews``, ``GET /v1/reviews/{id}``,
``POST /v1/reviews/{id}/decision``, ``/healthz``, ``/readyz``, ``/metrics`` and ``/openapi.json``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar

from fastapi import Depends, FastAPI, Path, Query, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import text
from starlette.exceptions import HTTPException as StarletteHTTPException

from andon import __version__
from andon.config.schema import NAME_PATTERN
from andon.gateway import openai_compat, routes_alerts
from andon.gateway.auth import Authenticator, Identity, require
from andon.gateway.http_errors import (
    NO_NUL,
    STORABLE_JSON,
    STORABLE_JSON_SCHEMA,
    ApiError,
    StoredObject,
    error_body,
    install_error_handlers,
    json_problem,
)
from andon.gateway.jsonlimits import MAX_JSON_DEPTH, nesting_depth
from andon.gateway.logging import ASGIApp, Receive, RequestLogMiddleware, Scope, Send
from andon.gateway.metrics import GatewayMetrics
from andon.gateway.reload import ConfigReloader, PinGeneration, gateway_of, workspace_of
from andon.messages import t
from andon.store import Store
from andon.workspace import Workspace

if TYPE_CHECKING:
    from andon.gateway.service import Gateway

log = logging.getLogger("andon.gateway")

WORKSPACE_ENV = "ANDON_WORKSPACE"  # how `andon serve --workers N` tells each worker process where to look
MAX_ID = 200
T = TypeVar("T")

# --- request and response bodies ---------------------------------------------------------------------


def _storable(value: T) -> T:
    problem = json_problem(value)
    if problem:
        raise ValueError(problem)
    return value


IdText = Annotated[str, Field(max_length=MAX_ID, pattern=NO_NUL)]
LongText = Annotated[str, Field(max_length=10_000, pattern=NO_NUL)]


class InvokeRequest(BaseModel):
    """A call of a feature: the case variables, and optionally a version and the caller's ids."""

    model_config = ConfigDict(extra="forbid")

    variables: StoredObject = Field(default_factory=dict, description="The case variables of the prompt.")
    version: IdText | None = Field(default=None, description="A version name or id; default: the live one.")
    user_id: IdText | None = None
    session_id: IdText | None = None
    tenant: IdText | None = Field(default=None, description="Isolates cached answers.")
    tags: StoredObject = Field(default_factory=dict, description="Stored on the trace.")

    @field_validator("variables", "tags")
    @classmethod
    def _plain_json(cls, value: dict[str, Any]) -> dict[str, Any]:
        return _storable(value)


class InvokeResponse(BaseModel):
    """What a call returned: output (text and parsed JSON), trace, version, cache and route."""

    trace_id: str
    feature: str
    route: Literal["ai", "human", "shadow", "fallback"]
    status: str = Field(description="ok, queued (a human will answer) or error.")
    version_id: str | None
    version_name: str | None
    output_text: str | None = None
    output_json: Any = None
    cached: Literal["exact", "semantic"] | None = None
    review_id: str | None = None
    error: str | None = None
    error_code: str | None = None
    latency_ms: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float | None = None
    currency: str | None = None


def _at_least_one(*branches: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    """JSON Schema for "one of these fields, not null", so /openapi.json states what the validator checks."""
    return {"anyOf": [{"required": [name], "properties": {name: schema}} for name, schema in branches]}


class FeedbackRequest(BaseModel):
    """Feedback on a trace: a score, thumbs (+1 or -1), a comment, or several of them."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra=_at_least_one(
            ("score", {"type": "number"}),
            ("thumbs", {"enum": [1, -1]}),
            ("comment", {"type": "string", "pattern": r"\S"}),
        ),
    )

    score: float | None = Field(default=None, allow_inf_nan=False)
    thumbs: Literal[1, -1] | None = None
    comment: LongText | None = None
    user_id: IdText | None = None

    @model_validator(mode="after")
    def _something(self) -> FeedbackRequest:
        if self.score is None and self.thumbs is None and not self.comment:
            raise ValueError("give a score, thumbs (1 or -1), or a comment")
        return self


class FeedbackResponse(BaseModel):
    """Feedback was recorded."""

    trace_id: str
    recorded: bool = True


class DecisionRequest(BaseModel):
    """A human decision on a review item: a JSON object, a label, or both."""

    model_config = ConfigDict(
        extra="forbid",
        # A label of only spaces counts as none (the queue strips it).
        json_schema_extra=_at_least_one(
            ("decision", {"type": "object"}), ("label", {"type": "string", "pattern": r"\S"})
        ),
    )

    decision: StoredObject | None = None
    label: IdText | None = None
    comment: LongText | None = None

    @field_validator("decision")
    @classmethod
    def _plain_json(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return _storable(value)


class ReviewItemOut(BaseModel):
    """A review item with the AI's suggestion and, once decided, the decision."""

    id: str
    feature: str
    reason: str
    status: str
    trace_id: str | None = None
    version_id: str | None = None
    input: Any = None
    suggestion_text: str | None = None
    suggestion_json: Any = None
    decision: Any = None
    label: str | None = None
    comment: str | None = None
    decided_by: str | None = None
    decided_at: str | None = None
    exported_at: str | None = None
    created_at: str | None = None


class ReviewList(BaseModel):
    """Review items, oldest first."""

    items: list[ReviewItemOut]


class ErrorDetail(BaseModel):
    """What went wrong: a stable ``code``, a message for people, and how to fix it."""

    code: str = Field(description="Stable: invalid_request, unauthorized, forbidden, not_found, rate_limited, …")
    message: str
    type: str = Field(description="OpenAI's error type for the code, so OpenAI SDKs parse it.")
    hint: str | None = None
    trace_id: str | None = Field(default=None, description="The request's trace (or request) id, for bug reports.")


class ErrorBody(BaseModel):
    """Every error response."""

    error: ErrorDetail


_ERRORS = {
    "400": "The request is invalid (validation details in `error.details`).",
    "401": "No API key, or an unknown or revoked one.",
    "403": "The key lacks the scope this route needs.",
    "413": "The body is larger than gateway.max_request_bytes.",
    "404": "No such feature, version, model, trace or review item.",
    "429": "The key's rate limit was reached; see Retry-After.",
    "502": "The provider failed and the feature's fallback gave no answer (the call is traced).",
    "503": "The provider is unavailable (timeout, circuit open) or the store cannot be reached.",
}
_CALLS = ("/v1/features/{feature}/invoke", "/v1/chat/completions")


def _document_errors(app: FastAPI) -> None:
    """Let /openapi.json say what the gateway really answers: 400 with the error shape, never FastAPI's 422."""
    plain_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = plain_openapi()
        ref = {"$ref": "#/components/schemas/ErrorBody"}
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components["ErrorBody"] = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(components["ErrorBody"].pop("$defs", {}))
        components[STORABLE_JSON] = STORABLE_JSON_SCHEMA
        for path, methods in schema.get("paths", {}).items():
            for operation in methods.values():
                responses = operation.setdefault("responses", {})
                had_validation = responses.pop("422", None) is not None
                codes = ["413"] if operation.get("requestBody") else []
                if had_validation or operation.get("requestBody"):
                    codes.append("400")
                if operation.get("security"):
                    codes += ["401", "403", "429"]
                if "{" in path or path in _CALLS:
                    codes.append("404")
                if path in _CALLS:
                    codes += ["502", "503"]
                for code in codes:
                    content = {"application/json": {"schema": ref}}
                    responses.setdefault(code, {"description": _ERRORS[code], "content": content})
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


# --- the request size limit --------------------------------------------------------------------------


class PayloadTooLarge(StarletteHTTPException):
    """The body grew past the limit while streaming in (FastAPI passes HTTP exceptions through untouched)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes (gateway.max_request_bytes)")


class BodyTooDeep(StarletteHTTPException):
    """The JSON body nests deeper than the parsers and the store's checks can take safely."""

    def __init__(self) -> None:
        super().__init__(400, t("http.body.too_deep", limit=MAX_JSON_DEPTH))


class BodyLimitMiddleware:
    """Refuses bodies over ``limit`` bytes (by Content-Length at once, or by counting) and JSON nested too deep.

    The body is read whole on the app's first ``receive`` (FastAPI reads it whole anyway), so its nesting is
    measured before any JSON parser or validator recurses into it.
    """

    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                size = int(declared)
            except ValueError:
                await _send_error(scope, send, "invalid_request", "Content-Length is not a number")
                return
            if size > self.limit:
                await _send_error(scope, send, "payload_too_large", PayloadTooLarge(self.limit).detail)
                return
        content_type = headers.get(b"content-type", b"").lower()
        is_json = not content_type or b"json" in content_type  # FastAPI parses both as JSON
        read = False

        async def whole_body_receive() -> Any:
            nonlocal read
            if read:
                return await receive()  # after the body: disconnects, which streaming responses listen for
            read = True
            body = bytearray()
            while True:
                message = await receive()
                if message["type"] != "http.request":
                    return message
                body += message.get("body", b"")
                if len(body) > self.limit:
                    raise PayloadTooLarge(self.limit)
                if not message.get("more_body", False):
                    break
            if is_json and nesting_depth(bytes(body), stop_after=MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
                raise BodyTooDeep
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        await self.app(scope, whole_body_receive, send)


async def _send_error(scope: Scope, send: Send, code: str, message: str) -> None:
    trace_id = scope.get("state", {}).get("trace_id")
    status = {"payload_too_large": 413}.get(code, 400)
    response = JSONResponse(error_body(code, message, trace_id=trace_id), status_code=status)
    await response(scope, _no_receive, send)


async def _no_receive() -> dict[str, Any]:
    return {"type": "http.disconnect"}


async def _internal_error(scope: Scope, receive: Receive, send: Send, exc: BaseException) -> None:
    """The last resort: log the traceback, answer the JSON ``internal`` error (never the traceback)."""
    log.error("unhandled error on %s %s", scope.get("method"), scope.get("path"), exc_info=exc)
    trace_id = scope.get("state", {}).get("trace_id")
    body = error_body(
        "internal", "internal error; the server log has the details under this trace id", trace_id=trace_id
    )
    await JSONResponse(body, status_code=500)(scope, receive, send)


# --- the app -----------------------------------------------------------------------------------------


def _default_gateway(ws: Workspace, metrics: GatewayMetrics | None = None) -> Gateway:
    """The gateway, with the semantic cache only when a feature enables caching (it loads an embedding model).

    The SSRF-safe image fetcher is built by the gateway itself when an image URL first arrives; ``metrics``
    carries the counters over when an edited andon.yaml replaces the gateway.
    """
    from andon.gateway.service import Gateway

    answer_cache = None
    if any(f.serve.cache.enabled for f in ws.config.features.values()):
        from andon.gateway.semcache import SemanticCache

        answer_cache = SemanticCache(ws.store, ws.config)
    return Gateway(ws, answer_cache=answer_cache, metrics=metrics)


def create_app(ws: Workspace, *, gateway: Gateway | None = None, close_workspace: bool = False) -> FastAPI:
    """The FastAPI app serving ``ws``; the gateway starts and stops with the app's lifespan."""
    settings = ws.config.gateway

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        gw = gateway if gateway is not None else _default_gateway(ws)
        app.state.gateway = gw
        await gw.start()
        # An edited andon.yaml is served without a restart; an injected gateway (tests) is kept as given.
        reloader = None if gateway is not None else ConfigReloader.starting(app.state, ws, gw, partial(
            _default_gateway, metrics=gw.metrics))  # fmt: skip
        if reloader is not None:
            await reloader.start()
        try:
            yield
        finally:
            if reloader is not None:
                await reloader.stop()  # closes replaced configs; the current one is closed here
            await app.state.gateway.stop()
            await app.state.workspace.aclose_providers()
            if close_workspace:
                ws.store.close()

    app = FastAPI(
        title="andon gateway",
        version=__version__,
        description="Features over HTTP with traces, caching, review routes and an OpenAI-compatible endpoint.",
        lifespan=lifespan,
        docs_url=None,  # the Swagger and ReDoc pages load scripts from a CDN; /openapi.json is enough
        redoc_url=None,
    )
    app.state.workspace = ws
    app.state.authenticator = Authenticator(ws.store, enabled=settings.auth)
    install_error_handlers(app)
    # Added inside out: the request log wraps everything, so even a refused body is logged with its trace id.
    app.add_middleware(PinGeneration)  # each request keeps the config it arrived under (gateway/reload.py)
    app.add_middleware(BodyLimitMiddleware, limit=settings.max_request_bytes)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["authorization", "content-type", "x-andon-user-id", "x-andon-session-id", "x-andon-tenant"],
            expose_headers=["x-andon-trace-id", "retry-after"],
        )
    app.add_middleware(RequestLogMiddleware, on_error=_internal_error)
    _add_operations(app)
    _add_feature_routes(app)
    _add_review_routes(app)
    app.include_router(openai_compat.router)
    app.include_router(routes_alerts.router)
    _document_errors(app)
    return app


def app_factory() -> FastAPI:
    """The app for ``uvicorn --factory`` worker processes: the workspace comes from ``ANDON_WORKSPACE``.

    The store URL comes, as always, from ``ANDON_DATABASE_URL`` or the workspace.
    """
    from pathlib import Path as FsPath

    folder = os.environ.get(WORKSPACE_ENV)
    ws = Workspace.open(FsPath(folder) if folder else None)
    return create_app(ws, close_workspace=True)


def _gateway(request: Request) -> Gateway:
    return gateway_of(request)


def _store(request: Request) -> Store:
    return workspace_of(request).store


def _ping(store: Store) -> None:
    with store.engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def _add_operations(app: FastAPI) -> None:
    @app.get("/healthz", tags=["operations"], summary="The process is up")
    async def healthz() -> dict[str, str]:
        """Always 200 while the process serves requests."""
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["operations"],
        summary="The store is reachable and the gateway is ready",
        responses={503: {"description": "Not ready; the body says which check failed."}},
    )
    async def readyz(request: Request) -> JSONResponse:
        """200 when the store answers and the gateway has started, else 503 with the failing checks."""
        try:
            await asyncio.wait_for(asyncio.to_thread(_ping, _store(request)), timeout=5)
            store_ok = True
        except Exception:  # any failure to reach the store means: not ready
            store_ok = False
        gateway = getattr(request.app.state, "gateway", None)
        gateway_ok = bool(gateway is not None and gateway.ready())
        checks = {"store": store_ok, "gateway": gateway_ok}
        if store_ok and gateway_ok:
            reloader = getattr(request.app.state, "reloader", None)  # a rejected andon.yaml edit shows here
            config = {} if reloader is None else {"config": reloader.status()}
            return JSONResponse({"status": "ready", "checks": checks, **config})
        failing = ", ".join(name for name, ok in checks.items() if not ok)
        body = error_body("not_ready", f"not ready: {failing}", trace_id=request.state.trace_id, checks=checks)
        return JSONResponse(body, status_code=503)

    @app.get("/metrics", tags=["operations"], summary="Prometheus metrics", response_class=Response)
    async def metrics(request: Request, identity: Annotated[Identity, Depends(require("metrics"))]) -> Response:
        """Requests, latency, tokens, cost, cache hits and routes per feature (Prometheus' text format).

        Needs a key with the ``metrics`` scope (or ``admin``): feature names, traffic and cost are not public.
        """
        from prometheus_client import CONTENT_TYPE_LATEST

        return Response(_gateway(request).metrics.render(), media_type=CONTENT_TYPE_LATEST)


FeatureName = Annotated[str, Path(pattern=NAME_PATTERN, description="A feature declared in andon.yaml.")]
TraceId = Annotated[str, Path(min_length=1, max_length=MAX_ID, pattern=NO_NUL)]
ReviewId = Annotated[str, Path(min_length=1, max_length=MAX_ID, pattern=NO_NUL)]


def _add_feature_routes(app: FastAPI) -> None:
    @app.post(
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
        ws = workspace_of(request)
        caller = identity.caller(user_id=body.user_id, session_id=body.session_id, tenant=body.tenant, tags=body.tags)
        if feature not in ws.config.features:
            known = ", ".join(ws.config.features) or "none"
            hint = t("http.known", known=known) if openai_compat.may_see_names(caller) else t("http.ask_admin")
            raise ApiError("not_found", t("http.no_feature", feature=feature), hint=hint)
        result = await openai_compat.invoke_feature(request, feature, body.variables, caller, body.version)
        request.state.trace_id = result.trace_id
        openai_compat.raise_for_result(result)
        if result.status == "queued":
            response.status_code = 202
        return InvokeResponse(**dataclasses.asdict(result))

    @app.post(
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
        await _gateway(request).feedback(
            trace_id, score=body.score, thumbs=body.thumbs, comment=body.comment, user_id=body.user_id
        )
        request.state.trace_id = trace_id
        return FeedbackResponse(trace_id=trace_id)


def _review_out(item: Any) -> ReviewItemOut:
    return ReviewItemOut(**item.to_json())


def _add_review_routes(app: FastAPI) -> None:
    from andon.review import queue
    from andon.review.decisions import rules_of

    @app.get("/v1/reviews", tags=["reviews"], summary="Review items", response_model=ReviewList)
    async def list_reviews(
        request: Request,
        identity: Annotated[Identity, Depends(require("review"))],
        feature: Annotated[str | None, Query(max_length=MAX_ID, pattern=NO_NUL)] = None,
        status: Annotated[Literal["pending", "decided", "all"], Query()] = "pending",
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> ReviewList:
        """Items oldest first (pending by default)."""
        items = await asyncio.to_thread(
            queue.list_items, _store(request), feature, status=None if status == "all" else status, limit=limit
        )
        return ReviewList(items=[_review_out(i) for i in items])

    @app.get("/v1/reviews/{review_id}", tags=["reviews"], summary="One review item", response_model=ReviewItemOut)
    async def get_review(
        request: Request, review_id: ReviewId, identity: Annotated[Identity, Depends(require("review"))]
    ) -> ReviewItemOut:
        """The item with this id (or a unique prefix of at least 6 characters)."""
        return _review_out(await asyncio.to_thread(queue.get, _store(request), review_id))

    @app.post(
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
            _store(request),
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
