"""``serve.judge``: grade a sample of the answers a feature serves with one of its own graders."""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field

from andon.config.criteria import unique_grader_names
from andon.messages import t

LIVE_TAG = "andon_judge"
"""The trace tag under which the live judge writes ``{grader: score}`` (callers may not set it)."""
LIVE_ERROR_TAG = f"{LIVE_TAG}_error"
"""The trace tag under which it writes ``{grader: reason}`` when the grader could not grade."""


class LiveJudgeConfig(BaseModel):
    """Which grader judges served answers, and how many of them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    grader: str = Field(
        min_length=1,
        description="The name of one of the feature's graders (e.g. an llm-rubric with `name: polite`); it grades "
        "without a case's expected value, so pick one that needs none.",
    )
    sample: float = Field(default=0.1, gt=0, le=1, description="Share of served AI answers that are judged.")
    max_pending: int = Field(
        default=64,
        ge=1,
        le=10_000,
        description="Judgements waiting at once; a sampled answer beyond this is left unjudged (and counted).",
    )


def check_live_grader(judge: LiveJudgeConfig | None, grader_labels: Sequence[str]) -> None:
    """Refuse a ``serve.judge.grader`` that names none of the feature's graders."""
    if judge is None:
        return
    names = unique_grader_names(grader_labels)
    if judge.grader in names:
        return
    close = difflib.get_close_matches(judge.grader, names, n=1)
    raise ValueError(
        t(
            "live_judge.config.unknown_grader",
            name=judge.grader,
            known=", ".join(names) or t("house2.criteria.no_graders"),
            suggestion=t("house2.criteria.did_you_mean", name=close[0]) if close else "",
        )
    )
