"""MCP sessions shared across a run or a gateway process (issue 14): one per server configuration, opened once.

Opening a stdio server costs seconds (a Python process, imports, the handshake); a run of a hundred cases that
opened one per step paid it a hundred times. In a :class:`SessionPool` the first step that needs a server opens
it; the others list its tools from memory and call over the same session. Calls on one session are serialised
(a stdio server is one process and may keep state). A session whose connection closed (the server died) fails
the call in flight as before, and is reopened once by the next use (a session idle for a while is probed
first); a reopen that fails is the step's :class:`~andon.engine.mcp_tools.McpServerError`, as when a server
cannot start.

    async with session_pool() as pool:   # an evaluation run; a gateway's lifespan uses open_process_pool()
        ...                              # steps that name MCP servers share the pool's sessions
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import AsyncIterator
from typing import Any

from andon.config.tools import McpServer, McpTools, ToolSpec
from andon.engine import mcp_tools
from andon.engine.mcp_tools import RemoteCall

_CLOSE_TIMEOUT = 10.0  # seconds a session may take to close (a stdio server is terminated after this)
_IDLE_S = (
    30.0  # a session unused this long is probed (its tools listed) before a step uses it (a server may die while idle)
)
_PROBE_TIMEOUT = 5.0


class _Session:
    """One server's session, owned by a task of its own (the client's task groups must exit where they began)."""

    def __init__(self, server: McpServer) -> None:
        self.server = server
        self.opens = 0
        self._client: Any = None
        self._tools: list[Any] = []
        self._owner: asyncio.Task[None] | None = None
        self._closing = asyncio.Event()
        self._dead = True  # not open yet
        self._opening = asyncio.Lock()
        self._calling = asyncio.Lock()
        self._used = 0.0  # when a step last listed its tools (time.monotonic)

    async def ready(self, where: str | None) -> list[Any]:
        """The server's tools, opening the session first when it is not open (or its connection closed)."""
        async with self._opening:
            if not self._dead and time.monotonic() - self._used > _IDLE_S and not await self._answers():
                self._dead = True  # it died while idle: reopened now, before a step's call fails on it
            if self._dead:
                await self._stop()
                await self._open(where)
            self._used = time.monotonic()
        return self._tools

    async def _answers(self) -> bool:
        # Listing is the probe (MCP's ping is legacy-only now); the list it gets is the fresher one.
        try:
            async with asyncio.timeout(_PROBE_TIMEOUT):
                self._tools = await mcp_tools.list_all(self._client, self.server, None)
        except Exception:  # a closed connection, a timeout: it is not there
            return False
        return True

    async def _open(self, where: str | None) -> None:
        loop = asyncio.get_running_loop()
        opened: asyncio.Future[tuple[Any, list[Any]]] = loop.create_future()
        closing = self._closing = asyncio.Event()

        async def own() -> None:
            try:
                async with contextlib.AsyncExitStack() as stack:
                    client = await mcp_tools.connect(stack, self.server, where)
                    tools = await mcp_tools.list_all(client, self.server, where)
                    opened.set_result((client, tools))
                    await closing.wait()
            except BaseException as exc:  # handed to the opener; after that, a closing session's own business
                if not opened.done():
                    opened.set_exception(mcp_tools.single(exc) if isinstance(exc, BaseExceptionGroup) else exc)
                elif not isinstance(exc, Exception):
                    raise

        self.opens += 1
        self._owner = asyncio.create_task(own(), name=f"andon-mcp {self.server.label}")
        self._client, self._tools = await opened
        self._dead = False

    def caller(self, name: str, timeout_s: float, where: str | None) -> RemoteCall:
        """A call of tool ``name`` over this session; a session found dead is reopened once before the call."""

        async def call(arguments: dict[str, Any]) -> str:
            if self._dead:
                await self.ready(where)
            async with self._calling:
                self._used = time.monotonic()
                try:
                    return await mcp_tools.call_tool(self._client, name, arguments, timeout_s)
                except mcp_tools.SessionClosed:
                    self._dead = True  # this call may have run: it is not repeated; the next use reopens
                    raise

        return call

    async def _stop(self) -> None:
        owner, self._owner = self._owner, None
        if owner is None:
            return
        self._closing.set()
        try:
            await asyncio.wait_for(asyncio.shield(owner), _CLOSE_TIMEOUT)
        except TimeoutError:
            owner.cancel()
        except Exception:  # a dead server's session may fail to close cleanly: it is gone either way
            pass

    async def close(self) -> None:
        """Close the session (terminating a stdio server)."""
        async with self._opening:
            self._dead = True
            await self._stop()


class SessionPool:
    """MCP sessions keyed by server configuration, kept open until :meth:`aclose`; safe for concurrent steps."""

    def __init__(self) -> None:
        self._sessions: dict[str, _Session] = {}
        self._loop = asyncio.get_running_loop()
        self._closed = False

    @property
    def opens(self) -> int:
        """Sessions opened so far, reopens included."""
        return sum(s.opens for s in self._sessions.values())

    def usable(self) -> bool:
        """True when open and on the running loop (a pool's sessions belong to the loop that opened them)."""
        try:
            return not self._closed and asyncio.get_running_loop() is self._loop
        except RuntimeError:
            return False

    async def listed(self, source: McpTools, where: str | None) -> list[tuple[ToolSpec, RemoteCall]]:
        """The tools ``source`` includes, over this pool's session with its server."""
        key = source.mcp.model_dump_json()
        session = self._sessions.get(key)
        if session is None:
            session = self._sessions[key] = _Session(source.mcp)
        tools = await session.ready(where)
        return mcp_tools.chosen(
            tools, source, where, functools.partial(session.caller, timeout_s=source.timeout_s, where=where)
        )

    async def aclose(self) -> None:
        """Close every session; the pool serves no step after this."""
        self._closed = True
        await asyncio.gather(*(s.close() for s in self._sessions.values()), return_exceptions=True)


@contextlib.asynccontextmanager
async def session_pool() -> AsyncIterator[SessionPool]:
    """A pool for the block (an evaluation run): its steps, and those of the tasks it starts, share its sessions."""
    pool = SessionPool()
    token = mcp_tools.enter_pool(pool)
    try:
        yield pool
    finally:
        mcp_tools.leave_pool(token)
        await pool.aclose()


def open_process_pool() -> SessionPool:
    """Start the process's pool (a gateway's lifespan): every step on the running loop shares its sessions."""
    pool = SessionPool()
    mcp_tools.add_process_pool(pool)
    return pool


async def close_process_pool(pool: SessionPool) -> None:
    """Close the process's pool (the gateway shutting down) and its sessions."""
    mcp_tools.remove_process_pool(pool)
    await pool.aclose()
