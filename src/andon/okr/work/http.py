"""One HTTP GET with rate-limit back-off, shared by the remote importers (Jira, GitHub).

Each tracker says "wait" its own way (a 429 with ``Retry-After``, GitHub's 403 with ``x-ratelimit-reset``);
the importer passes a ``wait_for`` that reads it, and this loop waits and retries, or gives up with a clear
error when the wait is longer than ``max_wait_s`` or the retries are spent.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from andon.messages import t
from andon.okr.work.base import ImportContext, ImporterSettings, WorkImportError

WaitFor = Callable[[httpx.Response, int], float | None]  # (response, attempt) -> seconds to wait, None: no limit
MAX_BACKOFF_S = 60.0  # exponential back-off without a header stops growing here


def retry_after(response: httpx.Response, *, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header: delta-seconds or an HTTP date; None when absent or unreadable."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def backoff(attempt: int) -> float:
    """Exponential back-off for a limit that names no wait: 1, 2, 4 … seconds, capped."""
    return float(min(MAX_BACKOFF_S, 2.0**attempt))


@dataclass
class Session:
    """One import's HTTP client: counts requests and waits, and retries rate-limited requests."""

    settings: ImporterSettings
    context: ImportContext
    headers: Mapping[str, str]
    wait_for: WaitFor
    where: str  # names the tracker in errors, e.g. "jira https://acme.atlassian.net"
    auth: httpx.Auth | None = None
    requests: int = 0
    waits: list[float] = field(default_factory=list)
    _client: httpx.AsyncClient | None = None

    async def __aenter__(self) -> Session:
        self._client = httpx.AsyncClient(
            headers=dict(self.headers), auth=self.auth, timeout=self.settings.timeout_s,
            transport=self.context.transport, follow_redirects=True,  # a renamed repository answers 301
        )  # fmt: skip
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def get(
        self, url: str, *, params: Mapping[str, Any] | None = None, headers: Mapping[str, str] | None = None
    ) -> httpx.Response:
        """GET ``url``; a rate-limited answer is waited out and retried, a transport failure is an error."""
        assert self._client is not None, "use the session in `async with`"
        for attempt in range(self.settings.max_retries + 1):
            self.requests += 1
            try:
                response = await self._client.get(url, params=params, headers=headers)
            except httpx.TransportError as exc:
                raise WorkImportError(
                    t("okr_work.unreachable", error=f"{type(exc).__name__}: {exc}"),
                    where=self.where, hint=t("okr_work.unreachable_hint"),
                ) from None  # fmt: skip
            wait = self.wait_for(response, attempt)
            if wait is None:
                return response
            if attempt >= self.settings.max_retries or wait > self.settings.max_wait_s:
                raise WorkImportError(
                    t("okr_work.rate_limited", status=response.status_code, wait=round(wait, 1), tries=attempt + 1),
                    where=self.where, hint=t("okr_work.rate_limited_hint"),
                )  # fmt: skip
            self.waits.append(wait)
            await self.context.sleep(wait)
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover


def json_body(response: httpx.Response, where: str) -> Any:
    """The response's JSON; a body that is not JSON is an error naming the tracker and the status."""
    try:
        return response.json()
    except ValueError:
        raise WorkImportError(
            t("okr_work.not_json", status=response.status_code, start=response.text[:120]),
            where=where, hint=t("okr_work.not_json_hint"),
        ) from None  # fmt: skip


def refuse(response: httpx.Response, where: str, detail: str, *, auth_hint: str) -> WorkImportError:
    """The error for an answer that is not a success: auth failures get ``auth_hint``, others the detail."""
    status = response.status_code
    hint = auth_hint if status in (401, 403) else t("okr_work.refused_hint")
    return WorkImportError(
        t("okr_work.refused", status=status, detail=detail or response.reason_phrase), where=where, hint=hint
    )
