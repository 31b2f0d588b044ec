"""Run a flow version (issue 14): the current agent answers, calls tools, hands off, or asks a question.

Each agent turn is one model step with the agent's tools plus a ``transfer_to_<agent>`` pseudo-tool per
handoff (and ``ask_clarifying_question`` with ``clarify: true``), through engine.tools' loop. A handoff gives
the target the conversation through the handoff's filter. The flow stops cleanly at any of its limits, the
reason kept on the last step (``limit``) and as the outcome's error, never as an exception. A call of an
``approval: human`` tool parks the flow at that agent's turn; ``resume`` continues it from there (engine.approval).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from andon.agents.flow_handoff import Choice, handed_over, pseudo_definitions, read_choice
from andon.config.flow import AgentSpec, FlowSpec
from andon.config.schema import WorkspaceConfig, agent_step
from andon.engine.masking import Masker
from andon.engine.pipeline import Outcome, ProviderLookup, StepRecord
from andon.engine.tools import PseudoTools, ToolApprovalNeeded, ToolCall, ToolLimitReached, complete_with_tools
from andon.errors import AndonError, ConfigError
from andon.messages import t
from andon.providers.base import Message, ProviderRequest, TextPart
from andon.providers.pricing import convert
from andon.store.records import OutputRecord
from andon.versions.canonical import Version
from andon.versions.render import render_messages, render_template

Limit = Literal["max_turns", "max_tool_calls", "budget", "wall_time"]


@dataclass(slots=True)
class _Run:
    """What a flow has used so far, against its limits."""

    flow: FlowSpec
    masker: Masker | None = None
    started: float = field(default_factory=time.monotonic)
    turns: int = 0
    tool_calls: int = 0
    spent: float = 0.0

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def remaining_s(self) -> float | None:
        wall = self.flow.limits.wall_time_s
        return None if wall is None else max(wall - self.elapsed(), 0.0)

    def exhausted(self) -> Limit | None:
        """The limit that forbids another turn, if any."""
        limits = self.flow.limits
        if self.turns >= limits.max_turns:
            return "max_turns"
        if limits.budget is not None and self.spent >= limits.budget:
            return "budget"
        remaining = self.remaining_s()
        if remaining is not None and remaining <= 0:
            return "wall_time"
        return None

    def limit_message(self, limit: Limit, *, calls: int = 0) -> str:
        """Why the flow stopped, with the figures (``calls``: this turn's tool calls, not yet counted)."""
        limits = self.flow.limits
        if limit == "max_turns":
            values: dict[str, Any] = {"limit": limits.max_turns}
        elif limit == "max_tool_calls":
            values = {"count": self.tool_calls + calls, "limit": limits.max_tool_calls}
        elif limit == "budget":
            values = {"spent": f"{self.spent:.6g}", "limit": f"{limits.budget or 0:g}", "currency": limits.currency}
        else:
            values = {"seconds": f"{self.elapsed():.1f}", "limit": f"{limits.wall_time_s or 0:g}"}
        return t(f"flow.limit.{limit}", **values)


def _now() -> datetime:
    return datetime.now(UTC)


async def run_flow(
    version: Version,
    scope: dict[str, Any],
    providers: ProviderLookup,
    outcome: Outcome,
    *,
    base_dir: Path | None = None,
    masker: Masker | None = None,
    resume: Mapping[str, Any] | None = None,
) -> None:
    """Run ``version``'s flow from its entry agent, one step record per turn, into ``outcome``.

    With ``masker`` (``send: masked``) every agent is sent masked messages, like any model step. ``resume``
    (engine.approval: the parked step's ``flow`` and the decided tool loop's ``state``) continues a parked flow
    at the agent turn that waited, with the turns, tool calls, spend and time it had used.
    """
    assert version.flow is not None
    flow = version.flow
    run = _Run(flow, masker=masker)
    where = f"features.{version.feature}.versions.{version.name}.agents"
    name: str = flow.entry
    conversation: list[Message] | None = None  # None: the entry agent renders its own prompt
    tool_state: dict[str, Any] | None = None
    if resume is not None:
        name, conversation = _restore(run, resume["flow"])
        tool_state = dict(resume["state"])
    while True:
        limit = run.exhausted()
        if limit is not None:
            _stop(outcome, run, limit)
            return
        record, choice, sent = await _timed_turn(
            run, name, conversation, scope, providers, f"{where}.{name}", base_dir, tool_state
        )
        tool_state = None
        outcome.steps.append(record)
        if record.parked is not None:
            _park(outcome, run, record, name, conversation, scope)
            return
        run.turns += 1
        run.tool_calls += len(record.tools or [])
        if record.error is None:
            try:
                run.spent += _cost_in_budget(record, flow, providers)
            except ConfigError as exc:
                record.error = str(exc)
        if record.error is not None:
            outcome.status, outcome.error = "error", record.error
            outcome.output_text, outcome.output_json = record.text, record.parsed
            return
        if choice is None or choice.kind == "clarify":
            kind = "answer" if choice is None else "clarify"
            record.extra["output_kind"] = kind
            outcome.output_text = record.text if choice is None else _restored(run, choice.question)
            outcome.output_json = record.parsed if choice is None else None
            return
        assert choice.target is not None
        record.extra["handoff"] = {"from": name, "to": choice.target.agent, "reason": choice.reason}
        conversation = handed_over(sent, choice.target.filter)
        name = choice.target.agent


def _park(
    outcome: Outcome,
    run: _Run,
    record: StepRecord,
    name: str,
    conversation: list[Message] | None,
    scope: Mapping[str, Any],
) -> None:
    """End the flow parked at ``name``'s turn, keeping with the step all a resume needs (from the store alone)."""
    assert record.parked is not None
    state = {
        "agent": name,
        "turns": run.turns,  # before the parked turn: its resume is that same turn
        "tool_calls": run.tool_calls,
        "spent": run.spent,
        "elapsed_s": run.elapsed(),  # time waiting for a person is not the flow's
        "conversation": None if conversation is None else [m.to_json() for m in conversation],
    }
    variables = {k: v for k, v in scope.items() if k != "steps"}
    record.parked |= {"step": name, "flow": state, "steps_done": {}, "variables": variables}
    outcome.status, outcome.error = "parked", record.error


def _restore(run: _Run, state: Mapping[str, Any]) -> tuple[str, list[Message] | None]:
    """Put back what a parked flow had used; the agent that waited and the conversation it was handed."""
    run.turns, run.tool_calls = int(state.get("turns") or 0), int(state.get("tool_calls") or 0)
    run.spent = float(state.get("spent") or 0.0)
    run.started -= float(state.get("elapsed_s") or 0.0)
    talk = state.get("conversation")
    return str(state["agent"]), None if talk is None else [Message.from_json(m) for m in talk]


def _restored(run: _Run, text: str | None) -> str | None:
    """``text`` with masked values put back, when the policy restores them."""
    if text is None or run.masker is None or not run.masker.policy.restore:
        return text
    return run.masker.restore(text)


def _stop(outcome: Outcome, run: _Run, limit: Limit, record: StepRecord | None = None) -> None:
    """End the flow at ``limit``: the reason on the last step and as the outcome's error."""
    last = record or (outcome.steps[-1] if outcome.steps else None)
    message = run.limit_message(limit)
    if last is not None:
        last.extra["limit"] = limit
        last.error = last.error or message
    outcome.status, outcome.error = "error", message
    outcome.output_text = last.text if last is not None else None


async def _timed_turn(
    run: _Run,
    name: str,
    conversation: list[Message] | None,
    scope: dict[str, Any],
    providers: ProviderLookup,
    where: str,
    base_dir: Path | None,
    tool_state: Mapping[str, Any] | None = None,
) -> tuple[StepRecord, Choice | None, list[Message]]:
    """One turn, cut at the flow's remaining wall time (its record then names the limit)."""
    agent = run.flow.agents[name]
    started = _now()
    record = StepRecord(name, agent.provider or "", agent.model or "", _params(agent), [], started, started)
    record.extra["agent"] = name
    remaining = run.remaining_s()
    try:
        choice, sent = await asyncio.wait_for(
            _turn(run, agent, name, conversation, scope, providers, record, where, base_dir, tool_state), remaining
        )
    except TimeoutError:
        record.finished_at = _now()
        record.extra["limit"] = "wall_time"
        record.error = run.limit_message("wall_time")
        return record, None, []
    record.finished_at = _now()
    return record, choice, sent


def _params(agent: AgentSpec) -> dict[str, Any]:
    return agent.params.model_dump(mode="json", exclude_defaults=True)


async def _turn(
    run: _Run,
    agent: AgentSpec,
    name: str,
    conversation: list[Message] | None,
    scope: dict[str, Any],
    providers: ProviderLookup,
    record: StepRecord,
    where: str,
    base_dir: Path | None,
    tool_state: Mapping[str, Any] | None = None,
) -> tuple[Choice | None, list[Message]]:
    """Render, call the model with tools and pseudo-tools, and fill ``record``; errors stay in the record.

    ``tool_state``: a decided parked call's tool loop, continued instead of starting the turn afresh.
    """
    chosen: list[Choice] = []

    def answer(call: ToolCall) -> tuple[str, bool]:
        choice, reply = read_choice(call, agent)
        if choice is not None and not chosen:  # the first choice of a reply wins; later ones are only answered
            chosen.append(choice)
        return reply, choice is not None

    sent: list[Message] = []
    try:
        messages = _messages(agent, name, conversation, scope, base_dir, where, run.masker)
        record.messages = [m.to_json() for m in messages]
        sent_scope = scope if run.masker is None else run.masker.mask_value(scope)
        request = ProviderRequest(model=agent.model or "", messages=messages, params=agent.params,
                                  variables=sent_scope)  # fmt: skip
        allowed = min(agent.max_tool_calls, run.flow.limits.max_tool_calls - run.tool_calls)
        pseudo = PseudoTools(pseudo_definitions(agent, run.flow), answer)
        provider = providers.provider(agent.provider or "")
        try:
            state = dict(tool_state) if tool_state is not None else None
            response, sent, log = await complete_with_tools(
                provider, request, agent.tools, allowed, pseudo, where=f"agents.{name}", resume=state
            )
        except ToolApprovalNeeded as exc:  # parked: the flow ends here until a person decides
            record.messages, record.tools, record.parked = exc.parked["messages"], exc.parked["log"], exc.parked
            record.error = str(exc)
            return None, []
        except ToolLimitReached as exc:
            record.messages, record.tools = [m.to_json() for m in exc.messages], exc.log
            record.extra["limit"] = "max_tool_calls"
            record.error = run.limit_message("max_tool_calls", calls=len(exc.log))
            return None, []
        record.messages, record.tools = [m.to_json() for m in sent], log
        if response.cost is None:
            priced = providers.price(agent.provider or "", agent.model or "", response.input_tokens,
                                     response.output_tokens)  # fmt: skip
            if priced is not None:
                response.cost, response.currency = priced
        record.text, record.parsed = _restored(run, response.text), response.parsed
        if run.masker is not None and run.masker.policy.restore:
            record.parsed = run.masker.restore_value(record.parsed)
        record.input_tokens, record.output_tokens = response.input_tokens, response.output_tokens
        record.latency_ms, record.cost, record.currency = response.latency_ms, response.cost, response.currency
        record.attempts, record.raw = response.attempts, response.raw
        if response.model:
            record.model = response.model
    except AndonError as exc:
        record.error = str(exc)
    if run.masker is not None:
        record.masking = run.masker.provenance()
    return (chosen[0] if chosen else None), sent


def _messages(
    agent: AgentSpec,
    name: str,
    conversation: list[Message] | None,
    scope: dict[str, Any],
    base_dir: Path | None,
    where: str,
    masker: Masker | None,
) -> tuple[Message, ...]:
    """The entry agent renders its own prompt; an agent handed to sees its instructions and the conversation.

    The conversation handed over was masked when first sent; only the new instructions are masked here.
    """
    if conversation is None:
        rendered = render_messages(agent_step(name, agent), scope, base_dir=base_dir, where=where)
        return rendered if masker is None else masker.mask_messages(rendered)
    system = render_template(agent.instructions, scope, f"{where}.instructions") if agent.instructions else None
    head: tuple[Message, ...] = (Message("system", (TextPart(system),)),) if system else ()
    if masker is not None:
        head = masker.mask_messages(head)
    return (*head, *conversation)


def _cost_in_budget(record: StepRecord, flow: FlowSpec, providers: ProviderLookup) -> float:
    """The turn's cost in the budget's currency (0 when unpriced or no budget is set)."""
    budget_currency = flow.limits.currency
    if flow.limits.budget is None or record.cost is None or budget_currency is None:
        return 0.0
    if record.currency in (None, budget_currency):
        return record.cost
    config = getattr(providers, "config", None)
    rates = config.exchange_rates if isinstance(config, WorkspaceConfig) else {}
    base = config.currency if isinstance(config, WorkspaceConfig) else None
    return convert(record.cost, str(record.currency), budget_currency, rates, base=base)


def output_kind(steps: Sequence[Mapping[str, Any]]) -> str | None:
    """A flow output's kind from its stored steps: ``answer``, ``clarify``, ``limit:<name>``, ``parked`` or ``error``.

    None when the steps are not a flow's (no agent turns).
    """
    if not steps or not steps[-1].get("agent"):
        return None
    last = steps[-1]
    if isinstance(last.get("parked"), dict):
        return "parked"
    if last.get("limit"):
        return f"limit:{last['limit']}"
    return str(last.get("output_kind") or "error")


def count_output_kinds(outputs: Iterable[OutputRecord]) -> dict[str, int]:
    """How many of ``outputs`` (a run's, or a feature's traces') are answers, clarifying questions, limits, errors."""
    kinds = Counter(output_kind(record.steps) for record in outputs)
    return {kind: n for kind, n in sorted(kinds.items()) if kind is not None}
