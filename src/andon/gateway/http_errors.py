"""Errors over HTTP: one JSON shape with a stable code and a human message, for every failure.

The body is ``{"error": {"code", "message", "type", "hint", "trace_id", ...}}``; ``type`` follows OpenAI's error
types, so the official OpenAI SDKs parse our errors as they parse theirs.
"""

from __future__ import annotations

import difflib
import logging
import math
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, JsonValue, WithJsonSchema
from starlette.exceptions import HTTPException as StarletteHTTPException

from andon.errors import AndonError
from andon.messages import t

log = logging.getLogger("andon.gateway")

NO_NUL = r"^[^\x00]*$"  # a pattern for request text stored in text columns: PostgreSQL's cannot hold NUL
StoredText = Annotated[str, Field(pattern=NO_NUL)]

# What json_problem accepts, for /openapi.json (it cannot say "at most MAX_JSON_DEPTH levels": the description does).
STORABLE_JSON = "StorableJSON"
STORABLE_JSON_REF: dict[str, JsonValue] = {"$ref": f"#/components/schemas/{STORABLE_JSON}"}
STORABLE_JSON_SCHEMA: dict[str, Any] = {
    "description": "Any JSON whose strings hold no NUL character, nested at most 64 levels (arrays and objects).",
    "anyOf": [
        {"type": "string", "pattern": NO_NUL},
        {"type": ["number", "boolean", "null"]},
        {"type": "array", "items": STORABLE_JSON_REF},
        {"type": "object", "propertyNames": {"pattern": NO_NUL}, "additionalProperties": STORABLE_JSON_REF},
    ],
}
# A JSON object of storable values: variables, tags, decisions, schemas.
StoredObject = Annotated[
    dict[str, Any],
    WithJsonSchema({"type": "object", "propertyNames": {"pattern": NO_NUL}, "additionalProperties": STORABLE_JSON_REF}),
]

# code -> (HTTP status, OpenAI error type). Codes are part of the API: add new ones, never rename.
CODES: dict[str, tuple[int, str]] = {
    "invalid_request": (400, "invalid_request_error"),
    "unsafe_url": (400, "invalid_request_error"),
    "fetch_failed": (400, "invalid_request_error"),
    "unauthorized": (401, "authentication_error"),
    "forbidden": (403, "permission_error"),
    "not_found": (404, "not_found_error"),
    "method_not_allowed": (405, "invalid_request_error"),
    "request_timeout": (408, "invalid_request_error"),
    "conflict": (409, "invalid_request_error"),
    "not_live": (409, "invalid_request_error"),
    "payload_too_large": (413, "invalid_request_error"),
    "unsupported_media_type": (415, "invalid_request_error"),
    "rate_limited": (429, "rate_limit_error"),
    "internal": (500, "api_error"),
    "provider_error": (502, "api_error"),
    "provider_unavailable": (503, "api_error"),
    "not_ready": (503, "api_error"),
    "feature_stopped": (503, "api_error"),
    "store_unavailable": (503, "api_error"),
}

# AndonError subclasses by class name (walking the MRO), so parts built elsewhere need not be imported here.
_ANDON_CODES: dict[str, str] = {
    "NotFoundError": "not_found",
    "AlreadyDecidedError": "conflict",
    "NotLiveError": "not_live",
    "UnsafeURLError": "unsafe_url",
    "FetchError": "fetch_failed",
    "ConfigError": "invalid_request",
    "TemplateError": "invalid_request",
    "ProviderError": "provider_error",
    "StoreError": "store_unavailable",
}

_STATUS_CODES = {400: "invalid_request", 401: "unauthorized", 403: "forbidden", 404: "not_found"}
_STATUS_CODES |= {405: "method_not_allowed", 413: "payload_too_large", 415: "unsupported_media_type"}
_STATUS_CODES |= {429: "rate_limited"}


def json_problem(value: Any) -> str | None:
    """What keeps a JSON value from being stored on every backend, or None.

    JSON has no NaN or infinity (PostgreSQL refuses them), UTF-8 has no lone surrogates (``"\\ud800"``), and
    PostgreSQL's text cannot hold NUL, so no string that reaches the store may carry one. The value's nesting
    is bounded by :data:`~andon.gateway.jsonlimits.MAX_JSON_DEPTH` before it gets here.
    """
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN and Infinity are not JSON numbers"
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "a string holds a lone UTF-16 surrogate (not valid Unicode)"
        if "\x00" in value:
            return t("http.nul_in_string")
        return None
    if isinstance(value, Mapping):
        return next((p for k, v in value.items() if (p := json_problem(k) or json_problem(v))), None)
    if isinstance(value, list | tuple):
        return next((p for v in value if (p := json_problem(v))), None)
    return None


class ApiError(Exception):
    """An error answered as JSON with a stable ``code``; raise it from routes and dependencies."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        hint: str | None = None,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        if code not in CODES:
            raise ValueError(f"unknown error code {code!r}")  # a programming error, caught by tests
        self.code = code
        self.message = message
        self.hint = hint
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})

    @property
    def status(self) -> int:
        """The HTTP status of this code."""
        return CODES[self.code][0]


def error_body(
    code: str, message: str, *, hint: str | None = None, trace_id: str | None = None, **extra: Any
) -> dict[str, Any]:
    """The JSON body of an error."""
    error: dict[str, Any] = {"code": code, "message": message, "type": CODES[code][1]}
    if hint:
        error["hint"] = hint
    if trace_id:
        error["trace_id"] = trace_id
    error.update(extra)
    return {"error": error}


def error_response(error: ApiError, request: Request | None = None) -> JSONResponse:
    """A JSON response for ``error``; the request's trace id goes in the body too, to quote in bug reports."""
    trace_id = _trace_id(request)
    body = error_body(error.code, error.message, hint=error.hint, trace_id=trace_id, **error.extra)
    return JSONResponse(body, status_code=error.status, headers=error.headers)


def from_andon_error(exc: AndonError) -> ApiError:
    """The API error for an error users can cause; the message names the field, the hint says the fix."""
    code = next((_ANDON_CODES[c.__name__] for c in type(exc).__mro__ if c.__name__ in _ANDON_CODES), None)
    message = f"{exc.where}: {exc.message}" if exc.where else exc.message
    headers: dict[str, str] = {}
    if code == "provider_error" and getattr(exc, "retryable", False):
        code = "provider_unavailable"
    if code in ("provider_error", "provider_unavailable"):
        headers["x-should-retry"] = "false"  # the gateway has retried already; the OpenAI SDK honours this
    return ApiError(code or "invalid_request", message, hint=exc.hint, headers=headers)


def _trace_id(request: Request | None) -> str | None:
    if request is None:
        return None
    value = request.scope.get("state", {}).get("trace_id")
    return value if isinstance(value, str) else None


def _validation_message(errors: list[Any]) -> str:
    if errors and errors[0].get("type") == "json_invalid":
        at = errors[0].get("loc", [None, None])[-1]
        return f"the body is not valid JSON (error at character {at})"
    parts = []
    for error in errors[:5]:
        loc = ".".join(str(p) for p in error.get("loc", ()) if p != "body") or "body"
        parts.append(f"{loc}: {error.get('msg', 'invalid')}")
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return "; ".join(parts) + more


def _body_fields(request: Request) -> list[str]:
    """The top-level field names of the route's JSON body model, if it has one."""
    body = getattr(request.scope.get("route"), "body_field", None)
    model = getattr(getattr(body, "field_info", None), "annotation", None)
    return list(model.model_fields) if isinstance(model, type) and issubclass(model, BaseModel) else []


def _validation_hint(request: Request, errors: list[dict[str, Any]]) -> str:
    """For an unknown field, the fields the body takes and the nearest one ("vars" -> "variables")."""
    fields = _body_fields(request)
    unknown = [str(e["loc"][-1]) for e in errors if e["type"] == "extra_forbidden" and len(e["loc"]) == 2]
    if not fields or not unknown:
        return "see /openapi.json for the request schema"
    guesses = [f"`{u}` -> `{m[0]}`" for u in unknown if (m := _nearest(u, fields))]
    taken = ", ".join(fields)
    return f"did you mean {', '.join(guesses)}? " * bool(guesses) + f"the body takes: {taken} (see /openapi.json)"


def _nearest(name: str, fields: list[str]) -> list[str]:
    """The closest field name by spelling, or by a shared prefix ("vars" / "variables", "user" / "user_id")."""
    close = difflib.get_close_matches(name, fields, n=1, cutoff=0.6)
    prefixed = [f for f in fields if len(name) >= 3 and f.startswith(name[:3])]
    return close or prefixed[:1]


def install_error_handlers(app: FastAPI) -> None:
    """Answer every failure in the error JSON shape: ours, the framework's, validation and the unexpected."""

    async def api_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return error_response(exc, request)

    async def andon_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, AndonError)
        return error_response(from_andon_error(exc), request)

    async def validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = [
            {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
            for e in exc.errors()
        ]
        error = ApiError(
            "invalid_request",
            _validation_message(errors),
            hint=_validation_hint(request, errors),
            extra={"details": errors},
        )
        return error_response(error, request)

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = _STATUS_CODES.get(exc.status_code, "internal" if exc.status_code >= 500 else "invalid_request")
        error = ApiError(code, str(exc.detail), headers=exc.headers or {})
        response = error_response(error, request)
        response.status_code = exc.status_code  # keep the framework's status (e.g. 405) even if the code is shared
        return response

    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        error = ApiError("internal", "internal error; the server log has the details under this trace id")
        return error_response(error, request)

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(AndonError, andon_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)
