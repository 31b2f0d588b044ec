"""A flow's pseudo-tools (``transfer_to_<agent>``, ``ask_clarifying_question``) and its handoff filters."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from andon.config.flow import CLARIFY_TOOL, HANDOFF_PREFIX, AgentSpec, FlowSpec, Handoff, HandoffFilter
from andon.engine.tools import ToolCall
from andon.messages import t
from andon.providers.base import Message


@dataclasses.dataclass(frozen=True, slots=True)
class Choice:
    """What an agent's pseudo-tool call asked for: a handoff to ``target``, or a clarifying ``question``."""

    kind: str  # "handoff" | "clarify"
    target: Handoff | None = None
    reason: str | None = None
    question: str | None = None


def handoff_tool(handoff: Handoff, flow: FlowSpec) -> dict[str, Any]:
    """The ``transfer_to_<agent>`` tool: described by the handoff, else by the target agent's description."""
    target = flow.agents[handoff.agent]
    description = handoff.description or target.description or t("flow.tool.handoff", agent=handoff.agent)
    reason = {"type": "string", "description": t("flow.tool.reason")}
    parameters = {"type": "object", "properties": {"reason": reason}}
    function = {"name": HANDOFF_PREFIX + handoff.agent, "description": description, "parameters": parameters}
    return {"type": "function", "function": function}


def clarify_tool() -> dict[str, Any]:
    """The ``ask_clarifying_question`` tool: its ``question`` becomes the flow's answer (kind ``clarify``)."""
    question = {"type": "string", "description": t("flow.tool.question")}
    parameters = {"type": "object", "properties": {"question": question}, "required": ["question"]}
    function = {"name": CLARIFY_TOOL, "description": t("flow.tool.clarify"), "parameters": parameters}
    return {"type": "function", "function": function}


def pseudo_definitions(agent: AgentSpec, flow: FlowSpec) -> tuple[dict[str, Any], ...]:
    """The pseudo-tools offered to ``agent``: one per handoff target, then the clarifying question."""
    tools = [handoff_tool(h, flow) for h in agent.handoffs]
    return (*tools, clarify_tool()) if flow.clarify else tuple(tools)


def _arguments(call: ToolCall) -> dict[str, Any]:
    try:
        value = json.loads(call.arguments or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def read_choice(call: ToolCall, agent: AgentSpec) -> tuple[Choice | None, str]:
    """The choice a pseudo-tool call makes and the tool message sent back for it."""
    arguments = _arguments(call)
    if call.name == CLARIFY_TOOL:
        question = arguments.get("question")
        text = question if isinstance(question, str) and question.strip() else None
        if text is None:
            return None, json.dumps({"error": t("flow.tool.no_question")}, ensure_ascii=False)
        return Choice("clarify", question=text), t("flow.tool.asked")
    target = next(h for h in agent.handoffs if HANDOFF_PREFIX + h.agent == call.name)
    reason = arguments.get("reason")
    choice = Choice("handoff", target=target, reason=reason if isinstance(reason, str) and reason else None)
    return choice, json.dumps({"assistant": target.agent}, ensure_ascii=False)


def handed_over(conversation: list[Message], how: HandoffFilter) -> list[Message]:
    """What the target of a handoff sees of the conversation (never the previous agent's instructions)."""
    talk = [m for m in conversation if m.role != "system"]
    if how == "last_user":
        users = [m for m in talk if m.role == "user"]
        return users[-1:]
    if how == "no_tools":
        kept = [dataclasses.replace(m, tool_calls=()) for m in talk if m.role != "tool"]
        return [m for m in kept if m.role != "assistant" or m.text.strip()]
    return talk
