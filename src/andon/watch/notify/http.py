"""One POST for the HTTP notifiers: status codes mapped to retry or give up, errors without secrets."""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

import httpx

from andon.providers.endpoint import scrub
from andon.watch.notify.base import NotifierBase, NotifyError, describe

# Worth another try: the receiver is busy or down, or asks to slow down.
_RETRYABLE_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


class _ScrubSecrets(logging.Filter):
    """Masks notifier secrets in httpx's own log lines, which print every request URL (a webhook's token)."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets: set[str] = set()
        self._lock = threading.Lock()

    def add(self, secrets: list[str]) -> None:
        with self._lock:
            self._secrets.update(s for s in secrets if s)

    def filter(self, record: logging.LogRecord) -> bool:
        with self._lock:
            secrets = sorted(self._secrets, key=len, reverse=True)
        if secrets:
            text = record.getMessage()
            clean = scrub(text, secrets)
            if clean != text:
                record.msg, record.args = clean, ()
        return True


_SCRUB = _ScrubSecrets()
logging.getLogger("httpx").addFilter(_SCRUB)


async def post_json(
    notifier: NotifierBase, client: httpx.AsyncClient, url: str, body: Any, *, headers: dict[str, str]
) -> bytes:
    """POST ``body`` (or pre-encoded bytes) as JSON to ``url``; raise :class:`NotifyError` on any failure."""
    _SCRUB.add(notifier.secrets())
    content = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode("utf-8")
    try:
        response = await client.post(url, content=content, headers={"content-type": "application/json", **headers})
    except httpx.HTTPError as exc:
        raise NotifyError(notifier.safe(f"{notifier.name}: {describe(exc)}"), retryable=True) from None
    if response.status_code < 300:
        return response.content
    retry_after = _retry_after(response.headers.get("retry-after"))
    snippet = notifier.safe(response.text[:200].strip())
    raise NotifyError(
        f"{notifier.name}: HTTP {response.status_code}" + (f": {snippet}" if snippet else ""),
        retryable=response.status_code in _RETRYABLE_STATUS or response.status_code >= 500,
        retry_after=retry_after,
    )


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None
