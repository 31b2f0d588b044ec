"""A lean HTTP/1.1 client for providers' JSON POSTs: keep-alive connections to one origin on asyncio streams.

httpx (through httpcore and anyio) spends ~1 ms of CPU on one loopback POST on this machine, ten to twenty
times what the exchange itself needs (``bench/http_clients.py``), and it was the largest share of the
gateway's event-loop time. This client does only what a provider call needs: POST a body with fixed
headers, read a Content-Length, chunked or until-close answer (gzip/deflate decoded), reuse the connection.
``JsonHttp`` uses it unless a proxy is configured in the environment (then httpx, which honours it).

Timeouts follow httpx's ``Timeout(t)``: the connect, the answer's head and its body each get ``t`` seconds.
"""

from __future__ import annotations

import asyncio
import ssl
import zlib
from dataclasses import dataclass
from urllib.parse import urlsplit

from andon.messages import t

_MAX_HEAD = 64 * 1024


class WireTimeout(TimeoutError):
    """No connection or answer in time; ``phase`` names which (``ConnectTimeout``, ``ReadTimeout`` …)."""

    def __init__(self, *, phase: str) -> None:
        super().__init__(phase)
        self.phase = phase


class WireConnectError(OSError):
    """The connection could not be opened (refused, unreachable, TLS handshake failed)."""


class WireError(OSError):
    """The connection broke or the answer was not valid HTTP/1.1."""


@dataclass(frozen=True, slots=True)
class WireResponse:
    """An answer: status, headers (lower-case names, in order) and the decoded body."""

    status: int
    headers: list[tuple[str, str]]
    content: bytes


class _Connection:
    __slots__ = ("reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    def usable(self) -> bool:
        return not self.reader.at_eof() and not self.writer.is_closing()

    def close(self) -> None:
        self.writer.close()


class WirePool:
    """Up to ``limit`` keep-alive connections to the origin of ``base_url``; ``post`` waits for a free one."""

    def __init__(self, base_url: str, headers: dict[str, str], *, limit: int, timeout_s: float,
                 tls: ssl.SSLContext | None = None) -> None:  # fmt: skip
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(t("wire.not_http", url=base_url))
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port or (443 if self._https else 80)
        self._tls = (tls or ssl.create_default_context()) if self._https else None
        default_port = (self._https and self._port == 443) or (not self._https and self._port == 80)
        host_header = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
        host_header += "" if default_port else f":{self._port}"
        self._head_lines = f"Host: {host_header}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self._timeout = timeout_s
        self._limit = limit
        self._idle: list[_Connection] = []
        self._slots = asyncio.Semaphore(limit)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False

    def _bind(self) -> None:
        """Connections and the semaphore belong to one event loop: a new loop (another asyncio.run) starts afresh."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._loop = loop
            self._idle = []  # the old loop's transports cannot be used (nor closed) from this one
            self._slots = asyncio.Semaphore(self._limit)

    async def post(self, target: str, body: bytes) -> WireResponse:
        """POST ``body`` to ``target`` (path and query); a reused connection the server had closed is retried once."""
        request = (f"POST {target} HTTP/1.1\r\n{self._head_lines}Content-Length: {len(body)}\r\n\r\n").encode(
            "latin-1"
        ) + body
        self._bind()
        try:
            async with asyncio.timeout(self._timeout):
                await self._slots.acquire()
        except TimeoutError:
            raise WireTimeout(phase="PoolTimeout") from None
        try:
            while self._idle:
                connection = self._idle.pop()
                if not connection.usable():
                    connection.close()
                    continue
                try:
                    return await self._exchange(connection, request, reused=True)
                except _StaleConnection:
                    # The server closed it before answering a byte: almost always an idle close racing our write. In
                    # the rare case it had read the request and then died, the model sees it twice (Go's net/http
                    # retries a reused connection the same way); httpx would have failed the call instead.
                    continue
            return await self._exchange(await self._connect(), request, reused=False)
        finally:
            self._slots.release()

    async def _connect(self) -> _Connection:
        try:
            async with asyncio.timeout(self._timeout):
                reader, writer = await asyncio.open_connection(
                    self._host, self._port, ssl=self._tls, server_hostname=self._host if self._tls else None,
                    limit=_MAX_HEAD,
                )  # fmt: skip
        except TimeoutError:
            raise WireTimeout(phase="ConnectTimeout") from None
        except (OSError, ssl.SSLError) as exc:
            raise WireConnectError(str(exc) or type(exc).__name__) from exc
        return _Connection(reader, writer)

    async def _exchange(self, connection: _Connection, request: bytes, *, reused: bool) -> WireResponse:
        keep = False
        try:
            connection.writer.write(request)
            try:
                async with asyncio.timeout(self._timeout):
                    await connection.writer.drain()
                    head = await connection.reader.readuntil(b"\r\n\r\n")
            except TimeoutError:
                raise WireTimeout(phase="ReadTimeout") from None
            except asyncio.IncompleteReadError as exc:
                if reused and not exc.partial:
                    raise _StaleConnection from None
                raise WireError(t("wire.closed_before")) from None
            except ConnectionError:
                if reused:
                    raise _StaleConnection from None
                raise
            status, headers, keep = _parse_head(head)
            try:
                async with asyncio.timeout(self._timeout):
                    content, complete = await _read_body(connection.reader, headers, status)
            except TimeoutError:
                raise WireTimeout(phase="ReadTimeout") from None
            keep = keep and complete
            return WireResponse(status, headers, _decoded(content, headers))
        except asyncio.LimitOverrunError:
            raise WireError(t("wire.head_too_large")) from None
        except asyncio.IncompleteReadError:
            raise WireError(t("wire.closed_midway")) from None
        except (ConnectionError, ssl.SSLError) as exc:
            raise WireError(str(exc) or type(exc).__name__) from exc
        finally:
            if keep and not self._closed:
                self._idle.append(connection)
            else:
                connection.close()

    async def aclose(self) -> None:
        """Close the idle connections; busy ones close when their exchange ends."""
        self._closed = True
        while self._idle:
            self._idle.pop().close()


class _StaleConnection(Exception):
    """A kept-alive connection the server had closed before this request reached it."""


def _parse_head(head: bytes) -> tuple[int, list[tuple[str, str]], bool]:
    lines = head.decode("latin-1").split("\r\n")
    version, _, rest = lines[0].partition(" ")
    code = rest.partition(" ")[0]
    if not version.startswith("HTTP/1.") or not code.isdigit():
        raise WireError(t("wire.not_http11", line=repr(lines[0][:80])))
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers.append((name.strip().lower(), value.strip()))
    connection = ",".join(v for k, v in headers if k == "connection").lower()
    keep = "close" not in connection and (version != "HTTP/1.0" or "keep-alive" in connection)
    return int(code), headers, keep


def _header(headers: list[tuple[str, str]], name: str) -> str | None:
    return next((v for k, v in headers if k == name), None)


async def _read_body(reader: asyncio.StreamReader, headers: list[tuple[str, str]], status: int) -> tuple[bytes, bool]:
    """The body and whether the connection can carry another request after it."""
    if status in (204, 304) or 100 <= status < 200:
        return b"", True
    if "chunked" in (_header(headers, "transfer-encoding") or "").lower():
        chunks: list[bytes] = []
        while True:
            size_line = await reader.readuntil(b"\r\n")
            try:
                size = int(size_line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise WireError(t("wire.bad_chunk")) from None
            if size == 0:
                while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailers, then the blank line
                    pass
                return b"".join(chunks), True
            chunks.append(await reader.readexactly(size))
            await reader.readexactly(2)
    length = _header(headers, "content-length")
    if length is not None:
        try:
            size = int(length)
        except ValueError:
            raise WireError(t("wire.bad_length", length=repr(length))) from None
        return await reader.readexactly(size), True
    return await reader.read(), False  # no length: the body ends when the server closes


def _decoded(content: bytes, headers: list[tuple[str, str]]) -> bytes:
    """gzip/deflate bodies decoded (nothing asks for them, but a server may send them anyway)."""
    encoding = (_header(headers, "content-encoding") or "identity").strip().lower()
    if not content or encoding in ("identity", ""):
        return content
    try:
        if encoding in ("gzip", "x-gzip"):
            return zlib.decompress(content, 16 + zlib.MAX_WBITS)
        if encoding == "deflate":
            try:
                return zlib.decompress(content)
            except zlib.error:
                return zlib.decompress(content, -zlib.MAX_WBITS)
    except zlib.error as exc:
        raise WireError(t("wire.undecodable", encoding=encoding, error=exc)) from None
    raise WireError(t("wire.unknown_encoding", encoding=encoding))
