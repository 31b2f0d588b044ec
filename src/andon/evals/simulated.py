"""A runner cell played by a simulated user (issue 14): the user's model, its stored calls and its grade.

The user's calls are stored as outputs of their own (context role ``simulated_user``) beside the cell's, and
their cost is reported in a weight-0 grade, never added to the feature's cost or provenance.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from andon.agents.simulated_user import (
    FEATURE,
    REPLY_SCHEMA,
    ROLE,
    Played,
    play,
    simulated_user_of,
)
from andon.config.schema import Params, Step
from andon.config.simulated_user import SimulatedUser
from andon.engine.cache import ResponseCache
from andon.engine.masking import MaskPolicy
from andon.engine.pipeline import Outcome
from andon.errors import ConfigError
from andon.evals.graders.base import said
from andon.evals.model import Grade
from andon.messages import t
from andon.store.records import OutputRecord
from andon.versions.canonical import Version
from andon.workspace import Workspace

GRADER = "simulated_user"  # the informational grade (weight 0): passed when the user reached its goal


async def play_simulated_user(
    ws: Workspace,
    version: Version,
    variables: Mapping[str, Any],
    *,
    cache: ResponseCache | None = None,
    repeat: int = 0,
    base_dir: Path | None = None,
    masking: MaskPolicy | None = None,
) -> Played:
    """Play the case's simulated user against ``version``; a bad setting is the case's error, never the run's."""
    try:
        user = simulated_user_of(variables)
        assert user is not None  # the runner asks only for cases that have one
        played_by = await _user_version(ws, user)
    except ConfigError as exc:
        now = datetime.now(UTC)
        failed = Outcome(version.feature, version.id, version.name, "error", now, now, error=str(exc))
        return Played(failed, [], "user_error", 0)
    return await play(
        version, variables, ws, user, played_by, cache=cache, repeat=repeat, base_dir=base_dir, masking=masking
    )


async def _user_version(ws: Workspace, user: SimulatedUser) -> Version:
    if user.provider not in ws.config.providers:
        known = ", ".join(ws.config.providers) or "-"
        raise ConfigError(
            t("sim14.play.unknown_provider", provider=user.provider, known=known), where="simulated_user.model"
        )
    step = Step(
        name="user",
        provider=user.provider,
        model=user.model,
        system="{{ system }}",  # passed as variables, never re-parsed: the conversation may hold {{ }}
        prompt="{{ prompt }}",
        params=Params(temperature=user.temperature, json_schema=REPLY_SCHEMA, max_tokens=512),
    )
    version = ws.one_step_version(FEATURE, user.provider, step)
    # Its outputs are stored: the version must be found later, as a judge's is.
    await asyncio.to_thread(ws.store.register_version, FEATURE, user.provider, version.id, version.content)
    return version


def user_call_records(played: Played, run_id: str, case_id: str, repeat: int) -> list[OutputRecord]:
    """The user's calls as outputs of their own, marked with role ``simulated_user`` and the cell they belong to."""
    context = {"run_id": run_id, "case_id": case_id, "repeat": repeat, "role": ROLE}
    return [call.to_record(context=dict(context, turn=index)) for index, call in enumerate(played.user_calls)]


def simulated_user_grade(played: Played) -> Grade:
    """The weight-0 grade of a simulated conversation: goal reached (its pass), turns, and the user's own cost."""
    cost, _ = played.user_cost()
    figures = {
        "turns": float(played.turns),
        "goal_reached": float(played.goal_reached),
        "user_calls": float(len(played.user_calls)),
        "user_input_tokens": float(sum(c.input_tokens for c in played.user_calls)),
        "user_output_tokens": float(sum(c.output_tokens for c in played.user_calls)),
    }
    if cost is not None:
        figures["user_cost"] = cost
    reason = said("sim14.grade.figures", turns=played.turns, ended_by=played.ended_by)
    return Grade(
        grader=GRADER,
        score=float(played.goal_reached),
        passed=played.goal_reached,
        weight=0.0,
        reason=reason.text(),
        reason_key=reason.key,
        reason_values=reason.values,
        figures=figures,
    )
