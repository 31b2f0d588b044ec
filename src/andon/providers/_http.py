"""Shared HTTP plumbing of remote providers: one pooled client, timing, and one mapping of failures to errors."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from andon._version import __version__
from andon.config.schema import ProviderConfig
from andon.errors import ConfigError, MalformedReply, ProviderError, ProviderTimeout
from andon.messages import t
from andon.providers._wire import WireConnectError, WireError, WirePool, WireTimeout
from andon.providers.base import ProviderRequest
from andon.providers.endpoint import masked_url, scrub, url_secrets

_RAW_LIMIT = 2000  # characters of an error body kept on the exception
_POOL_SIZE = 8  # connections per httpx pool (see JsonHttp)
_PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy")


@dataclass(frozen=True, slots=True)
class JsonReply:
    """A decoded JSON answer and how long the round trip took."""

    data: Any
    latency_ms: float


def request_model(request: ProviderRequest, config: ProviderConfig, provider: str) -> str:
    """The model of a call: the request's, else the provider's default; neither is a config error."""
    model = request.model or config.model
    if not model:
        raise ConfigError(
            t("house2.provider.no_model"), where=f"providers.{provider}", hint=t("house2.provider.no_model_hint")
        )
    return model


def retryable_status(status: int) -> bool:
    """Rate limits, request timeouts and server errors may pass on a later try; other 4xx will not."""
    return status in (408, 429) or status >= 500


def parse_retry_after(headers: httpx.Headers, now: datetime | None = None) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP-date), else None."""
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(float(millis) / 1000, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)


def error_message(data: Any, text: str) -> str:
    """The provider's own error message from the usual body shapes (OpenAI, Anthropic, FastAPI)."""
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])
        for value in (error, data.get("message"), data.get("detail")):
            if isinstance(value, str) and value:
                return value
    return text.strip()[:500] or "(empty body)"


def _proxied() -> bool:
    """Whether the environment names a proxy (httpx honours HTTP(S)_PROXY/ALL_PROXY/NO_PROXY; the lean client not)."""
    return any(os.environ.get(name) or os.environ.get(name.upper()) for name in _PROXY_VARIABLES)


class JsonHttp:
    """A pooled JSON-over-HTTP client that turns every failure into a :class:`ProviderError`.

    The secret, and the credentials a base URL may carry (userinfo, query values), are scrubbed from every
    message and raw body it puts on an error; messages show the URL masked.
    """

    def __init__(
        self,
        provider: str,
        base_url: str,
        config: ProviderConfig,
        headers: dict[str, str],
        secret: str | None = None,
    ) -> None:
        self.provider = provider
        self.base_url = base_url.rstrip("/")
        self.timeout_s = config.timeout_s
        self.shown_url = masked_url(self.base_url)
        self._secrets = sorted({*([secret] if secret else []), *url_secrets(base_url)}, key=len, reverse=True)
        extra = config.options.get("headers") or {}
        if not isinstance(extra, dict):
            raise ConfigError(
                t("house2.provider.headers"),
                where=f"providers.{provider}.options.headers",
                hint=t("house2.provider.headers_hint"),
            )
        merged = {"content-type": "application/json", **headers, **{str(k): str(v) for k, v in extra.items()}}
        tls = httpx.create_ssl_context()  # loading CA certificates takes ~25 ms: once, not once per pool
        self._wire: WirePool | None = None
        self._pools: list[httpx.AsyncClient] = []
        self._busy: list[int] = []
        parsed = httpx.URL(self.base_url)
        self._prefix = parsed.raw_path.decode("ascii").rstrip("/")
        if parsed.scheme in ("http", "https") and not parsed.userinfo and not _proxied():
            # The lean client (providers/_wire.py): a tenth of httpx's CPU per call. httpx behind a proxy, and for
            # a base URL carrying credentials (it sends them as basic auth).
            wire_headers = {"accept": "*/*", "user-agent": f"andon/{__version__}", **merged}
            self._wire = WirePool(self.base_url, wire_headers, limit=config.concurrency, timeout_s=config.timeout_s,
                                  tls=tls)  # fmt: skip
            return
        # httpcore's pool rescans all its connections (quadratically) on every request, which costs
        # milliseconds of CPU per call at 64 connections; several small pools keep each scan short.
        shards = -(-config.concurrency // _POOL_SIZE)
        per_shard = -(-config.concurrency // shards)
        limits = httpx.Limits(max_connections=per_shard, max_keepalive_connections=per_shard)
        timeout = httpx.Timeout(config.timeout_s)
        self._pools = [
            httpx.AsyncClient(headers=merged, timeout=timeout, limits=limits, verify=tls) for _ in range(shards)
        ]
        self._busy = [0] * shards

    def _scrub(self, text: str) -> str:
        return scrub(text, self._secrets)

    async def post(self, path: str, payload: dict[str, Any]) -> JsonReply:
        """POST ``payload`` as JSON to ``base_url + path`` and return the decoded JSON answer."""
        url = self.base_url + path
        content = json.dumps(payload, ensure_ascii=False).encode()
        started = time.perf_counter()
        if self._wire is not None:
            status, headers, body = await self._post_wire(path, content)
        else:
            status, headers, body = await self._post_httpx(url, content)
        latency_ms = (time.perf_counter() - started) * 1000
        text = body.decode("utf-8", errors="replace")
        try:
            data = json.loads(body) if body else None
        except ValueError:
            data = None
        if status >= 400:
            raise self._status_error(status, headers, data, text)
        if data is None:
            raise MalformedReply(
                t("house2.provider.not_json", url=masked_url(url), status=status),
                provider=self.provider,
                status=status,
                raw=self._scrub(text[:_RAW_LIMIT]),
                hint=t("house2.provider.not_json_hint", provider=self.provider),
            )
        return JsonReply(data, latency_ms)

    async def _post_wire(self, path: str, content: bytes) -> tuple[int, httpx.Headers | None, bytes]:
        assert self._wire is not None
        try:
            reply = await self._wire.post(self._prefix + path, content)
        except WireTimeout as exc:
            raise self._timeout_error(exc.phase) from exc
        except WireConnectError as exc:
            raise self._connect_error(str(exc)) from exc
        except WireError as exc:
            raise self._transport_error(type(exc).__name__, str(exc)) from exc
        # Headers matter only for an error's Retry-After: built then, not on every answer.
        headers = httpx.Headers(reply.headers) if reply.status >= 400 else None
        return reply.status, headers, reply.content

    async def _post_httpx(self, url: str, content: bytes) -> tuple[int, httpx.Headers | None, bytes]:
        shard = self._busy.index(min(self._busy))  # the least busy pool
        self._busy[shard] += 1
        try:
            response = await self._pools[shard].post(url, content=content)
        except httpx.TimeoutException as exc:
            raise self._timeout_error(type(exc).__name__) from exc
        except httpx.ConnectError as exc:
            raise self._connect_error(str(exc)) from exc
        except httpx.TransportError as exc:
            raise self._transport_error(type(exc).__name__, str(exc)) from exc
        finally:
            self._busy[shard] -= 1
        return response.status_code, response.headers, response.content

    def _timeout_error(self, kind: str) -> ProviderTimeout:
        return ProviderTimeout(
            t("house2.provider.timeout_url", url=self.shown_url, timeout=self.timeout_s, type=kind),
            provider=self.provider,
            retryable=True,
            hint=t("house2.provider.timeout_url_hint", provider=self.provider),
        )

    def _connect_error(self, error: str) -> ProviderError:
        return ProviderError(
            t("house2.provider.connect", url=self.shown_url, error=self._scrub(error) or "ConnectError"),
            provider=self.provider,
            retryable=True,
            hint=t("house2.provider.connect_hint", url=self.shown_url, provider=self.provider),
        )

    def _transport_error(self, kind: str, error: str) -> ProviderError:
        return ProviderError(
            t("house2.provider.transport", url=self.shown_url, type=kind, error=self._scrub(error)),
            provider=self.provider,
            retryable=True,
        )

    def _status_error(self, status: int, headers: httpx.Headers | None, data: Any, text: str) -> ProviderError:
        message = self._scrub(error_message(data, text))
        retryable = retryable_status(status)
        hints = {
            401: f"check providers.{self.provider}.api_key (is its ${{ENV}} variable set?)",
            403: f"the key of providers.{self.provider} may lack access to this model",
            404: f"check providers.{self.provider}.base_url and the model name",
            429: f"rate limited: lower providers.{self.provider}.concurrency or raise max_retries",
        }
        hint = hints.get(status) or ("the server failed; it is retried" if retryable else None)
        return ProviderError(
            f"HTTP {status} from {self.shown_url}: {message}",
            provider=self.provider,
            retryable=retryable,
            retry_after=parse_retry_after(headers) if retryable and headers is not None else None,
            status=status,
            raw=self._scrub(text[:_RAW_LIMIT]),
            hint=hint,
        )

    async def aclose(self) -> None:
        """Close pooled connections."""
        if self._wire is not None:
            await self._wire.aclose()
        for pool in self._pools:
            await pool.aclose()
