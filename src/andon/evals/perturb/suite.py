"""A perturbation suite: the perturbations a run asks for, built once, and the perturbed cases they make."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from andon.config.robustness import PerturbationSettings, RobustnessConfig
from andon.errors import ConfigError
from andon.evals.model import Case
from andon.evals.perturb.base import Paraphraser, Perturbation, Perturbed, case_rng
from andon.evals.perturb.registry import build_perturbation
from andon.messages import t

__all__ = ["build_suite", "perturb_cases"]

WHERE = "robustness.perturbations"


def build_suite(config: RobustnessConfig | None, names: Sequence[str] | None = None) -> list[Perturbation]:
    """The perturbations of ``names`` (``--robustness``; each with its andon.yaml settings when there are some),
    else those andon.yaml lists; two with one name are a ConfigError."""
    configured = list(config.perturbations) if config is not None else []
    if names:
        by_type = {s.type: s for s in configured}
        chosen = [by_type.get(name) or PerturbationSettings(type=name) for name in names]
        places = [f"--robustness {name}" for name in names]
    else:
        chosen, places = configured, [f"{WHERE}[{i}]" for i in range(len(configured))]
    seen: set[str] = set()
    suite = []
    for settings, where in zip(chosen, places, strict=True):
        if settings.type in seen:
            raise ConfigError(t("evalrobust.suite.twice", name=settings.type), where=where)
        seen.add(settings.type)
        suite.append(build_perturbation(settings, where=where))
    return suite


async def perturb_cases(
    cases: Sequence[Case], suite: Sequence[Perturbation], seed: int, paraphrase: Paraphraser | None = None,
    *, concurrency: int = 8,
) -> list[Perturbed]:  # fmt: skip
    """Every case under every perturbation that changes it, in suite order then case order; same seed, same cases."""
    gate = asyncio.Semaphore(max(1, concurrency))  # paraphrases are model calls

    async def one(perturbation: Perturbation, case: Case) -> Perturbed | None:
        async with gate:
            return await perturbation.perturb(case, case_rng(seed, perturbation.name, case.id), paraphrase)

    made = await asyncio.gather(*(one(p, c) for p in suite for c in cases))
    return [m for m in made if m is not None]
