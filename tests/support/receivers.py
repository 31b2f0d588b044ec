"""Loopback receivers for notification tests: an HTTP server that records every request, and an SMTP one.

    with HttpReceiver() as hook:          # real HTTP on 127.0.0.1, a free port
        ... deliver to hook.url ...
        assert len(hook.requests) == 1

``HttpReceiver(port=N)`` binds a given port, so a test can point a notifier at a receiver that is not up yet.
``hold`` (a ``threading.Event``) makes it record each request and answer only once the event is set: a receiver
that accepts the connection and hangs, to cut a sender short mid-request.
"""

from __future__ import annotations

import json
import socket
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self


def free_port() -> int:
    """A TCP port that was free a moment ago on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Received:
    """One request as the receiver saw it."""

    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


class HttpReceiver:
    """A threaded HTTP server on 127.0.0.1 that answers ``status`` (200 by default) and records requests."""

    def __init__(self, port: int | None = None, *, status: int = 200) -> None:
        self.port = port or free_port()
        self.status = status
        self.requests: list[Received] = []
        self.hold: threading.Event | None = None
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Base URL of the receiver."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start serving (in a daemon thread)."""
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

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and free the port."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
