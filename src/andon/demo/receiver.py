"""A loopback receiver for the demo's signed webhook notifications: checks each signature, keeps the events."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from andon.watch.notify.webhook import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    verify_signature,
)


@dataclass(frozen=True)
class Received:
    """One notification as it arrived: its event (``incident.<stage>``), delivery id, signature check, body."""

    event: str
    delivery: str
    signed: bool
    body: dict[str, Any]


class WebhookReceiver:
    """HTTP on 127.0.0.1 (raw asyncio, one request per connection) that answers 200 to every POST."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.received: list[Received] = []
        self.port = 0
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        """Where to send notifications."""
        return f"http://127.0.0.1:{self.port}/andon"

    async def __aenter__(self) -> WebhookReceiver:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)}
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            signed = verify_signature(
                self.secret, headers.get(TIMESTAMP_HEADER.lower(), ""), body, headers.get(SIGNATURE_HEADER.lower(), "")
            )
            self.received.append(
                Received(
                    event=headers.get(EVENT_HEADER.lower(), ""),
                    delivery=headers.get(DELIVERY_HEADER.lower(), ""),
                    signed=signed,
                    body=json.loads(body) if body else {},
                )
            )
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
            await writer.drain()
        finally:
            writer.close()
