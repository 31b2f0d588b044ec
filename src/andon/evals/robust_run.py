"""Running a perturbation suite: perturbed cases beside their originals in one run, then their flip rates.

The originals run again in the same run (from the cache when it is on), so each pair is answered by the same
versions under the same conditions; the run records its pairs, so its report is rebuilt from the store alone.
"""

from __future__ import annotations

import asyncio
import difflib
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from andon.config.schema import Params, Step
from andon.engine.masking import MaskPolicy
from andon.engine.pipeline import run_version
from andon.errors import NotFoundError
from andon.evals.build import load_cells
from andon.evals.dataset import Dataset
from andon.evals.model import Case
from andon.evals.perturb import Paraphraser, Perturbation, perturb_cases
from andon.evals.perturb.paraphrase import PARAPHRASE_SYSTEM
from andon.evals.robustness import Pair, RobustnessReport, flip_report
from andon.messages import t
from andon.store import Store
from andon.store.records import RunRecord
from andon.workspace import Workspace

__all__ = ["PARAPHRASE_FEATURE", "ModelParaphraser", "is_robustness_run", "perturbed_dataset", "robustness_report"]

PARAPHRASE_FEATURE = "paraphrase"  # where the paraphrasing calls' one-step versions are kept, like the judge's
KEY = "robustness"


class ModelParaphraser:
    """Paraphrases through the engine (render → cache → provider), each call stored as an output with provenance."""

    def __init__(self, ws: Workspace, masking: MaskPolicy | None = None) -> None:
        self._ws = ws
        self._masking = masking  # the text goes to a model: masked as the feature's calls are

    async def __call__(self, provider: str, model: str | None, text: str, case_id: str) -> tuple[str, str]:
        """The paraphrase of ``text`` and its output id (an empty text when the call failed)."""
        if provider not in self._ws.config.providers:
            known = list(self._ws.config.providers)
            close = difflib.get_close_matches(provider, known, n=1)
            raise NotFoundError(
                t("evalrobust.paraphrase.unknown", provider=provider, known=", ".join(known) or "—"),
                where="robustness.perturbations.paraphrase.provider",
                hint=t("evals.judge.did_you_mean", name=close[0]) if close else None,
            )
        step = Step(
            name="paraphrase", provider=provider, model=model, system=PARAPHRASE_SYSTEM, prompt="{{ text }}",
            params=Params(temperature=0, max_tokens=1024),
        )  # fmt: skip
        version = self._ws.one_step_version(PARAPHRASE_FEATURE, provider, step)
        store = self._ws.store
        await asyncio.to_thread(store.register_version, PARAPHRASE_FEATURE, provider, version.id, version.content)
        outcome = await run_version(version, {"text": text}, self._ws, cache=self._ws.cache, masking=self._masking)
        record = outcome.to_record(context={"role": "paraphrase", "case_id": case_id})
        await asyncio.to_thread(store.save_output, record)
        return (outcome.output_text or "") if outcome.status == "ok" else "", record.id


async def perturbed_dataset(
    dataset: Dataset, suite: Sequence[Perturbation], seed: int,
    paraphrase: Paraphraser | None = None,
) -> tuple[Dataset, dict[str, Any]]:  # fmt: skip
    """The dataset with every perturbed case after the originals, and what the run records about them."""
    made = await perturb_cases(dataset.cases, suite, seed, paraphrase)
    cases: list[Case] = [*dataset.cases, *(m.case for m in made)]
    pairs = {m.case.id: Pair(m.case.id, m.original_id, m.perturbation, m.output_id).to_json() for m in made}
    record = {
        KEY: {
            "seed": seed,
            "perturbations": [p.settings.model_dump(exclude_defaults=True) for p in suite],
            "pairs": pairs,
        }
    }
    return replace(dataset, cases=cases), record


def is_robustness_run(run: RunRecord) -> bool:
    """True for a run that holds a perturbation suite."""
    return isinstance(run.config.get(KEY), dict)


def robustness_report(store: Store, run: RunRecord) -> RobustnessReport:
    """The flip rates and flipped cases of a stored robustness run."""
    recorded = run.config.get(KEY) or {}
    pairs = [Pair.from_json(case_id, data) for case_id, data in (recorded.get("pairs") or {}).items()]
    cases = [Case.from_json(c) for c in store.run_cases(run.id)]
    report = flip_report(run.id, int(recorded.get("seed", 0)), pairs, run.versions, load_cells(store, run.id), cases)
    if not report.perturbations:  # a suite that changed no case still names what it tried
        report.perturbations = [str(p.get("type")) for p in recorded.get("perturbations") or []]
    return report
