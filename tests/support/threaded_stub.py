"""The OpenAI-compatible stub (bench/stub.py) on its own event loop in a thread, for tests that block.

    with ThreadedStub(echo=True) as stub:
        stub.program(Scripted(content='{"a": 1}'))
        ... point a provider at stub.base_url; run andon commands or asyncio.run(...) ...
        stub.received  # what andon sent

A test whose code calls ``asyncio.run`` (the CLI, ``andon.evaluate``) cannot share a loop with the stub.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Future
from types import TracebackType
from typing import Any, Self

from bench.stub import Received, Scripted, StubServer


class ThreadedStub:
    """A :class:`StubServer` served from a daemon thread; ``program`` and ``received`` are safe to use from tests."""

    def __init__(self, **options: Any) -> None:
        self._server = StubServer(**options)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    @property
    def base_url(self) -> str:
        """The OpenAI-style base URL."""
        return self._server.base_url

    @property
    def received(self) -> list[Received]:
        """Requests received so far (a copy)."""
        return self._call(lambda: list(self._server.received))

    def program(self, *answers: Scripted) -> None:
        """Queue scripted answers, used in order before the default answer."""
        self._call(lambda: self._server.program(*answers))

    def _call(self, fn: Any) -> Any:
        done: Future[Any] = Future()

        def run() -> None:
            try:
                done.set_result(fn())
            except BaseException as exc:  # handed back to the test's thread
                done.set_exception(exc)

        self._loop.call_soon_threadsafe(run)
        return done.result(timeout=30)

    def __enter__(self) -> Self:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._server.start(), self._loop).result(timeout=30)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        asyncio.run_coroutine_threadsafe(self._server.close(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)
        self._loop.close()
