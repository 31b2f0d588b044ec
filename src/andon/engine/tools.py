"""Tool calling in a model step (issue 14): offer the step's tools, run the calls the model makes, send results back.

Every failure of a tool call (malformed JSON, an unknown tool, arguments failing the schema, a tool that raises
or hangs past its timeout) goes back to the model as that call's error, never up as a crash. The loop ends when
the model answers without calling a tool, or with an error naming ``max_tool_calls`` when it would exceed it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import importlib
import inspect
import json
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import jsonschema

from andon.config.tools import ToolEntry, ToolSpec
from andon.engine import mcp_tools
from andon.engine.tool_http import ToolFailure, call_http_tool
from andon.errors import AndonError
from andon.messages import t
from andon.providers.base import Message, Provider, ProviderRequest, ProviderResponse, TextPart
from andon.providers.openai import wire_calls


class ToolLimitReached(AndonError):
    """The model asked for more tool calls than the step's ``max_tool_calls``; the step ends with this reason."""

    def __init__(self, message: str, messages: list[Message], log: list[dict[str, Any]]) -> None:
        super().__init__(message, hint=t("agents.tools.limit_hint"))
        self.messages, self.log = messages, log


class ToolApprovalNeeded(AndonError):
    """The model called a tool marked ``approval: human``: the step parks with ``parked`` (engine.approval)."""

    def __init__(self, message: str, parked: dict[str, Any]) -> None:
        super().__init__(message, hint=t("approve14.parked_hint"))
        self.parked = parked


@dataclasses.dataclass(frozen=True, slots=True)
class ToolCall:
    """One call the model asked for: its id, the tool's name and the arguments as sent (JSON text)."""

    id: str
    name: str
    arguments: str


@dataclasses.dataclass(frozen=True, slots=True)
class PseudoTools:
    """Tools the caller answers itself (a flow's handoffs), offered after the step's own; they are not in the tool log.

    ``answer`` gives the tool message sent back for a call and whether the call ends the loop (a malformed one
    does not: the model is told and may call again).
    """

    definitions: tuple[dict[str, Any], ...]
    answer: Callable[[ToolCall], tuple[str, bool]]

    def names(self) -> frozenset[str]:
        """The pseudo-tools' names."""
        return frozenset(str(d["function"]["name"]) for d in self.definitions)


def tool_definition(tool: ToolSpec) -> dict[str, Any]:
    """A tool as OpenAI's chat completions API takes it."""
    function = {"name": tool.name, "description": tool.description, "parameters": tool.parameters}
    return {"type": "function", "function": function}


def tool_calls_of(raw: Any) -> list[ToolCall]:
    """The tool calls in an OpenAI- or Anthropic-shaped reply (none when it is a plain answer)."""
    blocks = raw.get("content") if isinstance(raw, dict) and "choices" not in raw else None
    if isinstance(blocks, list):  # Anthropic's Messages API: tool_use blocks
        uses = [b for b in blocks if isinstance(b, dict) and b.get("type") == "tool_use"]
        return [
            ToolCall(str(b.get("id") or f"call_{i}"), str(b.get("name") or ""), json.dumps(b.get("input")))
            for i, b in enumerate(uses)
        ]
    try:
        calls = raw["choices"][0]["message"].get("tool_calls") or []
    except (KeyError, IndexError, TypeError, AttributeError):
        return []
    return [ToolCall(c["id"], c["function"]["name"], c["function"]["arguments"]) for c in wire_calls(calls)]


def _resolve(dotted: str) -> Callable[..., Any]:
    module, _, name = dotted.partition(":")
    target = importlib.import_module(module)
    for part in name.split("."):
        target = getattr(target, part)
    if not callable(target):
        raise TypeError(f"{dotted} is not callable")
    return target


async def _in_daemon_thread(fn: Callable[..., Any], arguments: dict[str, Any], timeout: float) -> Any:
    """Run a blocking tool in a daemon thread: a hung tool is abandoned at its timeout and never blocks exit."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()

    def settle(ok: bool, value: Any) -> None:
        if not future.done():
            future.set_result(value) if ok else future.set_exception(value)

    def run() -> None:
        try:
            outcome: tuple[bool, Any] = (True, fn(**arguments))
        except BaseException as exc:  # handed to the waiting call as its error
            outcome = (False, exc)
        with contextlib.suppress(RuntimeError):  # the loop is gone: the call was abandoned at its timeout
            loop.call_soon_threadsafe(settle, *outcome)

    threading.Thread(target=run, name="andon-tool", daemon=True).start()
    return await asyncio.wait_for(future, timeout)


async def _invoke(tool: ToolSpec, arguments: dict[str, Any], remote: Mapping[str, mcp_tools.RemoteCall]) -> Any:
    if tool.name in remote:  # an MCP server's tool: called over the step's session with it
        async with asyncio.timeout(tool.timeout_s + 1):  # the session's own timeout answers first, this is a backstop
            return await remote[tool.name](arguments)
    if tool.http is not None:
        return await call_http_tool(tool, arguments)
    assert tool.python is not None
    try:
        fn = _resolve(tool.python)
    except (ImportError, AttributeError, TypeError, ValueError) as exc:
        raise _ToolError(t("agents.tools.unresolved", name=tool.name, target=tool.python, error=exc)) from None
    if inspect.iscoroutinefunction(fn):
        return await asyncio.wait_for(fn(**arguments), tool.timeout_s)
    return await _in_daemon_thread(fn, arguments, tool.timeout_s)


class _ToolError(Exception):
    """A tool call's failure, as the text the model is sent."""


def _cap(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + "\n" + t("agents.tools.truncated", limit=limit)


async def run_tool_call(
    call: ToolCall, tools: dict[str, ToolSpec], remote: Mapping[str, mcp_tools.RemoteCall] | None = None
) -> tuple[str, str | None]:
    """Run one call: ``(result text, None)``, or ``(error JSON sent to the model, the error)``."""
    try:
        tool = tools.get(call.name)
        if tool is None:
            raise _ToolError(t("agents.tools.unknown", name=call.name, known=", ".join(sorted(tools)) or "-"))
        try:
            arguments = json.loads(call.arguments or "{}")
        except ValueError as exc:
            raise _ToolError(t("agents.tools.bad_json", name=call.name, error=exc)) from None
        if not isinstance(arguments, dict):
            raise _ToolError(t("agents.tools.bad_json", name=call.name, error=type(arguments).__name__))
        problem = jsonschema.validators.validator_for(tool.parameters)(tool.parameters).iter_errors(arguments)
        first = min(problem, key=lambda e: list(e.absolute_path), default=None)
        if first is not None:
            path = "/".join(str(p) for p in first.absolute_path) or "(root)"
            raise _ToolError(t("agents.tools.bad_arguments", name=call.name, path=path, error=first.message))
        try:
            value = await _invoke(tool, arguments, remote or {})
        except _ToolError:
            raise
        except ToolFailure as exc:
            raise _ToolError(t("agents.tools.failed", name=call.name, error=exc)) from None
        except TimeoutError:
            raise _ToolError(t("agents.tools.timeout", name=call.name, seconds=f"{tool.timeout_s:g}")) from None
        except Exception as exc:  # a tool's own failure is the model's to handle, not the call's
            raise _ToolError(t("agents.tools.failed", name=call.name, error=f"{type(exc).__name__}: {exc}")) from None
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
        return _cap(text, tool.max_result_chars), None
    except _ToolError as exc:
        return json.dumps({"error": str(exc)}, ensure_ascii=False), str(exc)


async def complete_with_tools(
    provider: Provider,
    request: ProviderRequest,
    tools: Sequence[ToolEntry],
    max_calls: int,
    pseudo: PseudoTools | None = None,
    *,
    where: str | None = None,
    resume: dict[str, Any] | None = None,
) -> tuple[ProviderResponse, list[Message], list[dict[str, Any]]]:
    """Call the model with ``tools`` until it answers without one: the answer, every message, and the tool log.

    Tokens, cost and latency of the answer are the sums over every model call of the step. A call to one of
    ``pseudo``'s tools is answered by it and may end the loop, after that reply's other calls have run. The MCP
    servers among ``tools`` have one session each for the whole loop (``where`` names the step in their errors).
    A call of an ``approval: human`` tool raises ToolApprovalNeeded; ``resume`` (engine.approval) continues such a
    step.
    """
    async with mcp_tools.serving(tools, where) as served:
        return await _complete(provider, request, served.specs, max_calls, served.remote, pseudo, resume)


async def _complete(
    provider: Provider,
    request: ProviderRequest,
    tools: list[ToolSpec],
    max_calls: int,
    remote: Mapping[str, mcp_tools.RemoteCall],
    pseudo: PseudoTools | None,
    resume: dict[str, Any] | None,
) -> tuple[ProviderResponse, list[Message], list[dict[str, Any]]]:
    by_name = {tool.name: tool for tool in tools}
    messages = list(request.messages)
    definitions = tuple(tool_definition(tool) for tool in tools) + (pseudo.definitions if pseudo else ())
    own = pseudo.names() if pseudo else frozenset()
    refused = 0  # malformed pseudo-tool calls, counted as calls so a model cannot loop on them
    log: list[dict[str, Any]] = []
    totals: dict[str, Any] = {"input": 0, "output": 0, "latency": 0.0, "cost": 0.0, "priced": True}
    queued: list[ToolCall] = []
    if resume is not None:
        messages = [Message.from_json(m) for m in resume["messages"]]
        log, totals = list(resume["log"]), dict(resume["totals"])
        queued = [ToolCall(**c) for c in resume["remaining"]]
    while True:
        if queued:  # the rest of a parked turn's calls: their assistant message is sent already
            ended, _ = await _run_calls(queued, by_name, messages, log, totals, remote, pseudo)
            queued = []
            if ended:
                break
        clock = time.perf_counter()
        response = await provider.complete(dataclasses.replace(request, messages=tuple(messages), tools=definitions))
        totals["input"] += response.input_tokens
        totals["output"] += response.output_tokens
        totals["latency"] += response.latency_ms or (time.perf_counter() - clock) * 1000
        totals["priced"] = totals["priced"] and response.cost is not None
        totals["cost"] += response.cost or 0.0
        calls = tool_calls_of(response.raw)
        if not calls:
            break
        if len(log) + refused + sum(c.name not in own for c in calls) > max_calls:
            raise ToolLimitReached(t("agents.tools.limit", count=len(log), limit=max_calls), messages, log)
        wire = [{"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}} for c in calls]
        parts = (TextPart(response.text),) if response.text else ()
        messages.append(Message("assistant", parts, tool_calls=tuple(wire)))
        ended, malformed = await _run_calls(calls, by_name, messages, log, totals, remote, pseudo)
        refused += malformed
        if ended:
            break
        if len(log) + refused > max_calls:
            raise ToolLimitReached(t("agents.tools.limit", count=len(log) + refused, limit=max_calls), messages, log)
    response.input_tokens, response.output_tokens = int(totals["input"]), int(totals["output"])
    response.latency_ms = totals["latency"]
    response.cost = totals["cost"] if totals["priced"] else None  # else the pipeline prices the summed tokens
    return response, messages, log


async def _run_calls(
    calls: list[ToolCall],
    by_name: dict[str, ToolSpec],
    messages: list[Message],
    log: list[dict[str, Any]],
    totals: dict[str, Any],
    remote: Mapping[str, mcp_tools.RemoteCall],
    pseudo: PseudoTools | None,
) -> tuple[bool, int]:
    """Run one turn's calls in order, each answered by a tool message; a call needing approval parks the step.

    Returns whether a pseudo-tool ended the loop, and how many pseudo-tool calls were refused as malformed.
    """
    ended, refused = False, 0
    own = pseudo.names() if pseudo else frozenset()
    for index, call in enumerate(calls):
        if pseudo is not None and call.name in own:
            reply, ends = pseudo.answer(call)
            messages.append(Message("tool", (TextPart(reply),), tool_call_id=call.id))
            ended, refused = ended or ends, refused + (not ends)
            continue
        tool = by_name.get(call.name)
        if tool is not None and tool.approval == "human":
            parked = {
                "messages": [m.to_json() for m in messages],
                "log": log,
                "totals": totals,
                "remaining": [dataclasses.asdict(c) for c in calls[index:]],  # the first one waits for a person
                "asked_at": datetime.now(UTC).isoformat(),
            }
            raise ToolApprovalNeeded(t("approve14.parked", name=call.name), parked)
        started = datetime.now(UTC)
        result, error = await run_tool_call(call, by_name, remote)
        messages.append(Message("tool", (TextPart(result),), tool_call_id=call.id))
        log.append(tool_log_entry(call, result, error, started))
    return ended, refused


def tool_log_entry(call: ToolCall, result: str, error: str | None, started: datetime) -> dict[str, Any]:
    """The step's tool log entry of one call that ran (finished now)."""
    return {
        "call_id": call.id,
        "name": call.name,
        "arguments": call.arguments,
        "result": result,
        "error": error,
        "started_at": started.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
    }
