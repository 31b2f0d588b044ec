"""`andon serve` on httptools (when installed) answers exactly as on h11, and keeps the read deadlines (issue 13.1).

Real servers on 127.0.0.1, one per parser (``ANDON_HTTP``), in front of the loopback stub. Timeouts are 1 s
and every wait is bounded far above them (see test_gateway_timeouts.py), so nothing here depends on timing.
"""

from __future__ import annotations

import functools
import json
import pickle
import socket
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.gateway.test_gateway_timeouts import REQUEST_HEAD, TIMEOUT_S, status_and_body, trickle_until_closed
from tests.support.gateway_server import GatewayServer, StubProcess, write_workspace

from andon.errors import ConfigError
from andon.gateway import timeouts
from andon.gateway.timeouts import GuardedH11Protocol, http_implementation, protocol_factory

pytestmark = pytest.mark.timeout(300)

HAS_HTTPTOOLS = timeouts.GuardedHttpToolsProtocol is not None
PARSERS = ["h11", pytest.param("httptools", marks=pytest.mark.skipif(not HAS_HTTPTOOLS, reason="no httptools"))]
# Header values that differ from one answer to the next (the date, the trace id, the length of a body that holds
# a latency); their names must still match, and the bodies are compared with those fields blanked.
VARYING = {"date", "x-andon-trace-id", "content-length"}


@pytest.fixture(scope="module")
def stub() -> Iterator[StubProcess]:
    with StubProcess(echo=True) as running:
        yield running


def _serve(folder: Path, stub: StubProcess, parser: str) -> GatewayServer:
    gateway = {"auth": False, "header_timeout_s": TIMEOUT_S, "body_timeout_s": TIMEOUT_S}
    ws = write_workspace(folder / "ws", stub_url=stub.base_url, gateway=gateway)
    return GatewayServer(ws, database_url=f"sqlite:///{folder / 'andon.db'}", env={"ANDON_HTTP": parser})


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory, stub: StubProcess) -> Iterator[dict[str, GatewayServer]]:
    parsers = ["h11", "httptools"] if HAS_HTTPTOOLS else ["h11"]
    started: dict[str, GatewayServer] = {}
    try:
        for parser in parsers:
            started[parser] = _serve(tmp_path_factory.mktemp(f"http-{parser}"), stub, parser).start()
        yield started
    finally:
        for server in started.values():
            server.stop()


def _exchange(server: GatewayServer, raw: bytes) -> tuple[int, dict[str, str], bytes]:
    """One raw HTTP/1.1 request on a fresh connection: (status, headers, body) of the answer."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(raw)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            assert chunk, data
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        if "content-length" in headers:
            while len(body) < int(headers["content-length"]):
                chunk = sock.recv(65536)
                assert chunk
                body += chunk
        else:  # chunked (a stream): read until the last chunk
            while not body.endswith(b"0\r\n\r\n"):
                chunk = sock.recv(65536)
                assert chunk
                body += chunk
    return int(lines[0].split(" ")[1]), headers, body


def _request(path: str, body: bytes, *, content_type: str = "application/json") -> bytes:
    head = f"POST {path} HTTP/1.1\r\nHost: gateway\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
    return head.encode() + b"\r\n" + body


CASES = {
    "invoke": _request("/v1/features/echo/invoke", json.dumps({"variables": {"text": "hi there"}}).encode()),
    "chat": _request(
        "/v1/chat/completions",
        json.dumps({"model": "feature:chat", "messages": [{"role": "user", "content": "hello"}]}).encode(),
    ),
    "chat_stream": _request(
        "/v1/chat/completions",
        json.dumps({"model": "feature:chat", "stream": True, "messages": [{"role": "user", "content": "hi"}]}).encode(),
    ),
    "bad_json": _request("/v1/features/echo/invoke", b'{"variables": '),
    "bad_field": _request("/v1/features/echo/invoke", json.dumps({"variables": "not an object"}).encode()),
    "no_feature": _request("/v1/features/nope/invoke", json.dumps({"variables": {}}).encode()),
    "too_deep": _request("/v1/features/echo/invoke", b"[" * 200 + b"]" * 200),
}


def _comparable(body: bytes, headers: dict[str, str]) -> object:
    """The body with what differs per call (ids, times, latencies) blanked, so two parsers' answers compare."""
    if headers.get("content-type", "").startswith("text/event-stream"):
        events = [line for line in body.splitlines() if line.startswith(b"data: ")]  # chunk sizes are lines too
        assert events, body
        return [_blank(json.loads(line[6:])) if line != b"data: [DONE]" else "[DONE]" for line in events]
    return _blank(json.loads(body))


def _blank(value: object) -> object:
    if isinstance(value, dict):
        return {k: "…" if k in {"id", "trace_id", "created", "latency_ms"} else _blank(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_blank(v) for v in value]
    return value


@pytest.mark.skipif(not HAS_HTTPTOOLS, reason="httptools is not installed: nothing to compare h11 with")
@pytest.mark.parametrize("case", sorted(CASES))
def test_httptools_answers_as_h11_does(servers: dict[str, GatewayServer], case: str) -> None:
    answers = {parser: _exchange(server, CASES[case]) for parser, server in servers.items()}
    (s11, h11_headers, b11), (s_ht, ht_headers, b_ht) = answers["h11"], answers["httptools"]
    assert s11 == s_ht
    assert set(h11_headers) == set(ht_headers)
    assert {k: v for k, v in h11_headers.items() if k not in VARYING} == {
        k: v for k, v in ht_headers.items() if k not in VARYING
    }
    assert _comparable(b11, h11_headers) == _comparable(b_ht, ht_headers)
    if s11 >= 400:
        assert set(json.loads(b_ht)["error"]) >= {"code", "message"}  # the gateway's error shape, not a parser's


@pytest.mark.parametrize("parser", PARSERS)
def test_the_serve_log_names_the_parser_and_answers_are_traced(servers: dict[str, GatewayServer], parser: str) -> None:
    server = servers[parser]
    answer = httpx.post(f"{server.base_url}/v1/features/echo/invoke", json={"variables": {"text": "x"}}, timeout=30)
    assert answer.status_code == 200, answer.text
    assert answer.headers["x-andon-trace-id"] == answer.json()["trace_id"]
    assert server.database_url is not None
    with sqlite3.connect(server.database_url.removeprefix("sqlite:///")) as db:  # a 2xx means it is committed
        stored = db.execute("SELECT count(*) FROM traces WHERE id = ?", (answer.json()["trace_id"],)).fetchone()
    assert stored == (1,)
    assert f"HTTP parser {parser}" in server.logs()


@pytest.mark.parametrize("parser", PARSERS)
def test_a_slowloris_is_closed_with_408_on_either_parser(servers: dict[str, GatewayServer], parser: str) -> None:
    with socket.create_connection(("127.0.0.1", servers[parser].port), timeout=5) as sock:
        sock.settimeout(0.25)
        closed, received = trickle_until_closed(sock, REQUEST_HEAD + b"X-Slow: " + b"a" * 200)
    assert closed, "the server kept a connection open whose headers never ended"
    status, body = status_and_body(received)
    assert status == 408
    assert body["error"]["code"] == "request_timeout"  # type: ignore[index]


@pytest.mark.parametrize("parser", PARSERS)
def test_a_trickling_body_is_cut_off_on_either_parser(servers: dict[str, GatewayServer], parser: str) -> None:
    body = json.dumps({"variables": {"text": "x" * 300}}).encode()
    with socket.create_connection(("127.0.0.1", servers[parser].port), timeout=5) as sock:
        sock.settimeout(0.25)
        sock.sendall(REQUEST_HEAD + f"Content-Length: {len(body)}\r\n\r\n".encode())
        closed, received = trickle_until_closed(sock, body)
    assert closed, "the server waited for ever for a slow body"
    assert b" 200 " not in received.split(b"\r\n", 1)[0]


def test_the_parser_choice() -> None:
    assert http_implementation("h11") == "h11"
    assert http_implementation("auto") == ("httptools" if HAS_HTTPTOOLS else "h11")
    with pytest.raises(ConfigError) as bad:
        http_implementation("nginx")
    assert bad.value.where == "ANDON_HTTP"
    h11 = protocol_factory(10.0, 60.0, http="h11")
    assert isinstance(h11, functools.partial) and h11.func is GuardedH11Protocol
    if HAS_HTTPTOOLS:
        chosen = protocol_factory(10.0, 60.0, http="httptools")
        # --workers N pickles the factory into each worker process: the class must be found by name there.
        assert pickle.loads(pickle.dumps(chosen)).func is timeouts.GuardedHttpToolsProtocol
    else:
        with pytest.raises(ConfigError):
            http_implementation("httptools")
