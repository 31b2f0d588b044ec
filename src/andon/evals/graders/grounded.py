"""Graders of answers built on retrieved chunks: ``groundedness`` (an LLM judge, kappa-gated like llm-rubric)
and ``citations`` (every citation names a retrieved chunk; no model involved)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from andon.config.graders import CitationsSettings, GroundednessSettings
from andon.config.json_values import split_path
from andon.errors import TemplateError
from andon.evals.graders.base import GraderContext, GradingError, SpecGrader, Ungradable, said
from andon.evals.graders.rubric import LlmRubric, judge_prompt
from andon.evals.graders.values import output_text, template_scope
from andon.evals.model import Grade
from andon.evals.retrieval import matches, parse_relevant
from andon.versions.render import render_template

GROUNDED_RUBRIC = (
    "The output must be grounded in the numbered passages below: every factual claim it makes is stated in, "
    "or follows directly from, at least one passage. A claim found in no passage, or one that contradicts a "
    "passage, is not grounded; score by the share of claims that are grounded. An output that says the "
    "passages do not answer the question makes no unsupported claim."
)
NUMBERED = re.compile(r"\[(\d{1,3})\]")  # [2]: the second retrieved chunk, as a prompt numbers them
CHUNK_ID = re.compile(r"\b([0-9a-f]{8,32})\b")  # a chunk id or a unique prefix of one (at least 8 hex digits)


def _chunks(ctx: GraderContext, where: str) -> tuple[dict[str, Any], ...]:
    if ctx.chunks is None:
        raise GradingError(said("knowledge.grade.no_retrieve", grader=where))
    return ctx.chunks


def passages(chunks: tuple[dict[str, Any], ...]) -> str:
    """The chunks as the judge reads them: ``[n] citation`` then the text, in rank order."""
    if not chunks:
        return "(no passage was retrieved)"
    return "\n\n".join(
        f"[{n}] {c.get('citation') or c.get('id')}\n{c.get('text', '')}" for n, c in enumerate(chunks, 1)
    )


class Groundedness(LlmRubric):
    """Asks ``judge`` whether every claim of the output is supported by the chunks its retrieve steps found.

    Scored 0–10 like ``llm-rubric`` (same judge call, schema and threshold), so its agreement with human
    labels is measured and gated the same way (``min_kappa``). ``rubric`` adds requirements of your own.
    """

    # Its ``type`` literal differs from llm-rubric's, so mypy sees the two constructors as incompatible.
    Settings = GroundednessSettings  # type: ignore[assignment]

    def prompt(self, ctx: GraderContext) -> str:
        """The judge prompt: the groundedness rubric, your additions, the passages, then the output."""
        chunks = _chunks(ctx, self.where)
        extra = ""
        if self.rubric:
            try:
                extra = render_template(self.rubric, template_scope(ctx.case), f"{self.where}.rubric")
            except TemplateError as exc:
                raise GradingError(said("house2.grade.render_rubric", error=str(exc))) from None
        rubric = GROUNDED_RUBRIC + (f"\n{extra.strip()}" if extra.strip() else "")
        return judge_prompt(f"{rubric}\n\nPassages:\n{passages(chunks)}", output_text(ctx, self.parts))


class Citations(SpecGrader[CitationsSettings]):
    """Finds the citations in the output (``[n]`` for the n-th retrieved chunk, chunk ids, or a chunk's
    citation such as ``refund.md › 환불``) and scores the share naming a retrieved chunk (``against:
    relevant``: one that also matches the case's ``relevant:``); it passes when all of them do."""

    Settings = CitationsSettings

    def __init__(self, spec: CitationsSettings, *, where: str | None = None) -> None:
        super().__init__(spec, where=where)
        self.parts = split_path(spec.path, f"{self.where}.path") if spec.path else None

    async def grade(self, ctx: GraderContext) -> Grade:
        """Check each citation of the output against the retrieved chunks."""
        chunks = _chunks(ctx, self.where)
        text = output_text(ctx, self.parts)
        cited, wrong = self._cited(text, chunks)
        if self.spec.against == "relevant":
            relevant = parse_relevant(list(ctx.case.relevant), ctx.case.source or ctx.case.id)
            if not relevant:
                raise GradingError(said("knowledge.grade.no_relevant", grader=self.where))
            off = [n for n, chunk in cited if not any(matches(entry, chunk) for entry in relevant)]
            wrong += off
            cited = [(n, c) for n, c in cited if n not in off]
        total = len(cited) + len(wrong)
        if total == 0:
            if self.spec.required:
                raise Ungradable(said("knowledge.grade.no_citation"))
            return self.verdict(1.0, True, said("knowledge.grade.no_citation"))
        if wrong:
            reason = said("knowledge.grade.citations_wrong", wrong=", ".join(wrong), n=len(wrong), total=total)
        else:
            reason = said("knowledge.grade.citations_ok", n=total)
        return self.verdict(len(cited) / total, not wrong, reason)

    @staticmethod
    def _cited(
        text: str, chunks: tuple[Mapping[str, Any], ...]
    ) -> tuple[list[tuple[str, Mapping[str, Any]]], list[str]]:
        """``(citation as written, chunk)`` of each citation naming a retrieved chunk, and those naming none."""
        found: list[tuple[str, Mapping[str, Any]]] = []
        wrong: list[str] = []
        for number in dict.fromkeys(NUMBERED.findall(text)):
            index = int(number) - 1
            if 0 <= index < len(chunks):
                found.append((f"[{number}]", chunks[index]))
            else:
                wrong.append(f"[{number}]")
        for ident in dict.fromkeys(CHUNK_ID.findall(text)):
            named = [c for c in chunks if str(c.get("id") or "").startswith(ident)]
            if named:
                found.append((ident, named[0]))
            elif not ident.isdigit():  # a long number in the answer is not a citation
                wrong.append(ident)
        for chunk in chunks:
            label = str(chunk.get("citation") or "")
            if label and label in text:
                found.append((label, chunk))
        return found, wrong
