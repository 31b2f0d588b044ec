"""``install(app)``: the dashboard's pages at ``/`` and its assets at ``/static``, beside the API under ``/v1``."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import APIRouter, FastAPI
from starlette.staticfiles import StaticFiles

from andon.web.pages import (
    admin,
    auth,
    compare,
    deploys,
    feature,
    home,
    incidents,
    monitors,
    okr,
    review,
    runs,
    traces,
)
from andon.web.render import WebSettings

# Included in this order; a new page module adds its router here.
PAGES: tuple[APIRouter, ...] = (
    auth.router,
    home.router,
    feature.router,
    review.router,
    admin.router,
    runs.router,
    compare.router,
    traces.router,
    okr.router,
    incidents.router,
    monitors.router,
    deploys.router,
)
STATIC = Path(str(resources.files("andon.web").joinpath("static")))


def install(app: FastAPI, settings: WebSettings | None = None) -> None:
    """Add the pages (left out of /openapi.json: they answer HTML, not the API's JSON) and the assets."""
    app.state.web_settings = settings or WebSettings()
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for router in PAGES:
        app.include_router(router, include_in_schema=False)
