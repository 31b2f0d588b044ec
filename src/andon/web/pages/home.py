"""Home: every feature at a glance — what serves, is it stopped, its last evaluation, 24 h of traffic."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from fastapi import APIRouter
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response

from andon import deploy
from andon.errors import AndonError
from andon.store.models import utcnow
from andon.watch.incidents import list_incidents
from andon.web import verdicts
from andon.web.charts import sparkline
from andon.web.forms import drawn
from andon.web.hours import hourly_totals
from andon.web.i18n import Formats
from andon.web.render import Ctx
from andon.workspace import Workspace

router = APIRouter()
HOURS = 24


@dataclass(frozen=True, slots=True)
class FeatureCard:
    """One feature's row on the home page."""

    name: str
    description: str | None
    light: str  # serving | stopped | shadow | off
    version_name: str | None
    version_id: str | None
    stop_reason: str | None
    verdict: str  # passed | failed | never | judging
    verdict_run: str | None
    calls: int
    errors: int
    cost: float
    traffic: Markup
    error_chart: Markup
    cost_chart: Markup
    open_incidents: int
    backlog: int


def hourly(ws: Workspace, feature: str, now: datetime) -> tuple[list[int], list[int], list[float]]:
    """Calls, errors and cost in each of the last 24 hours, oldest first (zero where nothing was called)."""
    start = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=HOURS - 1)
    calls, errors, cost = [0] * HOURS, [0] * HOURS, [0.0] * HOURS
    for row in hourly_totals(ws.store, feature, start, now):
        slot = int((row.hour - start).total_seconds() // 3600)
        if 0 <= slot < HOURS:
            calls[slot], errors[slot], cost[slot] = row.calls, row.errors, row.cost
    return calls, errors, cost


def card(
    ws: Workspace, name: str, fmt: Formats, now: datetime, backlog: dict[str, int], incidents: dict[str, int]
) -> FeatureCard:
    """The home page's card of one feature, from deploy's live state and verdict and the store's totals."""
    config = ws.feature(name)
    try:
        state = deploy.live_version(ws, name, memo=verdicts.memo_of(ws.store))
    except AndonError:
        state = None  # a serve.live naming nothing known: shown as not serving; `andon check` says why
    verdict, run = "never", None
    if state is not None and state.version_id is not None:
        try:
            judged = state.verdict or verdicts.verdict(ws, name, state.version_id)
            if judged is None:
                verdict = "judging"  # worked out in the background: seconds for a large run
            else:
                verdict, run = ("passed" if judged.passed else "failed" if judged.run_id else "never"), judged.run_id
        except AndonError:
            pass
    if state is not None and state.stopped:
        light = "stopped"
    elif state is None or state.version_id is None:
        light = "off"
    elif config.serve.routing.shadow:
        light = "shadow"
    else:
        light = "serving"
    calls, errors, cost = hourly(ws, name, now)
    currency = ws.config.currency
    return FeatureCard(
        name=name,
        description=config.description,
        light=light,
        version_name=state.version_name if state else None,
        version_id=state.version_id if state else None,
        stop_reason=state.stop_reason if state else None,
        verdict=verdict,
        verdict_run=run,
        calls=sum(calls),
        errors=sum(errors),
        cost=sum(cost),
        traffic=sparkline(calls, label=fmt.t("web.home.chart_calls", feature=name, n=fmt.number(sum(calls)))),
        error_chart=sparkline(
            errors, kind="bars", label=fmt.t("web.home.chart_errors", feature=name, n=fmt.number(sum(errors)))
        ),
        cost_chart=sparkline(
            cost, label=fmt.t("web.home.chart_cost", feature=name, cost=fmt.money(sum(cost), currency))
        ),
        open_incidents=incidents.get(name, 0),
        backlog=backlog.get(name, 0),
    )


def _home(ctx: Ctx) -> Response:
    ws, now = ctx.ws, utcnow()
    backlog = ws.store.pending_review_counts()
    incidents: dict[str, int] = {}
    for incident in list_incidents(ws, open_only=True, limit=1000):
        incidents[incident.feature] = incidents.get(incident.feature, 0) + 1
    cards = [card(ws, name, ctx.fmt, now, backlog, incidents) for name in ws.feature_names()]
    return ctx.render("home.html", cards=cards, currency=ws.config.currency, now=now)


@router.get("/")
async def home(request: Request) -> Response:
    """Every feature with its live version, status light, verdict, 24 h charts, open incidents and backlog."""
    return await drawn(request, _home)
