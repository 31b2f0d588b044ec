"""A small client of the andon gateway: ``andon.Client`` (sync) and ``andon.AsyncClient`` over httpx.

>>> with andon.Client("http://127.0.0.1:8787", api_key="andon_sk_…") as client:  # doctest: +SKIP
...     result = client.invoke("listing-title", {"description": "자전거 팝니다"}, user_id="u1")
...     client.feedback(result.trace_id, thumbs=1)

Errors come back as :class:`APIError` subclasses carrying the gateway's stable ``code``.
"""

from __future__ import annotations

import dataclasses
import os
import urllib.parse
from collections.abc import Callable, Mapping
from datetime import datetime
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

import httpx

from andon.errors import AndonError
from andon.gateway.types import InvokeResult
from andon.messages import t

API_KEY_ENV = "ANDON_API_KEY"
BASE_URL_ENV = "ANDON_BASE_URL"
DEFAULT_BASE_URL = "http://127.0.0.1:8787"
_RESULT_FIELDS = {f.name for f in dataclasses.fields(InvokeResult)}
_T = TypeVar("_T")


class APIError(AndonError):
    """The gateway refused or failed a request; ``code`` is its stable error code, ``status`` the HTTP status."""

    def __init__(
        self,
        message: str,
        *,
        code: str,
        status: int | None = None,
        trace_id: str | None = None,
        hint: str | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message, where=f"gateway ({code})", hint=hint)
        self.code = code
        self.status = status
        self.trace_id = trace_id
        self.body = body


class InvalidRequestError(APIError):
    """The request was malformed or invalid (``invalid_request``, ``payload_too_large``, …)."""


class AuthenticationError(APIError):
    """No key, an unknown key, or a revoked key (``unauthorized``)."""


class PermissionDeniedError(APIError):
    """The key lacks the scope this call needs (``forbidden``)."""


class ResourceNotFoundError(APIError):
    """No such feature, version, trace or review item (``not_found``)."""


class ConflictError(APIError):
    """The request conflicts with what is stored, e.g. a review item decided already (``conflict``)."""


class RateLimitError(APIError):
    """The key's rate limit was reached (``rate_limited``); ``retry_after`` says when to try again (seconds)."""

    retry_after: float | None = None


class ProviderUnavailableError(APIError):
    """The provider failed and the feature's fallback could not answer (``provider_error``/``provider_unavailable``)."""


class ServerError(APIError):
    """The gateway failed (``internal``) or is not ready (``not_ready``, ``store_unavailable``)."""


class APIConnectionError(APIError):
    """The gateway could not be reached (``connection_error``)."""


_BY_CODE: dict[str, type[APIError]] = {
    "invalid_request": InvalidRequestError,
    "unsafe_url": InvalidRequestError,
    "fetch_failed": InvalidRequestError,
    "method_not_allowed": InvalidRequestError,
    "payload_too_large": InvalidRequestError,
    "unsupported_media_type": InvalidRequestError,
    "unauthorized": AuthenticationError,
    "forbidden": PermissionDeniedError,
    "not_found": ResourceNotFoundError,
    "conflict": ConflictError,
    "rate_limited": RateLimitError,
    "provider_error": ProviderUnavailableError,
    "provider_unavailable": ProviderUnavailableError,
}


def error_from_response(response: httpx.Response) -> APIError:
    """The APIError for an error response (any body: ours, a proxy's HTML, or none)."""
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        error = {}
    code = str(error.get("code") or ("internal" if response.status_code >= 500 else "invalid_request"))
    message = str(error.get("message") or f"HTTP {response.status_code}: {response.text[:200]}")
    cls = _BY_CODE.get(code, ServerError if response.status_code >= 500 else APIError)
    exc = cls(
        message,
        code=code,
        status=response.status_code,
        trace_id=error.get("trace_id") or response.headers.get("x-andon-trace-id"),
        hint=error.get("hint"),
        body=body,
    )
    if isinstance(exc, RateLimitError):
        retry = error.get("retry_after", response.headers.get("retry-after"))
        try:
            exc.retry_after = float(retry) if retry is not None else None
        except ValueError:
            exc.retry_after = None
    return exc


@dataclasses.dataclass(frozen=True, slots=True)
class ReviewDecision:
    """A review item after a decision."""

    id: str
    feature: str
    status: str
    reason: str
    trace_id: str | None
    decision: Any
    label: str | None
    comment: str | None
    decided_by: str | None
    decided_at: datetime | None
    suggestion_text: str | None
    suggestion_json: Any


def _seg(value: str) -> str:
    """One path segment, escaped so an id can never reach another route."""
    return urllib.parse.quote(value, safe="")


def _result(data: Any) -> InvokeResult:
    if not isinstance(data, dict):
        raise APIError(t("house2.client.not_object"), code="invalid_response")
    return InvokeResult(**{k: v for k, v in data.items() if k in _RESULT_FIELDS})


def _decision(data: Any) -> ReviewDecision:
    if not isinstance(data, dict):
        raise APIError(t("house2.client.not_object"), code="invalid_response")
    decided_at = data.get("decided_at")
    return ReviewDecision(
        id=data["id"],
        feature=data["feature"],
        status=data["status"],
        reason=data["reason"],
        trace_id=data.get("trace_id"),
        decision=data.get("decision"),
        label=data.get("label"),
        comment=data.get("comment"),
        decided_by=data.get("decided_by"),
        decided_at=datetime.fromisoformat(decided_at) if decided_at else None,
        suggestion_text=data.get("suggestion_text"),
        suggestion_json=data.get("suggestion_json"),
    )


@dataclasses.dataclass(frozen=True, slots=True)
class _Call(Generic[_T]):
    """One request as both twins send it: where, with what body, and how to read a 2xx answer."""

    path: str
    body: dict[str, Any]
    parse: Callable[[Any], _T]

    def answer(self, response: httpx.Response) -> _T:
        """The parsed answer, or the APIError an error response stands for."""
        if response.status_code >= 400:
            raise error_from_response(response)
        return self.parse(response.json())


def _connection_error(exc: httpx.TransportError) -> APIConnectionError:
    return APIConnectionError(f"cannot reach the gateway: {exc}", code="connection_error")


class _BaseClient:
    """What :class:`Client` and :class:`AsyncClient` share: settings and the building of every call.

    The twins differ only in how they send a :class:`_Call` (blocking or awaited), like httpx's ``BaseClient``.
    """

    def __init__(self, base_url: str | None, api_key: str | None) -> None:
        self._base_url = (base_url or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL).rstrip("/")
        key = api_key if api_key is not None else os.environ.get(API_KEY_ENV)
        self._headers = {"authorization": f"Bearer {key}"} if key else {}

    @staticmethod
    def _invoke_call(
        feature: str,
        variables: Mapping[str, Any] | None,
        version: str | None,
        user_id: str | None,
        session_id: str | None,
        tenant: str | None,
        tags: Mapping[str, Any] | None,
    ) -> _Call[InvokeResult]:
        body: dict[str, Any] = {"variables": dict(variables or {})}
        for key, value in (("version", version), ("user_id", user_id), ("session_id", session_id), ("tenant", tenant)):
            if value is not None:
                body[key] = value
        if tags:
            body["tags"] = dict(tags)
        return _Call(f"/v1/features/{_seg(feature)}/invoke", body, _result)

    @staticmethod
    def _feedback_call(
        trace_id: str, score: float | None, thumbs: int | None, comment: str | None, user_id: str | None
    ) -> _Call[None]:
        values = {"score": score, "thumbs": thumbs, "comment": comment, "user_id": user_id}
        body = {k: v for k, v in values.items() if v is not None}
        return _Call(f"/v1/traces/{_seg(trace_id)}/feedback", body, lambda _: None)

    @staticmethod
    def _decide_call(
        review_id: str, decision: Mapping[str, Any] | None, label: str | None, comment: str | None
    ) -> _Call[ReviewDecision]:
        values = {"decision": dict(decision) if decision is not None else None, "label": label, "comment": comment}
        body = {k: v for k, v in values.items() if v is not None}
        return _Call(f"/v1/reviews/{_seg(review_id)}/decision", body, _decision)


class Client(_BaseClient):
    """A synchronous client; ``base_url`` and ``api_key`` default to ANDON_BASE_URL and ANDON_API_KEY."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = 120.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(base_url, api_key)
        self._http = httpx.Client(base_url=self._base_url, headers=self._headers, timeout=timeout, transport=transport)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def _send(self, call: _Call[_T]) -> _T:
        try:
            response = self._http.post(call.path, json=call.body)
        except httpx.TransportError as exc:
            raise _connection_error(exc) from exc
        return call.answer(response)

    def invoke(
        self,
        feature: str,
        variables: Mapping[str, Any] | None = None,
        *,
        version: str | None = None,
        user_id: str | None = None,
        session_id: str | None = None,
        tenant: str | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> InvokeResult:
        """Call ``feature`` on ``variables``: output, parsed JSON, trace id, version, cache hit and route."""
        return self._send(self._invoke_call(feature, variables, version, user_id, session_id, tenant, tags))

    def feedback(
        self,
        trace_id: str,
        *,
        score: float | None = None,
        thumbs: int | None = None,
        comment: str | None = None,
        user_id: str | None = None,
    ) -> None:
        """Record feedback on a trace: a score, thumbs (+1/-1) and/or a comment."""
        self._send(self._feedback_call(trace_id, score, thumbs, comment, user_id))

    def decide(
        self,
        review_id: str,
        *,
        decision: Mapping[str, Any] | None = None,
        label: str | None = None,
        comment: str | None = None,
    ) -> ReviewDecision:
        """Decide a review item (a decision object, a label, or both); decisions are final."""
        return self._send(self._decide_call(review_id, decision, label, comment))


class AsyncClient(_BaseClient):
    """The asynchronous twin of :class:`Client`."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = 120.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(base_url, api_key)
        self._http = httpx.AsyncClient(
            base_url=self._base_url, headers=self._headers, timeout=timeout, transport=transport
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def _send(self, call: _Call[_T]) -> _T:
        try:
            response = await self._http.post(call.path, json=call.body)
        except httpx.TransportError as exc:
            raise _connection_error(exc) from exc
        return call.answer(response)

    async def invoke(
        self,
        feature: str,
        variables: Mapping[str, Any] | None = None,
        *,
        version: str | None = None,
        user_id: str | None = None,
        session_id: str | None = None,
        tenant: str | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> InvokeResult:
        """Call ``feature`` on ``variables``: output, parsed JSON, trace id, version, cache hit and route."""
        return await self._send(self._invoke_call(feature, variables, version, user_id, session_id, tenant, tags))

    async def feedback(
        self,
        trace_id: str,
        *,
        score: float | None = None,
        thumbs: int | None = None,
        comment: str | None = None,
        user_id: str | None = None,
    ) -> None:
        """Record feedback on a trace: a score, thumbs (+1/-1) and/or a comment."""
        await self._send(self._feedback_call(trace_id, score, thumbs, comment, user_id))

    async def decide(
        self,
        review_id: str,
        *,
        decision: Mapping[str, Any] | None = None,
        label: str | None = None,
        comment: str | None = None,
    ) -> ReviewDecision:
        """Decide a review item (a decision object, a label, or both); decisions are final."""
        return await self._send(self._decide_call(review_id, decision, label, comment))
