"""MCP servers as a step's tools (issue 14), through the official ``mcp`` client over stdio or streamable HTTP.

While a step's tool loop runs, each server named in its ``tools:`` has one session: it is started (or
connected to) once, its tools are listed (name, description, input schema) and offered to the model like the
step's own, and every call goes over that session. The tool loop validates, times and caps the calls as for
any tool. A server that cannot start, or lacks a tool the step includes, is an :class:`McpServerError`.

Inside a :class:`SessionPool` (an evaluation run, a gateway process) the sessions outlive the step: one per
server configuration, opened by the first step that needs it and closed with the pool (engine.mcp_pool).
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import json
import os
import re
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import IO, Any, Protocol

import httpx

from andon.config.tools import TOOL_NAME_PATTERN, McpServer, McpTools, ToolEntry, ToolSpec
from andon.engine import netguard
from andon.engine.tool_http import ToolFailure
from andon.errors import AndonError
from andon.messages import t

RemoteCall = Callable[[dict[str, Any]], Awaitable[str]]
_REQUEST_TIMEOUT = -32001  # JSON-RPC error code of an MCP request that ran past its read timeout
CONNECTION_CLOSED = -32000  # … of a request whose connection closed (in flight, or sent after the close)
_STDERR_TAIL = 600


class McpServerError(AndonError):
    """An MCP server of a step could not be started or listed, or lacks a tool the step includes."""


@dataclass(slots=True)
class ServedTools:
    """The tools a step offers (its own, then each server's) and how to call those a server implements."""

    specs: list[ToolSpec]
    remote: dict[str, RemoteCall] = field(default_factory=dict)


class Pool(Protocol):
    """Sessions kept open beyond one step (engine.mcp_pool.SessionPool)."""

    def usable(self) -> bool:
        """True when the pool may serve the running event loop (it is open and was opened on this loop)."""
        ...

    async def listed(self, source: McpTools, where: str | None) -> list[tuple[ToolSpec, RemoteCall]]:
        """The tools ``source`` includes, over the pool's session with its server (opened, or reopened, now)."""
        ...


_POOL: contextvars.ContextVar[Pool | None] = contextvars.ContextVar("andon_mcp_pool", default=None)
# The process's pools (one per gateway app running here; each serves its own event loop): add_process_pool.
_process_pools: list[Pool] = []


def current_pool() -> Pool | None:
    """The pool steps run in now: the run's (a context variable), else the process's, else None."""
    for pool in (_POOL.get(), *_process_pools):
        if pool is not None and pool.usable():
            return pool
    return None


def pool_context(pool: Pool) -> contextvars.Context:
    """A copy of the current context in which ``pool`` is the current pool (for the tasks of one run)."""
    context = contextvars.copy_context()
    context.run(_POOL.set, pool)
    return context


def enter_pool(pool: Pool) -> contextvars.Token[Pool | None]:
    """Make ``pool`` the current pool in this context (and the tasks it starts) until :func:`leave_pool`."""
    return _POOL.set(pool)


def leave_pool(token: contextvars.Token[Pool | None]) -> None:
    """Undo :func:`enter_pool`."""
    _POOL.reset(token)


def add_process_pool(pool: Pool) -> None:
    """Make ``pool`` a pool of the process (a gateway's lifespan): steps on its loop use it outside any run's pool."""
    _process_pools.append(pool)


def remove_process_pool(pool: Pool) -> None:
    """Undo :func:`add_process_pool`."""
    with contextlib.suppress(ValueError):
        _process_pools.remove(pool)


@contextlib.asynccontextmanager
async def serving(entries: Sequence[ToolEntry], where: str | None = None) -> AsyncIterator[ServedTools]:
    """Open a session to every MCP server in ``entries`` for the duration of the block; closed on the way out.

    Inside a session pool (:func:`current_pool`) the pool's sessions are used and kept open.
    """
    served = ServedTools([e for e in entries if isinstance(e, ToolSpec)])
    sources = [e for e in entries if isinstance(e, McpTools)]
    pool = current_pool() if sources else None
    if pool is not None:
        for source in sources:
            _offer(served, source, await pool.listed(source, where), where)
        yield served
        return
    if not sources:
        yield served
        return
    try:
        async with contextlib.AsyncExitStack() as stack:
            for source in sources:
                client = await connect(stack, source.mcp, where)
                tools = await list_all(client, source.mcp, where)
                calls = functools.partial(_caller, client, timeout_s=source.timeout_s)
                _offer(served, source, chosen(tools, source, where, calls), where)
            yield served
    except BaseExceptionGroup as group:
        # The sessions' task groups wrap whatever left the block (a step's own error included): unwrap it.
        raise single(group) from None


def _offer(served: ServedTools, source: McpTools, tools: list[tuple[ToolSpec, RemoteCall]], where: str | None) -> None:
    for spec, call in tools:
        if any(s.name == spec.name for s in served.specs):
            raise McpServerError(
                t("tools14.mcp.duplicate", name=spec.name, server=source.mcp.label),
                where=where,
                hint=t("tools14.mcp.duplicate_hint"),
            )
        served.specs.append(spec)
        served.remote[spec.name] = call


async def connect(stack: contextlib.AsyncExitStack, server: McpServer, where: str | None) -> Any:
    """Start (or connect to) ``server`` inside ``stack``: the session's client, closed when the stack closes."""
    try:
        import mcp
        from mcp.client.stdio import stdio_client
    except ImportError:
        raise McpServerError(
            t("tools14.mcp.missing"),
            where=where,
            hint=t("tools14.mcp.missing_hint", install="pip install 'andon[agents]'"),
        ) from None
    errlog: IO[str] | None = None
    if server.command is not None:
        # The server's stderr goes to a file, so a server that dies while starting can be asked why.
        errlog = stack.enter_context(tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace"))  # noqa: SIM115 (closed by the stack)
        passed = {name: os.environ[name] for name in server.pass_env if name in os.environ}
        parameters = mcp.StdioServerParameters(
            command=server.command[0], args=server.command[1:], env={**server.env, **passed} or None, cwd=server.cwd
        )
        target: Any = stdio_client(parameters, errlog=errlog)
    else:
        await _vet(server, where)
        target = server.url
    client = mcp.Client(target, read_timeout_seconds=server.startup_timeout_s, cache=None)
    try:
        return await stack.enter_async_context(client)
    except Exception as exc:  # OSError, a closed connection, a handshake error …: one message naming the server
        key = "tools14.mcp.start" if server.command is not None else "tools14.mcp.connect"
        raise McpServerError(
            t(key, server=server.label, error=_reason(exc)) + _stderr_tail(errlog),
            where=where,
            hint=t(f"{key}_hint"),
        ) from None


async def _vet(server: McpServer, where: str | None) -> None:
    """Refuse a ``url`` server whose host resolves to a private, loopback or link-local address not allowed.

    The check is made once, when the session opens (the SDK's client resolves the host again to connect).
    """
    url = httpx.URL(str(server.url))
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        addresses = await netguard.resolve(url.host, port)
    except (OSError, UnicodeError) as exc:
        raise McpServerError(
            t("sim14.mcp.unresolved", server=server.label, error=_reason(exc)),
            where=where,
            hint=t("tools14.mcp.connect_hint"),
        ) from None
    bad = netguard.refused(addresses, netguard.networks(server.allowed_networks))
    if bad is not None:
        raise McpServerError(
            t("sim14.mcp.refused", server=server.label, address=bad[0], problem=bad[1]),
            where=where,
            hint=t("sim14.mcp.refused_hint"),
        )


async def list_all(client: Any, server: McpServer, where: str | None) -> list[Any]:
    """Every tool the server lists (all pages)."""
    try:
        tools, cursor = [], None
        while True:
            page = await client.list_tools(cursor=cursor)
            tools.extend(page.tools)
            cursor = page.next_cursor
            if not cursor:
                break
    except Exception as exc:
        raise McpServerError(t("tools14.mcp.list", server=server.label, error=_reason(exc)), where=where) from None
    return tools


def chosen(
    tools: list[Any], source: McpTools, where: str | None, caller: Callable[[str], RemoteCall]
) -> list[tuple[ToolSpec, RemoteCall]]:
    """The tools ``source`` includes as the step's specs, each with its call (``caller(name)``)."""
    label = source.mcp.label
    by_name = {tool.name: tool for tool in tools}
    names = source.include if source.include is not None else list(by_name)
    out: list[tuple[ToolSpec, RemoteCall]] = []
    for name in names:
        tool = by_name.get(name)
        if tool is None:
            known = ", ".join(sorted(by_name)) or "-"
            raise McpServerError(
                t("tools14.mcp.not_on_server", server=label, name=name, known=known),
                where=where,
                hint=t("tools14.mcp.not_on_server_hint"),
            )
        if not re.match(TOOL_NAME_PATTERN, name):
            raise McpServerError(
                t("tools14.mcp.bad_name", server=label, name=name), where=where, hint=t("tools14.mcp.bad_name_hint")
            )
        schema = dict(tool.input_schema or {})
        schema.setdefault("type", "object")
        # Built without validation: a server's tool has neither `python` nor `http`; the session implements it.
        spec = ToolSpec.model_construct(
            name=name,
            description=tool.description or "",
            parameters=schema,
            python=None,
            http=None,
            allowed_networks=[],
            timeout_s=source.timeout_s,
            max_result_chars=source.max_result_chars,
        )
        out.append((spec, caller(name)))
    return out


def _caller(client: Any, name: str, timeout_s: float) -> RemoteCall:
    async def call(arguments: dict[str, Any]) -> str:
        return await call_tool(client, name, arguments, timeout_s)

    return call


async def call_tool(client: Any, name: str, arguments: dict[str, Any], timeout_s: float) -> str:
    """One call over a session: the result's text; a server-side error is a ToolFailure, a timeout a TimeoutError."""
    from mcp import MCPError

    try:
        result = await client.call_tool(name, arguments, read_timeout_seconds=timeout_s)
    except MCPError as exc:
        if exc.code == _REQUEST_TIMEOUT:
            raise TimeoutError from None
        if exc.code == CONNECTION_CLOSED:
            raise SessionClosed(t("tools14.mcp.call", error=exc.message)) from None
        raise ToolFailure(t("tools14.mcp.call", error=exc.message)) from None
    text = result_text(result)
    if result.is_error:
        raise ToolFailure(text or t("tools14.mcp.is_error"))
    return text


class SessionClosed(ToolFailure):
    """The session's connection is gone (the server died or hung up): the call failed, the session is dead."""


def result_text(result: Any) -> str:
    """A tool result as the text the model reads: its text blocks, other blocks as JSON, else its structured value."""
    parts = []
    for block in result.content or []:
        text = getattr(block, "text", None)
        parts.append(text if isinstance(text, str) else json.dumps(block.model_dump(mode="json", exclude_none=True)))
    if not parts and result.structured_content is not None:
        return json.dumps(result.structured_content, ensure_ascii=False)
    return "\n".join(parts)


def single(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The one exception inside nested groups, or the group itself when there are several."""
    leaves: list[BaseException] = []
    pending: list[BaseException] = [group]
    while pending:
        item = pending.pop()
        if isinstance(item, BaseExceptionGroup):
            pending.extend(item.exceptions)
        else:
            leaves.append(item)
    return leaves[0] if len(leaves) == 1 else group


def _reason(exc: BaseException) -> str:
    # anyio wraps a transport's failure in exception groups: name the first real cause.
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    text = getattr(exc, "message", None)  # MCPError's own text; its str() is a tuple
    text = text if isinstance(text, str) else str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _stderr_tail(errlog: IO[str] | None) -> str:
    if errlog is None:
        return ""
    try:
        errlog.seek(0)
        text = errlog.read().strip()
    except (OSError, ValueError):
        return ""
    return "\n" + t("tools14.mcp.stderr", text=text[-_STDERR_TAIL:]) if text else ""
