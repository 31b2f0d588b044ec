"""Grader services backed by a workspace: the shared embedder, and judge calls stored with their provenance.

The runner grades evaluation cells with them; the gateway's live judge grades sampled served answers.
"""

from __future__ import annotations

import asyncio
import difflib
from collections.abc import Mapping
from typing import Any

from andon.config.schema import Params, Step
from andon.engine.masking import MaskPolicy
from andon.engine.pipeline import run_version
from andon.errors import NotFoundError
from andon.evals.graders import JudgeReply
from andon.messages import t
from andon.store.records import OutputRecord
from andon.workspace import Workspace

JUDGE_FEATURE = "judge"


class WorkspaceServices:
    """What graders may use. Every judge call becomes an output record in ``records`` (the caller stores them).

    ``context`` is written on each judge record (e.g. the run, or the trace a live judge graded).
    """

    def __init__(self, ws: Workspace, context: Mapping[str, Any], masking: MaskPolicy | None = None) -> None:
        self._ws = ws
        self._context = dict(context)
        self._masking = masking  # a judge reads the case's inputs too: it is masked like the feature
        self.records: list[OutputRecord] = []
        self._synced: set[str] = set()

    def embedder(self) -> Any:
        """The process-wide default embedder."""
        from andon.embeddings import default_embedder

        return default_embedder()

    async def judge(
        self, judge: str, model: str | None, system: str, prompt: str, schema: dict[str, Any]
    ) -> JudgeReply:
        """Ask ``judge`` (a provider name, or FEATURE:VERSION) for JSON matching ``schema``; keep the call."""
        if ":" not in judge and judge not in self._ws.config.providers:
            known = list(self._ws.config.providers)
            close = difflib.get_close_matches(judge, known, n=1)
            raise NotFoundError(
                t("evals.judge.unknown", judge=judge, known=", ".join(known) or "—"),
                where="llm-rubric.judge",
                hint=t("evals.judge.did_you_mean", name=close[0]) if close else t("evals.judge.hint"),
            )
        if ":" in judge:
            feature, _, ref = judge.partition(":")
            if feature not in self._synced:  # the judge's outputs are stored: its versions must be found later
                await asyncio.to_thread(self._ws.sync_versions, feature)
                self._synced.add(feature)
            version = self._ws.version(feature, ref or None)
            variables: dict[str, Any] = {"system": system, "prompt": prompt, "rubric": prompt}
        else:
            # The rubric text is passed as a variable, never re-parsed as a template: outputs may contain {{ }}.
            step = Step(
                name="judge",
                provider=judge,
                model=model,
                system="{{ system }}",
                prompt="{{ prompt }}",
                params=Params(temperature=0, json_schema=schema, max_tokens=256),
            )
            version = self._ws.one_step_version(JUDGE_FEATURE, judge, step)
            await asyncio.to_thread(self._ws.store.register_version, JUDGE_FEATURE, judge, version.id, version.content)
            variables = {"system": system, "prompt": prompt}
        outcome = await run_version(version, variables, self._ws, cache=self._ws.cache, masking=self._masking)
        record = outcome.to_record(context=self._context)
        self.records.append(record)
        # A failed call is the judge's failure, not a reply to parse.
        return JudgeReply(
            parsed=outcome.output_json,
            text=outcome.output_text or "",
            output_id=record.id,
            error=outcome.error if outcome.status != "ok" else None,
        )
