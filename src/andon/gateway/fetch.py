"""Fetch a user's image URL safely (no SSRF) and hand it on as a ``data:`` URL, so providers never fetch it.

The host is resolved once, every address it resolves to is checked, and the connection goes to a checked
address (the URL's host travels in the Host header and TLS SNI), so a DNS answer cannot change between the
check and the fetch. Redirects are followed by hand, each one checked again. Size, type and time are bounded.
The fetcher asks for uncompressed bytes; a server that compresses anyway is inflated by :class:`_Inflater`,
which never puts out more than the size cap allows (a gzip bomb costs at most the cap, not its full size).
"""

from __future__ import annotations

import asyncio
import base64
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar

import httpx

from andon.config.schema import GatewayConfig
from andon.engine import netguard
from andon.engine.netguard import IPAddress
from andon.engine.netguard import address_problem as address_problem  # the policy's home moved; kept here
from andon.errors import AndonError
from andon.messages import t

MAX_REDIRECTS = 3
_REDIRECT_STATUSES = netguard.REDIRECT_STATUSES
_CHUNK = 64 * 1024
_USER_AGENT = "andon-image-fetcher"
# Magic numbers of the image formats vision models take; the declared Content-Type is not trusted.
_SIGNATURES: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\x89PNG\r\n\x1a\n", "image/png"),
    (0, b"\xff\xd8\xff", "image/jpeg"),
    (0, b"GIF87a", "image/gif"),
    (0, b"GIF89a", "image/gif"),
    (8, b"WEBP", "image/webp"),  # after b"RIFF" and a 4-byte length
    (0, b"BM", "image/bmp"),
)


class UnsafeURLError(AndonError):
    """An image URL that andon will not fetch: not http(s), or pointing into a private or local network."""

    code: ClassVar[str] = "unsafe_url"


class FetchError(AndonError):
    """An image URL that could not be fetched as an image: unreachable, too big, too slow, or not an image."""

    code: ClassVar[str] = "image_fetch_failed"


def sniff_image(data: bytes) -> str | None:
    """The image MIME type from the first bytes (PNG, JPEG, GIF, WebP, BMP), or None."""
    for offset, magic, mime in _SIGNATURES:
        if data[offset : offset + len(magic)] == magic and (mime != "image/webp" or data.startswith(b"RIFF")):
            return mime
    return None


def is_remote_image(value: object) -> bool:
    """Whether an image variable is an http(s) URL that must go through :class:`ImageFetcher`."""
    return isinstance(value, str) and value[:8].lower().startswith(("http://", "https://"))


@dataclass(frozen=True, slots=True)
class _Target:
    url: httpx.URL
    host: str
    port: int


class ImageFetcher:
    """Fetches http(s) image URLs under the gateway's limits and returns them as ``data:`` URLs.

    ``allowed_networks`` (CIDRs) are exempt from the address check, e.g. an internal image host, while
    every other private address stays refused.
    """

    def __init__(self, config: GatewayConfig, *, allowed_networks: Iterable[str] = ()) -> None:
        self.allow_private = config.allow_private_image_urls
        self.allowed_networks = netguard.networks(allowed_networks)
        self.max_bytes = config.image_max_bytes
        self.timeout_s = config.image_fetch_timeout_s
        # No pooled connections: a kept-alive TLS connection to one IP was verified for one host name, and
        # must not carry a request for another name on that IP. No proxies from the environment either.
        self._client = httpx.AsyncClient(
            follow_redirects=False,
            trust_env=False,
            timeout=httpx.Timeout(self.timeout_s),
            limits=httpx.Limits(max_keepalive_connections=0),
            # identity: httpx would otherwise offer gzip and inflate each chunk whole before any cap applies.
            headers={"User-Agent": _USER_AGENT, "Accept": "image/*", "Accept-Encoding": "identity"},
        )

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()

    async def __aenter__(self) -> ImageFetcher:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def fetch(self, url: str) -> str:
        """The image at ``url`` as a ``data:`` URL; raises UnsafeURLError or FetchError with the reason."""
        try:
            async with asyncio.timeout(self.timeout_s):
                return await self._follow(url)
        except TimeoutError:
            raise FetchError(
                t("house3.fetch.timeout", seconds=self.timeout_s),
                where=_where(url),
                hint=t("house3.fetch.timeout_hint"),
            ) from None

    async def _follow(self, url: str) -> str:
        current = url
        for _hop in range(MAX_REDIRECTS + 1):
            target = _target(current)
            addresses = await self._vetted(target)
            response = await self._open(target, addresses)
            try:
                if response.status_code in _REDIRECT_STATUSES:
                    location = response.headers.get("location")
                    if not location:
                        raise FetchError(
                            t("house3.fetch.no_location", status=response.status_code), where=_where(current)
                        )
                    current = str(target.url.join(location))
                    continue
                return await self._read(response, current)
            finally:
                await response.aclose()
        raise FetchError(
            t("house3.fetch.redirects", limit=MAX_REDIRECTS), where=_where(url), hint=t("house3.fetch.redirects_hint")
        )

    async def _vetted(self, target: _Target) -> list[IPAddress]:
        try:
            addresses = await netguard.resolve(target.host, target.port)
        except (OSError, UnicodeError) as exc:
            raise FetchError(t("house3.fetch.resolve", host=target.host, error=exc), where="image URL") from None
        bad = None if self.allow_private else netguard.refused(addresses, self.allowed_networks)
        if bad is not None:
            raise UnsafeURLError(
                t("house3.fetch.inward", host=target.host, address=bad[0], problem=bad[1]),
                where="image URL",
                hint=t("house3.fetch.inward_hint"),
            )
        return addresses

    async def _open(self, target: _Target, addresses: list[IPAddress]) -> httpx.Response:
        failure: Exception | None = None
        for address in addresses:
            request = netguard.pinned_request(self._client, "GET", target.url, address)
            try:
                return await self._client.send(request, stream=True)
            except httpx.ConnectError as exc:
                failure = exc  # try the host's next address
            except httpx.HTTPError as exc:
                raise FetchError(t("house3.fetch.failed", error=exc), where=_where(str(target.url))) from None
        raise FetchError(t("house3.fetch.connect", error=failure), where=_where(str(target.url)))

    async def _read(self, response: httpx.Response, url: str) -> str:
        where = _where(url)
        if response.status_code != 200:
            raise FetchError(t("house3.fetch.status", status=response.status_code), where=where)
        declared = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if not declared.startswith("image/"):
            raise FetchError(
                t("house3.fetch.not_image", declared=declared or t("house3.fetch.no_type")),
                where=where,
                hint=t("house3.fetch.not_image_hint"),
            )
        length = response.headers.get("content-length", "")
        if length.isdigit() and int(length) > self.max_bytes:
            raise self._too_big(where, int(length))
        inflater = _Inflater.for_encoding(response.headers.get("content-encoding", ""), self.max_bytes, where)
        body = bytearray()
        try:
            # Raw bytes: decoding is ours, so the cap bounds what is inflated, not only what is kept.
            async for chunk in response.aiter_raw(_CHUNK):
                body += inflater.feed(chunk) if inflater is not None else chunk
                if len(body) > self.max_bytes:
                    raise self._too_big(where, None)  # stop reading now, whatever the server claimed
            if inflater is not None:
                body += inflater.finish()
        except httpx.HTTPError as exc:
            raise FetchError(t("house3.fetch.broke_off", error=exc), where=where) from None
        except _TooMuch:
            raise self._too_big(where, None) from None
        mime = sniff_image(bytes(body[:16]))
        if mime is None:
            raise FetchError(t("house3.fetch.content", declared=declared), where=where)
        return f"data:{mime};base64,{base64.b64encode(body).decode('ascii')}"

    def _too_big(self, where: str, size: int | None) -> FetchError:
        told = t("house3.fetch.bytes", size=size) if size is not None else t("house3.fetch.larger")
        return FetchError(
            t("house3.fetch.too_big", told=told, limit=self.max_bytes),
            where=where,
            hint=t("house3.fetch.too_big_hint"),
        )


class _TooMuch(Exception):
    """The inflated bytes passed the cap."""


class _Inflater:
    """Inflates a gzip or deflate body without ever producing more than ``limit + 1`` bytes in all."""

    def __init__(self, wbits: int, limit: int, where: str) -> None:
        self._wbits = wbits
        self._inflate = zlib.decompressobj(wbits)
        self._limit = limit
        self._where = where
        self._produced = 0
        self._started = False

    @classmethod
    def for_encoding(cls, header: str, limit: int, where: str) -> _Inflater | None:
        """The inflater for a Content-Encoding header (None: the bytes are as sent); other codings are refused."""
        coding = header.strip().lower()
        if coding in ("", "identity"):
            return None
        if coding in ("gzip", "x-gzip"):
            return cls(zlib.MAX_WBITS | 16, limit, where)
        if coding == "deflate":
            return cls(zlib.MAX_WBITS, limit, where)
        raise FetchError(t("http.fetch.coding_refused", coding=coding), where=where, hint=t("http.fetch.coding_hint"))

    def feed(self, data: bytes) -> bytes:
        """The bytes ``data`` inflates to; raises _TooMuch once the total passes the limit."""
        out = bytearray()
        pending = data
        while pending and not self._inflate.eof:
            room = self._limit - self._produced + 1  # one byte past the cap is enough to know it is too big
            try:
                piece = self._inflate.decompress(pending, room)
            except zlib.error as exc:
                pending = self._retry_raw_deflate(pending, exc)
                continue
            self._started = True
            self._produced += len(piece)
            out += piece
            if self._produced > self._limit:
                raise _TooMuch
            pending = self._inflate.unconsumed_tail
        return bytes(out)

    def finish(self) -> bytes:
        """What is left once the body ended; a stream cut short is a FetchError."""
        if not self._inflate.eof:
            raise FetchError(t("http.fetch.cut_off"), where=self._where, hint=t("http.fetch.cut_off_hint"))
        return b""

    def _retry_raw_deflate(self, pending: bytes, exc: zlib.error) -> bytes:
        # Some servers send "deflate" without the zlib header (raw deflate); anything else is broken data.
        if self._started or self._wbits != zlib.MAX_WBITS:
            raise FetchError(t("http.fetch.damaged", reason=exc), where=self._where) from None
        self._wbits = -zlib.MAX_WBITS
        self._inflate = zlib.decompressobj(self._wbits)
        return pending


def _target(url: str) -> _Target:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise UnsafeURLError(t("house3.fetch.invalid", error=exc), where="image URL") from None
    if parsed.scheme not in ("http", "https"):
        raise UnsafeURLError(
            t("house3.fetch.scheme", scheme=parsed.scheme or t("house3.fetch.relative")),
            where="image URL",
            hint=t("house3.fetch.scheme_hint"),
        )
    if not parsed.host:
        raise UnsafeURLError(t("house3.fetch.no_host"), where="image URL")
    if parsed.userinfo:
        raise UnsafeURLError(t("house3.fetch.userinfo"), where=_where(url))
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    return _Target(parsed, parsed.host, port)


def _where(url: str) -> str:
    # Name the host only: query strings of image URLs often carry signed tokens.
    try:
        host = httpx.URL(url).host
    except (httpx.InvalidURL, TypeError):
        host = ""
    return f"image URL on {host}" if host else "image URL"
