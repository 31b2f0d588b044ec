"""HTTP tools (issue 14): the arguments POSTed as JSON, under the same address rules as the gateway's image URLs.

Each hop's host is resolved and checked (engine.netguard), the connection is pinned to a checked address, and
redirects are followed by hand so every new host is checked again. A tool may reach private networks only
when they are in its ``allowed_networks``. The reply is read up to what its result cap can use.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from andon.config.tools import ToolSpec
from andon.engine import netguard
from andon.messages import t

MAX_REDIRECTS = 3
_USER_AGENT = "andon-tool"


class ToolFailure(Exception):
    """A tool's own failure (refused address, HTTP error, MCP ``isError``): its text is the call's error."""


async def call_http_tool(tool: ToolSpec, arguments: dict[str, Any]) -> str:
    """POST ``arguments`` to the tool's URL and return the reply's text; raises ToolFailure or TimeoutError."""
    assert tool.http is not None
    allowed = netguard.networks(tool.allowed_networks)
    # A UTF-8 character is at most 4 bytes: this many bytes always hold the characters the cap keeps.
    limit = tool.max_result_chars * 4 + 4
    async with (
        asyncio.timeout(tool.timeout_s),
        httpx.AsyncClient(
            follow_redirects=False,
            trust_env=False,  # no proxy from the environment: the pinned address is the one connected to
            timeout=httpx.Timeout(tool.timeout_s),
            limits=httpx.Limits(max_keepalive_connections=0),
            headers={"User-Agent": _USER_AGENT, "Accept-Encoding": "identity"},
        ) as client,
    ):
        url, method = _parsed(tool.http), "POST"
        body: dict[str, Any] | None = arguments
        for _hop in range(MAX_REDIRECTS + 1):
            addresses = await _vetted(tool, url, allowed)
            response = await _open(client, method, url, addresses, body)
            try:
                if response.status_code in netguard.REDIRECT_STATUSES:
                    location = response.headers.get("location")
                    if not location:
                        raise ToolFailure(t("tools14.http.no_location", status=response.status_code))
                    url = _parsed(str(url.join(location)))
                    if response.status_code in (301, 302, 303):  # as browsers do: the body is not sent on
                        method, body = "GET", None
                    continue
                text = await _read(response, limit)
                if response.status_code >= 400:
                    raise ToolFailure(t("tools14.http.status", status=response.status_code, body=text[:300]))
                return text
            finally:
                await response.aclose()
        raise ToolFailure(t("tools14.http.redirects", limit=MAX_REDIRECTS))


def _parsed(url: str) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise ToolFailure(t("tools14.http.invalid", error=exc)) from None
    if parsed.scheme not in ("http", "https") or not parsed.host or parsed.userinfo:
        raise ToolFailure(t("tools14.http.invalid", error=parsed.scheme or url))
    return parsed


async def _vetted(tool: ToolSpec, url: httpx.URL, allowed: tuple[netguard.IPNetwork, ...]) -> list[netguard.IPAddress]:
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        addresses = await netguard.resolve(url.host, port)
    except (OSError, UnicodeError) as exc:
        raise ToolFailure(t("tools14.http.resolve", host=url.host, error=exc)) from None
    bad = netguard.refused(addresses, allowed)
    if bad is not None:
        address, problem = bad
        raise ToolFailure(t("tools14.http.inward", name=tool.name, host=url.host, address=address, problem=problem))
    return addresses


async def _open(
    client: httpx.AsyncClient,
    method: str,
    url: httpx.URL,
    addresses: list[netguard.IPAddress],
    body: dict[str, Any] | None,
) -> httpx.Response:
    failure: Exception | None = None
    for address in addresses:
        request = netguard.pinned_request(client, method, url, address, json=body)
        try:
            return await client.send(request, stream=True)
        except httpx.ConnectError as exc:
            failure = exc  # the host's next address may answer
        except httpx.TimeoutException:
            raise TimeoutError from None
        except httpx.HTTPError as exc:
            raise ToolFailure(t("tools14.http.failed", host=url.host, error=exc)) from None
    raise ToolFailure(t("tools14.http.failed", host=url.host, error=failure))


async def _read(response: httpx.Response, limit: int) -> str:
    data = bytearray()
    try:
        async for chunk in response.aiter_bytes():
            data += chunk
            if len(data) >= limit:
                break  # the rest would be cut from the result anyway
    except httpx.TimeoutException:
        raise TimeoutError from None
    except httpx.HTTPError as exc:
        raise ToolFailure(t("tools14.http.failed", host=response.url.host, error=exc)) from None
    return bytes(data[:limit]).decode(response.encoding or "utf-8", errors="replace")
