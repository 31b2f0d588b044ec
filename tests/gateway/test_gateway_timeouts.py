"""Read deadlines of `andon serve` against real slow clients on 127.0.0.1 sockets (issue 17.11).

Timeouts are short (1 s) and every wait is bounded far above them, so no assertion depends on timing: a
connection either is closed by the server before the bound, or the guard is missing.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

import httpx
import pytest
from tests.support.gateway_server import GatewayServer, StubProcess, write_workspace

pytestmark = pytest.mark.timeout(300)

TIMEOUT_S = 1.0
BOUND_S = 15.0  # far beyond the timeout: reaching it means the server kept the connection open
REQUEST_HEAD = b"POST /v1/features/echo/invoke HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n"


@pytest.fixture(scope="module")
def slow_stub() -> Iterator[StubProcess]:
    with StubProcess(echo=True, delay_ms=2500) as stub:  # the model takes longer than either timeout
        yield stub


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, slow_stub: StubProcess) -> Iterator[GatewayServer]:
    folder = tmp_path_factory.mktemp("timeouts")
    gateway = {"auth": False, "header_timeout_s": TIMEOUT_S, "body_timeout_s": TIMEOUT_S}
    ws = write_workspace(folder / "ws", stub_url=slow_stub.base_url, gateway=gateway)
    with GatewayServer(ws, database_url=f"sqlite:///{folder / 'andon.db'}") as running:
        yield running


def connect(server: GatewayServer) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    sock.settimeout(0.25)
    return sock


def trickle_until_closed(sock: socket.socket, data: bytes) -> tuple[bool, bytes]:
    """Send ``data`` one byte every 0.25 s (then nothing) until the server closes; (closed?, what it sent)."""
    received = b""
    deadline = time.monotonic() + BOUND_S
    position = 0
    while time.monotonic() < deadline:
        if position < len(data):
            try:
                sock.send(data[position : position + 1])
            except OSError:
                return True, received  # reset: closed by the server
            position += 1
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        except OSError:
            return True, received
        if not chunk:
            return True, received
        received += chunk
    return False, received


def read_response(sock: socket.socket) -> bytes:
    """One whole HTTP response (by its Content-Length) from a keep-alive connection."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def status_and_body(raw: bytes) -> tuple[int, dict[str, object]]:
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), json.loads(body)


def test_a_slowloris_sending_headers_byte_by_byte_is_closed_with_408(server: GatewayServer) -> None:
    with connect(server) as sock:
        closed, received = trickle_until_closed(sock, REQUEST_HEAD + b"X-Slow: " + b"a" * 200)
    assert closed, "the server kept a connection open whose headers never ended"
    status, body = status_and_body(received)
    assert status == 408
    assert body["error"]["code"] == "request_timeout"  # type: ignore[index]


def test_connections_that_send_nothing_are_closed(server: GatewayServer) -> None:
    sockets = [connect(server) for _ in range(40)]
    try:
        outcomes = [trickle_until_closed(sock, b"") for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()
    assert all(closed for closed, _ in outcomes)
    assert all(status_and_body(received)[0] == 408 for _, received in outcomes)


def test_a_body_that_trickles_in_is_cut_off(server: GatewayServer) -> None:
    body = json.dumps({"variables": {"text": "x" * 300}}).encode()
    head = REQUEST_HEAD + f"Content-Length: {len(body)}\r\n\r\n".encode()
    with connect(server) as sock:
        sock.sendall(head)  # the headers are complete; the body will not be
        closed, received = trickle_until_closed(sock, body)
    assert closed, "the server waited for ever for a slow body"
    assert b" 200 " not in received.split(b"\r\n", 1)[0]


def test_slow_answers_and_idle_keep_alive_are_not_cut(server: GatewayServer) -> None:
    # The model takes 2.5 s, beyond both timeouts: the deadlines cover receiving a request, not answering it.
    answer = httpx.post(
        f"{server.base_url}/v1/features/chat/invoke", json={"variables": {"input": "slow one"}}, timeout=30
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["output_text"] == "slow one"
    # Between two requests on one connection, an idle pause longer than the header timeout is fine
    # (uvicorn's own keep-alive timeout, 5 s, governs idle connections).
    request = REQUEST_HEAD + b"Content-Length: 2\r\n\r\n{}"
    with connect(server) as sock:
        sock.settimeout(10)
        for _ in range(2):
            sock.sendall(request)
            response = read_response(sock)
            assert response.startswith(b"HTTP/1.1 200"), response[:200]
            time.sleep(TIMEOUT_S * 2)
