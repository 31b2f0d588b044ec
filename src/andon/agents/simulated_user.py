"""A simulated user (issue 14): a configured model with a persona and a goal plays a multi-turn case's user side.

Each turn the user model reads the conversation so far and answers a JSON-schema'd reply, ``{message,
goal_reached}``; the message is sent to the feature as the next user turn. The conversation ends when the user
says its goal is reached, after ``max_turns`` user turns, or when the feature's call ends otherwise (an error, a
flow's limits). The user's calls are returned apart, so their provenance and cost never mix with the feature's.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from andon.agents.conversation import TURNS_VARIABLE, add_turn, conversation_variable
from andon.config.simulated_user import SIMULATED_USER_VARIABLE, SimulatedUser, parse_simulated_user
from andon.engine.cache import ResponseCache
from andon.engine.masking import MaskPolicy
from andon.engine.pipeline import Outcome, ProviderLookup, run_version
from andon.messages import t
from andon.versions.canonical import Version

ROLE = "simulated_user"  # the ``role`` in the stored context of the user's calls
FEATURE = "simulated-user"  # the feature the user's one-step versions are registered under
REPLY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"message": {"type": "string"}, "goal_reached": {"type": "boolean"}},
    "required": ["message", "goal_reached"],
    "additionalProperties": False,
}


@dataclass(slots=True)
class Played:
    """A simulated conversation: the feature's outcome (every turn's steps), the user's own calls, and why it ended."""

    outcome: Outcome
    user_calls: list[Outcome]
    ended_by: str  # goal_reached | max_turns | feature (its call did not answer) | user_error
    turns: int

    @property
    def goal_reached(self) -> bool:
        """True when the user said its goal was reached."""
        return self.ended_by == "goal_reached"

    def user_cost(self) -> tuple[float | None, str | None]:
        """Total cost of the user's calls (None when one has no price), kept apart from the feature's."""
        costs = [o.cost() for o in self.user_calls]
        if any(c is None for c, _ in costs):
            return None, None
        currencies = {cur for _, cur in costs if cur is not None}
        if len(currencies) > 1:
            return None, None
        return sum(c or 0.0 for c, _ in costs), next(iter(currencies), None)


def simulated_user_of(variables: Mapping[str, Any]) -> SimulatedUser | None:
    """The case's simulated user (checked again: a case may come from a stored run), or None."""
    value = variables.get(SIMULATED_USER_VARIABLE)
    return None if value is None else parse_simulated_user(value, SIMULATED_USER_VARIABLE)


def instructions(user: SimulatedUser) -> str:
    """The user model's system message: who it is, what it wants, when it stops, and how to answer."""
    lines = [t("sim14.prompt.persona", persona=user.persona), t("sim14.prompt.goal", goal=user.goal)]
    if user.stop_when:
        lines.append(t("sim14.prompt.stop_when", stop_when=user.stop_when))
    lines.append(t("sim14.prompt.reply"))
    return "\n".join(lines)


def transcript(history: list[dict[str, Any]]) -> str:
    """The conversation as the user model reads it (the user's side is "you")."""
    if not any(m.get("role") in ("user", "assistant") for m in history):
        return t("sim14.prompt.opening")
    lines = []
    for message in history:
        role = message.get("role")
        if role not in ("user", "assistant"):
            continue
        speaker = t("sim14.prompt.you") if role == "user" else t("sim14.prompt.agent")
        lines.append(f"{speaker}: {_text(message.get('content'))}")
    return "\n".join([*lines, t("sim14.prompt.next")])


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts: their text; an image is named, not described
        return " ".join(str(p.get("text", "[image]")) for p in content if isinstance(p, Mapping))
    return "" if content is None else str(content)


def _reply(outcome: Outcome) -> tuple[str, bool] | None:
    value = outcome.output_json
    if value is None and outcome.output_text:
        try:
            value = json.loads(outcome.output_text)
        except ValueError:
            return None
    if not isinstance(value, Mapping):
        return None
    message, done = value.get("message"), value.get("goal_reached")
    if not isinstance(message, str) or not isinstance(done, bool):
        return None
    return message, done


async def play(
    version: Version,
    variables: Mapping[str, Any],
    providers: ProviderLookup,
    user: SimulatedUser,
    user_version: Version,
    *,
    cache: ResponseCache | None = None,
    repeat: int = 0,
    base_dir: Path | None = None,
    masking: MaskPolicy | None = None,
) -> Played:
    """Play ``user`` (through ``user_version``, a one-step version) against ``version``, turn by turn.

    The feature's outcome holds every turn's steps (``turnN.step``) like a scripted case; a user reply that is not
    ``{message, goal_reached}`` ends the conversation as an error of the case.
    """
    name = conversation_variable(version)
    now = datetime.now(UTC)
    if name is None or TURNS_VARIABLE in variables:
        key = "sim14.play.no_conversation" if name is None else "sim14.play.with_turns"
        error = t(key, version=version.name)
        return Played(Outcome(version.feature, version.id, version.name, "error", now, now, error=error), [], "", 0)
    history: list[dict[str, Any]] = list(variables.get(name) or [])
    base = {k: v for k, v in variables.items() if k != SIMULATED_USER_VARIABLE}
    system = instructions(user)
    combined: Outcome | None = None
    calls: list[Outcome] = []
    turns, ended_by = 0, "max_turns"
    while True:
        asked = await run_version(
            user_version, {"system": system, "prompt": transcript(history)}, providers, cache=cache, repeat=repeat
        )
        calls.append(asked)
        reply = _reply(asked) if asked.status == "ok" else None
        if reply is None:
            why = (
                asked.error if asked.status != "ok" else t("sim14.play.bad_reply", text=(asked.output_text or "")[:200])
            )
            error = t("sim14.play.user_failed", error=why)
            if combined is None:
                combined = Outcome(version.feature, version.id, version.name, "error", now, datetime.now(UTC))
            combined.status, combined.error, combined.error_kind = "error", error, "simulated_user"
            ended_by = "user_error"
            break
        message, done = reply
        if done and turns > 0:  # the goal cannot be reached before the feature has said anything
            ended_by = "goal_reached"
            break
        if turns >= user.max_turns:
            break
        turns += 1
        history.append({"role": "user", "content": message})
        outcome = await run_version(
            version,
            base | {name: list(history)},
            providers,
            cache=cache,
            repeat=repeat,
            base_dir=base_dir,
            masking=masking,
        )
        combined = add_turn(combined, outcome, turns)
        if outcome.status != "ok":
            ended_by = "feature"
            break
        history.append({"role": "assistant", "content": outcome.output_text or ""})
    assert combined is not None  # the first reply either failed (set above) or ran a turn
    return Played(combined, calls, ended_by, turns)
