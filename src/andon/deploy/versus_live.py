"""The promotion gate's ``… live …`` criteria: the candidate judged against the live version on the same cases.

The live version's results come from the candidate's own run when it has them, else from the live version's
newest finished run (paired by case id). Nothing live yet, or the candidate is live: nothing to compare, said so.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from andon.config.criteria import parse_criterion
from andon.config.schema import FeatureConfig
from andon.evals.build import load_cells
from andon.evals.model import Case, CriterionResult
from andon.evals.noninferiority import judge_noninferiority
from andon.messages import t
from andon.store.records import RunRecord
from andon.workspace import Workspace

__all__ = ["VersusLive", "judge_versus_live"]

RUN_SCAN = 1000  # newest runs searched for the live version's evaluation


@dataclass(frozen=True, slots=True)
class VersusLive:
    """The ``… live …`` criteria judged (empty when there are none or nothing to compare) and a note why not."""

    results: list[CriterionResult] = field(default_factory=list)
    note: str | None = None

    @property
    def failing(self) -> list[CriterionResult]:
        """The criteria that did not hold."""
        return [r for r in self.results if not r.passed]


def judge_versus_live(
    ws: Workspace, config: FeatureConfig, feature: str, version_id: str, run: RunRecord
) -> VersusLive:
    """Judge the feature's ``… live …`` criteria for ``version_id`` evaluated in ``run``."""
    criteria = [c for c in (parse_criterion(text) for text in config.criteria) if c.baseline is not None]
    if not criteria:
        return VersusLive()
    live = ws.store.live_version(feature)
    if live is None:
        return VersusLive(note=t("evalcal.live.nothing_live", feature=feature))
    live_id, live_name = live
    if live_id == version_id:
        return VersusLive(note=t("evalcal.live.is_live", version=live_name))
    source = run if live_id in {v for _, v in run.versions} else _live_run(ws, feature, live_id)
    if source is None:
        results = [
            CriterionResult(c.text, c.key, c.op, c.threshold, None, None, None, None, "estimate", False,
                            note=t("evalcal.live.never_evaluated", live=live_name, feature=feature))
            for c in criteria
        ]  # fmt: skip
        return VersusLive(results)
    cases = [Case.from_json(c) for c in ws.store.run_cases(run.id)]
    results = judge_noninferiority(
        criteria, live_name, load_cells(ws.store, source.id, live_id), load_cells(ws.store, run.id, version_id), cases
    )
    return VersusLive(results)


def _live_run(ws: Workspace, feature: str, live_id: str) -> RunRecord | None:
    runs = ws.store.list_runs(feature, limit=RUN_SCAN)
    return next((r for r in runs if r.status == "finished" and live_id in {v for _, v in r.versions}), None)
