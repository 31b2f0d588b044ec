"""The live judge: a feature's own grader scores a sample of the answers it served, after the response left.

The score lands in the trace's tags (``andon_judge: {grader: score}``), where `judge_score` monitors read it;
a grader that could not grade leaves no score, only its reason (``andon_judge_error``), so a crashed judge
is never a low score. Judge calls are stored as outputs with their own provenance, like an evaluation's.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import Counter
from typing import TYPE_CHECKING

from andon.config.criteria import unique_grader_names
from andon.config.live_judge import LIVE_ERROR_TAG, LIVE_TAG
from andon.engine.masking import MaskPolicy
from andon.evals.graders import Grader, GraderContext, build_grader, run_grader
from andon.evals.judging import WorkspaceServices
from andon.evals.model import Case
from andon.gateway.tracing import storable_output
from andon.messages import t

if TYPE_CHECKING:
    from andon.config.graders import GraderSettings
    from andon.gateway.call import Call
    from andon.workspace import Workspace

SETTLE_TIMEOUT_S = 30.0  # how long a stopping gateway waits for judgements in flight
log = logging.getLogger("andon.gateway")


class LiveJudge:
    """Samples served AI answers per feature's ``serve.judge`` and grades each in the background."""

    def __init__(self, ws: Workspace, *, rng: random.Random | None = None) -> None:
        self._ws = ws
        self._rng = rng or random.Random()
        self._graders: dict[str, tuple[GraderSettings, Grader]] = {}
        self._pending: dict[str, set[asyncio.Task[None]]] = {}
        self.dropped: Counter[str] = Counter()  # sampled answers left unjudged because too many were waiting

    def offer(self, call: Call) -> None:
        """Judge ``call`` in the background if its feature asks for it and the sample draws it."""
        feature = self._ws.config.features.get(call.feature)
        spec = feature.serve.judge if feature is not None else None
        if spec is None or call.route != "ai" or call.status != "ok" or call.version is None:
            return
        if self._rng.random() >= spec.sample:
            return
        pending = self._pending.setdefault(call.feature, set())
        if len(pending) >= spec.max_pending:
            self.dropped[call.feature] += 1
            if self.dropped[call.feature] in (1, 10, 100) or self.dropped[call.feature] % 1000 == 0:
                count = self.dropped[call.feature]
                log.warning(t("live_judge.log.dropped", feature=call.feature, count=count, limit=spec.max_pending))
            return
        task = asyncio.create_task(self._judge(call), name=f"andon-live-judge-{call.trace_id}")
        pending.add(task)
        task.add_done_callback(pending.discard)

    async def settle(self, timeout_s: float = SETTLE_TIMEOUT_S) -> None:
        """Wait for the judgements in flight (at most ``timeout_s``), then cancel what is left."""
        tasks = [task for tasks in self._pending.values() for task in tasks]
        if not tasks:
            return
        _, late = await asyncio.wait(tasks, timeout=timeout_s)
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)

    def _grader(self, feature: str) -> tuple[GraderSettings, Grader]:
        """The feature's ``serve.judge`` grader, built once per gateway (a reload builds a new gateway)."""
        if feature not in self._graders:
            config = self._ws.config.features[feature]
            assert config.serve.judge is not None
            names = unique_grader_names([g.label for g in config.graders])
            i = names.index(config.serve.judge.grader)  # the schema checked the name
            spec = config.graders[i]
            self._graders[feature] = (spec, build_grader(spec, where=f"features.{feature}.graders[{i}]"))
        return self._graders[feature]

    async def _judge(self, call: Call) -> None:
        feature = self._ws.config.features[call.feature]
        assert feature.serve.judge is not None
        name = feature.serve.judge.grader
        try:
            spec, grader = self._grader(call.feature)
            context = {"trace_id": call.trace_id, "role": "live-judge", "grader": name}
            services = WorkspaceServices(self._ws, context, MaskPolicy.of(feature.serve.data_use))
            ctx = GraderContext(
                case=Case(id=call.trace_id, vars=dict(call.variables)),
                output_text=call.output_text,
                output_json=call.output_json,
                services=services,
            )
            grade = await run_grader(spec, grader, ctx)
            records = [storable_output(self._ws.config, call.feature, r) for r in services.records]
            for record in records:
                await asyncio.to_thread(self._ws.store.save_output, record)
            key, value = (LIVE_ERROR_TAG, grade.reason or "error") if grade.error else (LIVE_TAG, grade.score)
            await asyncio.to_thread(self._ws.store.merge_trace_tags, call.trace_id, key, {name: value})
        except Exception as exc:  # a background judgement must never take the gateway down
            log.warning(t("live_judge.log.failed", feature=call.feature, trace_id=call.trace_id, error=exc))
