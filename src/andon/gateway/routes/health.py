"""Operations routes: ``/healthz``, ``/readyz`` and ``/metrics``."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import text

from andon.gateway.auth import Identity, require
from andon.gateway.http_errors import error_body
from andon.gateway.routes.common import request_gateway, request_store
from andon.store import Store

router = APIRouter()


def _ping(store: Store) -> None:
    with store.engine.connect() as conn:
        conn.execute(text("SELECT 1"))


@router.get("/healthz", tags=["operations"], summary="The process is up")
async def healthz() -> dict[str, str]:
    """Always 200 while the process serves requests."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    tags=["operations"],
    summary="The store is reachable and the gateway is ready",
    responses={503: {"description": "Not ready; the body says which check failed."}},
)
async def readyz(request: Request) -> JSONResponse:
    """200 when the store answers and the gateway has started, else 503 with the failing checks."""
    try:
        await asyncio.wait_for(asyncio.to_thread(_ping, request_store(request)), timeout=5)
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


@router.get("/metrics", tags=["operations"], summary="Prometheus metrics", response_class=Response)
async def metrics(request: Request, identity: Annotated[Identity, Depends(require("metrics"))]) -> Response:
    """Requests, latency, tokens, cost, cache hits and routes per feature (Prometheus' text format).

    Needs a key with the ``metrics`` scope (or ``admin``): feature names, traffic and cost are not public.
    """
    from prometheus_client import CONTENT_TYPE_LATEST

    return Response(request_gateway(request).metrics.render(), media_type=CONTENT_TYPE_LATEST)
