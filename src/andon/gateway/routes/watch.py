"""``POST /v1/metrics``: values pushed for monitors whose source is ``pushed`` (an API key with invoke or admin).

A value with a ``trace_id`` (a conversion, a purchase's revenue) also counts as an outcome of the A/B experiment
that served that trace: its ``metric`` name is the event the experiment's ``conversion`` or ``value`` counts.
"""

from __future__ import annotations

import asyncio
import math
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from andon.deploy.experiment import OutcomeIn, record_trace_outcomes
from andon.gateway.auth import Identity, require
from andon.gateway.http_errors import NO_NUL, ApiError
from andon.gateway.reload import workspace_of
from andon.messages import t
from andon.workspace import Workspace

MAX_POINTS = 10_000
router = APIRouter()

MetricName = Annotated[str, Field(min_length=1, max_length=200, pattern=NO_NUL)]


class MetricPoint(BaseModel):
    """One value: for a monitor (its pushed metric) or for a metric name, at ``ts`` (default: now)."""

    model_config = ConfigDict(extra="forbid")

    monitor: MetricName | None = Field(default=None, description="A monitor with `source: pushed`.")
    metric: MetricName | None = Field(default=None, description="The metric name a pushed source reads.")
    ts: datetime | float | None = Field(
        default=None, description="When it was measured: ISO 8601 or seconds since the epoch (default: now)."
    )
    value: float = Field(allow_inf_nan=False)
    trace_id: MetricName | None = Field(
        default=None, description="The trace the value belongs to: it then counts for the experiment that served it."
    )

    @field_validator("ts")
    @classmethod
    def _finite(cls, value: datetime | float | None) -> datetime | float | None:
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(t("house3.http.ts_finite"))
        return value

    @model_validator(mode="after")
    def _one_target(self) -> MetricPoint:
        if (self.monitor is None) == (self.metric is None):
            raise ValueError(t("house3.http.one_target"))
        return self

    def when(self, now: datetime) -> datetime:
        """The time as an aware UTC datetime (naive ISO times are taken as UTC)."""
        if self.ts is None:
            return now
        if isinstance(self.ts, datetime):
            return self.ts.replace(tzinfo=UTC) if self.ts.tzinfo is None else self.ts.astimezone(UTC)
        try:
            return datetime.fromtimestamp(float(self.ts), UTC)
        except (OverflowError, OSError, ValueError):
            raise ApiError("invalid_request", t("watch.push.bad_ts", ts=self.ts)) from None


class MetricsRequest(BaseModel):
    """A batch of values."""

    model_config = ConfigDict(extra="forbid")

    points: list[MetricPoint] = Field(min_length=1, max_length=MAX_POINTS)


class MetricsResponse(BaseModel):
    """How many values were stored."""

    accepted: int
    experiment_events: int | None = Field(
        default=None, description="Of the values with a trace_id, how many counted for an experiment."
    )


@router.post(
    "/v1/metrics",
    tags=["watch"],
    summary="Push metric values for monitors",
    response_model=MetricsResponse,
    response_model_exclude_none=True,
    status_code=202,
    responses={404: {"description": "A point names a monitor andon.yaml does not have."}},
)
async def push_metrics(
    request: Request,
    body: Annotated[MetricsRequest | list[MetricPoint], Body()],
    identity: Annotated[Identity, Depends(require("invoke"))],
) -> MetricsResponse:
    """Store a batch (``{"points": [...]}`` or a bare list) of ``{monitor | metric, ts, value}``: all or none."""
    points = body.points if isinstance(body, MetricsRequest) else body
    if not points or len(points) > MAX_POINTS:
        raise ApiError("invalid_request", t("watch.push.batch_size", limit=MAX_POINTS))
    ws: Workspace = workspace_of(request)
    now = datetime.now(UTC)
    rows: list[tuple[str, datetime, float]] = []
    outcomes: list[tuple[str, OutcomeIn]] = []
    for index, point in enumerate(points):
        if point.monitor is not None:
            monitor = ws.config.monitors.get(point.monitor)
            if monitor is None:
                known = ", ".join(n for n, m in ws.config.monitors.items() if m.source.type == "pushed") or "none"
                raise ApiError(
                    "not_found",
                    t("watch.push.no_monitor", index=index, monitor=point.monitor),
                    hint=t("watch.push.known", names=known),
                )
            if monitor.source.type != "pushed":
                raise ApiError(
                    "invalid_request",
                    t("watch.push.not_pushed", index=index, monitor=point.monitor, type=monitor.source.type),
                    hint=t("watch.push.not_pushed_hint"),
                )
            name = monitor.source.name or point.monitor
        else:
            assert point.metric is not None
            name = point.metric
        rows.append((name, point.when(now), point.value))
        if point.trace_id is not None:
            outcomes.append((f"points[{index}]", OutcomeIn(name, point.value, trace_id=point.trace_id,
                                                           at=point.when(now))))  # fmt: skip
    # The outcomes first: an unknown trace id refuses the batch before any value is stored.
    counted = await asyncio.to_thread(record_trace_outcomes, ws, outcomes) if outcomes else None
    stored = await asyncio.to_thread(ws.store.save_metric_values, rows, api_key_id=identity.key_id)
    return MetricsResponse(accepted=stored, experiment_events=counted)
