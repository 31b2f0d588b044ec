"""A loopback stub of the OpenAI chat and Anthropic Messages APIs: raw asyncio HTTP/1.1, no framework.

In-process: ``async with StubServer(delay_s=0.05) as stub: ... stub.base_url``;
as a script: ``python bench/stub.py --port 8000 --delay-ms 50``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

__all__ = ["Received", "Scripted", "StubServer"]

_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    408: "Request Timeout",
    411: "Length Required",
    413: "Content Too Large",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
    529: "Overloaded",
}
_MAX_HEAD = 64 * 1024
_MAX_BODY = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Scripted:
    """One programmed answer to a POST, used (in order) before the default answer.

    ``body``: a dict/list is sent as JSON, str/bytes as they are, ``None`` the endpoint's default answer
    (an error body when ``status`` >= 400) carrying ``content`` as its text when given.
    ``drop`` closes the connection without answering.
    """

    status: int = 200
    body: Any = None
    content: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    delay_s: float | None = None
    drop: bool = False


@dataclass(frozen=True, slots=True)
class Received:
    """One request the stub received: lower-cased headers and the parsed JSON body (or None)."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass(slots=True)
class _Request:
    method: str
    path: str
    version: str
    headers: dict[str, str]
    body: bytes


@dataclass(slots=True)
class _Answer:
    status: int
    body: bytes | list[bytes]  # a list is sent chunked (server-sent events)
    content_type: str = "application/json"
    headers: Mapping[str, str] | None = None
    delay_s: float = 0.0
    drop: bool = False
    counted: bool = True
    wire: bytes | None = None  # the whole keep-alive response, pre-encoded (cached default answers)


def _encode(answer: _Answer, keep_alive: bool) -> bytes:
    if answer.wire is not None and keep_alive and not answer.headers:
        return answer.wire
    head = [f"HTTP/1.1 {answer.status} {_REASONS.get(answer.status, 'Status')}", f"Content-Type: {answer.content_type}"]
    if answer.headers:
        head.extend(f"{k}: {v}" for k, v in answer.headers.items())
    if not keep_alive:
        head.append("Connection: close")
    if isinstance(answer.body, list):
        head.append("Transfer-Encoding: chunked")
        chunks = b"".join(b"%x\r\n%b\r\n" % (len(c), c) for c in answer.body if c)
        return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + chunks + b"0\r\n\r\n"
    head.append(f"Content-Length: {len(answer.body)}")
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + answer.body


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def _texts(messages: Any) -> list[str]:
    """The text of each message, whatever the content shape (string or list of parts)."""
    out: list[str] = []
    if not isinstance(messages, list):
        return out
    for message in messages:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str):
            out.append(content)
        elif isinstance(content, list):
            out.append(" ".join(str(p.get("text", "")) for p in content if isinstance(p, dict)))
    return out


def _count(text: str) -> int:
    """A stand-in token count: whitespace-separated words."""
    return len(text.split())


class _Connection(asyncio.Protocol):
    """One keep-alive connection; answers strictly in request order (pipelining safe)."""

    def __init__(self, stub: StubServer) -> None:
        self._stub = stub
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._waiting: deque[_Request] = deque()
        self._timer: asyncio.TimerHandle | None = None
        self._pending: _Answer | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses (so no isinstance check), but have its methods.
        self._transport = cast(asyncio.Transport, transport)
        self._stub._connections.add(self)
        self._stub._peak_connections = max(self._stub._peak_connections, len(self._stub._connections))

    def connection_lost(self, exc: Exception | None) -> None:
        self._stub._connections.discard(self)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
            if self._pending is not None and self._pending.counted:
                self._stub._in_flight -= 1
        self._transport = None

    def close(self) -> None:
        """Close the connection now (server shutdown)."""
        if self._transport is not None:
            self._transport.close()

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while True:
            try:
                request = self._parse()
            except ValueError as exc:
                self._fail(400, str(exc))
                return
            if request is None:
                return
            if self._timer is not None or self._waiting:
                self._waiting.append(request)
            else:
                self._dispatch(request)

    def _parse(self) -> _Request | None:
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self._buffer) > _MAX_HEAD:
                raise ValueError("request head too large")
            return None
        head = bytes(self._buffer[:end])
        line_end = head.find(b"\r\n")
        parts = (head if line_end < 0 else head[:line_end]).decode("latin-1").split(" ")
        if len(parts) != 3:
            raise ValueError("malformed request line")
        # Only the framing headers are looked up on the hot path; the full dict only when recording.
        lower = head.lower()
        if b"\r\ntransfer-encoding:" in lower and b"chunked" in lower:
            raise ValueError("chunked request bodies are not supported; send Content-Length")
        length = 0
        at = lower.find(b"\r\ncontent-length:")
        if at >= 0:
            stop = lower.find(b"\r\n", at + 2)
            try:
                length = int(lower[at + 17 : stop if stop >= 0 else None])
            except ValueError:
                raise ValueError("bad Content-Length") from None
        if length < 0 or length > _MAX_BODY:
            raise ValueError("bad Content-Length")
        total = end + 4 + length
        if len(self._buffer) < total:
            return None
        body = bytes(self._buffer[end + 4 : total])
        del self._buffer[:total]
        if self._stub.record:
            headers = {}
            for line in head[line_end + 2 :].decode("latin-1").split("\r\n") if line_end >= 0 else ():
                key, _, value = line.partition(":")
                headers[key.strip().lower()] = value.strip()
        else:
            headers = {"connection": "close"} if b"\r\nconnection: close" in lower else {}
        return _Request(parts[0], parts[1], parts[2], headers, body)

    def _fail(self, status: int, message: str) -> None:
        if self._transport is not None:
            body = _dumps({"error": {"message": message, "type": "invalid_request_error"}})
            self._transport.write(_encode(_Answer(status, body), keep_alive=False))
            self._transport.close()

    def _dispatch(self, request: _Request) -> None:
        stub = self._stub
        answer = stub._answer(request)
        if answer.counted:
            stub._requests += 1
            stub._in_flight += 1
            if stub._in_flight > stub._peak:
                stub._peak = stub._in_flight
        connection = request.headers.get("connection", "").lower()
        keep_alive = connection != "close" and (request.version == "HTTP/1.1" or connection == "keep-alive")
        if answer.delay_s > 0:
            self._pending = answer
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(answer.delay_s, self._send, answer, keep_alive)
        else:
            self._send(answer, keep_alive)

    def _send(self, answer: _Answer, keep_alive: bool) -> None:
        self._timer = None
        self._pending = None
        if answer.counted:
            self._stub._in_flight -= 1
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        if answer.drop:
            transport.abort()
            return
        transport.write(_encode(answer, keep_alive))
        if not keep_alive:
            transport.close()
            return
        while self._waiting and self._timer is None and self._transport is not None:
            self._dispatch(self._waiting.popleft())


class StubServer:
    """An OpenAI/Anthropic-compatible stub on 127.0.0.1 with programmable faults and request recording.

    ``reply`` is the default completion text; ``echo=True`` answers with the last message's text instead.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        delay_s: float = 0.0,
        reply: str = "Hello from the stub.",
        echo: bool = False,
        record: bool = True,
    ) -> None:
        self.host = host
        self.port = port
        self.delay_s = delay_s
        self.reply = reply
        self.echo = echo
        self.record = record
        self.received: list[Received] = []
        self._script: deque[Scripted] = deque()
        self._server: asyncio.Server | None = None
        self._connections: set[_Connection] = set()
        self._requests = 0
        self._in_flight = 0
        self._peak = 0
        self._peak_connections = 0
        self._cache: dict[tuple[bool, str, str, int, bool], _Answer] = {}

    # --- life cycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start listening; ``port=0`` picks a free port."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: _Connection(self), self.host, self.port, backlog=2048, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        """Stop listening and close every open connection."""
        if self._server is None:
            return
        self._server.close()
        for connection in list(self._connections):
            connection.close()
        await self._server.wait_closed()
        self._server = None

    async def __aenter__(self) -> StubServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @property
    def root_url(self) -> str:
        """``http://host:port`` (where ``/stats`` lives)."""
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The OpenAI-style base URL, ``http://host:port/v1``."""
        return f"{self.root_url}/v1"

    # --- scripting and inspection -----------------------------------------------------------------

    def program(self, *answers: Scripted | Iterable[Scripted]) -> None:
        """Queue programmed answers; each POST consumes the next one, then the default answer returns."""
        for item in answers:
            if isinstance(item, Scripted):
                self._script.append(item)
            else:
                self._script.extend(item)

    @property
    def scripted_left(self) -> int:
        """How many programmed answers have not been used yet."""
        return len(self._script)

    def stats(self) -> dict[str, int]:
        """Requests answered or in progress, in-flight requests and open connections (now and peak).

        With no delay an answer leaves before the next request is read, so in-flight stays at 1;
        peak connections then shows the client's concurrency.
        """
        return {
            "requests": self._requests,
            "in_flight": self._in_flight,
            "peak_in_flight": self._peak,
            "connections": len(self._connections),
            "peak_connections": self._peak_connections,
        }

    def reset(self) -> None:
        """Forget counters, recorded requests and programmed answers."""
        self._requests = 0
        self._peak = self._in_flight
        self._peak_connections = len(self._connections)
        self.received.clear()
        self._script.clear()

    # --- answering --------------------------------------------------------------------------------

    def _answer(self, request: _Request) -> _Answer:
        path = request.path.split("?", 1)[0]
        if request.method == "GET":
            if path == "/stats":
                return _Answer(200, _dumps(self.stats()), counted=False)
            if path in ("/v1/models", "/models"):
                listing = {"id": "stub-model", "object": "model", "created": 0, "owned_by": "stub"}
                return _Answer(200, _dumps({"object": "list", "data": [listing]}))
            return _Answer(404, _dumps({"error": {"message": f"no route GET {path}", "type": "not_found"}}))
        if request.method != "POST":
            return _Answer(404, _dumps({"error": {"message": f"no route {request.method} {path}"}}))
        if path == "/stats/reset":
            self.reset()
            return _Answer(200, _dumps(self.stats()), counted=False)
        anthropic = path in ("/v1/messages", "/messages")
        if not anthropic and path not in ("/v1/chat/completions", "/chat/completions"):
            return _Answer(404, _dumps({"error": {"message": f"no route POST {path}", "type": "not_found"}}))
        try:
            body = json.loads(request.body.decode()) if request.body else None
        except (ValueError, UnicodeDecodeError):
            body = None
        if self.record:
            self.received.append(Received(request.method, path, request.headers, body))
        if not isinstance(body, dict):
            return _Answer(400, _dumps({"error": {"message": "body must be a JSON object", "type": "bad_request"}}))
        script = self._script.popleft() if self._script else None
        delay = self.delay_s if script is None or script.delay_s is None else script.delay_s
        if script is not None and script.drop:
            return _Answer(200, b"", delay_s=delay, drop=True)
        if script is not None and script.body is not None:
            raw = script.body
            payload = raw if isinstance(raw, bytes) else raw.encode() if isinstance(raw, str) else _dumps(raw)
            return _Answer(script.status, payload, headers=script.headers, delay_s=delay)
        status = 200 if script is None else script.status
        if status >= 400:
            message = f"stub: programmed HTTP {status}"
            error = (
                {"type": "error", "error": {"type": "api_error", "message": message}}
                if anthropic
                else {"error": {"message": message, "type": "server_error", "code": None}}
            )
            return _Answer(status, _dumps(error), headers=script.headers if script else None, delay_s=delay)
        texts = _texts(body.get("messages"))
        if script is not None and script.content is not None:
            text = script.content
        elif self.echo:
            text = texts[-1] if texts else ""
        else:
            text = self.reply
        prompt_words = sum(_count(t) for t in texts)
        if anthropic and isinstance(body.get("system"), str):
            prompt_words += _count(body["system"])
        key = (anthropic, str(body.get("model", "stub-model")), text, max(prompt_words, 1), bool(body.get("stream")))
        cached = self._cache.get(key)
        if cached is None:
            made = (self._anthropic if anthropic else self._openai)(*key[1:])
            made.wire = _encode(made, keep_alive=True)
            if len(self._cache) >= 4096:  # echo mode makes a new key per prompt: keep memory bounded
                self._cache.clear()
            cached = self._cache[key] = made
        headers = script.headers if script else None
        return _Answer(200, cached.body, cached.content_type, headers, delay, wire=cached.wire)

    def _openai(self, model: str, text: str, prompt: int, stream: bool) -> _Answer:
        completion = max(_count(text), 1)
        ident, created = "chatcmpl-stub", int(time.time())  # answers are cached: the id is not unique
        usage = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
        if not stream:
            choice = {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
                "logprobs": None,
            }
            reply = {
                "id": ident,
                "object": "chat.completion",
                "created": created,
                "model": model,
                "choices": [choice],
                "usage": usage,
            }
            return _Answer(200, _dumps(reply))
        base = {"id": ident, "object": "chat.completion.chunk", "created": created, "model": model}
        events: list[dict[str, Any]] = []
        for i, piece in enumerate(_pieces(text)):
            delta = {"role": "assistant", "content": piece} if i == 0 else {"content": piece}
            events.append({**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
        events.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        events.append({**base, "choices": [], "usage": usage})
        chunks = [b"data: " + _dumps(e) + b"\n\n" for e in events] + [b"data: [DONE]\n\n"]
        return _Answer(200, chunks, content_type="text/event-stream")

    def _anthropic(self, model: str, text: str, prompt: int, stream: bool) -> _Answer:
        completion = max(_count(text), 1)
        ident = "msg_stub"
        if not stream:
            reply = {
                "id": ident,
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [{"type": "text", "text": text}],
                "stop_reason": "end_turn",
                "stop_sequence": None,
                "usage": {"input_tokens": prompt, "output_tokens": completion},
            }
            return _Answer(200, _dumps(reply))
        start: dict[str, Any] = {
            "id": ident,
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": prompt, "output_tokens": 1},
        }
        events: list[tuple[str, dict[str, Any]]] = [
            ("message_start", {"type": "message_start", "message": start}),
            (
                "content_block_start",
                {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
            ),
        ]
        for piece in _pieces(text):
            delta = {"type": "text_delta", "text": piece}
            events.append(("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta}))
        events += [
            ("content_block_stop", {"type": "content_block_stop", "index": 0}),
            (
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                    "usage": {"output_tokens": completion},
                },
            ),
            ("message_stop", {"type": "message_stop"}),
        ]
        chunks = [b"event: " + name.encode() + b"\ndata: " + _dumps(data) + b"\n\n" for name, data in events]
        return _Answer(200, chunks, content_type="text/event-stream")


def _pieces(text: str) -> list[str]:
    """Split text into word-sized stream deltas that join back to the original."""
    words = text.split(" ")
    return [w if i == 0 else " " + w for i, w in enumerate(words)] if text else []


# --- script mode ----------------------------------------------------------------------------------


async def _serve(args: argparse.Namespace) -> None:
    stub = StubServer(
        host=args.host, port=args.port, delay_s=args.delay_ms / 1000, reply=args.reply, echo=args.echo, record=False
    )
    await stub.start()
    print(f"stub listening on {stub.base_url}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await stub.close()


def main(argv: list[str] | None = None) -> None:
    """Run the stub until SIGINT/SIGTERM; prints its base URL on the first line."""
    parser = argparse.ArgumentParser(description="OpenAI/Anthropic-compatible loopback stub server.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    parser.add_argument("--delay-ms", type=float, default=0.0, help="delay before each answer")
    parser.add_argument("--reply", default="Hello from the stub.", help="the fixed completion text")
    parser.add_argument("--echo", action="store_true", help="answer with the last message's text")
    args = parser.parse_args(argv)
    try:
        import uvloop  # type: ignore[import-not-found,unused-ignore]  # optional speed-up
    except ImportError:
        factory = None
    else:
        factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(_serve(args))


if __name__ == "__main__":
    main()
