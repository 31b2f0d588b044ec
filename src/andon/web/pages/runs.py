"""A run: its summary with intervals, criteria, confusion matrices, latency and cost, and its cells page by page."""

from __future__ import annotations

import asyncio
import base64

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from andon.errors import NotFoundError
from andon.evals.report._images import thumbnail
from andon.web.forms import drawn, page
from andon.web.render import SECURITY_HEADERS, Ctx
from andon.web.runcells import cell_rows, image_path, page_link, parse_query
from andon.web.runfigures import FigureCache, cache_of, criterion_rows, metric_rows, run_figures_soon

router = APIRouter()
THUMBNAIL_PX = 160


def _view(ctx: Ctx, cache: FigureCache, run_id: str, params: dict[str, str]) -> Response:
    try:
        run = ctx.store.get_run(run_id)
    except NotFoundError as exc:
        return ctx.refuse(404, exc.message)
    figures = run_figures_soon(ctx.ws, cache, run)  # None: a large run's first view, summarised in the background
    summaries = figures.summaries if figures is not None else []
    versions = dict(run.versions)
    query = parse_query(params, versions)
    cells = ctx.store.run_cells(run.id, query)
    labels = sorted(
        {str(x) for s in summaries if s.classification for x in s.classification.labels}
        | ({query.label} if query.label else set())
    )
    return ctx.render(
        "run.html",
        run=run,
        summaries=summaries,
        computing=figures is None,
        metrics=metric_rows(ctx.fmt, summaries, run.currency),
        criteria=[(s, criterion_rows(ctx.fmt, s, run.currency)) for s in summaries],
        rows=cell_rows(ctx.fmt, ctx.ws, run, cells),
        labels=labels,
        tags=ctx.store.run_tags(run.id),
        params=params,
        filtered=any(params.get(k) for k in ("version", "failed", "label", "tag")),
        previous=page_link(run.id, params, before=cells.before) if cells.before is not None else None,
        next=page_link(run.id, params, after=cells.after) if cells.after is not None else None,
        first=page_link(run.id, params),
        compare=len(run.versions) >= 2,
    )


@router.get("/runs/{run_id}")
async def run_page(request: Request, run_id: str) -> Response:
    """The run's page; ``?version=&failed=on&label=&tag=`` filter its cells, ``?after=``/``?before=`` page them."""
    ctx = await page(request)
    if isinstance(ctx, Response):
        return ctx
    params = {k: v[:200] for k, v in request.query_params.items()}
    return await asyncio.to_thread(_view, ctx, cache_of(request), run_id, params)


def _image(ctx: Ctx, run_id: str, case_id: str, name: str) -> Response:
    missing = ctx.fmt.t("webruns.no_image")
    try:
        run = ctx.store.get_run(run_id)
    except NotFoundError as exc:
        return ctx.refuse(404, exc.message)
    case = ctx.store.run_cases_by_id(run.id, [case_id]).get(case_id)
    path = image_path(ctx.ws, run, case, name) if case is not None else None
    url = thumbnail(path, THUMBNAIL_PX) if path is not None else None
    if url is None or not url.startswith("data:image/"):
        return ctx.refuse(404, missing)
    head, _, data = url.partition(",")
    mime = head.removeprefix("data:").removesuffix(";base64")
    return Response(base64.b64decode(data), media_type=mime, headers=SECURITY_HEADERS)


@router.get("/runs/{run_id}/cases/{case_id}/images/{name}")
async def case_image(request: Request, run_id: str, case_id: str, name: str) -> Response:
    """A thumbnail of a case's image input, read from the workspace (the URL names no path)."""
    return await drawn(request, _image, run_id, case_id, name)
