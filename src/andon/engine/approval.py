"""Tool calls that wait for a person (issue 14): a call of an ``approval: human`` tool parks its step.

The parked step's provenance keeps everything a resume needs (``StepRecord.parked``: the messages so far, the
tool log, the calls of the turn still to run, token totals, earlier steps' outputs and the variables), so a
resume works in another process, after a restart, from the store alone. A decision approves the call as
asked, approves it with edited arguments (checked against the tool's schema), or rejects it with a reason,
which the model receives as that call's tool error; then the run continues to its final answer.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import jsonschema

from andon.config.tools import ToolSpec
from andon.engine.pipeline import Outcome, ProviderLookup, run_version
from andon.engine.steps import STEP_KINDS
from andon.engine.tools import ToolCall, run_tool_call, tool_log_entry
from andon.errors import AndonError, ConfigError
from andon.messages import t
from andon.versions.canonical import Version

ApprovalStatus = Literal["approved", "edited", "rejected"]
MAX_REASON = 2_000


@dataclass(frozen=True, slots=True)
class ApprovalDecision:
    """A person's decision on a parked call: ``arguments`` only when edited, ``reason`` required to reject."""

    status: ApprovalStatus
    by: str
    arguments: dict[str, Any] | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class PendingCall:
    """The call a parked run waits on: the step it is in, the tool and the arguments the model asked for."""

    step: str
    call_id: str
    tool: str
    arguments: Any  # the parsed JSON when it parses, else the text as the model sent it
    asked_at: str | None

    def to_json(self) -> dict[str, Any]:
        """The review item's view of the call (its suggestion)."""
        return {"step": self.step, "call_id": self.call_id, "tool": self.tool, "arguments": self.arguments}


def parked_step(steps: list[dict[str, Any]]) -> tuple[int, dict[str, Any]] | None:
    """The index and JSON of the step of a stored run that waits for approval (None: nothing waits)."""
    for index, step in enumerate(steps):
        if isinstance(step.get("parked"), dict):
            return index, step
    return None


def pending_call(parked: Mapping[str, Any]) -> PendingCall:
    """The call a parked step waits on."""
    first = parked["remaining"][0]
    try:
        arguments: Any = json.loads(first["arguments"] or "{}")
    except ValueError:
        arguments = first["arguments"]
    return PendingCall(str(parked.get("step") or ""), first["id"], first["name"], arguments, parked.get("asked_at"))


def check_arguments(tool: ToolSpec, arguments: Any) -> dict[str, Any]:
    """Edited arguments as the tool's schema requires them; ConfigError names the field and the rule broken."""
    if not isinstance(arguments, dict):
        raise ConfigError(
            t("approve14.args_object", name=tool.name, type=type(arguments).__name__),
            where="arguments",
            hint=t("approve14.args_hint", schema=json.dumps(tool.parameters, ensure_ascii=False)),
        )
    errors = jsonschema.validators.validator_for(tool.parameters)(tool.parameters).iter_errors(arguments)
    first = min(errors, key=lambda e: list(e.absolute_path), default=None)
    if first is not None:
        path = "/".join(str(p) for p in first.absolute_path) or "(root)"
        raise ConfigError(
            t("approve14.args_schema", name=tool.name, path=path, error=first.message),
            where=f"arguments.{path.replace('/', '.')}" if first.absolute_path else "arguments",
            hint=t("approve14.args_hint", schema=json.dumps(tool.parameters, ensure_ascii=False)),
        )
    return arguments


def step_tool(version: Version, step_name: str, tool_name: str) -> ToolSpec:
    """The tool a parked call names, as the version declares it (in a flow, the step is the agent that waited)."""
    if version.flow is not None:
        agent = version.flow.agents.get(step_name)
        entries = list(agent.tools) if agent is not None else []
    else:
        step = next((s for s in version.steps if s.name == step_name), None)
        entries = list(step.tools) if step is not None else []
    declared = [x for x in entries if isinstance(x, ToolSpec)]  # MCP tools never park
    tool = next((x for x in declared if x.name == tool_name), None)
    if tool is None:
        raise ConfigError(
            t("approve14.no_tool", tool=tool_name, step=step_name, version=version.name),
            hint=t("approve14.no_tool_hint"),
        )
    return tool


async def decide_call(parked: Mapping[str, Any], tool: ToolSpec, decision: ApprovalDecision) -> dict[str, Any]:
    """Run (or refuse) the waiting call as decided; the tool loop's resume state with its result appended."""
    call = pending_call(parked)
    first = parked["remaining"][0]
    started = datetime.now(UTC)
    approval: dict[str, Any] = {"status": decision.status, "by": decision.by, "arguments_asked": call.arguments}
    approval |= {"asked_at": call.asked_at, "decided_at": started.isoformat()}
    error: str | None
    if decision.status == "rejected":
        error = t("approve14.rejected", reason=decision.reason or "-")
        result, arguments = json.dumps({"error": error}, ensure_ascii=False), first["arguments"]
        approval["reason"] = decision.reason
    else:
        arguments = first["arguments"]
        if decision.status == "edited":
            arguments = json.dumps(check_arguments(tool, decision.arguments), ensure_ascii=False)
        if decision.reason:
            approval["reason"] = decision.reason
        result, error = await run_tool_call(ToolCall(call.call_id, call.tool, arguments), {tool.name: tool})
    entry = tool_log_entry(ToolCall(call.call_id, call.tool, arguments), result, error, started)
    entry["approval"] = approval  # read by trajectory graders and turned into an approval span
    answer = {"role": "tool", "content": [{"type": "text", "text": result}], "tool_call_id": call.call_id}
    return {
        "messages": [*parked["messages"], answer],
        "log": [*parked["log"], entry],
        "totals": parked["totals"],
        "remaining": parked["remaining"][1:],
    }


async def resume_run(
    version: Version, parked: Mapping[str, Any], decision: ApprovalDecision, providers: ProviderLookup
) -> Outcome:
    """Apply ``decision`` to the parked call, then run the rest of ``version``: its steps from the parked one on
    (a flow: from the parked agent turn on, agents.flow).

    The outcome may be parked again (another call of the turn, or a later one, needs approval too).
    """
    call = pending_call(parked)
    state = await decide_call(parked, step_tool(version, call.step, call.tool), decision)
    resume = {"step": call.step, "steps_done": parked.get("steps_done") or {}, "state": state}
    variables = parked.get("variables") or {}
    if version.flow is not None and isinstance(parked.get("flow"), dict):
        return await _resume_flow(version, variables, providers, {**resume, "flow": parked["flow"]})
    return await run_version(version, variables, providers, resume=resume)


async def _resume_flow(
    version: Version, variables: Mapping[str, Any], providers: ProviderLookup, resume: Mapping[str, Any]
) -> Outcome:
    """A parked flow continued by its registered runner (agents.flow lives floors above the engine)."""
    outcome = Outcome(version.feature, version.id, version.name, "ok", datetime.now(UTC), datetime.now(UTC))
    try:
        runner: Any = STEP_KINDS.load("flow", where=f"features.{version.feature}.versions.{version.name}")
    except AndonError as exc:
        outcome.status, outcome.error = "error", str(exc)
        return outcome
    scope = {**variables, "steps": {}}
    await runner(version, scope, providers, outcome, resume=resume)
    outcome.finished_at = datetime.now(UTC)
    return outcome
