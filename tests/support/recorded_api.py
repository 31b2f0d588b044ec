"""A loopback HTTP server that plays back recorded API responses (Jira, GitHub …) in order, and records requests.

    with RecordedApi() as api:
        api.play(Reply(body=recorded("jira_cloud_page1")), Reply(429, headers={"Retry-After": "1"}), ...)
        ... point the importer at api.url ...
        assert api.requests[0].query["jql"] == ["project = MENU"]

Each GET takes the next reply; a request beyond the script gets a 599 that names it, so a test fails plainly.
``Reply(etag=True)`` behaves like GitHub: it sends an ETag of its body and answers 304 to a matching
``If-None-Match``. ``{base}`` in a header value (a ``Link``) becomes the server's URL.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support.loopback_http import LoopbackHttp

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "okr"


def recorded(name: str) -> Any:
    """A recorded response body from tests/fixtures/okr/NAME.json."""
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Reply:
    """One scripted answer."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    etag: bool = False


@dataclass(frozen=True)
class Request:
    """One request as the server saw it."""

    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    status: int  # what it was answered


class RecordedApi(LoopbackHttp):
    """A threaded HTTP server on 127.0.0.1 answering GETs from a script of replies."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[Request] = []
        self._script: list[Reply] = []

    def play(self, *replies: Reply) -> None:
        """Append replies to the script."""
        with self._lock:
            self._script.extend(replies)

    @property
    def left(self) -> int:
        """Replies not used yet."""
        with self._lock:
            return len(self._script)

    def _answer(self, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            reply = self._script.pop(0) if self._script else None
        if reply is None:
            return 599, {}, f"unexpected request {path}".encode()
        body = b"" if reply.body is None else json.dumps(reply.body, ensure_ascii=False).encode()
        out = {k: v.replace("{base}", self.url) for k, v in reply.headers.items()}
        if reply.body is not None:
            out.setdefault("Content-Type", "application/json; charset=utf-8")
        if reply.etag:
            tag = f'W/"{hashlib.sha256(body).hexdigest()[:32]}"'
            out["ETag"] = tag
            if headers.get("if-none-match") == tag:
                return 304, {"ETag": tag}, b""
        return reply.status, out, body

    def handler(self) -> type[BaseHTTPRequestHandler]:
        """Answer each GET with the next reply of the script and record it."""
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, out, body = api._answer(self.path, headers)
                parts = urlsplit(self.path)
                with api._lock:
                    api.requests.append(Request(parts.path, parse_qs(parts.query), headers, status))
                self.send_response(status)
                for name, value in out.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

        return Handler
