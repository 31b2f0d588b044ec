"""``POST /v1/experiments/{id}/events`` (outcomes of an experiment's units), ``GET /v1/experiments`` and
``GET /v1/rollouts`` (read-only views of both)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator

from andon.deploy.experiment import OutcomeIn, record_events
from andon.gateway.auth import Identity, require
from andon.gateway.http_errors import NO_NUL
from andon.gateway.reload import workspace_of
from andon.messages import t
from andon.workspace import Workspace

MAX_EVENTS = 10_000
router = APIRouter()

Text = Annotated[str, Field(min_length=1, max_length=200, pattern=NO_NUL)]


class ExperimentEvent(BaseModel):
    """One outcome: for a unit key (its user, session or tenant id) or the trace it was served in."""

    model_config = ConfigDict(extra="forbid")

    name: Text = Field(default="conversion", description="The event: conversion, or a value's name (revenue …).")
    unit: Text | None = Field(default=None, description="The unit key the experiment sticks by.")
    trace_id: Text | None = Field(default=None, description="A trace the experiment served (its unit is used).")
    value: float = Field(default=1.0, allow_inf_nan=False, description="1 for a conversion, else the value.")
    ts: datetime | None = Field(default=None, description="When it happened (default: now).")

    @model_validator(mode="after")
    def _keyed(self) -> ExperimentEvent:
        if self.unit is None and self.trace_id is None:
            raise ValueError(t("experiment.event.keyed"))
        return self


class EventsRequest(BaseModel):
    """A batch of outcomes, stored all or none."""

    model_config = ConfigDict(extra="forbid")

    events: list[ExperimentEvent] = Field(min_length=1, max_length=MAX_EVENTS)


class EventsResponse(BaseModel):
    """How many outcomes were stored."""

    accepted: int


ExperimentId = Annotated[str, Path(min_length=1, max_length=64, pattern=NO_NUL)]


@router.post("/v1/experiments/{experiment_id}/events", tags=["experiments"], summary="Push outcomes of an experiment",
             response_model=EventsResponse, status_code=202)  # fmt: skip
async def push_events(
    request: Request,
    experiment_id: ExperimentId,
    body: EventsRequest,
    identity: Annotated[Identity, Depends(require("invoke"))],
) -> EventsResponse:
    """Store ``{"events": [{name, unit | trace_id, value, ts}]}``; each is attributed to its unit's arm."""
    ws: Workspace = workspace_of(request)
    outcomes = [
        OutcomeIn(e.name, e.value, e.unit, e.trace_id, None if e.ts is None else _utc(e.ts)) for e in body.events
    ]
    return EventsResponse(accepted=await asyncio.to_thread(record_events, ws, experiment_id, outcomes))


def _utc(ts: datetime) -> datetime:
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


@router.get("/v1/experiments", tags=["experiments"], summary="Experiments and their always-valid results")
async def list_experiments(
    request: Request, identity: Annotated[Identity, Depends(require("admin"))], feature: str | None = None
) -> dict[str, Any]:
    """Every experiment (of ``feature``), newest first, with its arms, results and decision."""
    ws: Workspace = workspace_of(request)
    records = await asyncio.to_thread(ws.store.list_experiments, feature)
    return {"experiments": [
        {"id": r.id, "feature": r.feature, "name": r.name, "status": r.status, "arms": r.settings["arms"],
         "results": r.results, "decision": r.decision, "started_at": r.created_at.isoformat(),
         "finished_at": r.finished_at.isoformat() if r.finished_at else None}
        for r in records
    ]}  # fmt: skip


@router.get("/v1/rollouts", tags=["experiments"], summary="Canary rollouts")
async def list_rollouts(
    request: Request, identity: Annotated[Identity, Depends(require("admin"))], feature: str | None = None
) -> dict[str, Any]:
    """Every rollout (of ``feature``), newest first: versions, step, canary weight (percent), status."""
    ws: Workspace = workspace_of(request)
    records = await asyncio.to_thread(ws.store.list_rollouts, feature)
    return {"rollouts": [
        {"id": r.id, "feature": r.feature, "stable": r.stable_name, "canary": r.canary_name, "status": r.status,
         "step": r.step + 1, "weight": r.weight / 100, "started_at": r.created_at.isoformat(),
         "finished_at": r.finished_at.isoformat() if r.finished_at else None}
        for r in records
    ]}  # fmt: skip
