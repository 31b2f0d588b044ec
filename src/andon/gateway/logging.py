"""Request logs: one line per request (method, path, status, latency, trace id), as JSON with ``--log-json``.

The outermost middleware also gives every response an ``x-andon-trace-id`` header: the trace of the call
when a route stored one, else a request id (``req_…``) that only the logs know.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import UTC, datetime
from typing import Any

from andon.store.records import new_id

TRACE_HEADER = "x-andon-trace-id"
ACCESS_LOGGER = "andon.gateway.access"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
ErrorApp = Callable[[Scope, Receive, Send, BaseException], Awaitable[None]]

# Attributes every LogRecord has; anything else was passed in ``extra=`` and belongs in the JSON line.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "color_message"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and any ``extra=`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class PlainFormatter(logging.Formatter):
    """A readable line for terminals; request fields follow the message."""

    def format(self, record: logging.LogRecord) -> str:
        text = f"{record.levelname:<7} {record.getMessage()}"
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


def log_config(*, json_lines: bool, level: str = "INFO") -> dict[str, Any]:
    """A ``logging.dictConfig`` for uvicorn and andon: one stream (stderr), JSON or plain."""
    formatter = "andon.gateway.logging.JsonFormatter" if json_lines else "andon.gateway.logging.PlainFormatter"
    handler = {"class": "logging.StreamHandler", "formatter": "main", "stream": "ext://sys.stderr"}
    quiet = {"handlers": ["main"], "level": level, "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"main": {"()": formatter}},
        "handlers": {"main": handler},
        "loggers": {
            "andon": quiet,
            "uvicorn": quiet,
            "uvicorn.error": {"level": level},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},  # ours replaces it
        },
    }


class RequestLogMiddleware:
    """Outermost ASGI middleware: trace id header, one log line per request, a JSON 500 for anything unhandled."""

    def __init__(self, app: ASGIApp, *, on_error: ErrorApp) -> None:
        self.app = app
        self.on_error = on_error
        self.log = logging.getLogger(ACCESS_LOGGER)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        state["trace_id"] = new_id("req")
        started = state["received_at"] = time.perf_counter()  # the gateway counts queue time from here
        status = 0

        async def send_with_trace(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                # Read at send time: a route that stored a trace has replaced the request id by then.
                headers = list(message.get("headers", []))
                headers.append((TRACE_HEADER.encode(), str(state["trace_id"]).encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_trace)
        except Exception as exc:
            if status:  # the response had started (a stream): all that is left is to log and close
                self.log.exception("error after the response started", extra={"trace_id": state["trace_id"]})
            else:
                await self.on_error(scope, receive, send_with_trace, exc)
        finally:
            if self.log.isEnabledFor(logging.INFO):  # at --log-level warning the line's fields are not even built
                self._line(scope, state, status, (time.perf_counter() - started) * 1000)

    def _line(self, scope: Scope, state: MutableMapping[str, Any], status: int, latency_ms: float) -> None:
        self.log.info(
            "%s %s %s",
            scope.get("method", ""),
            scope.get("path", ""),
            status,
            extra={
                "method": scope.get("method", ""),
                "path": scope.get("path", ""),
                "status": status,
                "latency_ms": round(latency_ms, 3),
                "trace_id": state["trace_id"],
                "api_key_id": state.get("api_key_id"),
            },
        )
