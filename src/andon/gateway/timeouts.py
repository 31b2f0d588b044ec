"""Read deadlines for uvicorn connections: a request's headers, then its body, must arrive in bounded time.

uvicorn closes idle keep-alive connections (``timeout_keep_alive``) but has no deadline while a request is
being received, and resets its idle timer on every byte: a client trickling one header byte at a time
(slowloris), or opening a connection and sending nothing, holds it for ever. ASGI middleware cannot help, as
the app is called only once the headers are complete, so the guard lives in the HTTP protocol itself:

- headers: from the connection's opening (or the first byte after an idle keep-alive) until the request's
  headers are complete, at most ``header_timeout_s``; a late client gets ``408`` and the connection closes;
- body: from the end of the headers until the body is complete, at most ``body_timeout_s``; then the
  connection closes (the app sees a disconnect).

The app's own time and the response are not limited here (a slow model answer is not cut off).
Use :func:`protocol_factory` as uvicorn's ``http`` setting (``andon serve`` does): httptools' protocol when
httptools is installed, h11's otherwise (``ANDON_HTTP=h11`` forces it); the deadlines are the same on both.
"""

from __future__ import annotations

import asyncio
import functools
import importlib.util
import json
import logging
import os
from typing import Any, Literal

from uvicorn.protocols.http.h11_impl import H11Protocol

from andon.errors import ConfigError
from andon.gateway.http_errors import error_body
from andon.messages import t

log = logging.getLogger("andon.gateway")

Phase = Literal["headers", "body", "app", "idle"]


class _ReadDeadlines:
    """Mixin over one of uvicorn's HTTP protocol classes (they share ``cycle``, ``transport`` and the hooks)."""

    # Set by uvicorn's protocol classes; declared here for the type checker.
    cycle: Any
    transport: asyncio.Transport
    client: tuple[str, int] | None

    def __init__(self, *args: Any, header_timeout_s: float, body_timeout_s: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timeout_s = header_timeout_s
        self._body_timeout_s = body_timeout_s
        self._phase: Phase = "idle"
        self._phase_cycle: object = None
        self._deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        self._enter("headers", None)  # a connection that never sends a byte is a slowloris too

    def data_received(self, data: bytes) -> None:
        super().data_received(data)  # type: ignore[misc]
        self._follow()

    def on_response_complete(self) -> None:
        self._enter("idle", None)  # until the next byte, uvicorn's keep-alive timeout applies
        super().on_response_complete()  # type: ignore[misc]
        if self.cycle is not None and not self.cycle.response_complete:
            self._follow()  # a pipelined request started at once

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel()
        super().connection_lost(exc)  # type: ignore[misc]

    def _follow(self) -> None:
        """Move to the phase the request is in now (after bytes arrived)."""
        if self.transport.is_closing():
            self._cancel()
            return
        cycle = self.cycle
        if cycle is None or cycle.response_complete:
            if self._phase == "idle":
                self._enter("headers", None)  # the first bytes of a new request
        elif cycle.more_body:
            self._enter("body", cycle)
        else:
            self._enter("app", cycle)

    def _enter(self, phase: Phase, cycle: object) -> None:
        if (phase, cycle) == (self._phase, self._phase_cycle):
            return  # a deadline runs from the start of its phase, not from the latest byte
        self._cancel()
        self._phase, self._phase_cycle = phase, cycle
        seconds = {"headers": self._header_timeout_s, "body": self._body_timeout_s}.get(phase)
        if seconds is not None:
            self._deadline = asyncio.get_running_loop().call_later(seconds, self._expired, phase, seconds)

    def _cancel(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self, phase: Phase, seconds: float) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        client = f"{self.client[0]}:{self.client[1]}" if self.client else "a client"
        log.warning(t(f"http.timeout.closed_{phase}", client=client, seconds=f"{seconds:g}"))
        if phase == "headers" and (self.cycle is None or self.cycle.response_complete):
            self.transport.write(_timeout_response(seconds))
        self.transport.close()


def _timeout_response(seconds: float) -> bytes:
    body = json.dumps(error_body("request_timeout", t("http.timeout.headers", seconds=f"{seconds:g}"))).encode()
    head = (
        "HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\nconnection: close\r\n"
        f"content-length: {len(body)}\r\n\r\n"
    )
    return head.encode("ascii") + body


class GuardedH11Protocol(_ReadDeadlines, H11Protocol):
    """uvicorn's h11 protocol with read deadlines."""


def _httptools_protocol() -> type | None:
    """uvicorn's httptools protocol with read deadlines, or None when httptools is not installed."""
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:
        return None
    return type("GuardedHttpToolsProtocol", (_ReadDeadlines, HttpToolsProtocol), {"__module__": __name__})


# httptools parses a request in C, h11 in Python: a large share of uvicorn's own time per call on this path.
GuardedHttpToolsProtocol = _httptools_protocol()
HTTP_ENV = "ANDON_HTTP"  # auto (default), httptools or h11: the parser `andon serve` uses
HTTP_CHOICES = ("auto", "httptools", "h11")


def http_implementation(choice: str | None = None) -> Literal["httptools", "h11"]:
    """The HTTP parser to serve with: ``choice`` (default: ``$ANDON_HTTP``, else ``auto``); auto is httptools when
    installed, else h11. An unknown choice, or httptools asked for but missing, is a ConfigError."""
    value = (choice if choice is not None else os.environ.get(HTTP_ENV) or "auto").strip().lower()
    if value not in HTTP_CHOICES:
        raise ConfigError(t("gw13.serve.bad_http", value=value), where=HTTP_ENV)
    if value == "h11" or (value == "auto" and GuardedHttpToolsProtocol is None):
        return "h11"
    if GuardedHttpToolsProtocol is None:
        raise ConfigError(t("gw13.serve.no_httptools"), where=HTTP_ENV, hint=t("gw13.serve.no_httptools_hint"))
    return "httptools"


def protocol_factory(header_timeout_s: float, body_timeout_s: float, *, http: str | None = None) -> Any:
    """The ``http`` setting for uvicorn: its httptools or h11 protocol (see :func:`http_implementation`) with the
    deadlines. A ``functools.partial`` of a module-level class, so ``--workers N`` can hand it to worker processes.
    """
    protocol: Any = GuardedH11Protocol if http_implementation(http) == "h11" else GuardedHttpToolsProtocol
    return functools.partial(protocol, header_timeout_s=header_timeout_s, body_timeout_s=body_timeout_s)


def event_loop() -> Literal["uvloop", "asyncio"]:
    """The event loop ``andon serve`` runs on: uvloop's when installed (its I/O and scheduling are in C)."""
    return "uvloop" if importlib.util.find_spec("uvloop") is not None else "asyncio"
