"""The HTTP face of the gateway: ``create_app(workspace)`` builds the FastAPI app that ``andon serve`` runs.

The routes live in ``gateway/routes/<area>.py`` (one ``APIRouter`` each), their bodies in ``api_models``;
this module assembles them with the middleware, the error handlers and the OpenAPI error documentation.

Routes: ``POST /v1/features/{feature}/invoke``, ``POST /v1/chat/completions`` (OpenAI-compatible),
``GET /v1/models``, ``POST /v1/traces/{id}/feedback``, ``GET /v1/reviews``, ``GET /v1/reviews/{id}``,
``POST /v1/reviews/{id}/decision``, ``/healthz``, ``/readyz``, ``/metrics`` and ``/openapi.json``.
"""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from andon._version import __version__
from andon.config.schema import GatewayConfig
from andon.engine.mcp_pool import close_process_pool, open_process_pool
from andon.gateway.api_models import ErrorBody
from andon.gateway.auth import Authenticator, RateLimiter
from andon.gateway.http_errors import STORABLE_JSON, STORABLE_JSON_SCHEMA, error_body, install_error_handlers
from andon.gateway.jsonlimits import MAX_JSON_DEPTH, nesting_depth
from andon.gateway.keycache import KeyCache
from andon.gateway.logging import ASGIApp, Receive, RequestLogMiddleware, Scope, Send
from andon.gateway.metrics import GatewayMetrics
from andon.gateway.reload import ConfigReloader, PinGeneration
from andon.gateway.routes import (
    alerts,
    chat,
    experiments,
    features,
    health,
    okr,
    otlp,
    reviews,
    traces,
    trust,
    watch,
)
from andon.messages import t
from andon.web.app import install as install_web
from andon.workspace import Workspace

if TYPE_CHECKING:
    from andon.gateway.service import Gateway

log = logging.getLogger("andon.gateway")

WORKSPACE_ENV = "ANDON_WORKSPACE"  # how `andon serve --workers N` tells each worker process where to look
# Included in this order (the order of /openapi.json); a new area adds its module's router here.
ROUTERS: tuple[APIRouter, ...] = (
    health.router,
    features.router,
    traces.router,
    reviews.router,
    chat.router,
    watch.router,
    alerts.router,
    okr.router,
    trust.router,
    otlp.router,  # issue 14: OTLP/HTTP JSON traces in
    experiments.router,
)

_ERRORS = {
    "400": "The request is invalid (validation details in `error.details`).",
    "401": "No API key, or an unknown or revoked one.",
    "403": "The key lacks the scope this route needs.",
    "413": "The body is larger than gateway.max_request_bytes.",
    "404": "No such feature, version, model, trace or review item.",
    "429": "The key's rate limit was reached; see Retry-After.",
    "502": "The provider failed and the feature's fallback gave no answer (the call is traced).",
    "503": "The provider is unavailable (timeout, circuit open), the store cannot be reached, or the feature is "
    "stopped and its fallback is `off` (code `feature_stopped`).",
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
        if headers.get(b"content-encoding", b"identity").strip().lower() != b"identity":
            is_json = False  # compressed (OTLP's gzip): the route measures the nesting once it has inflated it
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
        from andon.gateway.semcache.cache import SemanticCache

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
        mcp_sessions = open_process_pool()  # MCP sessions shared by the process's requests, closed on shutdown
        # An edited andon.yaml is served without a restart; an injected gateway (tests) is kept as given.
        reloader = None if gateway is not None else ConfigReloader.starting(app.state, ws, gw, partial(
            _default_gateway, metrics=gw.metrics))  # fmt: skip
        if reloader is not None:
            await reloader.start()
        # What is loaded by now (modules, config, templates: ~200,000 objects) lives as long as the server: kept
        # out of the collector's full passes, which otherwise walk all of it, for 0.1-0.6 s, every few requests
        # that read thousands of rows (a week of a monitor's minutes). bench/README.md has the figures.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            gc.unfreeze()
            if reloader is not None:
                await reloader.stop()  # closes replaced configs; the current one is closed here
            await app.state.gateway.stop()
            await close_process_pool(mcp_sessions)
            await app.state.authenticator.limiter.aclose()
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
    app.state.authenticator = Authenticator(
        ws.store, enabled=settings.auth, cache=KeyCache(ttl_s=settings.key_cache_s), limiter=_limiter(settings)
    )
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
    for router in ROUTERS:
        app.include_router(router)
    install_web(app)  # the dashboard's pages at / (not in /openapi.json)
    _document_errors(app)
    return app


def _limiter(settings: GatewayConfig) -> RateLimiter:
    """Per-key rate limits: shared through Redis when ``gateway.rate_limit_redis`` names one, else per process."""
    if not settings.rate_limit_redis:
        return RateLimiter()
    from andon.gateway.shared_limits import RedisRateLimiter

    return RedisRateLimiter(settings.rate_limit_redis)


def app_factory() -> FastAPI:
    """The app for ``uvicorn --factory`` worker processes: the workspace comes from ``ANDON_WORKSPACE``.

    The store URL comes, as always, from ``ANDON_DATABASE_URL`` or the workspace.
    """
    from pathlib import Path as FsPath

    folder = os.environ.get(WORKSPACE_ENV)
    ws = Workspace.open(FsPath(folder) if folder else None)
    return create_app(ws, close_workspace=True)
