"""Traces: search production calls by feature, version, status, route, time, user, tenant and words, page by
page newest first; a trace's provenance card with its citation."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from andon.citation import citation_markdown
from andon.errors import ConfigError, NotFoundError
from andon.store.records import OutputRecord, TraceRecord
from andon.store.webtraces import Cursor, TraceFilter, TracePage
from andon.web.forms import drawn
from andon.web.i18n import Formats
from andon.web.render import Ctx

router = APIRouter()
PAGE_SIZE = 50
STATUSES = ("ok", "error", "queued")
ROUTES = ("ai", "human", "shadow", "fallback")
FIELDS = ("feature", "version", "status", "route", "since", "until", "user", "tenant", "q")
MAX_FIELD = 200
EXCERPT = 120
_HEX = re.compile(r"^[0-9a-f]{6,64}$")
_CURSOR_SEP = "~"


@dataclass(frozen=True, slots=True)
class Search:
    """The page's query as typed (to fill the form back in) and as the store's filter."""

    typed: dict[str, str]
    where: TraceFilter


def _when(fmt: Formats, field: str, value: str) -> datetime | None:
    """A ``datetime-local`` value (read as UTC), or None when blank."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ConfigError(fmt.t("webtraces.bad_time", field=fmt.t(f"webtraces.filter.{field}"), value=value),
                          where=field, hint=fmt.t("webtraces.bad_time_hint")) from None  # fmt: skip
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _version(ctx: Ctx, feature: str, value: str) -> str | None:
    """A version name of the chosen feature as its id; an id or id prefix as itself."""
    if not value:
        return None
    if feature and feature in ctx.ws.feature_names():
        for declared in ctx.ws.declared_versions(feature):
            if declared.name == value:
                return declared.id
    if _HEX.match(value):
        return value
    raise ConfigError(ctx.fmt.t("webtraces.bad_version", value=value), where="version",
                      hint=ctx.fmt.t("webtraces.bad_version_hint"))  # fmt: skip


def parse_search(ctx: Ctx, params: dict[str, str]) -> Search:
    """The filter of the page's query string; a ConfigError naming the field for a value it cannot use."""
    fmt = ctx.fmt
    typed = {name: params.get(name, "").strip()[:MAX_FIELD] for name in FIELDS}
    for name, allowed in (("status", STATUSES), ("route", ROUTES)):
        if typed[name] and typed[name] not in allowed:
            raise ConfigError(fmt.t("webtraces.bad_choice", field=fmt.t(f"webtraces.filter.{name}"), value=typed[name],
                                    allowed=", ".join(allowed)), where=name)  # fmt: skip
    where = TraceFilter(
        feature=typed["feature"] or None,
        version=_version(ctx, typed["feature"], typed["version"]),
        status=typed["status"] or None,
        route=typed["route"] or None,
        since=_when(fmt, "since", typed["since"]),
        until=_when(fmt, "until", typed["until"]),
        user_id=typed["user"] or None,
        tenant=typed["tenant"] or None,
        text=typed["q"] or None,
    )
    return Search(typed, where)


def cursor_text(cursor: Cursor) -> str:
    """A cursor as a query-string value."""
    return cursor.created_at.astimezone(UTC).isoformat() + _CURSOR_SEP + cursor.id


def parse_cursor(fmt: Formats, field: str, value: str) -> Cursor | None:
    """A cursor from the query string (None when blank); a ConfigError when it was not made by this page."""
    if not value:
        return None
    when, sep, ident = value.partition(_CURSOR_SEP)
    try:
        moment = datetime.fromisoformat(when)
    except ValueError:
        moment = None
    if not sep or not ident or moment is None or moment.tzinfo is None:
        raise ConfigError(
            fmt.t("webtraces.bad_cursor", field=field), where=field, hint=fmt.t("webtraces.bad_cursor_hint")
        )
    return Cursor(moment.astimezone(UTC), ident)


def excerpt(row: dict[str, Any]) -> str:
    """The start of a trace's output (or error) for the list."""
    value = row["output_text"] if row["output_text"] is not None else row["output_json"]
    if value is None:
        value = row["error"] or ""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= EXCERPT else text[: EXCERPT - 1] + "…"


def _link(typed: dict[str, str], **cursor: str) -> str:
    query = {k: v for k, v in typed.items() if v} | cursor
    return "/traces?" + urlencode(query) if query else "/traces"


def _list_view(ctx: Ctx, params: dict[str, str]) -> Response:
    fmt = ctx.fmt
    typed = {name: params.get(name, "").strip()[:MAX_FIELD] for name in FIELDS}
    found: TracePage | None = None
    error: str | None = None
    try:
        search = parse_search(ctx, params)
        typed = search.typed
        after = parse_cursor(fmt, "after", params.get("after", ""))
        before = parse_cursor(fmt, "before", params.get("before", ""))
        found = ctx.store.search_traces(search.where, after=after, before=before, limit=PAGE_SIZE)
    except ConfigError as exc:
        error = exc.message + (f" ({exc.hint})" if exc.hint else "")
    rows = [(row, excerpt(row)) for row in (found.rows if found else [])]
    return ctx.render(
        "traces.html",
        status=200 if error is None else 400,
        typed=typed,
        rows=rows,
        error=error,
        features=ctx.ws.feature_names(),
        statuses=STATUSES,
        routes=ROUTES,
        older=_link(typed, after=cursor_text(found.older)) if found and found.older else None,
        newer=_link(typed, before=cursor_text(found.newer)) if found and found.newer else None,
        first=_link(typed) if found and found.newer else None,
        filtered=any(typed.values()),
    )


@router.get("/traces")
async def traces_page(request: Request) -> Response:
    """The traces list with its search form."""
    return await drawn(request, _list_view, dict(request.query_params))


def _pretty(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True)


def _card_view(ctx: Ctx, trace_id: str) -> Response:
    try:
        trace = TraceRecord(**ctx.store.get_trace(trace_id))
    except NotFoundError as exc:
        return ctx.refuse(404, exc.message)
    output: OutputRecord | None = None
    if trace.output_id:
        output = ctx.store.outputs_by_id([trace.output_id]).get(trace.output_id)
    return ctx.render(
        "trace.html",
        trace=trace,
        output=output,
        citation=citation_markdown(output, language=ctx.fmt.language) if output is not None else None,
        params=_pretty(output.params) if output is not None else None,
        input_text=_pretty(trace.input) if trace.input is not None else None,
        output_body=trace.output_text if trace.output_json is None else _pretty(trace.output_json),
        feedback=ctx.store.list_feedback(trace.id),
    )


@router.get("/traces/{trace_id}")
async def trace_card(request: Request, trace_id: str) -> Response:
    """A trace's provenance card: the exact prompt, parameters, model, version, output, timings and cost."""
    return await drawn(request, _card_view, trace_id)
