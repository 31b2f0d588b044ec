"""Multi-turn cases: a scripted list of user turns played against a conversation version, one call per turn."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from andon.config.conversation import messages_variable
from andon.engine.cache import ResponseCache
from andon.engine.masking import MaskPolicy
from andon.engine.pipeline import Outcome, ProviderLookup, run_version
from andon.errors import ConfigError
from andon.messages import t
from andon.versions.canonical import Version

TURNS_VARIABLE = "turns"  # a case variable: the user's turns, in order (text, or a message's content parts)


def conversation_variable(version: Version) -> str | None:
    """The variable the version's first conversation step reads its messages from, or None (not a conversation)."""
    return next((messages_variable(s.messages) for s in version.steps if s.messages is not None), None)


def scripted_turns(variables: Mapping[str, Any]) -> list[Any] | None:
    """The case's scripted user turns, or None when it is a single-turn case."""
    turns = variables.get(TURNS_VARIABLE)
    if turns is None:
        return None
    if not isinstance(turns, list) or not turns or not all(isinstance(x, str | list) for x in turns):
        raise ConfigError(t("agents.turns.shape"), where=TURNS_VARIABLE, hint=t("agents.turns.shape_hint"))
    return turns


async def run_turns(
    version: Version,
    variables: Mapping[str, Any],
    providers: ProviderLookup,
    *,
    cache: ResponseCache | None = None,
    repeat: int = 0,
    base_dir: Path | None = None,
    masking: MaskPolicy | None = None,
) -> Outcome:
    """Run a case: one call when it has no ``turns``; else each turn in order, the answers kept in the history.

    The outcome is the last turn's answer with every turn's steps (named ``turnN.step``), so provenance
    keeps each call's exact messages; the first failing turn ends the conversation with its error.
    """
    try:
        turns = scripted_turns(variables)
        name = conversation_variable(version)
        if turns is not None and name is None:
            raise ConfigError(t("agents.turns.no_conversation", version=version.name), where=TURNS_VARIABLE)
    except ConfigError as exc:  # one bad case is that case's error, never the run's
        now = datetime.now(UTC)
        return Outcome(version.feature, version.id, version.name, "error", now, now, error=str(exc))
    if turns is None or name is None:
        return await run_version(
            version, variables, providers, cache=cache, repeat=repeat, base_dir=base_dir, masking=masking
        )
    history: list[dict[str, Any]] = list(variables.get(name) or [])
    combined: Outcome | None = None
    for number, turn in enumerate(turns, start=1):
        history.append({"role": "user", "content": turn})
        scope = {k: v for k, v in variables.items() if k != TURNS_VARIABLE} | {name: list(history)}
        outcome = await run_version(
            version, scope, providers, cache=cache, repeat=repeat, base_dir=base_dir, masking=masking
        )
        combined = add_turn(combined, outcome, number)
        if outcome.status != "ok":
            break
        history.append({"role": "assistant", "content": outcome.output_text or ""})
    assert combined is not None  # turns is never empty
    return combined


def add_turn(combined: Outcome | None, outcome: Outcome, number: int) -> Outcome:
    """Fold turn ``number``'s outcome into the conversation's: its steps named ``turnN.step``, its answer last."""
    steps = [dataclasses.replace(s, name=f"turn{number}.{s.name}") for s in outcome.steps]
    if combined is None:
        outcome.steps = steps
        return outcome
    combined.steps.extend(steps)
    combined.finished_at, combined.status = outcome.finished_at, outcome.status
    combined.output_text, combined.output_json = outcome.output_text, outcome.output_json
    combined.error, combined.error_kind = outcome.error, outcome.error_kind
    return combined
