"""End users' own data routes: ``PUT``/``GET /v1/consent/{subject}`` and ``DELETE /v1/users/{user}/traces``.

Both need the ``privacy`` scope (or ``admin``): the product's backend calls them when its user chooses.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from andon.gateway.api_models import MAX_ID
from andon.gateway.auth import Identity, require
from andon.gateway.http_errors import NO_NUL
from andon.gateway.routes.common import request_store

router = APIRouter()

Subject = Annotated[str, Path(min_length=1, max_length=MAX_ID, pattern=NO_NUL, description="The id the client sends.")]
Kind = Annotated[Literal["user", "tenant"], Query(description="Whose choice: an end user's (default) or a tenant's.")]


class ConsentRequest(BaseModel):
    """An end user's (or tenant's) choice; what is left out stays off."""

    model_config = ConfigDict(extra="forbid")

    cases: bool = Field(default=False, description="Their inputs may become test cases (review export).")
    improve: bool = Field(default=False, description="Their inputs may be used to improve the feature.")


class ConsentOut(BaseModel):
    """A stored choice; ``updated_at`` null means never chosen, so everything is off."""

    kind: Literal["user", "tenant"]
    subject: str
    cases: bool
    improve: bool
    updated_by: str | None = None
    updated_at: datetime | None = None


class DeletedOut(BaseModel):
    """What a deletion removed: the user's traces and what held their data."""

    user: str
    traces: int
    outputs: int
    feedback: int
    review_items: int
    cache_entries: int


@router.put("/v1/consent/{subject}", tags=["privacy"], summary="Set an end user's consent", response_model=ConsentOut)
async def put_consent(
    request: Request,
    subject: Subject,
    body: ConsentRequest,
    identity: Annotated[Identity, Depends(require("privacy"))],
    kind: Kind = "user",
) -> ConsentOut:
    """Record what ``subject`` allows; off until set, and their own choice wins over their tenant's."""
    consent = await asyncio.to_thread(
        request_store(request).set_consent,
        kind,
        subject,
        cases=body.cases,
        improve=body.improve,
        actor=identity.actor,
    )
    return ConsentOut(**dataclasses.asdict(consent))


@router.get("/v1/consent/{subject}", tags=["privacy"], summary="An end user's consent", response_model=ConsentOut)
async def get_consent(
    request: Request,
    subject: Subject,
    identity: Annotated[Identity, Depends(require("privacy"))],
    kind: Kind = "user",
) -> ConsentOut:
    """What ``subject`` allows now (all off when they never chose)."""
    consent = await asyncio.to_thread(request_store(request).get_consent, kind, subject)
    return ConsentOut(**dataclasses.asdict(consent))


@router.delete(
    "/v1/users/{subject}/traces", tags=["privacy"], summary="Delete an end user's traces", response_model=DeletedOut
)
async def delete_user_traces(
    request: Request,
    subject: Subject,
    identity: Annotated[Identity, Depends(require("privacy"))],
    tenant: Annotated[str | None, Query(max_length=MAX_ID, pattern=NO_NUL)] = None,
) -> DeletedOut:
    """Delete every trace of this user (within ``tenant``, when given) with its outputs, feedback and review items."""
    counts = await asyncio.to_thread(request_store(request).delete_user_traces, subject, tenant=tenant)
    # Gone from the store, so no replica serves them; this one also drops them (and their texts) from memory.
    answer_cache = getattr(request.app.state, "gateway", None) and request.app.state.gateway.answer_cache
    if answer_cache is not None and counts.cache_ids:
        answer_cache.forget(counts.cache_ids)
    values = {k: v for k, v in dataclasses.asdict(counts).items() if k in DeletedOut.model_fields}
    return DeletedOut(user=subject, **values)
