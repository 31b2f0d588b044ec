"""The lean provider HTTP client against hand-written answers: chunked, gzip, close-delimited, stale keep-alive."""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import AsyncIterator, Callable

import pytest

from andon.errors import ProviderError, ProviderTimeout
from andon.providers._wire import WireError, WirePool

Answer = Callable[[int], bytes]  # the n-th request on a connection (from 0) -> the raw bytes sent back


class RawServer:
    """Answers each request with the bytes ``answer`` gives; ``close_after`` closes each connection after n answers."""

    def __init__(self, answer: Answer, *, close_after: int | None = None) -> None:
        self.answer, self.close_after = answer, close_after
        self.requests: list[bytes] = []
        self.connections = 0
        self.server: asyncio.Server | None = None

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        served = 0
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length")
                )
                self.requests.append(head + await reader.readexactly(length))
                writer.write(self.answer(served))
                await writer.drain()
                served += 1
                if self.close_after is not None and served >= self.close_after:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/v1"


@pytest.fixture
async def serve() -> AsyncIterator[Callable[..., RawServer]]:
    started: list[RawServer] = []

    async def noop() -> None:
        return None

    def make(answer: Answer, **options: int | None) -> RawServer:
        server = RawServer(answer, **options)
        started.append(server)
        return server

    yield make
    for server in started:
        if server.server is not None:
            server.server.close()
    await noop()


async def start(server: RawServer) -> RawServer:
    server.server = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    return server


def reply(body: bytes, *headers: str, status: str = "200 OK") -> bytes:
    head = "".join(f"{h}\r\n" for h in headers)
    return f"HTTP/1.1 {status}\r\n{head}\r\n".encode() + body


def pool(server: RawServer, timeout_s: float = 5.0) -> WirePool:
    return WirePool(server.url, {"content-type": "application/json", "authorization": "Bearer k"}, limit=4,
                    timeout_s=timeout_s)  # fmt: skip


async def test_a_request_carries_host_headers_and_body_and_the_connection_is_reused(serve) -> None:
    body = b'{"ok": 1}'
    server = await start(serve(lambda n: reply(body, f"content-length: {len(body)}")))
    client = pool(server)
    try:
        first = await client.post("/v1/chat/completions", b'{"a":1}')
        second = await client.post("/v1/chat/completions", b'{"a":2}')
    finally:
        await client.aclose()
    assert (first.status, first.content, second.content) == (200, body, body)
    assert server.connections == 1
    head = server.requests[0].decode()
    assert head.startswith("POST /v1/chat/completions HTTP/1.1\r\n")
    assert f"Host: 127.0.0.1:{server.url.split(':')[2].split('/')[0]}\r\n" in head
    assert "authorization: Bearer k\r\n" in head and head.endswith('{"a":1}')


async def test_chunked_gzip_and_close_delimited_bodies_are_read_whole(serve) -> None:
    payload = json.dumps({"text": "김치찌개 " * 200}).encode()
    packed = gzip.compress(payload)
    chunked = (
        b"".join(f"{len(part):x}\r\n".encode() + part + b"\r\n" for part in (packed[:10], packed[10:])) + b"0\r\n\r\n"
    )
    answers = {
        0: reply(chunked, "transfer-encoding: chunked", "content-encoding: gzip"),
        1: reply(payload, "connection: close"),
    }
    server = await start(serve(lambda n: answers[n], close_after=2))  # no length: the close ends the body
    client = pool(server)
    try:
        unzipped = await client.post("/v1/x", b"{}")
        closed = await client.post("/v1/x", b"{}")
        again = await client.post("/v1/x", b"{}")  # the server closed after answering: a new connection
    finally:
        await client.aclose()
    assert unzipped.content == payload and closed.content == payload
    assert again.content == payload
    assert server.connections == 2


async def test_a_kept_connection_the_server_closed_is_retried_on_a_fresh_one(serve) -> None:
    body = b"{}"
    # The server closes each connection after one answer without saying so (no Connection: close).
    server = await start(serve(lambda n: reply(body, "content-length: 2"), close_after=1))
    client = pool(server)
    try:
        await client.post("/v1/x", b"{}")
        await asyncio.sleep(0.05)  # the close reaches us (or not yet: then the stale-connection retry covers it)
        second = await client.post("/v1/x", b"{}")
    finally:
        await client.aclose()
    assert second.status == 200
    assert server.connections == 2


async def test_an_answer_cut_short_is_a_wire_error(serve) -> None:
    server = await start(serve(lambda n: reply(b'{"a"', "content-length: 100"), close_after=1))
    client = pool(server)
    try:
        with pytest.raises(WireError, match="middle of the answer"):
            await client.post("/v1/x", b"{}")
    finally:
        await client.aclose()


async def test_provider_errors_through_the_lean_client_keep_their_mapping(serve) -> None:
    from pydantic import SecretStr

    from andon.config.schema import ProviderConfig
    from andon.providers._http import JsonHttp

    answers = {
        0: reply(b'{"error": {"message": "slow down"}}', "content-length: 35", "retry-after: 7", status="429 Too Many"),
        1: b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n",  # the body never comes
    }
    server = await start(serve(lambda n: answers[n]))
    config = ProviderConfig(type="openai", base_url=server.url, api_key=SecretStr("k"), timeout_s=0.3)
    client = JsonHttp("remote", server.url, config, {})
    try:
        with pytest.raises(ProviderError) as limited:
            await client.post("/chat/completions", {})
        with pytest.raises(ProviderTimeout) as late:
            await client.post("/chat/completions", {})
    finally:
        await client.aclose()
    assert (limited.value.status, limited.value.retry_after, limited.value.retryable) == (429, 7.0, True)
    assert "slow down" in limited.value.message
    assert "ReadTimeout" in late.value.message and late.value.retryable
