"""Loopback receivers for notification tests: an HTTP server that records every request.

    with HttpReceiver() as hook:          # real HTTP on 127.0.0.1, a free port
        ... deliver to hook.url ...
        assert len(hook.requests) == 1

``HttpReceiver(port=N)`` binds a given port, so a test can point a notifier at a receiver that is not up yet.
``hold`` (a ``threading.Event``) makes it record each request and answer only once the event is set: a receiver
that accepts the connection and hangs, to cut a sender short mid-request.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.support.loopback_http import LoopbackHttp, free_port

__all__ = ["HttpReceiver", "Received", "free_port"]


@dataclass(frozen=True)
class Received:
    """One request as the receiver saw it."""

    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


class HttpReceiver(LoopbackHttp):
    """A threaded HTTP server on 127.0.0.1 that answers ``status`` (200 by default) and records requests."""

    def __init__(self, port: int | None = None, *, status: int = 200) -> None:
        super().__init__(port)
        self.status = status
        self.requests: list[Received] = []
        self.hold: threading.Event | None = None

    def handler(self) -> type[BaseHTTPRequestHandler]:
        """Record each POST, then answer ``status`` (after ``hold`` is set, when there is one)."""
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                with receiver._lock:
                    receiver.requests.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                    status = receiver.status
                    hold = receiver.hold
                if hold is not None:
                    hold.wait(timeout=300)
                payload = b"ok"
                self.send_response(status)
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

        return Handler
