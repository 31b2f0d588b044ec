"""OKR routes: ``POST /v1/okr/checkins`` (a batch of values, all or none) and ``GET /v1/okr/board``.

Both need an API key with the ``okr`` scope (or ``admin``); a check-in records the key's name as its author
unless the item names one.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from andon.config.problems import InvalidConfig
from andon.errors import PeriodClosedError
from andon.gateway.auth import Identity, require
from andon.gateway.http_errors import NO_NUL, ApiError
from andon.gateway.routes.common import request_store
from andon.okr import checkins as okr_checkins
from andon.okr.board import board_json, build_board, default_period
from andon.store import Store

MAX_CHECKINS = 1000
router = APIRouter()

Text = Annotated[str, Field(max_length=10_000, pattern=NO_NUL)]
Ref = Annotated[str, Field(min_length=1, max_length=200, pattern=NO_NUL)]


class CheckInItem(BaseModel):
    """One value of a key result."""

    model_config = ConfigDict(extra="forbid")

    key_result: Ref = Field(description="Key result id, unique id prefix, or key.")
    value: float = Field(allow_inf_nan=False)
    confidence: int | None = Field(default=None, ge=1, le=10, description="How sure the target will be met, 1–10.")
    comment: Text = ""
    author: Annotated[str, Field(min_length=1, max_length=200, pattern=NO_NUL)] | None = Field(
        default=None, description="Who recorded it (default: the API key's name)."
    )
    at: datetime | None = Field(default=None, description="When it was measured (default: now); ISO 8601.")
    step: Annotated[str, Field(min_length=1, max_length=100, pattern=NO_NUL)] | None = Field(
        default=None, description="Idempotency key: a second item with the same key result and step is skipped."
    )


class CheckInsRequest(BaseModel):
    """A batch of check-ins."""

    model_config = ConfigDict(extra="forbid")

    checkins: list[CheckInItem] = Field(min_length=1, max_length=MAX_CHECKINS)


class CheckInOut(BaseModel):
    """A stored check-in."""

    id: str
    key_result: str
    value: float
    created_at: datetime


class CheckInsResponse(BaseModel):
    """What the batch stored."""

    accepted: int
    skipped: int = Field(description="Items whose key result and step were recorded already.")
    checkins: list[CheckInOut]


@router.post(
    "/v1/okr/checkins",
    tags=["okr"],
    summary="Record key result values",
    response_model=CheckInsResponse,
    status_code=201,
    responses={
        404: {"description": "An item names a key result that does not exist."},
        409: {"description": "An item's key result belongs to a closed period; nothing was stored."},
    },
)
async def post_checkins(
    request: Request, body: CheckInsRequest, identity: Annotated[Identity, Depends(require("okr"))]
) -> CheckInsResponse:
    """Store a batch of check-ins (source ``api``): every item is checked first, then all are written or none."""
    store = request_store(request)
    return await asyncio.to_thread(_store_checkins, store, body, identity.name)


def _store_checkins(store: Store, body: CheckInsRequest, author: str) -> CheckInsResponse:
    items = [
        (
            f"checkins[{i}]",
            okr_checkins.CheckInInput(
                key_result=item.key_result, value=item.value, confidence=item.confidence, comment=item.comment,
                author=item.author, at=item.at, step=item.step,
            ),
        )
        for i, item in enumerate(body.checkins)
    ]  # fmt: skip
    checked, problems = okr_checkins.check_batch(store, items, author=author, source="api")
    if problems:
        first = problems[0]
        fields = {p.field for p in problems}
        code = "conflict" if "period" in fields else "not_found" if "key_result" in fields else "invalid_request"
        details = [{"where": p.where, "field": p.field, "message": p.message} for p in problems]
        raise ApiError(code, f"{first.where}: {first.message}", hint=first.hint, extra={"details": details})
    try:
        result = okr_checkins.store_batch(store, checked)
    except PeriodClosedError as exc:  # closed between the check and the write
        raise ApiError("conflict", exc.message, hint=exc.hint) from None
    except InvalidConfig as exc:
        raise ApiError("invalid_request", exc.message, hint=exc.hint) from None
    return CheckInsResponse(
        accepted=len(result.written),
        skipped=result.skipped,
        checkins=[CheckInOut(id=c.id, key_result=c.key_result, value=c.value, created_at=c.created_at)
                  for c in result.written],
    )  # fmt: skip


@router.get(
    "/v1/okr/board",
    tags=["okr"],
    summary="The OKR board of a period",
    responses={404: {"description": "No such period or team."}},
)
async def get_board(
    request: Request,
    identity: Annotated[Identity, Depends(require("okr"))],
    period: Annotated[str | None, Query(max_length=20, pattern=NO_NUL, description="e.g. 2026Q4")] = None,
    team: Annotated[str | None, Query(max_length=100, pattern=NO_NUL, description="A team and its sub-teams")] = None,
) -> dict[str, Any]:
    """One row per key result: team, objective, key result, description, history, owner, start, target,
    actuals per step, achievement and health, with objective and team roll-ups (default: the current quarter)."""
    store = request_store(request)

    def board() -> dict[str, Any]:
        return board_json(build_board(store, period or default_period(store), team=team))

    return await asyncio.to_thread(board)
