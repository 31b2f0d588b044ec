"""A flow version (issue 14): agents that answer in turn and hand the conversation to each other, within limits.

Written next to ``steps:`` in a version::

    support-v1:
      entry: triage
      clarify: true
      limits: {max_turns: 6, max_tool_calls: 10, budget: 0.05, wall_time_s: 60}
      agents:
        triage:
          instructions: Find out what the customer needs and hand over.
          prompt: "{{ input }}"
          handoffs: [order, {agent: refund, filter: last_user}]
        order: {instructions: ..., tools: [...]}
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from andon.config.conversation import MessagesRef
from andon.config.params import Params
from andon.config.problems import Problem
from andon.config.tools import ToolEntry, ToolSpec, check_tools
from andon.config.yaml_source import Loc, SourceMap, dotted
from andon.messages import t

# An agent's name becomes a tool name (`transfer_to_<name>`, at most 64 characters) and a step name.
AGENT_NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,47}$"
AgentName = Annotated[str, Field(pattern=AGENT_NAME_PATTERN)]
HANDOFF_PREFIX = "transfer_to_"
CLARIFY_TOOL = "ask_clarifying_question"
HandoffFilter = Literal["all", "no_tools", "last_user"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _handoff_shorthand(value: Any) -> Any:
    return {"agent": value} if isinstance(value, str) else value


class Handoff(_Strict):
    """One agent this agent may hand the conversation to, and how much of it the target sees."""

    agent: str = Field(description="The target: a name under `agents:`.")
    filter: HandoffFilter = Field(
        default="all",
        description="all: the conversation as it is; no_tools: without tool calls and results; "
        "last_user: only the latest user message.",
    )
    description: str | None = Field(default=None, description="When to hand off (the handoff tool's description).")


class AgentSpec(_Strict):
    """One agent: a model with instructions, tools and the agents it may hand off to."""

    description: str | None = Field(default=None, description="What the agent does (tells others when to hand off).")
    instructions: str | None = Field(default=None, description="System instructions (Jinja2 template).")
    prompt: str | None = Field(default=None, description="User prompt when this agent starts the flow.")
    messages: MessagesRef | None = Field(default=None, description='The conversation so far: "{{ history }}".')
    images: list[str] = Field(default_factory=list)
    provider: str | None = Field(default=None, description="A name under `providers:`.")
    model: str | None = None
    params: Params = Field(default_factory=Params)
    tools: Annotated[list[ToolEntry], AfterValidator(check_tools)] = Field(default_factory=list)
    max_tool_calls: int = Field(default=8, ge=0, le=1000, description="Tool calls allowed in one turn.")
    handoffs: list[Annotated[Handoff, BeforeValidator(_handoff_shorthand)]] = Field(default_factory=list)

    @field_validator("tools")
    @classmethod
    def _reserved_tool_names(cls, tools: list[ToolEntry]) -> list[ToolEntry]:
        for tool in tools:
            if isinstance(tool, ToolSpec) and (tool.name.startswith(HANDOFF_PREFIX) or tool.name == CLARIFY_TOOL):
                raise ValueError(t("flow.config.reserved_tool", name=tool.name))
        return tools


class FlowLimits(_Strict):
    """When a flow stops even though no agent has answered: turns, tool calls, money, time."""

    max_turns: int = Field(default=10, ge=1, le=1000, description="Agent turns (one model step each).")
    max_tool_calls: int = Field(default=20, ge=0, le=10_000, description="Tool calls over all agents.")
    budget: float | None = Field(default=None, gt=0, description="Cost the flow may spend, in `currency`.")
    currency: str | None = Field(
        default=None, pattern=r"^[A-Z]{3}$", description="The budget's currency; default: the workspace's."
    )
    wall_time_s: float | None = Field(default=None, gt=0, le=3600, description="Seconds the whole flow may take.")


def flow_problems(agents: Mapping[str, AgentSpec], entry: str | None, base: Loc, source: SourceMap) -> list[Problem]:
    """A flow's cross-references, each at its line: the entry is an agent, every handoff names another agent."""
    known = ", ".join(agents) or t("house2.none")
    problems: list[Problem] = []
    if entry is not None and entry not in agents:
        loc: Loc = (*base, "entry")
        problems.append(_problem(source, loc, t("flow.config.entry", name=entry, known=known), agents, entry))
    for name, agent in agents.items():
        for index, handoff in enumerate(agent.handoffs):
            loc = (*base, "agents", name, "handoffs", index)
            if handoff.agent not in agents:
                message = t("flow.config.handoff", agent=name, target=handoff.agent, known=known)
                problems.append(_problem(source, loc, message, agents, handoff.agent))
            elif handoff.agent == name:
                problems.append(Problem(source.where(loc), dotted(loc), t("flow.config.self", agent=name)))
    return problems


def _problem(
    source: SourceMap, loc: Loc, message: str, agents: Mapping[str, AgentSpec], given: str | None = None
) -> Problem:
    close = difflib.get_close_matches(given, list(agents), n=1) if given else []
    hint = t("house2.load.did_you_mean", name=close[0]) if close else t("flow.config.known_hint")
    return Problem(where=source.where(loc), field=dotted(loc), message=message, hint=hint)


def check_flow(agents: Mapping[str, AgentSpec] | None, entry: str | None, flow_fields: list[str]) -> None:
    """The flow fields hang together: ``entry``, ``limits`` and ``clarify`` need ``agents``; the entry has a prompt."""
    if agents is None:
        if flow_fields:
            raise ValueError(t("flow.config.needs_agents", fields=", ".join(flow_fields)))
        return
    if not agents:
        raise ValueError(t("flow.config.no_agents"))
    first = entry_name(agents, entry)
    agent = agents.get(first)
    if agent is not None and agent.prompt is None and agent.messages is None:
        raise ValueError(t("flow.config.entry_prompt", name=first))


def entry_name(agents: Mapping[str, AgentSpec], entry: str | None) -> str:
    """The agent that starts the flow: ``entry``, else the first agent written."""
    return entry if entry is not None else next(iter(agents))


class FlowSpec(_Strict):
    """A flow as it runs and is hashed: its agents (provider and model resolved), entry, limits, clarify."""

    entry: str
    agents: dict[str, AgentSpec]
    limits: FlowLimits
    clarify: bool = False
