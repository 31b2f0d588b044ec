"""HTTP tools under the gateway's address rules: private and loopback hosts refused unless allowed, redirects
re-checked, the connection pinned to the checked address. Real HTTP on loopback; the errors are tool errors."""

from __future__ import annotations

import asyncio
import ipaddress
import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from tests.support.loopback_http import LoopbackHttp

from andon.config.tools import ToolSpec
from andon.engine import netguard
from andon.engine.tools import ToolCall, run_tool_call

pytestmark = pytest.mark.timeout(60)
LOOPBACK = ["127.0.0.1/32"]


class ToolHost(LoopbackHttp):
    """An HTTP tool host: echoes what it was sent; some paths redirect or fail. Keeps every request it saw."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[dict[str, Any]] = []

    def handler(self) -> type[BaseHTTPRequestHandler]:
        host = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                sent = json.loads(self.rfile.read(length)) if length else None
                host.seen.append({"method": self.command, "path": self.path, "host": self.headers["host"]})
                redirects = {
                    "/to-private": "http://10.1.2.3/steal",
                    "/to-other-loopback": f"http://127.0.0.2:{host.port}/echo",
                    "/keep": "/echo",
                    "/see-other": "/echo",
                    "/loop": "/loop",
                }
                if self.path in redirects:
                    self.send_response(303 if self.path == "/see-other" else 307)
                    self.send_header("location", redirects[self.path])
                    self.send_header("content-length", "0")
                    self.end_headers()
                    return
                status = 500 if self.path == "/fail" else 200
                body = b"db down" if status == 500 else json.dumps({"got": sent, "method": self.command}).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer

            def log_message(self, *args: Any) -> None:
                pass

        return Handler


@pytest.fixture
def tool_host() -> Iterator[ToolHost]:
    with ToolHost() as server:
        yield server


def call(url: str, allowed: list[str] | None = None, **arguments: Any) -> tuple[str, str | None]:
    spec = ToolSpec(name="stock", http=url, parameters={"type": "object"}, allowed_networks=allowed or [])
    return asyncio.run(run_tool_call(ToolCall("c1", "stock", json.dumps(arguments)), {"stock": spec}))


def test_a_loopback_tool_is_refused_unless_its_network_is_allowed(tool_host: ToolHost) -> None:
    result, error = call(f"{tool_host.url}/echo", sku="bike")
    assert error is not None and json.loads(result) == {"error": error}
    assert "refused to reach 127.0.0.1: 127.0.0.1 is loopback" in error
    assert "allowed_networks" in error  # says how to allow an internal tool host
    assert tool_host.seen == []  # nothing was sent
    result, error = call(f"{tool_host.url}/echo", LOOPBACK, sku="bike")
    assert error is None and json.loads(result) == {"got": {"sku": "bike"}, "method": "POST"}


def test_a_name_is_checked_by_the_addresses_it_resolves_to_and_the_connection_is_pinned(tool_host: ToolHost) -> None:
    url = f"http://localhost:{tool_host.port}/echo"
    _result, error = call(url, sku="bike")
    assert error is not None and "refused to reach localhost" in error and "loopback" in error
    result, error = call(url, ["127.0.0.0/8", "::1/128"], sku="bike")
    assert error is None and json.loads(result)["got"] == {"sku": "bike"}
    assert tool_host.seen[-1]["host"] == f"localhost:{tool_host.port}"  # the name travels in Host


@pytest.mark.parametrize(
    ("path", "refused"),
    [("/to-private", "10.1.2.3 is private"), ("/to-other-loopback", "127.0.0.2 is loopback")],
)
def test_a_redirect_into_a_private_address_is_refused(tool_host: ToolHost, path: str, refused: str) -> None:
    _result, error = call(f"{tool_host.url}{path}", LOOPBACK, sku="bike")
    assert error is not None and refused in error
    assert [s["path"] for s in tool_host.seen] == [path]  # the first hop ran; the redirect was never followed


def test_allowed_redirects_are_followed_and_bounded(tool_host: ToolHost) -> None:
    result, error = call(f"{tool_host.url}/keep", LOOPBACK, sku="bike")  # 307 keeps the POST and its body
    assert error is None and json.loads(result) == {"got": {"sku": "bike"}, "method": "POST"}
    result, error = call(f"{tool_host.url}/see-other", LOOPBACK, sku="bike")  # 303 goes on as a GET
    assert error is None and json.loads(result) == {"got": None, "method": "GET"}
    _result, error = call(f"{tool_host.url}/loop", LOOPBACK)
    assert error is not None and "more than 3 redirects" in error
    _result, error = call(f"{tool_host.url}/fail", LOOPBACK)
    assert error is not None and "HTTP 500: db down" in error


def test_allowed_networks_are_checked_in_config() -> None:
    with pytest.raises(ValidationError, match="is not a network"):
        ToolSpec(name="t", http="http://tools.internal/x", allowed_networks=["10.0.0.0/33"])


@given(st.integers(min_value=0, max_value=2**24 - 1), st.integers(min_value=8, max_value=32))
def test_an_address_is_refused_exactly_when_no_allowed_network_holds_it(offset: int, prefix: int) -> None:
    address = ipaddress.IPv4Address(int(ipaddress.IPv4Address("10.0.0.0")) + offset)  # all of 10/8 is private
    network = ipaddress.ip_network(f"{address}/{prefix}", strict=False)
    assert netguard.refused([address]) == (address, "private")
    assert netguard.refused([address], [network]) is None
    assert netguard.refused([ipaddress.IPv4Address("8.8.8.8"), address], [network]) is None
    assert netguard.refused([ipaddress.IPv4Address("127.0.0.1"), address], [network]) is not None
