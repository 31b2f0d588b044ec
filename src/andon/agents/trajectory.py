"""A run's path as ordered events (model turns, tool calls, approvals, handoffs, a clarifying question, a limit).

Read from the provenance ``steps`` of one output: a plain version's steps (model steps, their ``tools`` log) and a
flow's, whose steps add ``agent``, ``handoff``, a tool entry's ``approval``, and on the last step ``output_kind``
and ``limit``. Keys a step lacks mean a plain one-agent version, so every stored output has a trajectory.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from andon.versions.canonical import GUARD_PROVIDER, RULE_PROVIDERS

__all__ = [
    "ApprovalEvent",
    "ClarifyEvent",
    "Event",
    "HandoffEvent",
    "LimitEvent",
    "ToolEvent",
    "Trajectory",
    "TurnEvent",
    "trajectory_of",
]

LIMITS = ("max_turns", "max_tool_calls", "budget", "wall_time")


@dataclass(frozen=True, slots=True)
class TurnEvent:
    """One model turn: a step a model answered (for a flow, one agent's turn)."""

    step: str
    agent: str | None
    model: str | None = None
    cost: float | None = None
    kind: Literal["turn"] = "turn"


@dataclass(frozen=True, slots=True)
class ToolEvent:
    """One tool call as the model asked for it; ``arguments`` is the parsed JSON object, None when it was not one."""

    name: str
    arguments_text: str | None
    arguments: dict[str, Any] | None
    result: str | None
    error: str | None
    agent: str | None
    call_id: str | None = None
    approval: str | None = None  # approved | edited | rejected, when the tool needed a person's approval
    kind: Literal["tool"] = "tool"


@dataclass(frozen=True, slots=True)
class ApprovalEvent:
    """A person's decision on a tool call, before it ran; ``arguments_asked`` is what the model asked for."""

    tool: str
    status: str
    by: str | None
    arguments_asked: Any = None
    kind: Literal["approval"] = "approval"


@dataclass(frozen=True, slots=True)
class HandoffEvent:
    """The conversation passed from one agent to another."""

    source: str | None
    target: str
    reason: str | None
    kind: Literal["handoff"] = "handoff"


@dataclass(frozen=True, slots=True)
class ClarifyEvent:
    """The run ended with a clarifying question instead of an answer."""

    agent: str | None
    kind: Literal["clarify"] = "clarify"


@dataclass(frozen=True, slots=True)
class LimitEvent:
    """A limit of the flow ended the run (``max_turns``, ``max_tool_calls``, ``budget``, ``wall_time``)."""

    limit: str
    kind: Literal["limit"] = "limit"


Event = TurnEvent | ToolEvent | ApprovalEvent | HandoffEvent | ClarifyEvent | LimitEvent


@dataclass(frozen=True, slots=True)
class Trajectory:
    """The ordered events of one run, with the counts graders and summaries read."""

    events: tuple[Event, ...] = field(default_factory=tuple)
    output_kind: str = "answer"  # answer | clarify
    limit: str | None = None

    @property
    def turns(self) -> int:
        """How many model turns the run took."""
        return sum(1 for e in self.events if isinstance(e, TurnEvent))

    @property
    def tool_calls(self) -> list[ToolEvent]:
        """Every tool call, in order."""
        return [e for e in self.events if isinstance(e, ToolEvent)]

    @property
    def handoffs(self) -> list[HandoffEvent]:
        """Every handoff, in order."""
        return [e for e in self.events if isinstance(e, HandoffEvent)]

    @property
    def clarified(self) -> bool:
        """Whether the run ended by asking a clarifying question."""
        return self.output_kind == "clarify"

    @property
    def agents(self) -> list[str]:
        """The agents that took turns, in order of their first turn."""
        return list(dict.fromkeys(e.agent for e in self.events if isinstance(e, TurnEvent) and e.agent))

    @property
    def agentic(self) -> bool:
        """Whether there is a path worth measuring: agents, tools, handoffs, several turns, a question, a limit."""
        return bool(self.tool_calls or self.handoffs or self.turns > 1 or self.clarified or self.limit or self.agents)

    def figures(self) -> dict[str, float]:
        """The counts a run stores per cell: turns, tool calls, handoffs, clarified (0/1), limit hit (0/1)."""
        return {
            "turns": float(self.turns),
            "tool_calls": float(len(self.tool_calls)),
            "handoffs": float(len(self.handoffs)),
            "clarified": float(self.clarified),
            "limit": float(self.limit is not None),
        }


def _is_turn(step: Mapping[str, Any]) -> bool:
    if step.get("agent"):
        return True
    provider = step.get("provider")
    if not isinstance(provider, str) or not provider:
        return False
    # A guard is a model turn only when its classifier model was asked (as StepRecord.calls_model says).
    if provider == GUARD_PROVIDER:
        return bool(step.get("attempts"))
    return provider not in RULE_PROVIDERS


def _arguments(text: Any) -> tuple[str | None, dict[str, Any] | None]:
    if isinstance(text, Mapping):  # a flow may keep them parsed
        return json.dumps(text, ensure_ascii=False), dict(text)
    if not isinstance(text, str):
        return None, None
    try:
        parsed = json.loads(text or "{}")
    except ValueError:
        return text, None
    return text, parsed if isinstance(parsed, dict) else None


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _tool_events(call: Mapping[str, Any], agent: str | None) -> list[Event]:
    name = str(call.get("name") or "")
    arguments_text, arguments = _arguments(call.get("arguments"))
    approval = call.get("approval")
    status = None
    out: list[Event] = []
    if isinstance(approval, Mapping) and approval.get("status"):
        status = str(approval["status"])
        asked = approval.get("arguments_asked")
        out.append(ApprovalEvent(name, status, _text(approval.get("by")), asked))
    out.append(
        ToolEvent(
            name=name,
            arguments_text=arguments_text,
            arguments=arguments,
            result=_text(call.get("result")),
            error=_text(call.get("error")),
            agent=agent,
            call_id=_text(call.get("call_id")),
            approval=status,
        )
    )
    return out


def trajectory_of(steps: Sequence[Mapping[str, Any]] | None) -> Trajectory:
    """The trajectory of one output from its provenance steps (``None`` or no steps: an empty trajectory)."""
    events: list[Event] = []
    steps = [s for s in steps or () if isinstance(s, Mapping)]
    for step in steps:
        agent = _text(step.get("agent"))
        if _is_turn(step):
            cost = step.get("cost")
            events.append(
                TurnEvent(
                    str(step.get("name") or ""),
                    agent,
                    _text(step.get("model")),
                    float(cost) if isinstance(cost, int | float) else None,
                )
            )
        tools = step.get("tools")
        for call in tools if isinstance(tools, list | tuple) else ():  # a foreign record may hold anything here
            if isinstance(call, Mapping):
                events.extend(_tool_events(call, agent))
        handoff = step.get("handoff")
        if isinstance(handoff, Mapping) and handoff.get("to"):
            source = handoff.get("from", agent)
            events.append(HandoffEvent(_text(source), str(handoff["to"]), _text(handoff.get("reason"))))
    last = steps[-1] if steps else {}
    kind = "clarify" if last.get("output_kind") == "clarify" else "answer"
    limit = _text(last.get("limit")) or None
    if kind == "clarify":
        events.append(ClarifyEvent(_text(last.get("agent"))))
    if limit is not None:
        events.append(LimitEvent(limit))
    return Trajectory(tuple(events), kind, limit)
