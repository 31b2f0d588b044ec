"""The SSRF-safe image fetcher against real HTTP servers on 127.0.0.1 (private, so refused unless allowed)."""

from __future__ import annotations

import base64
import contextlib
import gzip
import ipaddress
import threading
import time
import zlib
from collections.abc import Iterator
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from hypothesis import given
from hypothesis import strategies as st

from andon.config.schema import GatewayConfig
from andon.gateway.fetch import (
    MAX_REDIRECTS,
    FetchError,
    ImageFetcher,
    UnsafeURLError,
    address_problem,
    is_remote_image,
    sniff_image,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(200))
JPEG = b"\xff\xd8\xff\xe0" + bytes(300)
WEBP = b"RIFF\x10\x00\x00\x00WEBPVP8 " + bytes(100)
LIMIT = 4096


@cache
def _bomb(mebibytes: int) -> bytes:
    """Zeros behind a PNG signature, gzipped about a thousand to one (3 MiB: ~3 KB, under the limit)."""
    return gzip.compress(PNG + bytes(mebibytes * 1024 * 1024), compresslevel=9)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # quiet test output
        return

    def do_GET(self) -> None:
        self.server.requests.append((self.path, self.headers.get("Host", "")))
        self.server.accept_encodings.append(self.headers.get("Accept-Encoding", ""))
        url = urlparse(self.path)
        path, query = url.path, parse_qs(url.query)
        if path == "/img.png":
            self._send(200, "image/png", PNG)
        elif path == "/img.jpg":
            self._send(200, "image/jpeg; charset=binary", JPEG)
        elif path == "/img.webp":
            self._send(200, "image/webp", WEBP)
        elif path == "/jpeg-called-png":
            self._send(200, "image/png", JPEG)
        elif path == "/page":
            self._send(200, "text/html", b"<html>not an image</html>")
        elif path == "/fake.png":
            self._send(200, "image/png", b"<html>a page pretending</html>")
        elif path == "/declared-big":
            self._send(200, "image/png", PNG, length=LIMIT * 10)
        elif path == "/endless":
            self._endless()
        elif path == "/slow":
            time.sleep(2.0)
            self._send(200, "image/png", PNG)
        elif path.startswith("/hops/"):
            left = int(path.rsplit("/", 1)[1])
            if left == 0:
                self._send(200, "image/png", PNG)
            else:
                self._redirect(f"/hops/{left - 1}")
        elif path == "/to":
            self._redirect(query["u"][0])
        elif path == "/missing":
            self._send(404, "text/plain", b"no")
        elif path == "/bomb":  # the server compresses although the client asked for identity
            self._send(200, "image/png", _bomb(3), encoding="gzip")
        elif path == "/bomb-undeclared":  # the same bytes, not declared as compressed
            self._send(200, "image/png", _bomb(3))
        elif path == "/bomb-streamed":  # a bigger one with no Content-Length: only counting can stop it
            self._send(200, "image/png", _bomb(32), encoding="gzip", length=-1)
        elif path == "/small.png.gz":
            self._send(200, "image/png", gzip.compress(PNG), encoding="gzip")
        elif path == "/small.png.deflate":
            self._send(200, "image/png", zlib.compress(PNG), encoding="deflate")
        elif path == "/brotli":
            self._send(200, "image/png", PNG, encoding="br")
        elif path == "/cut.gz":
            self._send(200, "image/png", gzip.compress(PNG)[:-12], encoding="gzip")
        else:
            self._send(500, "text/plain", b"unknown route")

    def _send(
        self, status: int, content_type: str, body: bytes, length: int | None = None, encoding: str | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        if encoding is not None:
            self.send_header("Content-Encoding", encoding)
        if length != -1:  # -1: no Content-Length, the body runs until the connection closes (HTTP/1.0)
            self.send_header("Content-Length", str(length if length is not None else len(body)))
        self.end_headers()
        with contextlib.suppress(OSError):  # the client may hang up first, on purpose
            self.wfile.write(body)

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _endless(self) -> None:
        # No Content-Length (HTTP/1.0, body until close): only the client's running count can stop it.
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()
        try:
            self.wfile.write(PNG)
            for _ in range(10_000):
                self.wfile.write(bytes(8192))
                self.server.streamed += 8192
        except OSError:
            self.server.client_hung_up = True


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[tuple[str, str]] = []
        self.accept_encodings: list[str] = []
        self.streamed = 0
        self.client_hung_up = False

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"


@pytest.fixture
def server() -> Iterator[_Server]:
    srv = _Server()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=5)


def _config(*, allow: bool = False, timeout: float = 5.0) -> GatewayConfig:
    return GatewayConfig(allow_private_image_urls=allow, image_max_bytes=LIMIT, image_fetch_timeout_s=timeout)


def _decoded(data_url: str) -> tuple[str, bytes]:
    head, _, payload = data_url.partition(",")
    assert head.startswith("data:") and head.endswith(";base64")
    return head[5:-7], base64.b64decode(payload)


# --- refusals by address ---------------------------------------------------------------------------------


async def test_loopback_server_is_refused_by_default_and_never_contacted(server: _Server) -> None:
    async with ImageFetcher(_config()) as fetcher:
        with pytest.raises(UnsafeURLError, match="loopback"):
            await fetcher.fetch(server.url("/img.png"))
        with pytest.raises(UnsafeURLError, match="loopback"):
            await fetcher.fetch(server.url("/img.png", host="localhost"))
    assert server.requests == []


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.0.10", "private"),
        ("169.254.169.254", "link-local"),  # cloud metadata
        ("100.64.0.1", "carrier-grade NAT"),
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("2130706433", "loopback"),  # 127.0.0.1 written as one number
        ("[::1]", "loopback"),
        ("[::]", "unspecified"),
        ("[fe80::1]", "link-local"),
        ("[fc00::1]", "private"),
        ("[fec0::1]", "site-local"),
        ("[ff02::1]", "multicast"),
        ("[::ffff:10.0.0.1]", "private"),
        ("[::ffff:127.0.0.1]", "loopback"),
        ("[64:ff9b::a9fe:a9fe]", "link-local"),  # NAT64 to 169.254.169.254
        ("[2002:c0a8:0001::1]", "private"),  # 6to4 of 192.168.0.1
    ],
)
async def test_private_and_special_addresses_are_refused(host: str, reason: str) -> None:
    async with ImageFetcher(_config()) as fetcher:
        with pytest.raises(UnsafeURLError) as caught:
            await fetcher.fetch(f"http://{host}:9/x.png")  # port 9: nothing is contacted anyway
    assert reason in caught.value.message
    assert "allow_private_image_urls" in (caught.value.hint or "")


@pytest.mark.parametrize(
    "url",
    ["file:///etc/passwd", "ftp://example.com/a.png", "gopher://example.com/", "data:image/png;base64,AAAA", "/x.png"],
)
async def test_only_http_and_https_are_fetched(url: str) -> None:
    async with ImageFetcher(_config(allow=True)) as fetcher:
        with pytest.raises(UnsafeURLError, match="only http and https"):
            await fetcher.fetch(url)


async def test_credentials_in_url_are_refused(server: _Server) -> None:
    async with ImageFetcher(_config(allow=True)) as fetcher:
        with pytest.raises(UnsafeURLError, match="user name or password"):
            await fetcher.fetch(f"http://user:secret@127.0.0.1:{server.port}/img.png")
    assert server.requests == []


# --- allowed: the fetch itself --------------------------------------------------------------------------


async def test_allowed_with_the_flag_returns_a_data_url(server: _Server) -> None:
    async with ImageFetcher(_config(allow=True)) as fetcher:
        mime, body = _decoded(await fetcher.fetch(server.url("/img.png")))
        assert (mime, body) == ("image/png", PNG)
        mime, body = _decoded(await fetcher.fetch(server.url("/img.webp")))
        assert (mime, body) == ("image/webp", WEBP)


async def test_type_comes_from_the_bytes_not_the_header(server: _Server) -> None:
    async with ImageFetcher(_config(allow=True)) as fetcher:
        mime, body = _decoded(await fetcher.fetch(server.url("/jpeg-called-png")))
    assert (mime, body) == ("image/jpeg", JPEG)


async def test_name_goes_in_host_header_while_connecting_to_the_checked_address(server: _Server) -> None:
    async with ImageFetcher(_config(allow=True)) as fetcher:
        await fetcher.fetch(server.url("/img.png", host="localhost"))
    assert server.requests == [("/img.png", f"localhost:{server.port}")]


async def test_allowed_network_is_exempt_but_other_private_addresses_are_not(server: _Server) -> None:
    async with ImageFetcher(_config(), allowed_networks=["127.0.0.1/32"]) as fetcher:
        mime, _ = _decoded(await fetcher.fetch(server.url("/img.png")))
        assert mime == "image/png"
        with pytest.raises(UnsafeURLError, match="loopback"):
            await fetcher.fetch(server.url("/img.png", host="127.0.0.2"))


# --- redirects --------------------------------------------------------------------------------------------


async def test_redirects_are_followed_up_to_the_limit(server: _Server) -> None:
    async with ImageFetcher(_config(allow=True)) as fetcher:
        mime, _ = _decoded(await fetcher.fetch(server.url(f"/hops/{MAX_REDIRECTS}")))
        assert mime == "image/png"
        with pytest.raises(FetchError, match=f"more than {MAX_REDIRECTS} redirects"):
            await fetcher.fetch(server.url(f"/hops/{MAX_REDIRECTS + 1}"))


async def test_every_redirect_is_checked_again(server: _Server) -> None:
    inward = server.url("/img.png", host="127.0.0.2")
    async with ImageFetcher(_config(), allowed_networks=["127.0.0.1/32"]) as fetcher:
        with pytest.raises(UnsafeURLError, match="loopback"):
            await fetcher.fetch(server.url(f"/to?u={inward}"))
        with pytest.raises(UnsafeURLError, match="only http and https"):
            await fetcher.fetch(server.url("/to?u=file:///etc/passwd"))
    assert [path for path, _ in server.requests] == [f"/to?u={inward}", "/to?u=file:///etc/passwd"]


# --- limits -------------------------------------------------------------------------------------------------


async def test_non_image_content_type_is_refused(server: _Server) -> None:
    async with ImageFetcher(_config(allow=True)) as fetcher:
        with pytest.raises(FetchError, match="text/html, not an image"):
            await fetcher.fetch(server.url("/page"))


async def test_image_header_on_non_image_bytes_is_refused(server: _Server) -> None:
    async with ImageFetcher(_config(allow=True)) as fetcher:
        with pytest.raises(FetchError, match="not a PNG, JPEG"):
            await fetcher.fetch(server.url("/fake.png"))


async def test_declared_size_over_the_limit_is_refused(server: _Server) -> None:
    async with ImageFetcher(_config(allow=True)) as fetcher:
        with pytest.raises(FetchError, match=f"the limit is {LIMIT} bytes"):
            await fetcher.fetch(server.url("/declared-big"))


async def test_streaming_stops_at_the_limit(server: _Server) -> None:
    async with ImageFetcher(_config(allow=True)) as fetcher:
        with pytest.raises(FetchError, match=f"the limit is {LIMIT} bytes"):
            await fetcher.fetch(server.url("/endless"))
    deadline = time.monotonic() + 5
    while not server.client_hung_up and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.client_hung_up  # the client closed the connection instead of reading ~80 MB
    assert server.streamed < 10_000 * 8192


class _CountingInflater:
    """A zlib decompressor that adds every byte it puts out to a shared count."""

    def __init__(self, real: Any, produced: list[int]) -> None:
        self._real = real
        self._produced = produced

    def decompress(self, data: bytes, max_length: int = 0) -> bytes:
        out: bytes = self._real.decompress(data, max_length)
        self._produced[0] += len(out)
        return out

    def flush(self, *args: int) -> bytes:
        out: bytes = self._real.flush(*args)
        self._produced[0] += len(out)
        return out

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


@pytest.fixture
def inflated(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The number of bytes any zlib decompressor (the fetcher's or httpx's) puts out during the test."""
    produced = [0]
    real = zlib.decompressobj
    monkeypatch.setattr(zlib, "decompressobj", lambda *a, **k: _CountingInflater(real(*a, **k), produced))
    return produced


async def test_the_fetcher_asks_for_uncompressed_bytes(server: _Server) -> None:
    async with ImageFetcher(_config(allow=True)) as fetcher:
        await fetcher.fetch(server.url("/img.png"))
    assert server.accept_encodings == ["identity"]


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/bomb", f"the limit is {LIMIT} bytes"),
        ("/bomb-streamed", f"the limit is {LIMIT} bytes"),
        ("/bomb-undeclared", "not a PNG, JPEG"),  # kept as sent: gzip bytes are no image
    ],
)
async def test_a_gzip_bomb_is_refused_without_inflating_past_the_limit(
    server: _Server, inflated: list[int], path: str, reason: str
) -> None:
    async with ImageFetcher(_config(allow=True)) as fetcher:
        with pytest.raises(FetchError, match=reason):
            await fetcher.fetch(server.url(path))
    assert inflated[0] <= LIMIT + 1  # counted, not guessed from memory use: at most one byte past the cap


@pytest.mark.parametrize("path", ["/small.png.gz", "/small.png.deflate"])
async def test_a_compressed_image_within_the_limit_is_decoded(server: _Server, path: str) -> None:
    async with ImageFetcher(_config(allow=True)) as fetcher:
        mime, data = _decoded(await fetcher.fetch(server.url(path)))
    assert (mime, data) == ("image/png", PNG)


async def test_unknown_or_broken_compression_is_a_fetch_error(server: _Server) -> None:
    async with ImageFetcher(_config(allow=True)) as fetcher:
        with pytest.raises(FetchError, match="br"):
            await fetcher.fetch(server.url("/brotli"))
        with pytest.raises(FetchError, match="cut off"):
            await fetcher.fetch(server.url("/cut.gz"))


async def test_slow_server_times_out(server: _Server) -> None:
    async with ImageFetcher(_config(allow=True, timeout=0.3)) as fetcher:
        with pytest.raises(FetchError, match=r"longer than 0\.3 s"):
            await fetcher.fetch(server.url("/slow"))


async def test_error_status_is_a_fetch_error(server: _Server) -> None:
    async with ImageFetcher(_config(allow=True)) as fetcher:
        with pytest.raises(FetchError, match="HTTP 404"):
            await fetcher.fetch(server.url("/missing"))


async def test_unresolvable_host_is_a_fetch_error() -> None:
    async with ImageFetcher(_config()) as fetcher:
        with pytest.raises(FetchError, match="cannot resolve"):
            await fetcher.fetch("http://no-such-host.invalid/x.png")


# --- pure parts -----------------------------------------------------------------------------------------------

_PRIVATE_V4 = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8", "169.254.0.0/16", "100.64.0.0/10"]


@given(network=st.sampled_from(_PRIVATE_V4), offset=st.integers(min_value=0, max_value=2**32))
def test_every_address_of_a_private_range_is_refused(network: str, offset: int) -> None:
    net = ipaddress.ip_network(network)
    address = net[offset % net.num_addresses]
    assert address_problem(address) is not None
    assert address_problem(ipaddress.IPv6Address(f"::ffff:{address}")) is not None


@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_mapped_ipv6_is_judged_like_its_ipv4(value: int) -> None:
    v4 = ipaddress.IPv4Address(value)
    mapped = ipaddress.IPv6Address(f"::ffff:{v4}")
    assert (address_problem(mapped) is None) == (address_problem(v4) is None)


@given(st.integers(min_value=0, max_value=2**128 - 1))
def test_an_accepted_ipv6_address_is_global(value: int) -> None:
    address = ipaddress.IPv6Address(value)
    if address_problem(address) is None:
        assert address.is_global and not address.is_multicast


def test_public_addresses_pass() -> None:
    for text in ("8.8.8.8", "1.1.1.1", "2001:4860:4860::8888"):
        assert address_problem(ipaddress.ip_address(text)) is None


def test_sniff_and_remote_detection() -> None:
    assert sniff_image(PNG) == "image/png"
    assert sniff_image(JPEG) == "image/jpeg"
    assert sniff_image(WEBP) == "image/webp"
    assert sniff_image(b"GIF89a....") == "image/gif"
    assert sniff_image(b"RIFF\x00\x00\x00\x00WAVEfmt ") is None  # a RIFF that is audio
    assert sniff_image(b"<svg xmlns=") is None
    assert is_remote_image("HTTPS://example.com/a.png")
    assert not is_remote_image("data:image/png;base64,AAAA")
    assert not is_remote_image(b"http://")
