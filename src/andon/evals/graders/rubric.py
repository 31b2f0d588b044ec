"""The ``llm-rubric`` grader: an LLM judge scores the output against a rubric, 0–10, with a reason."""

from __future__ import annotations

import json
import re
from typing import Any

from andon.config.graders import LlmRubricSettings
from andon.config.json_values import parse_number, split_path
from andon.errors import AndonError, TemplateError
from andon.evals.graders.base import GraderContext, GradingError, JudgeReply, SpecGrader, said
from andon.evals.graders.values import output_text, template_scope
from andon.evals.model import Grade
from andon.versions.render import render_template

DEFAULT_THRESHOLD = 0.7
SCALE = 10  # small judges are steadier on a few whole numbers than on fractions

JUDGE_SYSTEM = (
    "You are a strict, fair evaluator. Read the rubric, then the output, and grade how well the output "
    f"meets the rubric, from 0 (not at all) to {SCALE} (fully). Judge only against the rubric. "
    'Answer with JSON only: {"reason": "<one short sentence>", "score": <whole number 0-10>}.'
)

# Reason first, so the judge says why before it commits to a number. No string length limits:
# OpenAI's strict schema mode rejects them, and the system prompt asks for one sentence.
JUDGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "reason": {"type": "string"},
        "score": {"type": "integer", "enum": list(range(SCALE + 1))},
    },
    "required": ["reason", "score"],
    "additionalProperties": False,
}

_FENCE = re.compile(r"^\s*```(?:json)?\s*\n(.*?)\n?\s*```\s*$", re.DOTALL | re.IGNORECASE)


def judge_prompt(rubric: str, output: str) -> str:
    """The user message the judge reads: the rubric, then the output between markers."""
    return f"Rubric:\n{rubric.strip()}\n\nOutput to grade:\n<output>\n{output}\n</output>"


def read_verdict(reply: JudgeReply) -> tuple[int | float, str]:
    """The judge's score (0–10) and reason, or :class:`GradingError` saying what was wrong with the reply."""
    data = reply.parsed
    if data is None:
        fenced = _FENCE.match(reply.text)
        try:
            data = json.loads(fenced.group(1) if fenced else reply.text)
        except ValueError:
            raise GradingError(
                said("house2.grade.judge_not_json", preview=_preview(reply.text)), judge_output_id=reply.output_id
            ) from None
    if not isinstance(data, dict) or "score" not in data:
        raise GradingError(
            said("house2.grade.judge_no_score", preview=_preview(reply.text)), judge_output_id=reply.output_id
        )
    score = parse_number(data["score"])
    if score is None or not 0 <= score <= SCALE:
        raise GradingError(
            said("house2.grade.judge_score", score=repr(data["score"]), scale=SCALE), judge_output_id=reply.output_id
        )
    reason = data.get("reason")
    return (int(score) if score.is_integer() else score), (reason.strip() if isinstance(reason, str) else "")


def _preview(text: str, limit: int = 120) -> str:
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


class LlmRubric(SpecGrader[LlmRubricSettings]):
    """Asks ``judge`` (a provider, or FEATURE:VERSION) to score the output 0–10 against ``rubric``.

    The score is normalised to [0, 1]; the grade passes at ``threshold`` (default 0.7). The rubric is a
    template over the case. A failed call or a malformed reply fails the grade, keeping the judge's output id.
    """

    Settings = LlmRubricSettings

    def __init__(self, spec: LlmRubricSettings, *, where: str | None = None) -> None:
        super().__init__(spec, where=where)
        self.parts = split_path(spec.path, f"{self.where}.path") if spec.path else None
        self.threshold = DEFAULT_THRESHOLD if spec.threshold is None else spec.threshold
        self.judge = spec.judge or ""
        self.rubric = spec.rubric or ""

    def prompt(self, ctx: GraderContext) -> str:
        """The rendered judge prompt for this output."""
        try:
            rubric = render_template(self.rubric, template_scope(ctx.case), f"{self.where}.rubric")
        except TemplateError as exc:
            raise GradingError(said("house2.grade.render_rubric", error=str(exc))) from None
        return judge_prompt(rubric, output_text(ctx, self.parts))

    async def grade(self, ctx: GraderContext) -> Grade:
        """Call the judge and read its verdict."""
        prompt = self.prompt(ctx)
        try:
            reply = await ctx.services.judge(self.judge, self.spec.model, JUDGE_SYSTEM, prompt, JUDGE_SCHEMA)
        except AndonError as exc:
            raise GradingError(said("house2.grade.judge_failed", judge=self.judge, error=exc.message)) from None
        if reply.error is not None:
            raise GradingError(
                said("house2.grade.judge_failed", judge=self.judge, error=reply.error), judge_output_id=reply.output_id
            )
        score, reason = read_verdict(reply)
        normalised = score / SCALE
        ok = normalised >= self.threshold - 1e-9  # 7/10 must reach a threshold written as 0.7
        return self.verdict(
            normalised,
            ok,
            f"judge {score}/{SCALE}: {reason}" if reason else f"judge {score}/{SCALE}",
            judge_output_id=reply.output_id,
        )
